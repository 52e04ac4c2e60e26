"""Benchmark the PostgreSQL backend the way ``bench/run.py`` measures the Whoosh one.

Rebuild speed (passages/s; ``read_sources`` + ``PostgresBackend.rebuild`` timed like
Fil's rebuild, and the backend's own ``BuildReport.seconds``: analysis, COPY, indexes,
ANALYZE, swap) and the latency of ``backend.search(q, per_page=10)`` (snippets
included) per query kind of ``bench/queries.py`` (same seeded queries, same warm-up,
same percentiles as ``bench/latency.py``), with CPU time: this process's (the client:
analysis, numpy, snippets) and, on a private cluster, the server's (its postmaster and
every backend and worker, ended or not, read from ``/proc``), per rebuild and per
query; and how many searches hit the search time limit (``timed_out``). Optionally
with the passages partitioned over a second server (``--shards 1``), and the Whoosh
backend on the same queries for comparison (``--whoosh``). ``bench/run.py --postgres``
calls :func:`measure_postgres` in a child process for its PostgreSQL column.

Without ``--database-url`` (or ``FIL_DATABASE_URL``), private throwaway clusters are
started (see :mod:`indexer.pg_cluster`)::

    python bench/postgres.py bench/corpora/10k.jsonl --queries 200 --whoosh
    python bench/postgres.py bench/corpora/10k.jsonl --shards 1
    python bench/postgres.py bench/corpora/100k.jsonl --queries 0 --updates 50 [--shards 1]

``--swaps N`` measures rebuilds under load instead: ``--clients`` threads search
without pause while ``python -m indexer rebuild --backend postgres`` rebuilds the same
corpus N times in another process; every search that fails (no index, server
unavailable, anything else) or runs out of time is counted::

    python bench/postgres.py bench/corpora/10k.jsonl --swaps 3 --clients 6 [--shards 1]

``--updates N``: after the rebuild, N times, one thread of the corpus is replaced by a
50-passage version (real paragraphs of the corpus, plus one unique word) through
``update``; timed from the call until a search on another connection finds the word
(p50/p95 of "visible", and of the update call alone).

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import json
import os
import random
import string
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for _p in (str(ROOT), str(BENCH)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import fil_adapter  # noqa: E402
import latency  # noqa: E402
import queries  # noqa: E402


def available() -> bool:
    """Whether a PostgreSQL server can be used: ``FIL_DATABASE_URL`` set or binaries found."""
    return bool(os.environ.get("FIL_DATABASE_URL")) or fil_adapter.postgres_available()


def _word(i: int) -> str:
    """A word no corpus holds, letters only (the analyser keeps it whole): zqk + base 26."""
    letters = ""
    while True:
        i, r = divmod(i, 26)
        letters = string.ascii_lowercase[r] + letters
        if not i:
            return "zqk" + letters


def measure_updates(url: str, shard_urls: list[str], threads: list[Any], n: int,
                    size: int = 50, warmup: int = 3) -> dict[str, Any]:
    """Replace ``n`` threads, one per update, by ``size``-passage versions; time each until
    another connection's search finds it (and the update call alone), in milliseconds."""
    rng = random.Random(17)
    texts = [p.text for t in threads[:3000] for p in t.passages() if len(p.text) > 40]
    writer = fil_adapter.PostgresEngine(url, shard_urls)
    reader = fil_adapter.PostgresEngine(url, shard_urls)
    visible: list[float] = []
    calls: list[float] = []
    polls = 0
    try:
        for i in range(warmup + n):
            target = threads[rng.randrange(len(threads))]
            word = _word(i)
            paras = (*rng.sample(texts, size - 1), f"Un nouveau paragraphe : {word}.")
            new = dataclasses.replace(target, paragraphs=tuple(paras), comments=())
            started = time.perf_counter()
            report = writer.update([new])
            called = time.perf_counter()
            tries = 1
            while reader.total(word) < 1:
                tries += 1
            seen = time.perf_counter()
            assert report.passages == size, report
            if i >= warmup:
                visible.append((seen - started) * 1000)
                calls.append((called - started) * 1000)
                polls = max(polls, tries)
    finally:
        writer.close()
        reader.close()
    visible.sort()
    calls.sort()
    return {"updates": n, "passages_per_update": size,
            "visible_ms": {"p50": round(latency.percentile(visible, 50), 1),
                           "p95": round(latency.percentile(visible, 95), 1),
                           "max": round(visible[-1], 1) if visible else None},
            "update_call_ms": {"p50": round(latency.percentile(calls, 50), 1),
                               "p95": round(latency.percentile(calls, 95), 1)},
            "searches_until_found_max": polls}


