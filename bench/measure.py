"""Query latency and cold-open cost of each system, each measured in a fresh process.

A fresh process per measurement keeps module-level caches (analyser, query parsing)
warmed by one system's run from flattering the next one on the same queries. Fil is
reached through ``bench/fil_adapter.py`` only.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import fts5
from latency import HttpSearch, Latency, measure, serve

T = TypeVar("T")


def fresh_process(fn: Callable[..., T], *args: object) -> T:
    """Run ``fn(*args)`` in a new (spawned) Python process and return its result."""
    with ProcessPoolExecutor(max_workers=1,
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def engine_latency(index_dir: Path, measured: dict[str, list[str]],
                   warmup: dict[str, list[str]], stemmer: str = "python"
                   ) -> dict[str, Latency]:
    """Latency of Fil's ``engine.search(q, per_page=10)`` per query kind."""
    import fil_adapter

    fil_adapter.use_stemmer(stemmer)
    engine = fil_adapter.Engine(index_dir)
    try:
        return {k: measure(engine.count, measured[k], warmup[k]) for k in measured}
    finally:
        engine.close()


def http_latency(index_dir: Path, measured: dict[str, list[str]],
                 warmup: dict[str, list[str]], stemmer: str = "python"
                 ) -> tuple[dict[str, Latency], str | None]:
    """Latency of ``GET /api/search?q=...`` per kind, or ({}, why it was skipped)."""
    import fil_adapter

    fil_adapter.use_stemmer(stemmer)
    try:
        app_cm = fil_adapter.web_app(index_dir)
        app = app_cm.__enter__()
    except Exception as exc:  # absent or half-written: the rest of the benchmark still runs
        return {}, f"HTTP API skipped: the web app could not be created " \
                   f"({type(exc).__name__}: {exc})"
    try:
        with serve(app) as port:
            client = HttpSearch(port)
            try:
                return {k: measure(client, measured[k], warmup[k]) for k in measured}, None
            finally:
                client.close()
    finally:
        app_cm.__exit__(None, None, None)


def _yardstick_latency(index: Any, measured: dict[str, list[str]],
                       warmup: dict[str, list[str]]) -> dict[str, Latency]:
    """Latency of a yardstick index's ``search`` per kind (hits counted), then closed."""
    try:
        def search(q: str) -> int:
            return len(index.search(q))
        return {k: measure(search, measured[k], warmup[k]) for k in measured}
    finally:
        index.close()


def fts5_latency(db: Path, measured: dict[str, list[str]],
                 warmup: dict[str, list[str]]) -> dict[str, Latency]:
    """Latency of the FTS5 yardstick (top 10, bm25, snippet) per kind."""
    return _yardstick_latency(fts5.Fts5Index(db), measured, warmup)


def tantivy_latency(index_dir: Path, measured: dict[str, list[str]],
                    warmup: dict[str, list[str]]) -> dict[str, Latency]:
    """Latency of the tantivy yardstick (top 10 + count, BM25, snippets) per kind."""
    import tantivy_engine

    return _yardstick_latency(tantivy_engine.TantivyIndex(index_dir), measured, warmup)


def cold_open(system: str, path: Path, queries: list[str],
              stemmer: str = "python") -> dict[str, Any]:
    """In a fresh process: import, open the index, then the first queries, timed apart.

    ``queries``: the first one is the "first query after opening"; it is then run again
    (warm), then the others once each (other query kinds, still cold paths). Times in ms;
    ``cpu_ms``: process CPU time of import + open + first query. The OS page cache is
    left as it is (the index was just written or read, so its files are likely cached):
    this is a cold *process*, not a cold disk.
    """
    t0, c0 = time.perf_counter(), time.process_time()
    if system == "fil":
        import fil_adapter

        fil_adapter.use_stemmer(stemmer)
        fil_adapter.import_search()
        t1 = time.perf_counter()
        index: Any = fil_adapter.Engine(path)
        search: Callable[[str], int] = index.count
    elif system == "fts5":
        t1 = time.perf_counter()
        index = fts5.Fts5Index(path)
        search = lambda q: len(index.search(q))  # noqa: E731
    else:
        import tantivy  # noqa: F401
        import tantivy_engine
        t1 = time.perf_counter()
        index = tantivy_engine.TantivyIndex(path)
        search = lambda q: len(index.search(q))  # noqa: E731
    t2 = time.perf_counter()
    search(queries[0])
    t3, c3 = time.perf_counter(), time.process_time()
    search(queries[0])
    t4 = time.perf_counter()
    others = []
    for q in queries[1:]:
        s = time.perf_counter()
        search(q)
        others.append((time.perf_counter() - s) * 1000)
    index.close()
    return {"import_ms": (t1 - t0) * 1000, "open_ms": (t2 - t1) * 1000,
            "first_query_ms": (t3 - t2) * 1000, "total_ms": (t3 - t0) * 1000,
            "cpu_ms": (c3 - c0) * 1000, "same_query_again_ms": (t4 - t3) * 1000,
            "next_queries_ms": others, "queries": queries}
