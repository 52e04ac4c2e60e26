"""Incremental updates of the PostgreSQL store, on real servers (one, and two through postgres_fdw).

- Any sequence of updates and deletes gives the same hits as a full PostgreSQL rebuild
  over the final threads (same passages, scores, totals, suggestions, facet counts), the
  same ``fil_terms`` and ``fil_meta`` statistics (threads per term included), and the
  same results as the embedded store after the same sequence (facets in the same order
  too, grouped by passage and by thread, and the same answer to every question the
  pipeline asks a store: thread scores over the updated posting lists included); so
  does ``optimize``, which folds the posting lists' parts.
- An update whose threads are unchanged writes nothing; a failed update (a source that
  raises, an error inside the transaction) changes nothing; a client killed (SIGKILL) in
  the middle of updates leaves the state before or after its last change, never between.
- Searches running during updates never fail and never see half of one: a word moved
  between threads (on different servers) in each update is always found the same number
  of times. What a failed cross-server commit leaves on a shard is invisible, then
  repaired by the next update.
- Updates and rebuilds exclude each other (the advisory lock): an update waits, then
  raises RebuildLockedError.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import PgServer
from helpers import GENEROUS_SECONDS, build_index, embedded, postgres, wait_until
from test_postgres import (  # noqa: F401
    SCORE_TOLERANCE,
    compare,
    coordinator_url,
    replay,
    shard_url,
)
from test_update import (
    QUERIES,
    changed,
    hit_map,
    kill_child_mid_change,
    reconcile,
    seed_threads,
)

from indexer.analysis import analyzer
from indexer.errors import IndexDamagedError, RebuildLockedError
from indexer.ingest.model import Comment, Thread
from indexer.service import Service
from indexer.store.postgres import update as pg_update
from indexer.store.postgres.build import LOCK_KEY, thread_row
from indexer.store.postgres.sql import tsvector_literal
from indexer.store.postgres.store import NoIndexError, PostgresStore
from indexer.store.records import thread_hash

pytestmark = pytest.mark.postgres

#: QUERIES of the embedded store's update tests, plus suggestions and filters.
MORE_QUERIES = [*QUERIES, "vilage", "mise a jour", "author:thierry village", "kind:post",
                "after:2009-02-05 internet", "-village internet"]
LAYOUTS = ["one server", "two servers"]
META = ("threads", "passages", "total_length", "avg_length", "terms")


# -- helpers -------------------------------------------------------------------------------
def meta_row(url: str) -> dict[str, Any]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT to_jsonb(m) FROM fil_meta m").fetchone()[0]


def terms_of(url: str) -> list[tuple[str, int]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT term, df, tdf FROM fil_terms ORDER BY term").fetchall()


def passage_counts(url: str) -> tuple[int, int, int]:
    """Rows of fil_passages: all, dead (awaiting the purge), and the highest ord."""
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*), count(died), coalesce(max(ord), 0) "
                            "FROM fil_passages").fetchone()


def index_order(url: str) -> list[str]:
    """Thread ids in index order (of their live passages' ords): a rebuild in this order
    breaks score ties as the updated index does."""
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute(
            "SELECT thread_id FROM fil_passages WHERE died IS NULL "
            "GROUP BY thread_id ORDER BY min(ord)")]


def assert_same_statistics(updated: str, rebuilt: str) -> None:
    a, b = meta_row(updated), meta_row(rebuilt)
    assert {k: a[k] for k in META} == {k: b[k] for k in META}
    assert terms_of(updated) == terms_of(rebuilt)


def assert_same_as_rebuild(updated: Service, rebuilt: Service) -> None:
    """The same hits (every page), scores, totals, suggestions and facet counts; facet
    ties may come in another order (authors are coded in order of first appearance, which
    a rebuild over the final threads resets). The rebuild must hold the threads in the
    updated index's order (:func:`index_order`): when equal scores are cut (the best
    candidates re-ranked, the best few checked for proximity), order decides which."""
    for q in MORE_QUERIES:
        a, b = hit_map(updated, q), hit_map(rebuilt, q)
        assert a == b, q
        x, y = updated.search(q, facets=True), rebuilt.search(q, facets=True)
        assert (x.total, x.matched, x.suggestion, x.notices, x.terms, x.kinds) == \
               (y.total, y.matched, y.suggestion, y.notices, y.terms, y.kinds), q
        assert sorted(x.authors) == sorted(y.authors), q


def lists_folded(url: str) -> bool:
    """Whether every term's posting list is one part without removed threads."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT (SELECT count(*) FROM fil_postings WHERE part <> 0) + "
            "(SELECT count(*) FROM fil_thread_postings WHERE part <> 0) = 0 "
            "AND (SELECT dead FROM fil_meta) = ''").fetchone()[0]


