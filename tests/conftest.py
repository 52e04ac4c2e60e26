"""Shared fixtures: real Whoosh indexes built from real thread files, and the real Flask app.

- ``build_test_index(sources, index_dir)``: index threads given as Thread values, JSON
  Lines records (dicts), or paths to .txt/.jsonl files and folders.
- ``seed_index``: session-wide index of the seed thread (read-only: don't rebuild it).
- ``make_index``: factory for a fresh index in a tmp dir from any sources.
- ``make_app``: factory for an app over any index dir (backends closed at teardown).
- ``app`` / ``client``: the app and its test client over ``seed_index``.
- PostgreSQL: ``pg_server`` and what builds on it (below). Every test that can reach a
  server is marked ``postgres`` (the ``backend_name`` fixture's "postgres" parameter,
  tests/test_postgres.py as a whole, and tests that take PostgreSQL fixtures), so
  ``-m "not postgres"`` starts no server and connects to none. This is checked twice:
  at collection (an unmarked test whose fixtures reach ``pg_server`` stops the run) and
  when the server is first needed (an unmarked test that asks for it fails).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from indexer.ingest.model import Thread
from indexer.ingest.parsing import read_sources
from indexer.settings import Settings

if TYPE_CHECKING:
    from pg_cluster import TempCluster

from helpers import GENEROUS_SECONDS, SEED_FILE, build_index, postgres, unavailable

Source = Thread | dict[str, Any] | str | Path


def write_jsonl(records: Iterable[dict[str, Any]], path: Path) -> Path:
    """Write thread records as JSON Lines (UTF-8) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return path


def gather_threads(sources: Iterable[Any], scratch_jsonl: Path) -> list[Thread]:
    """Threads from Thread objects, JSONL records (written to ``scratch_jsonl``) or paths."""
    threads: list[Thread] = []
    records: list[dict[str, Any]] = []
    paths: list[Path] = []
    for src in sources:
        if isinstance(src, Thread):
            threads.append(src)
        elif isinstance(src, dict):
            records.append(src)
        else:
            paths.append(Path(src))
    if records:
        paths.append(write_jsonl(records, scratch_jsonl))
    if paths:
        read = read_sources(paths)
        assert not read.rejected, read.rejected
        threads.extend(read.threads)
    return threads


def build_test_index(sources: Iterable[Source], index_dir: Path) -> Path:
    """Build an index at ``index_dir`` from Threads, JSONL records (dicts) and/or paths.

    Fails the test if any source is rejected by the parser, so fixtures can't silently
    index less than they claim.
    """
    index_dir = Path(index_dir)
    threads = gather_threads(sources, index_dir.parent / f"{index_dir.name}-src.jsonl")
    build_index(threads, index_dir)
    return index_dir


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the seed thread (15 post paragraphs, 14 comments), shared by the session."""
    return build_test_index([SEED_FILE], tmp_path_factory.mktemp("seed") / "index")


@pytest.fixture(scope="session")
def make_index(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Iterable[Source]], Path]:
    """Factory: ``make_index([thread_or_record_or_path, ...])`` -> a fresh index dir."""

    def make(sources: Iterable[Source]) -> Path:
        return build_test_index(sources, tmp_path_factory.mktemp("idx") / "index")

    return make


@contextlib.contextmanager
def app_factory() -> Iterator[Callable[..., Flask]]:
    """``make(**config)`` -> a testing app; every app made is closed on exit."""
    from search_app import create_app

    apps: list[Flask] = []

    def make(settings: Settings, **config: Any) -> Flask:
        app = create_app({"TESTING": True, **config}, settings=settings)
        apps.append(app)
        return app

    try:
        yield make
    finally:
        for app in apps:
            app.extensions["fil"].close()


@pytest.fixture
def make_app() -> Iterator[Callable[..., Flask]]:
    """Factory: ``make_app(index_dir, **config)`` -> a testing app on the Whoosh backend."""
    with app_factory() as make:
        yield lambda index_dir, **config: make(Settings(index_dir=Path(index_dir)), **config)


@pytest.fixture
def app(make_app: Callable[..., Flask], seed_index: Path) -> Flask:
    """The app over the seed index."""
    return make_app(seed_index)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client for the app over the seed index."""
    return app.test_client()


