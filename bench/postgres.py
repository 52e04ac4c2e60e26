"""Benchmark the PostgreSQL backend the way ``bench/run.py`` measures the Whoosh one.

Rebuild speed (passages/s; ``read_sources`` + ``PostgresBackend.rebuild`` timed like
Fil's rebuild, and the backend's own ``BuildReport.seconds``: analysis, COPY, indexes,
ANALYZE, swap) and the latency of ``backend.search(q, per_page=10)`` (snippets
included) per query kind of ``bench/queries.py`` (same seeded queries, same warm-up,
same percentiles as ``bench/latency.py``). Optionally with the passages partitioned
over a second server (``--shards 1``), and the Whoosh backend on the same queries for
comparison (``--whoosh``). ``bench/run.py --postgres`` calls :func:`measure_postgres`
in a child process for its PostgreSQL column.

Without ``--database-url`` (or ``DATABASE_URL``), private throwaway clusters are
started (see :mod:`indexer.pg_cluster`)::

    python bench/postgres.py bench/corpora/10k.jsonl --queries 200 --whoosh
    python bench/postgres.py bench/corpora/10k.jsonl --shards 1

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
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
    """Whether a PostgreSQL server can be used: ``DATABASE_URL`` set or binaries found."""
    return bool(os.environ.get("DATABASE_URL")) or fil_adapter.postgres_available()


def measure_postgres(corpus: Path, measured: dict[str, list[str]],
                     warmup: dict[str, list[str]], database_url: str | None = None,
                     shards: int = 0, rebuilds: int = 1) -> dict[str, Any]:
    """Rebuild the PostgreSQL backend on ``corpus`` and time the queries per kind.

    Uses ``database_url`` (its Fil tables are replaced) or else a private throwaway
    cluster, removed on return. Latencies are ``Latency.as_dict()`` per kind.
    """
    fil_adapter.use_stemmer()
    out: dict[str, Any] = {"shards": shards,
                           "server": "DATABASE_URL" if database_url else "TempCluster"}
    with contextlib.ExitStack() as stack:
        url = database_url
        if not url:
            url = stack.enter_context(fil_adapter.temp_cluster()).create_database("fil_bench")
        shard_urls = [stack.enter_context(fil_adapter.temp_cluster())
                      .create_database("fil_bench_shard") for _ in range(shards)]
        backend = fil_adapter.PostgresEngine(url, shard_urls)
        stack.callback(backend.close)
        runs = []
        for _ in range(max(1, rebuilds)):
            started = time.perf_counter()
            read = fil_adapter.read_threads([corpus])
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

        out["latency"] = {k: latency.measure(backend.count, measured[k], warmup[k]).as_dict()
                          for k in measured}
        out["index_bytes"] = backend.size_bytes()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--queries", type=int, default=200, help="measured queries per kind")
    ap.add_argument("--warmup", type=int, default=20, help="untimed warm-up queries per kind")
    ap.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    ap.add_argument("--shards", type=int, default=0, help="extra servers (private clusters)")
    ap.add_argument("--rebuilds", type=int, default=2, help="rebuilds (the best one is kept)")
    ap.add_argument("--whoosh", action="store_true", help="also time the Whoosh backend")
    args = ap.parse_args(argv)

    maker = queries.QueryMaker(queries.read_passages(args.corpus))
    every = maker.all(args.queries + args.warmup)
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
