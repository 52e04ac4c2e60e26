"""The library's front door: a store opened from configuration, searched by the one pipeline.

The CLI and the web app are thin layers over :class:`Service`: search, fetch a thread,
rebuild, describe. Which store answers (the embedded index or PostgreSQL) is a setting
(:mod:`indexer.settings`); nothing above this module knows.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol

from .errors import IndexerError, NothingToIndexError, UnsupportedError
from .ingest.model import Thread
from .search.pipeline import search
from .search.results import SearchResults
from .search.store import SearchStore
from .settings import BACKENDS, Settings
from .store.base import BuildReport, IndexStats, UpdateReport


class Store(SearchStore, Protocol):
    """A store the service can also rebuild, describe and close.

    Stores may also change in place — ``update(threads, progress)``, ``delete(ids)``,
    ``optimize()`` returning an :class:`UpdateReport` — and check their write lock
    before a change reads anything (``check_writable()``); :class:`Service` looks for
    those and says when a store lacks one (:class:`~indexer.errors.UnsupportedError`).
    """

    def rebuild(self, threads: Iterable[Thread],
                progress: Callable[[int], None] | None = None) -> BuildReport:
        """Replace the whole index with these threads, atomically."""
        ...

    def stats(self) -> IndexStats:
        """Counts and size of the current index."""
        ...

    def close(self) -> None:
        """Release open files or connections."""
        ...


class Service:
    """Search, threads, rebuilds and statistics over one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.name = store.name

    def search(self, query: str, page: int = 1, per_page: int = 10,
               facets: bool = False, group: str = "passage",
               sort: str = "relevance") -> SearchResults:
        """One page of results (see :func:`indexer.search.pipeline.search`)."""
        return search(self.store, query, page=page, per_page=per_page, facets=facets,
                      group=group, sort=sort)

    def get_thread(self, thread_id: str) -> Thread | None:
        """The whole thread with this id, or None."""
        return self.store.thread(thread_id)

    def rebuild(self, threads: Iterable[Thread],
                progress: Callable[[int], None] | None = None) -> BuildReport:
        """Replace the whole index with these threads, atomically.

        Threads that turn out to be none fail the rebuild (NothingToIndexError) from
        inside the store's own reading, so every store abandons it and keeps its index.
        """
        return self.store.rebuild(_at_least_one(threads), progress=progress)

    def update(self, threads: Iterable[Thread],
               progress: Callable[[int], None] | None = None) -> UpdateReport:
        """Add new threads and replace changed ones, by id; searches see it at once."""
        return self._change("update", "incremental updates")(threads, progress=progress)

    def delete(self, thread_ids: Iterable[str]) -> UpdateReport:
        """Remove threads by id."""
        return self._change("delete", "deleting threads")(thread_ids)

    def optimize(self) -> UpdateReport:
        """Compact the index (merge segments, drop deleted passages)."""
        return self._change("optimize", "optimize")()

    def _change(self, method: str, what: str) -> Callable[..., UpdateReport]:
        """The store's method for a change, or UnsupportedError when it has none.

        A store may lack the method or raise NotImplementedError from it: both mean the
        same to the caller, said as data it can word.
        """
        func = getattr(self.store, method, None)
        if func is None:
            raise UnsupportedError(self.name, what)

        def call(*args: object, **kwargs: object) -> UpdateReport:
            try:
                return func(*args, **kwargs)
            except NotImplementedError:
                raise UnsupportedError(self.name, what) from None

        return call

    def check_writable(self) -> None:
        """Raise RebuildLockedError now if another change holds the index (reads no source).

        Stores without a cheap check (PostgreSQL) accept the call and check when writing.
        """
        probe = getattr(self.store, "check_writable", None)
        if probe is not None:
            probe()

    def stats(self) -> IndexStats:
        """Counts and size of the current index."""
        return self.store.stats()

    def close(self) -> None:
        """Release the store's open files or connections."""
        self.store.close()


def _at_least_one(threads: Iterable[Thread]) -> Iterator[Thread]:
    """The threads; NothingToIndexError where they end if there were none."""
    n = 0
    for t in threads:
        n += 1
        yield t
    if not n:
        raise NothingToIndexError("no thread to index: the index was left unchanged")


def open_store(settings: Settings) -> Store:
    """The store the settings name (imports PostgreSQL support only when asked for)."""
    if settings.backend == "whoosh":
        from .store.whoosh.store import EmbeddedStore

        return EmbeddedStore(settings.index_dir)
    if settings.backend == "postgres":
        try:
            from .store.postgres.store import PostgresStore
        except ImportError as exc:
            raise IndexerError(
                f"the postgres backend is not available ({exc}): install it with "
                "`pip install 'fil-search[postgres]'`") from None
        if not settings.database_url:
            raise IndexerError("the postgres backend needs a database URL "
                               "(--database-url or FIL_DATABASE_URL, e.g. "
                               "postgresql://user@127.0.0.1:5432/fil)")
        return PostgresStore(settings.database_url, shards=settings.shards)
    raise IndexerError(f"unknown search backend {settings.backend!r} "
                       f"(choose from {', '.join(BACKENDS)})")


def open_service(backend: str | None = None, index_dir: str | os.PathLike[str] | None = None,
                 database_url: str | None = None,
                 shards: Sequence[str] | None = None) -> Service:
    """A service over the configured store; arguments left None come from the environment."""
    settings = Settings.from_env().override(backend=backend, index_dir=index_dir,
                                             database_url=database_url, shards=shards)
    return Service(open_store(settings))
