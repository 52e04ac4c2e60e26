"""The search core's interface, shared by the web app and the CLI, and the backend factory.

A backend builds an index from threads, searches it and fetches whole threads. The
embedded Whoosh backend is the default; a server backend (PostgreSQL) plugs in here
without the web app or the CLI changing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Protocol

from .errors import IndexerError, QueryError
from .ingest.model import Thread
from .search.results import SearchResults
from .store.base import BuildReport, IndexStats

DEFAULT_INDEX_DIR = "index_data/index"
DEFAULT_SOURCE_DIR = "index_data/threads"
MAX_PER_PAGE = 100
MAX_PAGE = 100
BACKENDS = ("whoosh", "postgres")


class SearchBackend(Protocol):
    """What every backend provides: build, search, fetch a thread, describe itself."""

    def rebuild(self, threads: Iterable[Thread],
                progress: Callable[[int], None] | None = None) -> BuildReport:
        """Replace the whole index with these threads, atomically."""
        ...

    def search(self, query: str, page: int = 1, per_page: int = 10,
               facets: bool = False) -> SearchResults:
        """Run a query (see indexer.query) and return one page of ranked hits."""
        ...

    def get_thread(self, thread_id: str) -> Thread | None:
        """The whole thread with this id, or None."""
        ...

    def stats(self) -> IndexStats:
        """Counts and size of the current index."""
        ...

    def close(self) -> None:
        """Release open files or connections."""
        ...


def check_paging(page: object, per_page: object) -> tuple[int, int]:
    """Validate page and per_page (ints, 1..MAX_PAGE and 1..MAX_PER_PAGE) or raise QueryError."""
    out = []
    for name, value, top in (("page", page, MAX_PAGE), ("per_page", per_page, MAX_PER_PAGE)):
        try:
            n = int(str(value).strip())
        except ValueError:
            raise QueryError(f"le paramètre {name} doit être un nombre entier "
                             f"(reçu : {str(value)[:20]!r})") from None
        if not 1 <= n <= top:
            raise QueryError(f"le paramètre {name} doit être compris entre 1 et {top}")
        out.append(n)
    return out[0], out[1]


def open_backend(backend: str | None = None, index_dir: str | os.PathLike[str] | None = None,
                 database_url: str | None = None) -> SearchBackend:
    """Open the configured backend; arguments left None come from the environment.

    Environment: ``SEARCH_BACKEND`` (whoosh|postgres), ``FIL_INDEX_DIR``, ``DATABASE_URL``.
    """
    name = (backend or os.environ.get("SEARCH_BACKEND") or "whoosh").lower()
    if name == "whoosh":
        from .store.whoosh.store import WhooshBackend

        return WhooshBackend(index_dir or os.environ.get("FIL_INDEX_DIR") or DEFAULT_INDEX_DIR)
    if name == "postgres":
        try:
            from .store.postgres.store import PostgresBackend
        except ImportError as exc:
            raise IndexerError(f"the postgres backend is not available: {exc}") from None
        url = database_url or os.environ.get("DATABASE_URL")
        if not url:
            raise IndexerError("SEARCH_BACKEND=postgres needs DATABASE_URL "
                               "(e.g. postgresql://user@127.0.0.1:5432/fil)")
        return PostgresBackend(url)
    raise IndexerError(f"unknown search backend {name!r} (choose from {', '.join(BACKENDS)})")