def assert_same_as_embedded(pg: Service, emb: Service) -> None:
    compare(pg, emb, MORE_QUERIES, exact=False)
    replay(pg, emb, MORE_QUERIES)
    for q in MORE_QUERIES:
        a, b = hit_map(pg, q), hit_map(emb, q)
        assert a.keys() == b.keys(), q
        for key, score in a.items():
            assert abs(score - b[key]) <= SCORE_TOLERANCE, (q, key)


def apply(ops: list[tuple[str, int]], threads: list[Thread], stores: list[Service],
          current: dict[str, Thread], order: list[str]) -> None:
    """Apply the ops to every store; they report the same; ``current``/``order`` follow."""
    for n, (op, i) in enumerate(ops):
        t = threads[i]
        if op == "delete":
            reports = [s.delete([t.id, "nope"]) for s in stores]
            assert reports[0].deleted == (t.id in current)
            assert reports[0].missing == ([] if t.id in current else [t.id]) + ["nope"]
            if current.pop(t.id, None) is not None:
                order.remove(t.id)
        else:
            new = changed(current.get(t.id, t), n) if op == "change" else t
            reports = [s.update([new]) for s in stores]
            if t.id in current and current[t.id] == new:
                assert reports[0].unchanged == 1 and reports[0].passages == 0
            else:
                assert reports[0].added + reports[0].replaced == 1
            if t.id not in current:
                order.append(t.id)
            current[t.id] = new
        shape = [(r.added, r.replaced, r.unchanged, r.deleted, r.missing, r.passages)
                 for r in reports]
        assert shape[0] == shape[-1], (op, i)


@pytest.fixture
def layout_shards(request: pytest.FixtureRequest) -> list[str]:
    """[] on one server; [a database on a second server] on two."""
    if request.param == "one server":
        return []
    return [request.getfixturevalue("shard_url")]


@pytest.fixture
def seed_db(pg_server: PgServer) -> Iterator[tuple[str, Service]]:
    """A one-server index of the seed threads, its own database."""
    url = pg_server.new_database("fil_upd")
    service = postgres(url)
    service.rebuild(seed_threads())
    yield url, service
    service.close()


