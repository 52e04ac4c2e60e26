"""Benchmark the PostgreSQL backend the way ``bench/run.py`` measures the Whoosh one.

Rebuild speed (passages/s; ``read_sources`` + ``PostgresStore.rebuild`` timed like
Fil's rebuild, and the store's own ``BuildReport.seconds``: analysis, COPY, indexes,
ANALYZE, swap) and the latency of ``backend.search(q, per_page=10)`` (snippets
included) per query kind of ``bench/queries.py`` (same seeded queries, same warm-up,
same percentiles as ``bench/latency.py``). Optionally with the passages partitioned
over a second server (``--shards 1``), and the Whoosh backend on the same queries for
comparison (``--whoosh``). ``bench/run.py --postgres`` calls :func:`measure_postgres`
in a child process for its PostgreSQL column.

``--swaps N`` measures rebuilds under load instead: ``--clients`` threads search
without pause while another process rebuilds the same corpus N times; every search
that fails (no index, server unavailable, anything else) or runs out of time is counted.

Without ``--database-url`` (or ``DATABASE_URL``), private throwaway clusters are
started (see :mod:`pg_cluster`)::

    python bench/postgres.py bench/corpora/10k.jsonl --queries 200 --whoosh
    python bench/postgres.py bench/corpora/10k.jsonl --shards 1
    python bench/postgres.py bench/corpora/10k.jsonl --shards 1 --swaps 3 --clients 6

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for _p in (str(ROOT), str(BENCH), str(ROOT / "tests")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import latency  # noqa: E402
import queries  # noqa: E402


def available() -> bool:
    """Whether a PostgreSQL server can be used: ``DATABASE_URL`` set or binaries found."""
    from pg_cluster import find_bindir

    return bool(os.environ.get("DATABASE_URL")) or find_bindir() is not None


def measure_postgres(corpus: Path, measured: dict[str, list[str]],
                     warmup: dict[str, list[str]], database_url: str | None = None,
                     shards: int = 0, rebuilds: int = 1) -> dict[str, Any]:
    """Rebuild the PostgreSQL backend on ``corpus`` and time the queries per kind.

    Uses ``database_url`` (its Fil tables are replaced) or else a private throwaway
    cluster, removed on return. Latencies are ``Latency.as_dict()`` per kind.
    """
    from pg_cluster import TempCluster

    from indexer.ingest.parsing import read_sources
    from indexer.service import Service
    from indexer.store.postgres.store import PostgresStore

    out: dict[str, Any] = {"shards": shards,
                           "server": "DATABASE_URL" if database_url else "TempCluster"}
    with contextlib.ExitStack() as stack:
        url = database_url
        if not url:
            url = stack.enter_context(TempCluster()).create_database("fil_bench")
        shard_urls = [stack.enter_context(TempCluster()).create_database("fil_bench_shard")
                      for _ in range(shards)]
        backend = Service(PostgresStore(url, shards=shard_urls))
        stack.callback(backend.close)
        runs = []
        for _ in range(max(1, rebuilds)):
            started = time.perf_counter()
            read = read_sources([corpus])
            read_done = time.perf_counter()
            report = backend.rebuild(read.threads)
            done = time.perf_counter()
            runs.append({"read_seconds": read_done - started,
                         "build_seconds": done - read_done, "seconds": done - started,
                         "backend_seconds": report.seconds, "passages": report.passages,
                         "threads": report.threads})
        best = min(runs, key=lambda r: r["seconds"])
        out["rebuilds"] = runs
        out["rebuild"] = best | {"per_second": best["passages"] / best["seconds"]
                                 if best["seconds"] else 0.0}
        out["passages"] = best["passages"]
        out["threads"] = best["threads"]

        def search(q: str) -> int:
            return len(backend.search(q, per_page=10).hits)

        out["latency"] = {k: latency.measure(search, measured[k], warmup[k]).as_dict()
                          for k in measured}
        out["index_bytes"] = backend.stats().size_bytes
    return out


#: Run in a child process: one rebuild, as `python -m indexer rebuild` would do it.
REBUILD_SCRIPT = """
import sys
from indexer.ingest.parsing import read_sources
from indexer.store.postgres.store import PostgresStore
store = PostgresStore(sys.argv[1], shards=sys.argv[3:])
store.rebuild(read_sources([sys.argv[2]]).threads)
store.close()
"""


def measure_swaps(corpus: Path, queries_: list[str], database_url: str | None = None,
                  shards: int = 0, swaps: int = 3, clients: int = 6) -> dict[str, Any]:
    """Searches from ``clients`` threads while another process rebuilds ``swaps`` times.

    Returns how many searches ran, how they ended (``ok``, ``timed_out`` or the error's
    class name) and the slowest one.
    """
    from pg_cluster import TempCluster

    from indexer.service import Service
    from indexer.store.postgres.store import PostgresStore

    outcomes: collections.Counter[str] = collections.Counter()
    slowest = 0.0
    with contextlib.ExitStack() as stack:
        url = database_url or stack.enter_context(TempCluster()).create_database("fil_bench")
        shard_urls = [stack.enter_context(TempCluster()).create_database("fil_bench_shard")
                      for _ in range(shards)]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        rebuild = [sys.executable, "-c", REBUILD_SCRIPT, url, str(corpus), *shard_urls]
        subprocess.run(rebuild, check=True, env=env)  # the index they search at first
        backend = Service(PostgresStore(url, shards=shard_urls))
        stack.callback(backend.close)
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
                    res = backend.search(q, per_page=10)
                    outcome = ("timed_out" if any(n.code == "timed_out" for n in res.notices)
                               else "ok")
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
                subprocess.run(rebuild, check=True, env=env)
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
    ap.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    ap.add_argument("--shards", type=int, default=0, help="extra servers (private clusters)")
    ap.add_argument("--rebuilds", type=int, default=2, help="rebuilds (the best one is kept)")
    ap.add_argument("--whoosh", action="store_true", help="also time the Whoosh backend")
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
                          args.shards, args.rebuilds)
    out |= {"threads": pg["threads"], "shards": args.shards, "passages": pg["passages"],
            "rebuild_seconds": [round(r["backend_seconds"], 3) for r in pg["rebuilds"]],
            "rebuild_passages_per_second": round(
                pg["passages"] / min(r["backend_seconds"] for r in pg["rebuilds"]), 1),
            "postgres": pg["latency"], "index_bytes": pg["index_bytes"]}
    if args.whoosh:
        from indexer.ingest.parsing import read_sources
        from indexer.service import Service
        from indexer.store.whoosh.store import EmbeddedStore
        from indexer.store.whoosh.writer import rebuild as _rebuild

        def build_index(threads, index_dir):  # noqa: ANN001, ANN202
            return _rebuild(Path(index_dir), threads)

        read = read_sources([args.corpus])
        with tempfile.TemporaryDirectory() as tmp:
            index_dir = Path(tmp) / "index"
            started = time.perf_counter()
            report = build_index(read.threads, index_dir)
            out["whoosh_rebuild_passages_per_second"] = round(
                report.passages / (time.perf_counter() - started), 1)
            wb = Service(EmbeddedStore(index_dir))
            try:
                def wsearch(q: str) -> int:
                    return len(wb.search(q, per_page=10).hits)

                out["whoosh"] = {k: latency.measure(wsearch, measured[k], warmup[k]).as_dict()
                                 for k in measured}
            finally:
                wb.close()
    out["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
