"""Every call the benchmark makes into Fil's library (``indexer.*``, ``search_app``) is here.

Fil's modules are being reorganised: when a path changes, re-point it in this file
only. Nothing else under ``bench/`` imports ``indexer`` or ``search_app``.

Stemmer: Fil stems through ``snowballstemmer``, which uses PyStemmer's C code (a core
dependency: the default install) and falls back to its own pure-Python code when
PyStemmer cannot be imported. :func:`use_stemmer` picks one for the current process and
must run before anything imports ``snowballstemmer``; ``BENCH_FIL_STEMMER`` (``python``
or ``pystemmer``) sets it for child processes, default ``pystemmer``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

STEMMER_ENV = "BENCH_FIL_STEMMER"
STEMMERS = ("python", "pystemmer")
#: What each stemmer choice is called in reports.
STEMMER_NAMES = {"pystemmer": "default install (PyStemmer)",
                 "python": "pure-Python fallback (snowballstemmer without PyStemmer)"}


def use_stemmer(kind: str | None = None) -> str:
    """Make this process stem with ``kind`` (default: ``$BENCH_FIL_STEMMER`` or pystemmer)."""
    kind = kind or os.environ.get(STEMMER_ENV) or "pystemmer"
    if kind not in STEMMERS:
        raise ValueError(f"stemmer must be one of {STEMMERS}, not {kind!r}")
    if "snowballstemmer" in sys.modules:
        if stemmer_in_use() != kind:
            raise RuntimeError(f"snowballstemmer already imported with {stemmer_in_use()}; "
                               f"call use_stemmer({kind!r}) first")
        return kind
    if kind == "python":
        sys.modules["Stemmer"] = None  # type: ignore[assignment]  # import Stemmer fails
    else:
        import Stemmer  # noqa: F401  (raises when PyStemmer is not installed)
    os.environ[STEMMER_ENV] = kind  # children spawned from here inherit the choice
    return kind


def stemmer_in_use() -> str:
    """``pystemmer`` or ``python``: what snowballstemmer actually resolved to."""
    import snowballstemmer

    return "pystemmer" if getattr(snowballstemmer.stemmer, "__module__", "") == "Stemmer" \
        else "python"


# -- reading and indexing ----------------------------------------------------------------------


def read_threads(paths: Iterable[Path]) -> Any:
    """Fil's reader on thread files: an object with ``threads`` and ``rejected``."""
    from indexer.ingest.parsing import read_sources

    return read_sources(list(paths))


def stream_threads(paths: Iterable[Path]) -> tuple[Iterator[Any], Any]:
    """Fil's reader as the CLI's rebuild uses it: threads one by one, and the report they fill."""
    from indexer.ingest.parsing import ReadReport, iter_threads, plan_sources

    report = ReadReport()
    return iter_threads(plan_sources(list(paths)), report), report


def build_index(threads: Any, index_dir: Path) -> Any:
    """Fil's full rebuild of ``index_dir``: a report with ``threads`` and ``passages``."""
    from indexer.store.whoosh.writer import rebuild

    return rebuild(Path(index_dir), threads)


def index_size(index_dir: Path) -> int:
    """Bytes of the segments and deletion files the current manifest names."""
    from indexer.store.whoosh.store import EmbeddedStore

    store = EmbeddedStore(index_dir)
    try:
        return int(store.stats().size_bytes)
    finally:
        store.close()


def update_threads(index_dir: Path, records: list[dict[str, Any]], scratch: Path) -> Any:
    """Fil's update of ``index_dir`` with thread records (written to ``scratch`` and read)."""
    import json

    from indexer.store.whoosh.writer import update

    scratch.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                       encoding="utf-8")
    return update(Path(index_dir), read_threads([scratch]).threads)


def search_time_limit() -> float:
    """Seconds a search may take before it returns what it has found."""
    from indexer.search.pipeline import SEARCH_TIME_LIMIT

    return SEARCH_TIME_LIMIT


def index_segments(index_dir: Path) -> int:
    """How many segments the current manifest holds."""
    from indexer.store.whoosh.manifest import read_current

    return len(read_current(Path(index_dir))[1].segments)


def analysed_terms() -> Callable[[str], list[str]]:
    """Fil's analyser as text -> terms (stems after elision, folding, stop words)."""
    from indexer.analysis import analyzer

    return analyzer().terms


def inflection_parts() -> tuple[Callable[[], Any], type, type, type]:
    """(french_chain, StopFilter, KeywordFilter, InflectionFilter) for the inflection report."""
    from indexer.analysis import InflectionFilter, KeywordFilter, StopFilter, french_chain

    return french_chain, StopFilter, KeywordFilter, InflectionFilter


