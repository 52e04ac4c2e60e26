"""Faults of the PostgreSQL backend, on real servers, seen through the web app.

- Rebuilds under load: searches from several threads through three swaps of two
  alternating corpora, on one server and on two (postgres_fdw): every answer is a 200
  holding exactly one corpus's results, never "no index", never a mix.
- A shard stopped (``pg_ctl stop -m immediate``) or frozen (SIGSTOP of its postmaster
  and backends: a suspended VM or a network partition looks the same), a coordinator
  frozen: each search answers 503 with Retry-After, within a bounded time, and the app
  recovers by itself once the server is back. A search that runs out of time on a
  healthy partitioned index still answers 200 with what it found.
- The server (``python -m search_app``) started while its database is down serves 503s
  without a traceback.

Each test gets private throwaway clusters (``pg_cluster.TempCluster``): they are stopped
and frozen, which no shared server should be. Bounds on time are the designed bound
plus tests/helpers.py's GENEROUS_SECONDS (stated at each use).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import app_factory, pg_unavailable, start_temp_cluster
from flask import Flask
from helpers import GENEROUS_SECONDS, PIAF_THREADS, ROOT, SEED_FILE, postgres
from pg_cluster import TempCluster, free_port

from indexer.errors import IndexDamagedError, IndexerError
from indexer.ingest.model import Thread
from indexer.ingest.parsing import read_sources
from indexer.search.pipeline import SEARCH_TIME_LIMIT
from indexer.settings import Settings

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

LIMIT = SEARCH_TIME_LIMIT  # seconds: the search time limit the app runs with
#: Designed bounds (seconds) on a 503: a stopped server refuses at once; a frozen one
#: is given up on at the search limit plus the watchdog's margin (plus the shard probe's).
STOPPED_BOUND = 1.0
FROZEN_BOUND = LIMIT + 1.0
QUERIES = ["lippi", "tres haut debit", "guerre mondiale", "france", "gouvernement",
           "histoire", "author:philrig", "roi de france", "paris OR lyon", "kind:comment"]


# -- fixtures ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def corpora() -> tuple[list[Thread], list[Thread]]:
    """Two corpora: the seed thread with the even PIAF threads, and with the odd ones."""
    if not PIAF_THREADS.exists():
        pytest.skip(f"PIAF threads not found at {PIAF_THREADS}")
    read = read_sources([SEED_FILE, PIAF_THREADS])
    assert not read.rejected, read.rejected
    seed, piaf = read.threads[:1], read.threads[1:]
    return seed + piaf[0::2], seed + piaf[1::2]


@pytest.fixture(scope="module")
def coordinator() -> Iterator[TempCluster]:
    """A private server: the coordinator (or the only server)."""
    cluster = start_temp_cluster("the fault tests need the PostgreSQL binaries",
                                 "could not start a private PostgreSQL server")
    try:
        with psycopg.connect(cluster.url()) as conn:
            if conn.execute("SELECT 1 FROM pg_available_extensions "
                            "WHERE name = 'postgres_fdw'").fetchone() is None:
                pg_unavailable("postgres_fdw is not installed (package postgresql-contrib)")
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def shard() -> Iterator[TempCluster]:
    """A second private server, holding a partition."""
    cluster = start_temp_cluster("the fault tests need the PostgreSQL binaries",
                                 "could not start a second PostgreSQL server")
    yield cluster
    cluster.stop()


_n = 0


def fresh_url(cluster: TempCluster) -> str:
    """URL of a new database on a cluster."""
    global _n
    _n += 1
    return cluster.create_database(f"fil_fault_{os.getpid()}_{_n}")


@pytest.fixture
def make_app() -> Iterator[Callable[..., Flask]]:
    """``make_app(url, shards)`` -> a testing app on PostgreSQL (closed at teardown)."""
    with app_factory() as make:
        yield lambda url, shards=(): make(Settings(backend="postgres", database_url=url,
                                                   shards=tuple(shards)))


@pytest.fixture
def restore() -> Iterator[list[TempCluster]]:
    """Clusters appended here are thawed and running again after the test, however it ends."""
    clusters: list[TempCluster] = []
    yield clusters
    for c in clusters:
        c.thaw()
        if not (c.dir / "data" / "postmaster.pid").exists():  # type: ignore[operator]
            c.start_server()


def body(resp: Any) -> dict[str, Any]:
    """A search answer without what changes from one run to the next (its duration)."""
    data = resp.get_json()
    data.pop("elapsed_ms", None)
    return data  # type: ignore[no-any-return]


def timed_get(client: Any, url: str) -> tuple[Any, float]:
    started = time.monotonic()
    resp = client.get(url)
    return resp, time.monotonic() - started


def search_url(q: str) -> str:
    return f"/api/search?q={q}"


def expected_answers(client: Any) -> dict[str, dict[str, Any]]:
    answers = {}
    for q in QUERIES:
        resp = client.get(search_url(q))
        assert resp.status_code == 200, (q, resp.get_data(as_text=True))
        answers[q] = body(resp)
        assert answers[q]["total_exact"] and not answers[q]["notices"], q  # complete
    return answers


def sharded_index(coordinator: TempCluster, shard: TempCluster,
                  threads: list[Thread]) -> tuple[str, list[str]]:
    url, shards = fresh_url(coordinator), [fresh_url(shard)]
    backend = postgres(url, shards=shards)
    try:
        backend.rebuild(threads)
    finally:
        backend.close()
    return url, shards


# -- rebuilds under load -------------------------------------------------------------------
@pytest.mark.parametrize("sharded", [False, True], ids=["one-server", "two-servers"])
def test_searches_never_fail_during_swaps(corpora: tuple[list[Thread], list[Thread]],
                                          coordinator: TempCluster, shard: TempCluster,
                                          make_app: Callable[..., Flask],
                                          sharded: bool) -> None:
    a, b = corpora
    url = fresh_url(coordinator)
    shards = [fresh_url(shard)] if sharded else []
    backend = postgres(url, shards=shards)
    app = make_app(url, shards)
    expected = []
    for corpus in (a, b):
        backend.rebuild(corpus)
        expected.append(expected_answers(app.test_client()))
    differ = [q for q in QUERIES if expected[0][q] != expected[1][q]]
    assert len(differ) >= len(QUERIES) - 2, "the corpora must give different answers"

    stop = threading.Event()
    answers: list[tuple[str, int, dict[str, Any] | str]] = []
    errors: list[BaseException] = []

    def searcher(k: int) -> None:
        client = app.test_client()
        i = k
        try:
            while not stop.is_set():
                q = QUERIES[i % len(QUERIES)]
                i += 1
                resp = client.get(search_url(q))
                answers.append((q, resp.status_code, body(resp) if resp.status_code == 200
                                else resp.get_data(as_text=True)))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=searcher, args=(k,)) for k in range(6)]
    for w in workers:
        w.start()
    try:
        for corpus in (a, b, a):  # three swaps
            backend.rebuild(corpus)
    finally:
        stop.set()
        for w in workers:
            w.join()
        backend.close()
    assert not errors, errors[0]
    failed = [(q, status, text) for q, status, text in answers if status != 200]
    assert not failed, f"{len(failed)} of {len(answers)} searches failed: {failed[:3]}"
    wrong = [q for q, _, data in answers if data not in (expected[0][q], expected[1][q])]
    assert not wrong, f"{len(wrong)} of {len(answers)} answers match neither corpus: {wrong[:5]}"
    seen = {0 if data == expected[0][q] else 1 for q, _, data in answers if q in differ}
    assert seen == {0, 1} and len(answers) > 100  # searches ran before and after swaps


# -- servers down or frozen ------------------------------------------------------------------
def assert_unavailable(client: Any, bound: float) -> float:
    """A search and a page answer 503 with Retry-After within ``bound`` + GENEROUS_SECONDS."""
    resp, elapsed = timed_get(client, search_url("lippi"))
    assert resp.status_code == 503, resp.get_data(as_text=True)
    assert resp.headers["Retry-After"].isdigit()
    assert "error" in resp.get_json()
    assert elapsed < bound + GENEROUS_SECONDS, f"503 after {elapsed:.2f} s"
    page, page_elapsed = timed_get(client, "/?q=lippi")
    assert page.status_code == 503 and page.headers["Retry-After"].isdigit()
    assert "indisponible" in page.get_data(as_text=True)
    assert page_elapsed < bound + GENEROUS_SECONDS, f"page 503 after {page_elapsed:.2f} s"
    return max(elapsed, page_elapsed)


def test_shard_stopped_answers_503_then_recovers(
        corpora: tuple[list[Thread], list[Thread]], coordinator: TempCluster,
        shard: TempCluster, make_app: Callable[..., Flask],
        restore: list[TempCluster]) -> None:
    url, shards = sharded_index(coordinator, shard, corpora[0])
    client = make_app(url, shards).test_client()
    before = expected_answers(client)
    restore.append(shard)
    shard.stop_server("immediate")
    for _ in range(3):  # the pooled connection's shard link, then new ones
        assert_unavailable(client, STOPPED_BOUND)
    shard.start_server()
    assert expected_answers(client) == before


@pytest.mark.parametrize("frozen", ["shard", "coordinator"])
def test_frozen_server_answers_503_then_recovers(
        corpora: tuple[list[Thread], list[Thread]], coordinator: TempCluster,
        shard: TempCluster, make_app: Callable[..., Flask],
        restore: list[TempCluster], frozen: str) -> None:
    url, shards = sharded_index(coordinator, shard, corpora[0])
    client = make_app(url, shards).test_client()
    before = expected_answers(client)  # the pool now holds connections with shard links
    cluster = shard if frozen == "shard" else coordinator
    restore.append(cluster)
    cluster.freeze()
    try:
        for _ in range(3):  # pooled connections first, then new ones
            assert_unavailable(client, FROZEN_BOUND)
    finally:
        cluster.thaw()
    assert expected_answers(client) == before


def test_search_running_out_of_time_on_healthy_shards_is_partial(
        corpora: tuple[list[Thread], list[Thread]], coordinator: TempCluster,
        shard: TempCluster, make_app: Callable[..., Flask],
        monkeypatch: pytest.MonkeyPatch) -> None:
    url, shards = sharded_index(coordinator, shard, corpora[0])
    client = make_app(url, shards).test_client()
    before = expected_answers(client)
    monkeypatch.setattr("indexer.search.pipeline.SEARCH_TIME_LIMIT", 0.5)
    with psycopg.connect(url) as locker:  # the coordinator's passages table is busy (not
        # its partitions, which the probe reads directly; a search reads the posting lists,
        # then the passages it shows through the parent)
        locker.execute("LOCK TABLE ONLY fil_passages IN ACCESS EXCLUSIVE MODE")
        resp = client.get(search_url("lippi"))
        locker.rollback()
    assert resp.status_code == 200, resp.get_data(as_text=True)
    data = body(resp)
    assert data["results"] == [] and not data["total_exact"] and data["notices"]
    monkeypatch.undo()
    assert expected_answers(client) == before


def test_servers_crashing_right_after_a_rebuild_lose_nothing(
        corpora: tuple[list[Thread], list[Thread]], coordinator: TempCluster,
        shard: TempCluster, make_app: Callable[..., Flask],
        restore: list[TempCluster]) -> None:
    """Each rebuild step is durable before the next relies on it, even on servers run with
    synchronous_commit=off (as these are): both servers crashing just after a rebuild
    returned keep the new index whole. (A first rebuild drops no table, and a commit
    that drops none is not flushed at once under synchronous_commit=off.)"""
    small = corpora[1][:4]
    reference = fresh_url(coordinator)
    postgres(reference, shards=[]).rebuild(small)
    expected = expected_answers(make_app(reference).test_client())
    url, shards = fresh_url(coordinator), [fresh_url(shard)]
    backend = postgres(url, shards=shards)
    restore.extend([coordinator, shard])
    try:
        backend.rebuild(small)
    finally:
        backend.close()
    shard.stop_server("immediate")
    coordinator.stop_server("immediate")
    coordinator.start_server()
    shard.start_server()
    assert expected_answers(make_app(url, shards).test_client()) == expected


def test_shard_without_its_partition_is_a_damaged_index(
        corpora: tuple[list[Thread], list[Thread]], coordinator: TempCluster,
        shard: TempCluster, make_app: Callable[..., Flask]) -> None:
    url, shards = sharded_index(coordinator, shard, corpora[0][:4])
    with psycopg.connect(shards[0], autocommit=True) as conn:  # e.g. a shard restored
        for (table,) in conn.execute(  # from a backup older than the index
                "SELECT relname FROM pg_class WHERE relname LIKE 'fil\\_passages\\_g%' "
                "AND relkind = 'r'").fetchall():
            conn.execute(f'DROP TABLE "{table}"')
    backend = postgres(url, shards=shards)
    try:
        with pytest.raises(IndexDamagedError, match=r"lacks its partition on shard 1 \("
                           r".*python -m indexer rebuild --backend postgres"):
            backend.search("lippi")
    finally:
        backend.close()
    resp = make_app(url, shards).test_client().get(search_url("lippi"))
    assert resp.status_code == 503 and resp.headers["Retry-After"].isdigit()


def test_rebuild_losing_a_shard_fails_quietly_and_keeps_the_old_index(
        corpora: tuple[list[Thread], list[Thread]], coordinator: TempCluster,
        shard: TempCluster, make_app: Callable[..., Flask],
        caplog: pytest.LogCaptureFixture) -> None:
    url, shards = sharded_index(coordinator, shard, corpora[0])
    client = make_app(url, shards).test_client()
    before = expected_answers(client)

    def threads() -> Iterator[Thread]:
        for i, t in enumerate(corpora[1]):
            if i == 100:  # the shard's rebuild connection is lost in the middle of its COPY
                with psycopg.connect(shard.url(), autocommit=True) as admin:
                    assert admin.execute(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE application_name = 'fil-rebuild'").fetchone()[0] == 1
            yield t

    backend = postgres(url, shards=shards)
    try:
        with caplog.at_level(logging.WARNING), \
                pytest.raises(IndexerError, match=r"^rebuild in .* failed: .*connection"):
            backend.rebuild(threads())
    finally:
        backend.close()
    assert not caplog.records, [r.getMessage() for r in caplog.records]
    assert expected_answers(client) == before


def test_server_starts_and_answers_503_while_its_database_is_down(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FIL_BACKEND": "postgres",
           "FIL_DATABASE_URL": f"postgresql://fil:secret@127.0.0.1:{free_port()}/fil",
           "FIL_PG_SHARDS": ""}
    log = tmp_path / "server.log"
    with log.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "search_app", "--port", str(port)],
                                cwd=tmp_path, env=env, stdout=err, stderr=subprocess.STDOUT)
    try:
        import urllib.error
        import urllib.request

        status, headers = None, None
        for _ in range(600):  # until it listens (or exits)
            if proc.poll() is not None:
                break
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/search?q=lippi",
                                       timeout=30)
            except urllib.error.HTTPError as exc:
                status, headers = exc.code, exc.headers
                break
            except OSError:
                time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(30)
    output = log.read_text()
    assert "Traceback" not in output and "secret" not in output, output
    assert status == 503, output
    assert headers is not None and headers["Retry-After"].isdigit()
    warnings = [line for line in output.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1 and "unreachable" in warnings[0], output
