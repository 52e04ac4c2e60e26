"""Latency measurement helpers: percentiles, timed query loops, and a local HTTP server.

Used by ``bench/run.py``: each search function is warmed up on queries that are not
timed, then every measured query runs once, timed with ``time.perf_counter``; the CPU
time of the whole timed loop (``time.process_time``: this process, all its threads) is
kept too, as a mean per query.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of sorted values, linearly interpolated."""
    if not sorted_values:
        return float("nan")
    pos = (len(sorted_values) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


@dataclass(frozen=True, slots=True)
class Latency:
    """Latencies of one query set, in milliseconds, plus how many queries found nothing."""

    n: int
    p50: float
    p95: float
    p99: float
    mean: float
    zero_hits: int
    errors: int
    cpu_mean: float = float("nan")  # CPU ms per query (process_time over the timed loop)

    def as_dict(self) -> dict[str, float]:
        return {"n": self.n, "p50_ms": self.p50, "p95_ms": self.p95, "p99_ms": self.p99,
                "mean_ms": self.mean, "cpu_mean_ms": self.cpu_mean,
                "zero_hits": self.zero_hits, "errors": self.errors}


#: A search function: runs a query, returns how many hits it got (on the first page).
SearchFn = Callable[[str], int]


def measure(search: SearchFn, queries: Sequence[str], warmup: Sequence[str]) -> Latency:
    """Warm up on ``warmup``, then time each of ``queries`` once."""
    for q in warmup:
        search(q)
    times: list[float] = []
    zero = errors = 0
    cpu_started = time.process_time()
    for q in queries:
        started = time.perf_counter()
        try:
            n = search(q)
        except Exception:  # counted, and the time is still recorded
            n, errors = 0, errors + 1
        times.append((time.perf_counter() - started) * 1000)
        zero += n == 0
    cpu = (time.process_time() - cpu_started) * 1000
    times.sort()
    return Latency(len(times), percentile(times, 50), percentile(times, 95),
                   percentile(times, 99), sum(times) / max(1, len(times)), zero, errors,
                   cpu / max(1, len(times)))


@contextmanager
def serve(app: Any, threads: int = 4) -> Iterator[int]:
    """Serve a WSGI app with waitress on 127.0.0.1 (free port) in a thread; yield the port."""
    from waitress import wasyncore
    from waitress.server import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=threads)
    port = int(server.effective_port)  # type: ignore[union-attr]

    def loop() -> None:
        with suppress(OSError, ValueError):  # sockets closed under the loop at shutdown
            server.run()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        server.task_dispatcher.shutdown()  # let request threads finish first
        wasyncore.close_all(server._map)  # type: ignore[union-attr]  # ends the loop
        thread.join(timeout=5)


class HttpSearch:
    """``GET /api/search?q=...`` over one keep-alive connection; returns the hit count."""

    def __init__(self, port: int, path: str = "/api/search") -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.path = path

    def __call__(self, query: str) -> int:
        self.conn.request("GET", f"{self.path}?{urllib.parse.urlencode({'q': query})}")
        resp = self.conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"HTTP {resp.status} for {query!r}: {body[:200]!r}")
        data = json.loads(body)
        hits = data.get("hits", data.get("results", [])) if isinstance(data, dict) else data
        return len(hits) if isinstance(hits, list) else 0

    def close(self) -> None:
        self.conn.close()