def server_cpu(cluster: Any) -> float | None:
    """CPU seconds (user + system) a private cluster's server has used so far: its
    postmaster, its live children, and the children it has reaped (None: not known)."""
    if cluster is None or getattr(cluster, "dir", None) is None:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    try:
        pids = cluster.pids()
        for i, pid in enumerate(pids):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
            if i == 0:  # the postmaster: its reaped children too
                total += int(fields[13]) + int(fields[14])
    except (OSError, ValueError, IndexError):
        return None
    return total / tick


def measure_postgres(corpus: Path, measured: dict[str, list[str]],
                     warmup: dict[str, list[str]], database_url: str | None = None,
                     shards: int = 0, rebuilds: int = 1, updates: int = 0) -> dict[str, Any]:
    """Rebuild the PostgreSQL backend on ``corpus`` and time the queries per kind.

    Uses ``database_url`` (its Fil tables are replaced) or else a private throwaway
    cluster, removed on return. Latencies are ``Latency.as_dict()`` per kind.
    """
    fil_adapter.use_stemmer()
    out: dict[str, Any] = {"shards": shards,
                           "server": "FIL_DATABASE_URL" if database_url else "TempCluster"}
    with contextlib.ExitStack() as stack:
        url = database_url
        cluster = None
        if not url:
            cluster = stack.enter_context(fil_adapter.temp_cluster())
            url = cluster.create_database("fil_bench")
        shard_urls = [stack.enter_context(fil_adapter.temp_cluster())
                      .create_database("fil_bench_shard") for _ in range(shards)]
        backend = fil_adapter.PostgresEngine(url, shard_urls)
        stack.callback(backend.close)
        runs = []
        for _ in range(max(1, rebuilds)):
            load = round(os.getloadavg()[0], 2)
            started = time.perf_counter()
            read = fil_adapter.read_threads([corpus])
            read_done = time.perf_counter()
            cpu, server = time.process_time(), server_cpu(cluster)
            report = backend.rebuild(read.threads)
            done = time.perf_counter()
            server_after = server_cpu(cluster)
            runs.append({"read_seconds": read_done - started,
                         "build_seconds": done - read_done, "seconds": done - started,
                         "backend_seconds": report.seconds, "passages": report.passages,
                         "threads": report.threads, "load_1m_before": load,
                         "cpu_seconds": time.process_time() - cpu,
                         "server_cpu_seconds": (server_after - server
                                                if server is not None
                                                and server_after is not None else None)})
        best = min(runs, key=lambda r: r["seconds"])
        out["rebuilds"] = runs
        out["rebuild"] = best | {"per_second": best["passages"] / best["seconds"]
                                 if best["seconds"] else 0.0}
        out["passages"] = best["passages"]
        out["threads"] = best["threads"]

        out["latency"] = {}
        for k in measured:
            if not measured[k]:
                continue
            for q in warmup[k]:  # warmed up here, so that the server's CPU counts only these
                backend.count(q)
            backend.timed_out = 0
            before = server_cpu(cluster)
            lat = latency.measure(backend.count, measured[k], []).as_dict()
            after = server_cpu(cluster)
            lat["server_cpu_mean_ms"] = ((after - before) * 1000 / len(measured[k])
                                         if before is not None and after is not None
                                         else None)
            lat["timed_out"] = backend.timed_out
            out["latency"][k] = lat
        out["index_bytes"] = backend.size_bytes()
        if updates:
            out["update"] = measure_updates(url, shard_urls, read.threads, updates)
    return out


