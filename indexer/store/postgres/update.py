"""Updating the PostgreSQL index in place: threads added, replaced and deleted by id.

One update (or delete) is one transaction on the coordinator, holding the advisory lock
rebuilds take (LOCK_KEY), so updates and rebuilds exclude each other. An update waits
for the lock up to ``lock_wait`` seconds (another update is short; a rebuild that holds
it longer makes the update fail with RebuildLockedError: try again later). Inside:

1. Each incoming thread's digest (:func:`..records.thread_hash`) is compared with the
   one in ``fil_threads``: same digest, nothing to do; an update whose threads are all
   unchanged writes nothing at all.
2. The passages of replaced (and deleted) threads are marked dead, not deleted:
   ``UPDATE fil_passages SET died = V+1`` (V: ``fil_meta.version``), returning their
   lengths and ``tsvector``s, whose lexemes give the document frequencies to subtract.
3. The new passages are made by :func:`.build.passage_rows` (the rebuild's own code:
   same analysis, same columns), with ``born = V+1`` and ords after ``fil_meta.max_ord``
   (index order = insertion order, as the embedded store's new segments come last), and
   COPYed into ``fil_passages``. On a partitioned index the parent routes each row to
   its partition and ``postgres_fdw`` inserts the shards' rows (row by row on
   PostgreSQL 15: a round trip each); the UPDATE of step 2 goes through the parent too
   (pruned to the threads' partitions, run on the shard by ``postgres_fdw``).
4. ``fil_terms`` gets the net change of every document frequency and thread count (rows
   reaching 0 are deleted), ``fil_threads`` the new rows (new thread codes after
   ``fil_meta.max_code``: a replaced thread is a new thread), ``fil_authors`` the new
   authors with the next codes (facet ties stay in order of first appearance, as in the
   embedded store, which never forgets an author either), ``fil_meta`` the exact counts
   (threads, passages, total_length, avg_length = total_length / passages, terms),
   ``version = V+1``, ``max_ord``, ``max_code`` and the codes of the threads removed
   (``dead``); ``fil_versions`` when V+1 was committed.
5. The posting lists (:mod:`.lists`) get part V+1: the new passages' postings and thread
   postings, one row per term (a term with MAX_PARTS parts from updates has them merged
   into that one), and the new passages' columns; the removed threads' postings stay
   until ``optimize`` folds every term's parts into one, and readers drop them meanwhile
   (``dead``).

Only row-level locks are taken (ROW EXCLUSIVE on the tables): searches never wait for
an update. A search's snapshot (REPEATABLE READ) sees ``fil_meta`` at some version V and
keeps only the passages of V (``born <= V AND (died IS NULL OR died > V)``). On one
server the snapshot alone is enough; on a partitioned index it is what keeps a search
exact: a shard's snapshot is taken by ``postgres_fdw`` after the coordinator's, and may
already hold a later update's rows; the condition hides them. A search sees the whole of
an update or nothing of it, on every server.

Dead passages stay until no search can need them: an update (or ``optimize``) deletes
those that died in a version committed more than PURGE_AFTER seconds ago (far longer
than a search transaction lasts).

Across servers: ``postgres_fdw`` runs the shard's part in a remote transaction that it
commits just before the coordinator commits (no two-phase commit). If that fails (a
shard lost, the coordinator crashing between the two commits, several shards of which
one refuses), the coordinator rolls back while a shard may keep rows of version V+1:
rows born after V, or marked died after V. Searches do not see them (they read version
V), and the next update deletes the former and revives the latter before it starts
(:meth:`Updater.repair`). So a failed update changes nothing anyone sees, on one server
or several; a killed client (its transaction never committed) likewise: PostgreSQL
rolls it back.

An index built before FORMAT 2 (no digests, no versions) is still searched, but must be
rebuilt once before it can be updated (IndexDamagedError says so): adding its columns
would take ACCESS EXCLUSIVE locks that stop searches.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

from ...errors import IndexDamagedError, RebuildLockedError
from ...ingest.model import Thread
from ..base import UpdateReport
from ..records import thread_hash
from .build import (
    DURABLE,
    FORMAT,
    LOCK_KEY,
    PASSAGE_NAMES,
    THREAD_NAMES,
    Stats,
    _clean,
    _copy,
    avg_length,
    passage_rows,
    thread_row,
    write_lists,
)
from .connections import BUILD_OPTIONS, scalar, with_defaults
from .lists import (
    COLUMNS,
    I32,
    POSTINGS,
    THREAD_POSTINGS,
    ListsBuilder,
    fold,
    fold_threads,
    pack,
    unpack,
)

#: Seconds an update waits for the lock held by another update or a rebuild.
UPDATE_LOCK_WAIT = 30.0
#: Dead passages are deleted once the version that removed them is this old (seconds):
#: no search transaction lasts that long (each is bounded by its deadline).
PURGE_AFTER = 600.0
#: An update merges the parts updates wrote for a term into one once there are this many
#: (a search reads one row per part of each of its terms).
MAX_PARTS = 16
#: Tables that VACUUM (ANALYZE) in ``optimize`` (the passages' partitions apart).
VACUUMED = ("fil_meta", "fil_threads", "fil_terms", "fil_authors", "fil_versions",
            POSTINGS, THREAD_POSTINGS)

Connect = Callable[..., psycopg.Connection[Any]]


class Updater:
    """Updates, deletes and optimize of the index reached through ``connect()``."""

    def __init__(self, connect: Connect, location: str, rebuild_command: str,
                 shards: Sequence[str] = (), lock_wait: float = UPDATE_LOCK_WAIT) -> None:
        self.connect = connect
        self.location = location
        self.rebuild_command = rebuild_command
        self.shards = list(shards)
        self.lock_wait = lock_wait

    # -- the transaction -------------------------------------------------------------
    def _begin(self) -> psycopg.Connection[Any]:
        """A transaction on the coordinator holding the rebuild/update lock."""
        conn = self.connect(autocommit=False, search=False)
        try:
            if self.lock_wait <= 0:
                got = scalar(conn.execute("SELECT pg_try_advisory_xact_lock(%s)",
                                   (LOCK_KEY,)))
            else:
                conn.execute(f"SET LOCAL lock_timeout = {max(1, int(self.lock_wait * 1000))}")
                try:
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
                    got = True
                except psycopg.errors.LockNotAvailable:
                    got = False
            if not got:
                raise RebuildLockedError(
                    f"a rebuild or another update of {self.location} is running (waited "
                    f"{self.lock_wait:g} s); try again when it has finished")
            conn.execute("SET LOCAL lock_timeout = 0")
            conn.execute("SET LOCAL statement_timeout = 0")
            conn.execute(DURABLE)
        except BaseException:
            _close(conn)
            raise
        return conn

    def _meta(self, conn: psycopg.Connection[Any]) -> dict[str, Any] | None:
        """The index's ``fil_meta`` row as a dict; None when there is no index. Raises
        IndexDamagedError for an index built before FORMAT (it must be rebuilt first)."""
        if scalar(conn.execute("SELECT to_regclass('fil_meta')")) is None:
            return None
        row = conn.execute("SELECT to_jsonb(m) FROM fil_meta m").fetchone()
        if row is None:
            return None
        meta: dict[str, Any] = row[0]
        if (meta.get("format") or 0) < FORMAT:
            raise IndexDamagedError(
                f"the index in {self.location} was built by an older version of Fil and "
                f"cannot be updated in place: rebuild it once with `{self.rebuild_command}`")
        return meta

    # -- entry points ----------------------------------------------------------------
    def update(self, threads: Iterable[Thread], progress: Callable[[int], None] | None,
               rebuild: Callable[[list[Thread], Callable[[int], None] | None], Any],
               ) -> UpdateReport:
        """Add new threads and replace changed ones; unchanged ones cost nothing.

        ``rebuild(threads, progress)`` builds the index when the database has none yet.
        """
        started = time.perf_counter()
        report = UpdateReport(location=self.location)
        incoming: dict[str, tuple[Thread, bytes]] = {}
        for t in threads:  # all read before anything is written: a failing source costs nothing
            if t.id in incoming:
                report.warnings.append(f"thread {t.id!r} given twice: the last one is kept")
            incoming[t.id] = (t, thread_hash(t))
        conn = self._begin()
        try:
            meta = self._meta(conn)
            if meta is None:
                conn.rollback()
                if incoming:
                    built = rebuild([t for t, _ in incoming.values()], progress)
                    report.added, report.passages = built.threads, built.passages
                    report.warnings += built.warnings
                report.seconds = time.perf_counter() - started
                return report
            ids = [_clean(tid) for tid in incoming]
            known = {tid: (bytes(digest), n, code) for tid, digest, n, code in conn.execute(
                "SELECT id, digest, passages, code FROM fil_threads WHERE id = ANY(%s)",
                (ids,))}
            fresh: list[Thread] = []
            gone: dict[str, tuple[int, int]] = {}  # replaced thread -> (passages, code)
            for tid, (t, digest) in zip(ids, incoming.values(), strict=True):
                old = known.get(tid)
                if old is not None:
                    if old[0] == digest:
                        report.unchanged += 1
                        continue
                    gone[tid] = (old[1], old[2])
                    report.replaced += 1
                else:
                    report.added += 1
                fresh.append(t)
            if fresh:
                self._apply(conn, meta, gone, fresh, progress, report)
                conn.commit()
            else:
                conn.rollback()  # nothing changed: nothing written
        finally:
            _close(conn)
        report.seconds = time.perf_counter() - started
        return report

    def delete(self, thread_ids: Iterable[str], missing_index: Callable[[], Exception],
               ) -> UpdateReport:
        """Remove threads by id (ids not in the index are listed in ``missing``)."""
        started = time.perf_counter()
        report = UpdateReport(location=self.location)
        wanted = list(dict.fromkeys(thread_ids))
        conn = self._begin()
        try:
            meta = self._meta(conn)
            if meta is None:
                raise missing_index()
            known = {tid: (n, code) for tid, n, code in conn.execute(
                "SELECT id, passages, code FROM fil_threads WHERE id = ANY(%s)",
                ([_clean(t) for t in wanted],))}
            gone: dict[str, tuple[int, int]] = {}
            for tid in wanted:
                found = known.get(_clean(tid))
                if found is None or _clean(tid) in gone:
                    report.missing.append(tid)
                    continue
                gone[_clean(tid)] = found
                report.deleted += 1
            if gone:
                self._apply(conn, meta, gone, [], None, report)
                conn.commit()
            else:
                conn.rollback()
        finally:
            _close(conn)
        report.seconds = time.perf_counter() - started
        return report

    def optimize(self, missing_index: Callable[[], Exception]) -> UpdateReport:
        """Delete the dead passages no search can need, then VACUUM (ANALYZE) every table:
        the coordinator's, its local partition, each shard's partition (on the shard) and
        the foreign partitions' statistics on the coordinator."""
        started = time.perf_counter()
        report = UpdateReport(location=self.location)
        conn = self._begin()
        try:
            meta = self._meta(conn)
            if meta is None:
                raise missing_index()
            self.repair(conn, int(meta["version"]))
            self.purge(conn)
            self.fold(conn, meta)
            parts = conn.execute(
                "SELECT c.relname, c.relkind FROM pg_inherits i "
                "JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = to_regclass('fil_passages') ORDER BY 1").fetchall()
            conn.commit()
        finally:
            _close(conn)
        local = [name for name, kind in parts if kind == "r"] or ["fil_passages"]
        foreign = [name for name, kind in parts if kind == "f"]
        with contextlib.closing(self.connect(autocommit=True, search=False)) as conn:
            conn.execute("SET statement_timeout = 0")
            for table in (*VACUUMED, *local):
                conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))
            for table in foreign:  # the coordinator's statistics of the shards' rows
                conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
        for name in foreign:
            i = int(name.rsplit("_p", 1)[1])
            if not 0 < i <= len(self.shards):
                report.warnings.append(f"{name}: shard {i}'s URL is not configured: not vacuumed")
                continue
            with psycopg.connect(with_defaults(self.shards[i - 1], BUILD_OPTIONS),
                                 autocommit=True, application_name="fil-optimize") as sc:
                sc.execute("SET statement_timeout = 0")
                sc.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(name)))
        report.seconds = time.perf_counter() - started
        return report

    # -- the changes -----------------------------------------------------------------
    def repair(self, conn: psycopg.Connection[Any], version: int) -> None:
        """Undo what a failed cross-server commit left on a shard: rows born after the
        committed ``version`` go, rows marked died after it live again (see the module
        docstring; nothing to do on one server, where a transaction is all or nothing)."""
        conn.execute("DELETE FROM fil_passages WHERE born > %s", (version,))
        conn.execute("UPDATE fil_passages SET died = NULL WHERE died > %s", (version,))

    def purge(self, conn: psycopg.Connection[Any], after: float | None = None) -> None:
        """Delete the passages that died in versions committed over PURGE_AFTER s ago."""
        horizon = scalar(conn.execute(
            "SELECT max(version) FROM fil_versions "
            "WHERE committed_at < clock_timestamp() - make_interval(secs => %s)",
            (PURGE_AFTER if after is None else after,)))
        if horizon is not None:
            conn.execute("DELETE FROM fil_passages WHERE died <= %s", (horizon,))
            conn.execute("DELETE FROM fil_versions WHERE version <= %s", (horizon,))

    def fold(self, conn: psycopg.Connection[Any], meta: dict[str, Any]) -> None:
        """Fold every term's posting list parts into one (part 0), without the removed
        threads' postings and with impacts for the current average length, and mark the
        removed threads' passages in the columns (code -1; ``written`` 2V+1 where updates
        write 2V); nothing to do when the lists are already so. Streamed term by term
        through temporary tables; readers keep seeing the old rows until commit."""
        avg = float(meta["avg_length"] or 1.0)
        dead = unpack(meta_bytes(meta.get("dead")))
        stale = scalar(conn.execute(f"SELECT EXISTS (SELECT 1 FROM {POSTINGS} "
                             "WHERE part <> 0 OR a0 <> %s)", (avg,)))
        if not stale and not len(dead):
            return
        for table in (POSTINGS, THREAD_POSTINGS):
            conn.execute(f"CREATE TEMP TABLE {table}_fold (LIKE {table}) ON COMMIT DROP")
            columns = ("a0, ords, codes, impacts, tfs, dls" if table == POSTINGS
                       else "codes, tfs, lengths")
            batch: list[tuple[object, ...]] = []
            term: object = None
            parts: list[Any] = []
            with conn.cursor(name=f"fold_{table}", binary=True) as cur:
                cur.itersize = 500
                cur.execute(f"SELECT term, {columns} FROM {table} ORDER BY term, part")
                for row in itertools.chain(cur, [(None,)]):
                    if row[0] != term and parts:
                        folded = (fold(parts, dead, avg) if table == POSTINGS
                                  else fold_threads(parts, dead))
                        if folded is not None:
                            n, arrays = folded
                            batch.append((term, 0, avg, n, *arrays) if table == POSTINGS
                                         else (term, 0, n, *arrays))
                        parts = []
                        if len(batch) >= 2000 or row[0] is None:
                            write_lists(conn, *((batch, []) if table == POSTINGS
                                                else ([], batch)), suffix="_fold")
                            batch = []
                    term = row[0]
                    if term is not None:
                        parts.append(row[1:])
            conn.execute(f"DELETE FROM {table}")
            conn.execute(f"INSERT INTO {table} SELECT * FROM {table}_fold")
        if len(dead):  # the removed threads' passages leave the columns too
            for part, codes in conn.execute(f"SELECT part, codes FROM {COLUMNS}",
                                            binary=True).fetchall():
                found = unpack(codes)
                gone = np.isin(found, dead)
                if gone.any():
                    conn.execute(f"UPDATE {COLUMNS} SET codes = %s, written = %s "
                                 "WHERE part = %s",
                                 (pack(np.where(gone, -1, found)),
                                  2 * int(meta["version"]) + 1, part))
        conn.execute("UPDATE fil_meta SET dead = ''")
        conn.execute("UPDATE fil_terms SET parts = 0 WHERE parts <> 0")

    def merge_parts(self, conn: psycopg.Connection[Any], terms: list[str], part: int,
                    dead: np.ndarray, avg: float) -> None:
        """Merge the list parts updates wrote for some terms into one (``part``): a term's
        list stays a few rows to read however many updates touched it (``fil_terms.parts``
        counts them; ``optimize`` folds them all into part 0)."""
        for table in (POSTINGS, THREAD_POSTINGS):
            columns = ("a0, ords, codes, impacts, tfs, dls" if table == POSTINGS
                       else "codes, tfs, lengths")
            parts: dict[str, list[tuple[Any, ...]]] = {t: [] for t in terms}
            for row in conn.execute(
                    f"DELETE FROM {table} WHERE term = ANY(%s) AND part > 0 "
                    f"RETURNING term, part, {columns}", (terms,), binary=True).fetchall():
                parts[row[0]].append(row)
            rows = []
            for term, found in parts.items():
                found.sort(key=lambda r: r[1])  # by part: ords (and codes) ascending
                folded = (fold([r[2:] for r in found], dead, avg) if table == POSTINGS
                          else fold_threads([r[2:] for r in found], dead))
                if folded is not None:
                    n, arrays = folded
                    rows.append((term, part, avg, n, *arrays) if table == POSTINGS
                                else (term, part, n, *arrays))
            write_lists(conn, *((rows, []) if table == POSTINGS else ([], rows)))
        conn.execute("UPDATE fil_terms SET parts = 1 WHERE term = ANY(%s)", (terms,))

    def _apply(self, conn: psycopg.Connection[Any], meta: dict[str, Any],
               gone: dict[str, tuple[int, int]], fresh: list[Thread],
               progress: Callable[[int], None] | None, report: UpdateReport) -> None:
        """Replace the passages of ``gone`` threads by those of ``fresh`` ones, statistics
        kept exact, as version V+1 (the caller commits)."""
        version = int(meta["version"])
        new_version = version + 1
        self.repair(conn, version)
        self.purge(conn)
        removed, removed_length, lexemes, threads_lost = self._kill(conn, gone, new_version)

        stats = Stats()
        lists = ListsBuilder()
        rows: list[tuple[object, ...]] = []
        thread_rows = []
        max_ord = int(meta["max_ord"])
        max_code = int(meta["max_code"])
        for t in fresh:
            max_code += 1
            mine = passage_rows(t, stats, max_ord + 1, born=new_version, lists=lists,
                                code=max_code)
            max_ord += len(mine)
            rows += mine
            thread_rows.append(thread_row(t, mine, max_code))
            if progress:
                progress(len(mine))
        report.passages = len(rows)
        if rows:
            with _copy(conn, sql.SQL("COPY fil_passages ({}) FROM STDIN").format(
                    sql.SQL(", ").join(map(sql.Identifier, PASSAGE_NAMES)))) as copy:
                for row in rows:
                    copy.write_row(row)
        if gone:
            conn.execute("DELETE FROM fil_threads WHERE id = ANY(%s)", (list(gone),))
        if thread_rows:
            with _copy(conn, sql.SQL("COPY fil_threads ({}) FROM STDIN").format(
                    sql.SQL(", ").join(map(sql.Identifier, THREAD_NAMES)))) as copy:
                for row in thread_rows:
                    copy.write_row(row)
        authors = self._add_authors(conn, stats)
        threads = int(meta["threads"]) + len(fresh) - len(gone)
        passages = int(meta["passages"]) - removed + stats.passages
        total_length = int(meta["total_length"]) - removed_length + stats.total_length
        avg = avg_length(total_length, passages)
        stats.df = lists.df()
        made = lists.rows(avg, new_version)
        write_lists(conn, made.postings, made.thread_postings,
                    columns=lists.columns_row(new_version, 2 * new_version, authors))
        tdf = made.tdf
        written = set(tdf)
        dead = unpack(meta_bytes(meta.get("dead")))
        if gone:
            dead = np.union1d(dead, np.array([c for _, c in gone.values()], dtype=np.int32))
        for term, n in lexemes.items():
            stats.df[term] = stats.df.get(term, 0) - n
        for term, n in threads_lost.items():
            tdf[term] = tdf.get(term, 0) - n
        more, many = self._change_terms(conn, stats.df, tdf, written)
        terms = int(meta["terms"]) + more
        if many:
            self.merge_parts(conn, many, new_version, dead, avg)
        conn.execute(
            "UPDATE fil_meta SET threads = %s, passages = %s, total_length = %s, "
            "avg_length = %s, terms = %s, version = %s, max_ord = %s, updated_at = %s, "
            "max_code = %s, dead = %s",
            (threads, passages, total_length, avg, terms, new_version, max_ord,
             datetime.now(UTC).isoformat(timespec="seconds"), max_code, pack(dead, I32)))
        conn.execute("INSERT INTO fil_versions (version, committed_at) "
                     "VALUES (%s, clock_timestamp())", (new_version,))

    def _kill(self, conn: psycopg.Connection[Any], gone: dict[str, tuple[int, int]],
              version: int) -> tuple[int, int, dict[str, int], dict[str, int]]:
        """Mark the passages of ``gone`` threads died in ``version``: their count, total
        length, and how many of them, and of their threads, hold each lexeme (from their
        tsvectors)."""
        if not gone:
            return 0, 0, {}, {}
        rows = conn.execute(
            "WITH gone AS (UPDATE fil_passages SET died = %s "
            "              WHERE thread_id = ANY(%s) AND died IS NULL "
            "              RETURNING thread_id, dl, tsv) "
            "SELECT true, thread_id, count(*), sum(dl) FROM gone GROUP BY thread_id "
            "UNION ALL "
            "SELECT false, u.lexeme, count(*), count(DISTINCT gone.thread_id) "
            "FROM gone, unnest(gone.tsv) u GROUP BY u.lexeme",
            (version, list(gone))).fetchall()
        counts = {tid: (int(n), int(length)) for is_thread, tid, n, length in rows if is_thread}
        wrong = [tid for tid, (n, _) in gone.items() if counts.get(tid, (0, 0))[0] != n]
        if wrong:
            raise IndexDamagedError(
                f"the index in {self.location} does not hold the passages it lists for "
                f"thread {wrong[0]!r}: rebuild it with `{self.rebuild_command}`")
        lexemes = {term: int(n) for is_thread, term, n, _ in rows if not is_thread}
        threads = {term: int(n) for is_thread, term, _, n in rows if not is_thread}
        return (sum(n for n, _ in counts.values()), sum(length for _, length in counts.values()),
                lexemes, threads)

    def _add_authors(self, conn: psycopg.Connection[Any], stats: Stats) -> np.ndarray:
        """Authors new to the index, with the next codes in order of first appearance;
        returns the index's code of each of ``stats``' authors (by their code there)."""
        out = np.zeros(len(stats.authors), dtype=np.int32)
        if not stats.authors:
            return out
        known = dict(conn.execute("SELECT key, code FROM fil_authors WHERE key = ANY(%s)",
                                  (list(stats.authors),)).fetchall())
        new = [(key, name) for key, (_, name) in stats.authors.items() if key not in known]
        if new:
            base = scalar(conn.execute(
                "SELECT coalesce(max(code) + 1, 0) FROM fil_authors"))
            with _copy(conn, sql.SQL("COPY fil_authors (key, code, name) FROM STDIN")) as copy:
                for i, (key, name) in enumerate(new):
                    copy.write_row((key, base + i, name))
                    known[key] = base + i
        for key, (local, _) in stats.authors.items():
            out[local] = known[key]
        return out

    def _change_terms(self, conn: psycopg.Connection[Any], delta: dict[str, int],
                      thread_delta: dict[str, int], written: set[str]) -> tuple[int, list[str]]:
        """Apply the net change of each document frequency and thread count, and count
        one more list part for each term ``written``; (the change in term count, the
        terms that now have MAX_PARTS list parts from updates)."""
        changed = {t: (delta.get(t, 0), thread_delta.get(t, 0), int(t in written))
                   for t in dict.fromkeys([*delta, *thread_delta, *written])}
        changed = {t: d for t, d in changed.items() if d != (0, 0, 0)}
        if not changed:
            return 0, []
        found = {t: (df, tdf, parts) for t, df, tdf, parts in conn.execute(
            "UPDATE fil_terms t SET df = t.df + d.delta, tdf = t.tdf + d.tdelta, "
            "parts = t.parts + d.part "
            "FROM unnest(%s::text[], %s::integer[], %s::integer[], %s::integer[]) "
            "AS d(term, delta, tdelta, part) "
            "WHERE t.term = d.term RETURNING t.term, t.df, t.tdf, t.parts",
            (list(changed), [d for d, _, _ in changed.values()],
             [d for _, d, _ in changed.values()],
             [d for _, _, d in changed.values()])).fetchall()}
        new = [(t, d, td, part) for t, (d, td, part) in changed.items() if t not in found]
        if any(d <= 0 or td <= 0 for _, d, td, _ in new) \
                or any(df < 0 or tdf < 0 or (df == 0) != (tdf == 0)
                       for df, tdf, _ in found.values()):
            raise IndexDamagedError(
                f"the index in {self.location} has document frequencies that do not match "
                f"its passages: rebuild it with `{self.rebuild_command}`")
        if new:
            with _copy(conn, sql.SQL("COPY fil_terms (term, df, tdf, parts) FROM STDIN")) \
                    as copy:
                for item in new:
                    copy.write_row(item)
        dead = [t for t, (df, _, _) in found.items() if df == 0]
        if dead:  # no live passage holds them: their lists hold removed threads only
            for table in ("fil_terms", POSTINGS, THREAD_POSTINGS):
                conn.execute(f"DELETE FROM {table} WHERE term = ANY(%s)", (dead,))
        many = [t for t, (df, _, parts) in found.items() if df and parts >= MAX_PARTS]
        return len(new) - len(dead), many


def meta_bytes(value: object) -> bytes:
    """A ``bytea`` read through ``to_jsonb`` (``\\x0a0b...``) or directly, as bytes."""
    if value is None:
        return b""
    if isinstance(value, str):
        return bytes.fromhex(value[2:]) if value.startswith("\\x") else b""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise TypeError(f"not a bytea value: {type(value).__name__}")


def _close(conn: psycopg.Connection[Any]) -> None:
    """Roll back whatever is left open (nothing committed is lost) and close."""
    with contextlib.suppress(Exception):
        conn.rollback()
    with contextlib.suppress(Exception):
        conn.close()