# -- PostgreSQL backend ----------------------------------------------------------------
# ``pg_server``: DATABASE_URL's server if set; otherwise, when the PostgreSQL binaries are
# installed, a private throwaway cluster on a free loopback port (stopped at the end of
# the session); otherwise the postgres tests are skipped, except under CI=true, where
# they fail: CI must test both backends. Only tests marked ``postgres`` may start it.

POSTGRES = "postgres"  # the marker
PG_FIXTURES = frozenset({"pg_server", "make_pg_index", "pg_seed_url", "pg_seed", "pg_corpus",
                         "fresh_db", "sharded", "shard_url", "coordinator_url"})
_running: list[pytest.Item] = []  # the test being set up or run (one at a time)


def uses_postgres(item: pytest.Item) -> bool:
    """True when a test can reach a PostgreSQL server through its fixtures or parameters."""
    callspec = getattr(item, "callspec", None)
    if callspec is not None and any(v == POSTGRES for v in callspec.params.values()
                                    if isinstance(v, str)):
        return True
    return bool(PG_FIXTURES.intersection(getattr(item, "fixturenames", ())))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Stop the run when a test that reaches PostgreSQL is not marked ``postgres``."""
    unmarked = [i.nodeid for i in items
                if uses_postgres(i) and i.get_closest_marker(POSTGRES) is None]
    if unmarked:
        raise pytest.UsageError(
            "tests that use PostgreSQL must be marked postgres (else -m 'not postgres' "
            "would start a server): " + ", ".join(unmarked))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Remember which test is running, for :func:`check_marked_postgres`."""
    _running.append(item)
    try:
        return (yield)
    finally:
        _running.pop()


def check_marked_postgres() -> None:
    """Fail the current test if it starts PostgreSQL without the ``postgres`` marker."""
    item = _running[-1] if _running else None
    if item is None or item.get_closest_marker(POSTGRES) is None:
        pytest.fail(f"{item.nodeid if item else 'a fixture'} needs PostgreSQL but is not "
                    "marked postgres: `-m 'not postgres'` must start no server")


def pg_unavailable(reason: str) -> None:
    """Skip a postgres test with a reason, or fail it under CI (see helpers.in_ci)."""
    unavailable(reason)


class PgServer:
    """A PostgreSQL server for tests: fresh databases (or schemas) on demand."""

    def __init__(self, url: str, cluster: Any = None) -> None:
        self.url = url  # an existing database on the server (used for admin statements)
        self.cluster = cluster  # pg_cluster.TempCluster when we started it
        self.created: list[tuple[str, str]] = []  # ("database" | "schema", name)
        self._n = 0

    def new_database(self, prefix: str = "fil_test") -> str:
        """URL of a new, empty database (a new schema if CREATE DATABASE is not allowed)."""
        import os

        import psycopg
        from psycopg import sql

        self._n += 1
        name = f"{prefix}_{os.getpid()}_{self._n}"
        info = psycopg.conninfo.conninfo_to_dict(self.url)
        with psycopg.connect(self.url, autocommit=True) as conn:
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                self.created.append(("database", name))
                info["dbname"] = name
            except psycopg.errors.InsufficientPrivilege:
                conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
                self.created.append(("schema", name))
                info["options"] = f"-c search_path={name}"
        return psycopg.conninfo.make_conninfo(**info)

    def cleanup(self) -> None:
        """Drop what the tests created (a private cluster is removed whole instead)."""
        import contextlib

        import psycopg
        from psycopg import sql

        if self.cluster is not None:
            self.cluster.stop()
            return
        with contextlib.suppress(psycopg.Error), \
                psycopg.connect(self.url, autocommit=True) as conn:
            for kind, name in reversed(self.created):
                with contextlib.suppress(psycopg.Error):
                    if kind == "database":
                        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                                     .format(sql.Identifier(name)))
                    else:
                        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE")
                                     .format(sql.Identifier(name)))