def measure_swaps(corpus: Path, queries_: list[str], database_url: str | None = None,
                  shards: int = 0, swaps: int = 3, clients: int = 6) -> dict[str, Any]:
    """Searches from ``clients`` threads while the CLI rebuilds ``swaps`` times.

    Returns how many searches ran, how they ended (``ok``, ``timed_out`` or the error's
    class name) and the slowest one.
    """
    outcomes: collections.Counter[str] = collections.Counter()
    slowest = 0.0
    with contextlib.ExitStack() as stack:
        url = database_url or stack.enter_context(
            fil_adapter.temp_cluster()).create_database("fil_bench")
        shard_urls = [stack.enter_context(fil_adapter.temp_cluster())
                      .create_database("fil_bench_shard") for _ in range(shards)]
        rebuild = [sys.executable, "-m", "indexer", "rebuild", "--backend", "postgres",
                   "--database-url", url, *[a for u in shard_urls for a in ("--shard", u)],
                   "--source", str(corpus), "--quiet"]
        subprocess.run(rebuild, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        engine = fil_adapter.PostgresEngine(url, shard_urls)
        stack.callback(engine.close)
        stop = threading.Event()
        lock = threading.Lock()

        def client(k: int) -> None:
            nonlocal slowest
            i = k
            while not stop.is_set():
                q = queries_[i % len(queries_)]
                i += 1
                started = time.perf_counter()
                try:
                    outcome = "timed_out" if engine.search_page(q)[1] else "ok"
                except Exception as exc:  # noqa: BLE001 - counted, that is the measure
                    outcome = type(exc).__name__
                with lock:
                    outcomes[outcome] += 1
                    slowest = max(slowest, time.perf_counter() - started)

        workers = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
        for w in workers:
            w.start()
        try:
            for _ in range(swaps):
                subprocess.run(rebuild, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        finally:
            stop.set()
            for w in workers:
                w.join()
    return {"searches": sum(outcomes.values()), "outcomes": dict(outcomes),
            "slowest_seconds": round(slowest, 3), "swaps": swaps, "clients": clients,
            "shards": shards}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--queries", type=int, default=200, help="measured queries per kind")
    ap.add_argument("--warmup", type=int, default=20, help="untimed warm-up queries per kind")
    ap.add_argument("--database-url", default=os.environ.get("FIL_DATABASE_URL"))
    ap.add_argument("--shards", type=int, default=0, help="extra servers (private clusters)")
    ap.add_argument("--rebuilds", type=int, default=2, help="rebuilds (the best one is kept)")
    ap.add_argument("--whoosh", action="store_true", help="also time the Whoosh backend")
    ap.add_argument("--updates", type=int, default=0,
                    help="time this many 50-passage thread updates until visible")
    ap.add_argument("--swaps", type=int, default=0,
                    help="measure searches during this many rebuilds instead")
    ap.add_argument("--clients", type=int, default=6, help="searching threads (--swaps)")
    args = ap.parse_args(argv)

    maker = queries.QueryMaker(queries.read_passages(args.corpus))
    every = maker.all(args.queries + args.warmup)
    if args.swaps:
        mixed = [q for qs in zip(*every.values(), strict=False) for q in qs]
        print(json.dumps(measure_swaps(args.corpus, mixed, args.database_url, args.shards,
                                       args.swaps, args.clients), indent=2))
        return 0
    measured = {k: v[:args.queries] for k, v in every.items()}
    warmup = {k: v[args.queries:] for k, v in every.items()}
    out: dict[str, Any] = {"corpus": str(args.corpus), "queries_per_kind": args.queries,
                           "load_average_1m_at_start": round(os.getloadavg()[0], 2)}
    pg = measure_postgres(args.corpus, measured, warmup, args.database_url,
                          args.shards, args.rebuilds, args.updates)
    out |= {"threads": pg["threads"], "shards": args.shards, "passages": pg["passages"],
            "rebuild_seconds": [round(r["backend_seconds"], 3) for r in pg["rebuilds"]],
            "rebuild_passages_per_second": round(
                pg["passages"] / min(r["backend_seconds"] for r in pg["rebuilds"]), 1),
            "rebuilds": pg["rebuilds"],
            "postgres": pg["latency"], "index_bytes": pg["index_bytes"]}
    if "update" in pg:
        out["update"] = pg["update"]
    if args.whoosh:
        read = fil_adapter.read_threads([args.corpus])
        with tempfile.TemporaryDirectory() as tmp:
            index_dir = Path(tmp) / "index"
            started = time.perf_counter()
            report = fil_adapter.build_index(read.threads, index_dir)
            out["whoosh_rebuild_passages_per_second"] = round(
                report.passages / (time.perf_counter() - started), 1)
            wb = fil_adapter.whoosh_backend(index_dir)
            try:
                out["whoosh"] = {k: latency.measure(wb.count, measured[k], warmup[k]).as_dict()
                                 for k in measured}
            finally:
                wb.close()
    out["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