# -- same results as a rebuild, and as the embedded store --------------------------------------
@pytest.mark.parametrize("layout_shards", LAYOUTS, indirect=True)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_updates_give_the_results_of_a_rebuild_and_of_the_embedded_store(
        pg_server: PgServer, layout_shards: list[str], seed: int, tmp_path: Path) -> None:
    threads = seed_threads()
    rng = random.Random(seed)
    start = rng.randint(1, len(threads))
    ops = [(rng.choice(["update", "change", "change", "delete"]), rng.randrange(len(threads)))
           for _ in range(12)]
    url = pg_server.new_database("fil_upd")
    pg = postgres(url, shards=layout_shards)
    pg.rebuild(threads[:start])
    build_index(threads[:start], tmp_path / "emb")
    emb = embedded(tmp_path / "emb")
    rebuilt_url = pg_server.new_database("fil_upd_rebuilt")
    rebuilt = postgres(rebuilt_url)
    try:
        current = {t.id: t for t in threads[:start]}
        order = [t.id for t in threads[:start]]
        apply(ops, threads, [pg, emb], current, order)
        final = [current[tid] for tid in order]
        assert sorted(index_order(url)) == sorted(order)
        rebuilt.rebuild([current[tid] for tid in index_order(url)])
        stats = pg.stats()
        assert (stats.threads, stats.passages) == (len(final),
                                                   sum(len(t.passages()) for t in final))
        assert stats.updated_at
        assert_same_statistics(url, rebuilt_url)
        assert_same_as_rebuild(pg, rebuilt)
        assert_same_as_embedded(pg, emb)
        for t in final:
            assert pg.get_thread(t.id) == dataclasses.replace(t, source="")
        for t in threads:
            if t.id not in current:
                assert pg.get_thread(t.id) is None
        assert not lists_folded(url)
        pg.optimize()
        assert lists_folded(url)
        assert_same_as_rebuild(pg, rebuilt)
        assert_same_as_embedded(pg, emb)
    finally:
        for s in (pg, emb, rebuilt):
            s.close()