def start_pg_server() -> PgServer:
    """DATABASE_URL's server, or a private cluster; skip (fail under CI) when neither works."""
    import os

    url = os.environ.get("DATABASE_URL")
    if url:
        try:
            import psycopg

            psycopg.connect(url, connect_timeout=GENEROUS_SECONDS).close()
        except Exception as exc:  # noqa: BLE001 - any failure: the server can't be had
            pg_unavailable(f"DATABASE_URL is set but unreachable: {exc}")
        return PgServer(url)
    cluster = start_temp_cluster(
        "no PostgreSQL server: set DATABASE_URL or install postgresql (initdb/pg_ctl), "
        "e.g. `source .ci/postgres.sh`", "could not start a private PostgreSQL cluster")
    return PgServer(cluster.url(), cluster)


def start_temp_cluster(no_binaries: str, failed: str) -> TempCluster:
    """A private throwaway PostgreSQL cluster; skip (fail under CI) with these reasons."""
    from pg_cluster import ClusterError, TempCluster, find_bindir

    if find_bindir() is None:
        pg_unavailable(no_binaries)
    try:
        return TempCluster().start()
    except ClusterError as exc:
        pg_unavailable(f"{failed}: {exc}")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A PostgreSQL server for the session (see the comment above)."""
    check_marked_postgres()
    server = start_pg_server()
    yield server
    server.cleanup()


def rebuild_pg(url: str, sources: Iterable[Source], scratch: Path,
               shards: list[str] | None = None) -> str:
    """Index sources (as build_test_index takes them) into the database at ``url``."""

    threads = gather_threads(sources, scratch / "pg-src.jsonl")
    backend = postgres(url, shards=shards or [])
    try:
        backend.rebuild(threads)
    finally:
        backend.close()
    return url


@pytest.fixture(scope="session")
def make_pg_index(pg_server: PgServer,
                  tmp_path_factory: pytest.TempPathFactory) -> Callable[..., str]:
    """Factory: ``make_pg_index([sources...])`` -> URL of a fresh database holding them."""

    def make(sources: Iterable[Source]) -> str:
        return rebuild_pg(pg_server.new_database(), sources, tmp_path_factory.mktemp("pg"))

    return make


@pytest.fixture(scope="session")
def pg_seed_url(make_pg_index: Callable[..., str]) -> str:
    """A PostgreSQL index of the seed thread, shared by the session (don't rebuild it)."""
    return make_pg_index([SEED_FILE])


@pytest.fixture
def make_pg_app() -> Iterator[Callable[..., Flask]]:
    """Factory: ``make_pg_app(database_url, **config)`` -> a testing app on PostgreSQL."""
    with app_factory() as make:
        yield lambda url, **config: make(Settings(backend="postgres", database_url=url), **config)


@pytest.fixture(params=["whoosh", pytest.param(POSTGRES, marks=pytest.mark.postgres)])
def backend_name(request: pytest.FixtureRequest) -> str:
    """Each search backend in turn (tests that take it run once per backend)."""
    return request.param


@pytest.fixture
def make_backend_index(backend_name: str, request: pytest.FixtureRequest) -> Callable[..., Any]:
    """Factory: an index of the sources on the current backend (dir or database URL)."""
    if backend_name == "postgres":
        return request.getfixturevalue("make_pg_index")
    return request.getfixturevalue("make_index")


@pytest.fixture
def make_backend_app(backend_name: str, request: pytest.FixtureRequest) -> Callable[..., Flask]:
    """Factory: ``make_backend_app(index, **config)`` on the current backend."""
    if backend_name == "postgres":
        return request.getfixturevalue("make_pg_app")
    return request.getfixturevalue("make_app")


@pytest.fixture
def missing_index(backend_name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """Where no index was built: an empty directory or an empty database."""
    if backend_name == "postgres":
        return request.getfixturevalue("pg_server").new_database("fil_empty")
    return tmp_path / "no-index"


@pytest.fixture
def backend_app(backend_name: str, make_backend_app: Callable[..., Flask],
                request: pytest.FixtureRequest) -> Flask:
    """The app over the seed index, on the current backend."""
    index = request.getfixturevalue("pg_seed_url" if backend_name == "postgres"
                                    else "seed_index")
    return make_backend_app(index)


@pytest.fixture
def backend_client(backend_app: Flask) -> FlaskClient:
    """A test client for the seed app on the current backend."""
    return backend_app.test_client()
