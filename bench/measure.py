"""Query latency of each system, each measured in a fresh process (see ``bench/run.py``).

A fresh process per measurement keeps module-level caches (analyser, query parsing)
warmed by one system's run from flattering the next one on the same queries.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TypeVar

import fts5
from latency import HttpSearch, Latency, measure, serve

T = TypeVar("T")


def fresh_process(fn: Callable[..., T], *args: object) -> T:
    """Run ``fn(*args)`` in a new (spawned) Python process and return its result."""
    with ProcessPoolExecutor(max_workers=1,
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def engine_latency(index_dir: Path, measured: dict[str, list[str]],
                   warmup: dict[str, list[str]]) -> dict[str, Latency]:
    """Latency of ``engine.search(q, per_page=10)`` per query kind."""
    from indexer.store.whoosh.store import open_engine

    engine = open_engine(index_dir)
    try:
        def search(q: str) -> int:
            return len(engine.search(q, per_page=10).hits)
        return {k: measure(search, measured[k], warmup[k]) for k in measured}
    finally:
        engine.close()


def http_latency(index_dir: Path, measured: dict[str, list[str]],
                 warmup: dict[str, list[str]]) -> tuple[dict[str, Latency], str | None]:
    """Latency of ``GET /api/search?q=...`` per kind, or ({}, why it was skipped)."""
    try:
        from search_app import create_app
    except Exception as exc:  # absent or half-written: the rest of the benchmark still runs
        return {}, (f"HTTP API skipped: search_app.create_app not importable "
                    f"({type(exc).__name__}: {exc})")
    try:
        app = create_app({"INDEX_DIR": str(index_dir), "SEARCH_BACKEND": "whoosh"})
    except Exception as exc:
        return {}, f"HTTP API skipped: create_app failed ({type(exc).__name__}: {exc})"
    try:
        with serve(app) as port:
            client = HttpSearch(port)
            try:
                return {k: measure(client, measured[k], warmup[k]) for k in measured}, None
            finally:
                client.close()
    finally:
        backend = app.extensions.get("fil")
        if backend is not None:
            backend.close()


def fts5_latency(db: Path, measured: dict[str, list[str]],
                 warmup: dict[str, list[str]]) -> dict[str, Latency]:
    """Latency of the FTS5 yardstick (top 10, bm25, snippet) per kind."""
    index = fts5.Fts5Index(db)
    try:
        def search(q: str) -> int:
            return len(index.search(q))
        return {k: measure(search, measured[k], warmup[k]) for k in measured}
    finally:
        index.close()