def rebuild_command(corpus: Path, index_dir: Path) -> list[str]:
    """The command line of Fil's CLI rebuild of ``index_dir`` from ``corpus`` (Whoosh)."""
    return [sys.executable, "-m", "indexer", "rebuild", "--source", str(corpus),
            "--index", str(index_dir), "--backend", "whoosh", "--quiet"]


def serve_command(host: str, port: int, threads: int, index_dir: Path,
                  source: Path) -> list[str]:
    """The command line of Fil's production web server (waitress) on one port."""
    return [sys.executable, "-m", "search_app", "--host", host, "--port", str(port),
            "--threads", str(threads), "--index", str(index_dir), "--source", str(source)]


# -- searching ---------------------------------------------------------------------------------


HitKey = tuple[str, str, int]


class Engine:
    """Fil's search core on one index (``engine.search(q, per_page=10)``, snippets included)."""

    def __init__(self, index_dir: Path) -> None:
        from indexer.service import Service
        from indexer.store.whoosh.store import EmbeddedStore

        self._engine = Service(EmbeddedStore(index_dir))

    def search(self, query: str, per_page: int = 10,
               config: dict[str, Any] | None = None) -> list[HitKey]:
        """(thread id, kind, position) of the first page's hits (``config``: ranking
        settings changed from the defaults, by name, for ablations)."""
        if config:
            from indexer.search.pipeline import search
            from indexer.search.ranking import DEFAULT

            res = search(self._engine.store, query, per_page=per_page,
                         config=DEFAULT.but(**config))
        else:
            res = self._engine.search(query, per_page=per_page)
        return [(h.thread_id, h.kind, h.position) for h in res.hits]

    def count(self, query: str) -> int:
        """Hits on the first page (what latency loops need)."""
        return len(self._engine.search(query, per_page=10).hits)

    def close(self) -> None:
        self._engine.close()


def whoosh_backend(index_dir: Path) -> Engine:
    """The Whoosh backend object, as the PostgreSQL comparison opens it."""
    return Engine(index_dir)


@contextmanager
def web_app(index_dir: Path) -> Iterator[Any]:
    """The Flask app over the Whoosh backend (``search_app.create_app``), closed after use.

    Raises ImportError or another exception when the app cannot be created.
    """
    from indexer.settings import Settings
    from search_app import create_app

    app = create_app(settings=Settings(index_dir=Path(index_dir), backend="whoosh"))
    try:
        yield app
    finally:
        backend = app.extensions.get("fil")
        if backend is not None:
            backend.close()


# -- PostgreSQL --------------------------------------------------------------------------------


def _tests_on_path() -> None:
    """The tests folder, where the throwaway-cluster helper lives, on sys.path."""
    tests = str(Path(__file__).resolve().parent.parent / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)


def postgres_available() -> bool:
    """Whether PostgreSQL server binaries are found (for a throwaway cluster)."""
    _tests_on_path()
    from pg_cluster import find_bindir

    return find_bindir() is not None


def temp_cluster() -> Any:
    """A private throwaway PostgreSQL cluster (context manager; ``create_database(name)``)."""
    _tests_on_path()
    from pg_cluster import TempCluster

    return TempCluster()


class PostgresEngine:
    """Fil's PostgreSQL backend: rebuild, search, size."""

    def __init__(self, url: str, shards: list[str]) -> None:
        from indexer.service import Service
        from indexer.store.postgres.store import PostgresStore

        self._backend = Service(PostgresStore(url, shards=shards))
        self.timed_out = 0  # searches cut short by the search time limit

    def rebuild(self, threads: Any) -> Any:
        """A report with ``seconds``, ``passages`` and ``threads``."""
        return self._backend.rebuild(threads)

    def count(self, query: str) -> int:
        hits, timed_out = self.search_page(query)
        self.timed_out += timed_out
        return hits

    def search_page(self, query: str) -> tuple[int, bool]:
        """Hits on the first page, and whether the search time limit cut it short."""
        res = self._backend.search(query, per_page=10)
        return len(res.hits), any(n.code == "timed_out" for n in res.notices)

    def total(self, query: str) -> int:
        """How many passages match (the results' total)."""
        return int(self._backend.search(query, per_page=1).total)

    def update(self, threads: Any) -> Any:
        """Add or replace threads by id: a report with ``passages``."""
        return self._backend.update(threads)

    def size_bytes(self) -> int:
        return int(self._backend.stats().size_bytes)

    def close(self) -> None:
        self._backend.close()


def import_search() -> None:
    """Import Fil's search modules (so that a cold-open timing can count them apart)."""
    import indexer.search.pipeline  # noqa: F401
    import indexer.store.whoosh.store  # noqa: F401
