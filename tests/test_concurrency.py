"""Rebuilds racing with searches, with each other, and with SIGKILL, on a real server.

The app runs under waitress in a background thread; rebuilds run as real subprocesses
(``python -m indexer rebuild``), exactly as an operator would run them next to a server.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from helpers import current_manifest, embedded

from indexer.store.whoosh.manifest import CURRENT

ROOT = Path(__file__).resolve().parent.parent
SEED_FILE = ROOT / "index_data" / "threads" / "lippi-billautshow-2009-02.txt"
SEED_ID = "lippi-billautshow-2009-02"
EXIT_LOCKED = 4

#: Corpus A: every thread has "alphaword" in its post and "zephyrin" in all 3 passages.
A_THREADS = 50
A_ZEPHYRIN = A_THREADS * 3
A_ALPHA = A_THREADS
#: Corpus B: "betaword" in both passages of each thread, "zephyrin" only in the post.
B_THREADS = 80
B_ZEPHYRIN = B_THREADS
B_BETA = B_THREADS * 2

FILLER = ("Le débat sur le très haut débit continue dans les commentaires, et chacun "
          "donne son avis sur les réseaux, les opérateurs et les usages.")


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


def corpus_big(prefix: str, marker: str, passages: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """Threads of ~60-word passages over a 4000-word vocabulary (slow enough to index)."""
    rng = random.Random(seed)
    vocab = ["".join(rng.choice("bcdfglmnprstv") + rng.choice("aeiouéè")
                     for _ in range(rng.randint(2, 4))) for _ in range(4000)]
    done, n = 0, 0
    while done < passages:
        texts = [" ".join(rng.choices(vocab, k=60)) + f" {marker} " + FILLER
                 for _ in range(10)]
        yield thread(f"{prefix}-{n:05d}", texts[:2], texts[2:])
        done += 10
        n += 1


def rebuild_cmd(index_dir: Path, *sources: Path) -> list[str]:
    cmd = [sys.executable, "-m", "indexer", "rebuild", "--index", str(index_dir),
           "--backend", "whoosh", "--quiet"]
    for src in sources:
        cmd += ["--source", str(src)]
    return cmd


def rebuild_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("FIL_SOURCES", "FIL_INDEX_DIR", "FIL_BACKEND")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def start_rebuild(index_dir: Path, *sources: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(rebuild_cmd(index_dir, *sources), env=rebuild_env(),
                            cwd=index_dir.parent, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


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


# -- a real server -------------------------------------------------------------------------


class Server:
    """The app under waitress (4 threads) on 127.0.0.1, in a background thread."""

    def __init__(self, app: Flask) -> None:
        import waitress

        self.server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
        self.port = self.server.effective_port
        self.thread = threading.Thread(target=self.server.run, name="waitress", daemon=True)
        self.thread.start()

    def url(self, q: str, **params: object) -> str:
        query = urllib.parse.urlencode({"q": q, **params})
        return f"http://127.0.0.1:{self.port}/api/search?{query}"

    def get(self, q: str, **params: object) -> tuple[int, dict[str, Any]]:
        """GET /api/search: (status, JSON body); raises on transport or JSON errors."""
        try:
            with urllib.request.urlopen(self.url(q, **params), timeout=15) as resp:
                return resp.status, json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, {"raw": exc.read()[:300].decode("utf-8", "replace")}

    def stop(self) -> None:
        """Close every channel from inside the loop thread (so its loop ends), then join."""
        server = self.server

        def close_all() -> None:
            for channel in list(server._map.values()):
                if channel is not server and channel is not server.trigger:
                    channel.close()
            server.close()

        server.trigger.pull_trigger(close_all)
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "waitress did not stop"
        server.task_dispatcher.shutdown()


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


SEED_QUERY = "très haut débit"


def classify(q: str, status: int, body: dict[str, Any], seed_total: int) -> str | None:
    """Which index ("A"/"B") answered, or None for the seed query; AssertionError if neither."""
    assert status == 200, (q, status, body)
    total = body["total"]
    ids = {r["thread_id"] for r in body["results"]}
    assert isinstance(total, int), body
    if q == SEED_QUERY:
        assert total == seed_total, (q, total, seed_total)
        return None
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
    assert total == 0 or len(body["results"]) == min(total, 20), (q, total, len(ids))
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
    assert seed_total >= 5
    for q in ("zephyrin", "alphaword", "betaword"):
        assert classify(q, *srv.get(q, per_page=20), seed_total) == "A"

    stop = threading.Event()
    observed = [Observed() for _ in range(4)]
    clients = [threading.Thread(target=client_loop, args=(srv, stop, seen, seed_total, n))
               for n, seen in enumerate(observed)]
    for c in clients:
        c.start()
    try:
        time.sleep(0.3)  # queries are flowing before the rebuild starts
        proc = start_rebuild(index_dir, SEED_FILE, src_b)
        out, err = proc.communicate(timeout=120)
        exited = time.perf_counter()
        assert proc.returncode == 0, err
        # The new index must be served within a second of the rebuild's exit.
        while True:
            status, body = srv.get("betaword", per_page=20)
            if status == 200 and body["total"] == B_BETA:
                break
            assert time.perf_counter() - exited < 1.0, "new index not served after 1 s"
            time.sleep(0.02)
        time.sleep(0.5)  # and clients keep querying the new index for a while
    finally:
        stop.set()
        for c in clients:
            c.join(timeout=30)

    failures = [f for seen in observed for f in seen.failures]
    assert not failures, f"{len(failures)} failed requests, e.g. {failures[:5]}"
    requests = sum(seen.requests for seen in observed)
    assert requests >= 40, requests
    for seen in observed:
        # Each client sees the old index, then the new one; never the old one again.
        assert seen.sides == sorted(seen.sides), "".join(seen.sides)
        assert seen.sides[-1] == "B"
    assert any(seen.sides[0] == "A" for seen in observed)
    assert not tmp_garbage(index_dir)


# -- two rebuilds at once ----------------------------------------------------------------


@pytest.mark.slow
def test_two_rebuilds_at_once(tmp_path: Path, make_index: Callable[..., Path]) -> None:
    src_a = write_jsonl(tmp_path / "a.jsonl", corpus_a())
    big = write_jsonl(tmp_path / "big.jsonl", corpus_big("g", "gammaword", 2000))
    index_dir = make_index([SEED_FILE, src_a])

    procs = [start_rebuild(index_dir, big) for _ in range(2)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=180)
        results.append((p.returncode, out, err))
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, EXIT_LOCKED], results
    loser = next(r for r in results if r[0] == EXIT_LOCKED)
    assert re.search(r"another rebuild|already running|is running|en cours", loser[2],
                     re.IGNORECASE), loser[2]
    assert "Traceback" not in loser[2]

    found = search_totals(index_dir, ["gammaword", "alphaword"])
    assert found["gammaword"][0] == 2000
    assert found["alphaword"][0] == 0
    assert current_manifest(index_dir) is not None
    assert not tmp_garbage(index_dir)


# -- a rebuild killed halfway ------------------------------------------------------------------


@pytest.mark.slow
def test_killed_rebuild_leaves_old_index(tmp_path: Path, make_index: Callable[..., Path],
                                         serve: Callable[[Path], Server]) -> None:
    src_a = write_jsonl(tmp_path / "a.jsonl", corpus_a())
    src_b = write_jsonl(tmp_path / "b.jsonl", corpus_b())
    big = write_jsonl(tmp_path / "big.jsonl", corpus_big("k", "kappaword", 40000))
    index_dir = make_index([SEED_FILE, src_a])
    queries = ["zephyrin", "alphaword", SEED_QUERY, "kappaword"]
    before = search_totals(index_dir, queries)
    srv = serve(index_dir)
    http_before = {q: http_summary(srv, q) for q in queries}
    pointer = (index_dir / CURRENT).read_text()

    proc = start_rebuild(index_dir, big)
    deadline = time.monotonic() + 60
    while not list(index_dir.glob("gen-*.tmp")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the rebuild never started writing"
        time.sleep(0.01)
    time.sleep(0.3)  # well into indexing (40k passages take seconds)
    assert proc.poll() is None, "the rebuild finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert list(index_dir.glob("gen-*.tmp")), "expected the killed rebuild's leftovers"

    # The old index still answers, identically, both freshly opened and over HTTP.
    assert (index_dir / CURRENT).read_text() == pointer
    assert search_totals(index_dir, queries) == before
    assert {q: http_summary(srv, q) for q in queries} == http_before

    # The next rebuild is not blocked by the dead one, and cleans up after it.
    proc = start_rebuild(index_dir, SEED_FILE, src_b)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert not tmp_garbage(index_dir), tmp_garbage(index_dir)
    after = search_totals(index_dir, ["betaword", "alphaword", "kappaword"])
    assert after["betaword"][0] == B_BETA
    assert after["alphaword"][0] == after["kappaword"][0] == 0
    status, body = srv.get("betaword")
    assert status == 200 and body["total"] == B_BETA
