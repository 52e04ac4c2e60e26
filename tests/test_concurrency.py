"""Rebuilds racing with searches, with each other, and with SIGKILL, on a real server.

The app runs under waitress in a background thread; rebuilds run as real subprocesses
(``python -m indexer rebuild``), exactly as an operator would run them next to a server.
Nothing here depends on timing: a rebuild that must be "in progress" is held halfway
by its own thread source (in-process) or stopped there (a child process), and the
clients' progress is counted in requests, not seconds.
"""

from __future__ import annotations

import itertools
import json
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from helpers import (
    GENEROUS_SECONDS,
    SEED_FILE,
    Server,
    build_index,
    child_env,
    current_manifest,
    embedded,
    stuck_rebuild,
    wait_until,
)

from indexer.cli import EXIT_LOCKED
from indexer.ingest.model import Thread
from indexer.ingest.parsing import read_sources
from indexer.store.whoosh.manifest import CURRENT

#: Corpus A: every thread has "alphaword" in its post and "zephyrin" in all 3 passages.
A_THREADS = 50
A_ZEPHYRIN = A_THREADS * 3
A_ALPHA = A_THREADS
#: Corpus B: "betaword" in both passages of each thread, "zephyrin" only in the post.
B_THREADS = 80
B_ZEPHYRIN = B_THREADS
B_BETA = B_THREADS * 2
#: Requests each client makes on the old index before a rebuild starts, and on the new one
#: after it (counted, so that every client provably saw both sides).
REQUESTS_PER_SIDE = 3


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> Path:
    """Write thread records as JSON Lines."""
    with path.open("w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return path


def thread(tid: str, post: list[str], comments: list[str]) -> dict[str, Any]:
    """A JSON Lines thread record with dated, signed comments."""
    return {
        "id": tid, "title": f"Fil {tid}", "url": f"https://fil.example/{tid}",
        "post": {"author": "Auteur Principal", "date": "2012-03-04T10:00", "paragraphs": post},
        "comments": [{"author": f"Lecteur {n}", "date": f"2012-03-{5 + n:02d}T12:00",
                      "paragraphs": [text]} for n, text in enumerate(comments)],
    }


def corpus_a(n: int = A_THREADS) -> Iterator[dict[str, Any]]:
    for i in range(n):
        yield thread(f"a-{i:04d}",
                     [f"Billet {i} : alphaword et zephyrin sur le réseau numéro {i}."],
                     [f"Commentaire {i} sur zephyrin, premier avis.",
                      f"Commentaire {i} sur zephyrin, second avis."])


def corpus_b(n: int = B_THREADS) -> Iterator[dict[str, Any]]:
    for i in range(n):
        yield thread(f"b-{i:04d}",
                     [f"Billet {i} : betaword et zephyrin dans la nouvelle version {i}."],
                     [f"Commentaire {i} : betaword encore, sans l'autre mot."])


def rebuild_cmd(index_dir: Path, *sources: Path) -> list[str]:
    cmd = [sys.executable, "-m", "indexer", "rebuild", "--index", str(index_dir),
           "--backend", "whoosh", "--quiet"]
    for src in sources:
        cmd += ["--source", str(src)]
    return cmd


def run_rebuild(index_dir: Path, *sources: Path) -> subprocess.CompletedProcess[str]:
    """``python -m indexer rebuild`` in a child process, to its end."""
    return subprocess.run(rebuild_cmd(index_dir, *sources), env=child_env(),
                          cwd=index_dir.parent, capture_output=True, text=True,
                          timeout=GENEROUS_SECONDS, check=False)


def tmp_garbage(index_dir: Path) -> list[Path]:
    return sorted(p for p in index_dir.rglob("*") if p.name.endswith(".tmp"))


def search_totals(index_dir: Path, queries: Iterable[str]) -> dict[str, tuple[int, list]]:
    """Total and ranked (thread, kind, position) of each query, on a fresh backend."""
    backend = embedded(index_dir)
    try:
        out = {}
        for q in queries:
            res = backend.search(q, per_page=20)
            out[q] = (res.total, [(h.thread_id, h.kind, h.position) for h in res.hits])
        return out
    finally:
        backend.close()


def http_summary(srv: Server, q: str) -> tuple[int, int, list]:
    """Status, total and ranked (thread, kind, position) of a query over HTTP."""
    status, body = srv.get(q, per_page=20)
    return status, body.get("total", -1), [(r["thread_id"], r["kind"], r["position"])
                                            for r in body.get("results", [])]


# -- a real server ------------------------------------------------------------------


@pytest.fixture
def serve(make_app: Callable[..., Flask]) -> Iterator[Callable[[Path], Server]]:
    servers: list[Server] = []

    def start(index_dir: Path) -> Server:
        srv = Server(make_app(index_dir))
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.stop()


# -- rebuild while serving ------------------------------------------------------------------


@dataclass
class Observed:
    """What one client thread saw."""

    sides: list[str] = field(default_factory=list)  # "A" or "B", in request order
    failures: list[str] = field(default_factory=list)
    requests: int = 0

    def count(self, side: str) -> int:
        return self.sides.count(side)


SEED_QUERY = "très haut débit"


def classify(q: str, status: int, body: dict[str, Any], seed_total: int) -> str | None:
    """Which index ("A"/"B") answered, or None for the seed query; AssertionError if neither."""
    assert status == 200, (q, status, body)
    total = body["total"]
    ids = {r["thread_id"] for r in body["results"]}
    assert isinstance(total, int), body
    assert len(body["results"]) == min(total, 20), (q, total, len(ids))
    if q == SEED_QUERY:
        assert total == seed_total, (q, total, seed_total)
        return None
    # during the race either index may answer; which one is then checked for consistency
    if q == "zephyrin":
        assert total in (A_ZEPHYRIN, B_ZEPHYRIN), (q, total)
        side = "A" if total == A_ZEPHYRIN else "B"
    elif q == "alphaword":
        assert total in (A_ALPHA, 0), (q, total)
        side = "A" if total else "B"
    else:
        assert q == "betaword", q
        assert total in (B_BETA, 0), (q, total)
        side = "B" if total else "A"
    prefix = "a-" if side == "A" else "b-"
    assert all(i.startswith(prefix) for i in ids), (q, side, ids)  # never a mix
    return side


def client_loop(srv: Server, stop: threading.Event, seen: Observed, seed_total: int,
                offset: int) -> None:
    queries = ["zephyrin", "alphaword", "betaword", SEED_QUERY]
    for q in itertools.islice(itertools.cycle(queries), offset, None):
        if stop.is_set():
            return
        seen.requests += 1
        try:
            status, body = srv.get(q, per_page=20)
            side = classify(q, status, body, seed_total)
        except Exception as exc:  # every failure is recorded, then reported at the end
            seen.failures.append(f"{q!r}: {type(exc).__name__}: {exc}")
            continue
        if side:
            seen.sides.append(side)


@pytest.mark.slow
def test_rebuild_while_serving(tmp_path: Path, make_index: Callable[..., Path],
                               serve: Callable[[Path], Server]) -> None:
    src_a = write_jsonl(tmp_path / "a.jsonl", corpus_a())
    src_b = write_jsonl(tmp_path / "b.jsonl", corpus_b())
    index_dir = make_index([SEED_FILE, src_a])
    srv = serve(index_dir)

    status, body = srv.get(SEED_QUERY)
    assert status == 200
    seed_total = body["total"]
    assert seed_total == 5
    for q in ("zephyrin", "alphaword", "betaword"):
        assert classify(q, *srv.get(q, per_page=20), seed_total) == "A"

    stop = threading.Event()
    observed = [Observed() for _ in range(4)]
    clients = [threading.Thread(target=client_loop, args=(srv, stop, seen, seed_total, n))
               for n, seen in enumerate(observed)]
    for c in clients:
        c.start()
    try:
        wait_until(lambda: all(seen.count("A") >= REQUESTS_PER_SIDE or seen.failures
                               for seen in observed), "every client querying the old index")
        done = run_rebuild(index_dir, SEED_FILE, src_b)
        assert done.returncode == 0, done.stderr
        # the very next request after the rebuild's exit is answered by the new index
        status, body = srv.get("betaword", per_page=20)
        assert (status, body["total"]) == (200, B_BETA)
        wait_until(lambda: all(seen.count("B") >= REQUESTS_PER_SIDE or seen.failures
                               for seen in observed), "every client querying the new index")
    finally:
        stop.set()
        for c in clients:
            c.join(timeout=GENEROUS_SECONDS)

    failures = [f for seen in observed for f in seen.failures]
    assert not failures, f"{len(failures)} failed requests, e.g. {failures[:5]}"
    for seen in observed:
        # Each client saw the old index, then the new one, and never the old one again.
        assert seen.count("A") >= REQUESTS_PER_SIDE and seen.count("B") >= REQUESTS_PER_SIDE
        assert seen.sides == sorted(seen.sides), "".join(seen.sides)
    assert not tmp_garbage(index_dir)


# -- two rebuilds at once ----------------------------------------------------------------


def test_two_rebuilds_at_once(tmp_path: Path, make_index: Callable[..., Path]) -> None:
    """A rebuild is halfway (its source waits); a second one, from the CLI, exits 4."""
    src_a = write_jsonl(tmp_path / "a.jsonl", corpus_a())
    src_b = write_jsonl(tmp_path / "b.jsonl", corpus_b())
    index_dir = make_index([SEED_FILE, src_a])
    new = read_sources([src_b]).threads
    halfway, resume = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def held() -> Iterator[Thread]:
        yield from new[:10]
        halfway.set()
        assert resume.wait(GENEROUS_SECONDS)
        yield from new[10:]

    def first() -> None:
        try:
            build_index(held(), index_dir)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    worker = threading.Thread(target=first)
    worker.start()
    try:
        assert halfway.wait(GENEROUS_SECONDS)
        assert len(list(index_dir.glob("seg-*.tmp"))) == 1  # the first one is writing
        second = run_rebuild(index_dir, SEED_FILE)
    finally:
        resume.set()
        worker.join(GENEROUS_SECONDS)
    assert not worker.is_alive() and not errors, errors
    assert second.returncode == EXIT_LOCKED, (second.returncode, second.stderr)
    assert re.search(r"another change to .* is running", second.stderr), second.stderr
    assert "Traceback" not in second.stderr

    found = search_totals(index_dir, ["betaword", "alphaword", SEED_QUERY])
    assert found["betaword"][0] == B_BETA  # the first rebuild's index, complete
    assert found["alphaword"][0] == found[SEED_QUERY][0] == 0  # the second changed nothing
    assert current_manifest(index_dir) is not None
    assert not tmp_garbage(index_dir)


# -- a rebuild killed halfway ------------------------------------------------------------------


def test_killed_rebuild_leaves_old_index(tmp_path: Path, make_index: Callable[..., Path],
                                         serve: Callable[[Path], Server]) -> None:
    src_a = write_jsonl(tmp_path / "a.jsonl", corpus_a())
    src_b = write_jsonl(tmp_path / "b.jsonl", corpus_b())
    index_dir = make_index([SEED_FILE, src_a])
    queries = ["zephyrin", "alphaword", SEED_QUERY, "kappaword"]
    before = search_totals(index_dir, queries)
    assert [before[q][0] for q in queries] == [A_ZEPHYRIN, A_ALPHA, 5, 0]
    srv = serve(index_dir)
    http_before = {q: http_summary(srv, q) for q in queries}
    pointer = (index_dir / CURRENT).read_text()

    with stuck_rebuild(index_dir, "kappaword", threads=200) as proc:
        assert list(index_dir.glob("seg-*.tmp")), "the rebuild has written part of a generation"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=GENEROUS_SECONDS)
    assert proc.returncode == -signal.SIGKILL
    assert list(index_dir.glob("seg-*.tmp")), "expected the killed rebuild's leftovers"

    # The old index still answers, identically, both freshly opened and over HTTP.
    assert (index_dir / CURRENT).read_text() == pointer
    assert search_totals(index_dir, queries) == before
    assert {q: http_summary(srv, q) for q in queries} == http_before

    # The next rebuild is not blocked by the dead one, and cleans up after it.
    done = run_rebuild(index_dir, SEED_FILE, src_b)
    assert done.returncode == 0, done.stderr
    assert not tmp_garbage(index_dir), tmp_garbage(index_dir)
    after = search_totals(index_dir, ["betaword", "alphaword", "kappaword"])
    assert after["betaword"][0] == B_BETA
    assert after["alphaword"][0] == after["kappaword"][0] == 0
    status, body = srv.get("betaword")
    assert status == 200 and body["total"] == B_BETA