def test_merged_list_parts_keep_the_results(pg_server: PgServer, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Updates merge a term's list parts once there are MAX_PARTS (2 here): results stay
    those of the embedded store, and no term keeps more parts than that."""
    monkeypatch.setattr(pg_update, "MAX_PARTS", 2)
    threads = seed_threads()
    rng = random.Random(11)
    ops = [(rng.choice(["update", "change", "change", "delete"]), rng.randrange(len(threads)))
           for _ in range(16)]
    pg = postgres(pg_server.new_database("fil_upd_merge"), shards=[])
    pg.rebuild(threads[:5])
    build_index(threads[:5], tmp_path / "emb")
    emb = embedded(tmp_path / "emb")
    try:
        current = {t.id: t for t in threads[:5]}
        apply(ops, threads, [pg, emb], current, [t.id for t in threads[:5]])
        with psycopg.connect(pg.store.url) as conn:  # type: ignore[attr-defined]
            most = conn.execute(
                "SELECT max(n) FROM (SELECT count(*) AS n FROM fil_postings WHERE part > 0 "
                "GROUP BY term UNION ALL SELECT count(*) FROM fil_thread_postings "
                "WHERE part > 0 GROUP BY term) c").fetchone()[0]
        assert most <= 2
        assert_same_as_embedded(pg, emb)
    finally:
        pg.close()
        emb.close()


def test_thread_rows_keep_the_digest_updates_compare() -> None:
    for t in seed_threads()[:5]:
        assert thread_row(t, [], 0)[6] == thread_hash(t)


def test_unchanged_update_writes_nothing(seed_db: tuple[str, Service]) -> None:
    url, service = seed_db
    threads = seed_threads()
    before, rows = meta_row(url), passage_counts(url)
    report = service.update(threads)
    assert (report.unchanged, report.added, report.replaced, report.passages) == (
        len(threads), 0, 0, 0)
    assert meta_row(url) == before  # same version, max_ord, counts, updated_at
    assert passage_counts(url) == rows
    assert service.delete(["nope", "nope"]).missing == ["nope"]
    assert meta_row(url) == before


def test_update_replaces_whole_threads_and_appends_authors(seed_db: tuple[str, Service]) -> None:
    url, service = seed_db
    threads = seed_threads()
    new = Thread(id="neuf", title="Les ruches", paragraphs=("Une ruche neuve au village.",),
                 comments=(Comment(1, "Zoé Apicultrice", "2010-05-01T09:00",
                                   ("Bravo pour la ruche !",)),))
    report = service.update([changed(threads[3], 1), new])
    assert (report.added, report.replaced, report.unchanged, report.passages) == (
        1, 1, 0, len(threads[3].passages()) + 1 + 2)
    meta = meta_row(url)
    assert meta["version"] == 1
    assert meta["max_ord"] == passage_counts(url)[2]
    with psycopg.connect(url) as conn:
        codes = conn.execute("SELECT name, code FROM fil_authors ORDER BY code").fetchall()
    assert codes[-1] == ("Zoé Apicultrice", len(codes) - 1)
    res = service.search("ruche", facets=True)
    assert res.total == 2 and ("Zoé Apicultrice", 1) in res.authors
    assert service.search('"mise a jour 1"').total == 1
    assert service.get_thread("neuf") == new


# -- when there is no index, or an old one ------------------------------------------------------
def test_update_without_an_index_builds_one(pg_server: PgServer) -> None:
    url = pg_server.new_database("fil_upd_empty")
    service = postgres(url)
    try:
        with pytest.raises(NoIndexError):
            service.delete(["x"])
        with pytest.raises(NoIndexError):
            service.optimize()
        threads = seed_threads()[:4]
        report = service.update([*threads, threads[0]])
        assert report.added == 4 and report.warnings
        assert service.stats().threads == 4
        assert service.update(threads).unchanged == 4
    finally:
        service.close()


@pytest.mark.parametrize("older", ["before versions", "format 2"])
def test_an_index_of_an_older_format_must_be_rebuilt(seed_db: tuple[str, Service],
                                                    older: str) -> None:
    """Before versions (format 1), or before the thread-first analysis and the posting
    lists (format 2): neither searched nor updated, the error names the command."""
    url, service = seed_db
    with psycopg.connect(url) as conn:
        if older == "format 2":
            conn.execute("UPDATE fil_meta SET format = 2")
        else:
            conn.execute("ALTER TABLE fil_meta DROP COLUMN format, DROP COLUMN version, "
                         "DROP COLUMN max_ord, DROP COLUMN updated_at")
    with pytest.raises(IndexDamagedError, match="rebuild it with `python -m indexer"):
        service.search("village")
    assert service.stats().updated_at
    with pytest.raises(IndexDamagedError, match="rebuild it once"):
        service.update([changed(seed_threads()[1], 1)])


# -- failures --------------------------------------------------------------------------------
@pytest.mark.parametrize("layout_shards", LAYOUTS, indirect=True)
def test_failed_updates_change_nothing(pg_server: PgServer, layout_shards: list[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    url = pg_server.new_database("fil_upd_fail")
    service = postgres(url, shards=layout_shards)
    threads = seed_threads()
    service.rebuild(threads)
    try:
        before = (meta_row(url), terms_of(url), passage_counts(url),
                  hit_map(service, "village"))

        def source() -> Iterator[Thread]:
            yield changed(threads[1], 1)
            raise OSError("the source failed")

        with pytest.raises(OSError, match="source failed"):
            service.update(source())

        def broken(self: Any, conn: Any, *deltas: Any) -> int:
            raise RuntimeError("failed after the passages were written")

        monkeypatch.setattr(pg_update.Updater, "_change_terms", broken)
        with pytest.raises(RuntimeError):
            service.update([changed(t, 2) for t in threads[:6]])
        with pytest.raises(RuntimeError):
            service.delete([threads[2].id])
        after_ = (meta_row(url), terms_of(url), passage_counts(url),
                  hit_map(service, "village"))
        assert after_ == before
    finally:
        service.close()


def test_what_a_failed_cross_server_commit_leaves_is_invisible_then_repaired(
        pg_server: PgServer, shard_url: str) -> None:  # noqa: F811
    """postgres_fdw commits the shard's part just before the coordinator's: if the latter
    then fails, the shard keeps rows of a version the coordinator never committed."""
    url = pg_server.new_database("fil_upd_2pc")
    service = postgres(url, shards=[shard_url])
    threads = seed_threads()
    service.rebuild(threads)
    rebuilt_url = pg_server.new_database("fil_upd_2pc_rebuilt")
    rebuilt = postgres(rebuilt_url)
    try:
        service.update([changed(threads[5], 1)])
        meta = meta_row(url)
        part = f"fil_passages_{meta['generation']}_p1"
        version = meta["version"]
        before = {q: hit_map(service, q) for q in MORE_QUERIES}
        with psycopg.connect(shard_url) as conn:  # what the failed commit left
            killed = conn.execute(
                f"UPDATE {part} SET died = %s WHERE ord IN "
                f"(SELECT ord FROM {part} WHERE died IS NULL ORDER BY ord LIMIT 5) "
                "RETURNING ord", (version + 1,)).fetchall()
            conn.execute(
                f"INSERT INTO {part} SELECT ord + 100000, thread_id, kind, position, author, "
                "author_key, date, date_key, title, 'fantome village', 2, "
                f"%s::tsvector, %s, NULL FROM {part} LIMIT 3",
                (tsvector_literal(analyzer().positions("fantome village")), version + 1))
        assert len(killed) == 5
        assert {q: hit_map(service, q) for q in MORE_QUERIES} == before
        assert service.search("fantome").total == 0
        final = [changed(threads[5], 1) if t.id == threads[5].id else t for t in threads]
        final = [t for t in final if t.id != threads[7].id]
        service.delete([threads[7].id])  # repairs first
        by_id = {t.id: t for t in final}
        rebuilt.rebuild([by_id[tid] for tid in index_order(url)])
        assert_same_statistics(url, rebuilt_url)
        assert_same_as_rebuild(service, rebuilt)
        with psycopg.connect(shard_url) as conn:
            assert conn.execute(f"SELECT count(*) FROM {part} WHERE born > %s",
                                (version + 1,)).fetchone()[0] == 0
    finally:
        service.close()
        rebuilt.close()


_CHILD = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from test_update import changed, op_for, seed_threads
from indexer.store.postgres.store import PostgresStore

url, log, start = sys.argv[1], Path(sys.argv[2]), int(sys.argv[4])
threads = seed_threads()
by_id = {t.id: t for t in threads}
store = PostgresStore(url)
for n in range(start, start + 10_000):
    kind, tid = op_for(n, threads)
    if kind == "delete":
        store.delete([tid])
    elif kind == "optimize":
        store.optimize()
    else:
        store.update([changed(by_id[tid], n)])
    with open(log, "a") as fh:
        fh.write(f"{n}\\n")
"""


def lock_free(url: str) -> bool:
    """True once no transaction holds the rebuild/update lock (a killed client's is gone)."""
    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()[0]:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
            return True
    return False


def test_killed_client_leaves_the_previous_state(pg_server: PgServer, tmp_path: Path) -> None:
    url = pg_server.new_database("fil_upd_kill")
    threads = seed_threads()
    service = postgres(url)
    service.rebuild(threads)
    log = tmp_path / "log"
    log.write_text("")
    state = {t.id: None for t in threads}
    done = 0
    rng = random.Random(5)
    try:
        for _round in range(6):
            kill_child_mid_change(url, log, done, rng, most=4, pause=0.03, script=_CHILD)
            wait_until(lambda: lock_free(url), "the killed client's transaction never ended")
            state, done, now = reconcile(service, state, log, done, threads)
            assert service.stats().threads == len(now)
        by_id = {t.id: t for t in threads}
        final = {tid: by_id[tid] if v is None else changed(by_id[tid], v)
                 for tid, v in state.items()}
        assert sorted(index_order(url)) == sorted(final)
        rebuilt_url = pg_server.new_database("fil_upd_kill_rebuilt")
        rebuilt = postgres(rebuilt_url)
        try:
            rebuilt.rebuild([final[tid] for tid in index_order(url)])
            assert_same_statistics(url, rebuilt_url)
            assert_same_as_rebuild(service, rebuilt)
        finally:
            rebuilt.close()
    finally:
        service.close()


# -- concurrency ------------------------------------------------------------------------------
def marker_threads(n: int = 12) -> list[Thread]:
    return [Thread(id=f"m{i:02d}", title=f"Fil {i}",
                   paragraphs=(f"Le village numero {i} et son internet.",))
            for i in range(n)]


def with_marker(t: Thread, n: int) -> Thread:
    return dataclasses.replace(t, paragraphs=(*t.paragraphs[:1],
                                              f"Le mot zorglub, version {n}."))


@pytest.mark.parametrize("layout_shards", LAYOUTS, indirect=True)
def test_searches_during_updates_never_fail_nor_see_half_of_one(
        pg_server: PgServer, layout_shards: list[str]) -> None:
    """Each update moves the word « zorglub » from one thread to another (the threads
    spread over both servers): every search must find it exactly 3 times."""
    url = pg_server.new_database("fil_upd_conc")
    base = marker_threads()
    holders = [0, 1, 2]
    threads = [with_marker(t, 0) if i in holders else t for i, t in enumerate(base)]
    writer = postgres(url, shards=layout_shards)
    writer.rebuild(threads)
    reader = postgres(url, shards=layout_shards)
    errors: list[BaseException] = []
    seen: list[int] = []
    stop = threading.Event()

    def search() -> None:
        while not stop.is_set():
            try:
                res = reader.search("zorglub", per_page=5, facets=True)
                seen.append(res.total)
                assert res.total == 3 and res.kinds == {"post": 3}, res.total
                assert reader.search("village").total == len(base)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
                return

    workers = [threading.Thread(target=search) for _ in range(3)]
    for w in workers:
        w.start()
    rng = random.Random(3)
    try:
        for n in range(1, 31):
            old = rng.choice(holders)
            new = rng.choice([i for i in range(len(base)) if i not in holders])
            holders[holders.index(old)] = new
            report = writer.update([base[old], with_marker(base[new], n)])
            assert report.replaced == 2
            if n % 10 == 0:
                writer.optimize()
    finally:
        stop.set()
        for w in workers:
            w.join(GENEROUS_SECONDS)
        reader.close()
        writer.close()
    assert not errors, errors[:3]
    assert len(seen) >= 30


def test_updates_wait_for_each_other_and_for_rebuilds(seed_db: tuple[str, Service]) -> None:
    url, service = seed_db
    threads = seed_threads()
    errors: list[BaseException] = []

    def updates(k: int) -> None:
        try:
            for n in range(5):
                service.update([changed(threads[k * 5 + n], 100 + n)])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=updates, args=(k,)) for k in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(GENEROUS_SECONDS)
    assert not errors, errors[:3]
    assert meta_row(url)["version"] == 15
    assert service.search('"mise a jour 104"').total == 3

    impatient = Service(PostgresStore(url, lock_wait=0.2))
    try:
        with psycopg.connect(url) as holder:  # a rebuild (or update) in progress
            holder.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            with pytest.raises(RebuildLockedError):
                impatient.update([changed(threads[0], 7)])
            with pytest.raises(RebuildLockedError):
                impatient.delete([threads[0].id])
            assert impatient.search("village").total >= 1
        with contextlib.closing(psycopg.connect(url)) as holder:  # an update in progress
            holder.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            with pytest.raises(RebuildLockedError):
                impatient.rebuild(threads)
        assert impatient.update([changed(threads[0], 7)]).replaced == 1
    finally:
        impatient.close()


def test_optimize_drops_dead_passages_once_no_search_needs_them(
        seed_db: tuple[str, Service], monkeypatch: pytest.MonkeyPatch) -> None:
    url, service = seed_db
    threads = seed_threads()
    service.update([changed(t, 1) for t in threads[:4]])
    before = {q: hit_map(service, q) for q in MORE_QUERIES}
    rows, dead, _ = passage_counts(url)
    assert dead == sum(len(t.passages()) for t in threads[:4])
    service.optimize()
    assert passage_counts(url)[1] == dead  # too recent: a search may still need them
    monkeypatch.setattr(pg_update, "PURGE_AFTER", 0.0)
    service.optimize()
    assert passage_counts(url)[:2] == (rows - dead, 0)
    assert {q: hit_map(service, q) for q in MORE_QUERIES} == before
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM fil_versions").fetchone()[0] == 0
