"""Benchmark the PostgreSQL backend the way ``bench/run.py`` measures the Whoosh one.

Rebuild speed (passages/s, the backend's own ``BuildReport.seconds``: analysis, COPY,
indexes, ANALYZE, swap) and the latency of ``backend.search(q, per_page=10)`` (snippets
included) per query kind of ``bench/queries.py`` (same seeded queries, same warm-up,
same percentiles as ``bench/latency.py``). Optionally with the passages partitioned
over a second server (``--shards 1``), and the Whoosh backend on the same queries for
comparison (``--whoosh``).

Without ``--database-url`` (or ``DATABASE_URL``), private throwaway clusters are
started (see :mod:`indexer.pg_cluster`)::

    python -m indexer.pg_bench bench/corpora/10k.jsonl --queries 200 --warmup 20 --whoosh
    python -m indexer.pg_bench bench/corpora/10k.jsonl --shards 1

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

ROOT = Path(__file__).resolve().parent.parent


def _bench_modules() -> tuple[Any, Any]:
    sys.path.insert(0, str(ROOT / "bench"))
    import latency  # type: ignore[import-not-found]
    import queries  # type: ignore[import-not-found]

    return queries, latency


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

    from .parsing import read_sources
    from .pg import PostgresBackend
    from .pg_cluster import TempCluster

    queries, latency = _bench_modules()
    maker = queries.QueryMaker(queries.read_passages(args.corpus))
    every = maker.all(args.queries + args.warmup)
    measured = {k: v[:args.queries] for k, v in every.items()}
    warmup = {k: v[args.queries:] for k, v in every.items()}
    read = read_sources([args.corpus])
    out: dict[str, Any] = {"corpus": str(args.corpus), "threads": len(read.threads),
                           "shards": args.shards, "queries_per_kind": args.queries,
                           "load_average_1m_at_start": round(os.getloadavg()[0], 2)}
    with contextlib.ExitStack() as stack:
        url = args.database_url
        if not url:
            url = stack.enter_context(TempCluster()).create_database("fil_bench")
        shard_urls = [stack.enter_context(TempCluster()).create_database("fil_bench_shard")
                      for _ in range(args.shards)]
        backend = PostgresBackend(url, shards=shard_urls)
        stack.callback(backend.close)
        runs = []
        for _ in range(max(1, args.rebuilds)):
            report = backend.rebuild(read.threads)
            runs.append(report)
        best = min(runs, key=lambda r: r.seconds)
        out["passages"] = best.passages
        out["rebuild_seconds"] = [round(r.seconds, 3) for r in runs]
        out["rebuild_passages_per_second"] = round(best.passages / best.seconds, 1)

        def search(q: str) -> int:
            return len(backend.search(q, per_page=10).hits)

        out["postgres"] = {k: latency.measure(search, measured[k], warmup[k]).as_dict()
                           for k in measured}
        out["index_bytes"] = backend.stats().size_bytes
        if args.whoosh:
            from .engine import WhooshBackend
            from .index import build_index

            index_dir = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "index"
            started = time.perf_counter()
            report = build_index(read.threads, index_dir)
            out["whoosh_rebuild_passages_per_second"] = round(
                report.passages / (time.perf_counter() - started), 1)
            wb = WhooshBackend(index_dir)
            stack.callback(wb.close)

            def wsearch(q: str) -> int:
                return len(wb.search(q, per_page=10).hits)

            out["whoosh"] = {k: latency.measure(wsearch, measured[k], warmup[k]).as_dict()
                             for k in measured}
    out["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
