"""Rebuilding the PostgreSQL index: analyse in Python, COPY into fresh tables, swap atomically.

Every passage goes through the project's French chain here (:func:`passage_rows`, which
updates (:mod:`.update`) share: ``analyzer().positions``),
and is stored as a ``tsvector`` literal with positions (phrases are checked on them)
and its length in terms (``dl``). The collection statistics (document frequency of
every term, and how many threads hold it; total length) are counted on the way and
stored in ``fil_terms`` and ``fil_meta``: they are global, whatever the number of
servers the passages are spread over. Every term's
postings are also collected and written packed, per term, into ``fil_postings`` and
``fil_thread_postings`` on the coordinator: the lists searches are evaluated over (see
:mod:`.lists`). Threads are numbered in index order (``fil_threads.code``) and keep
their length (the sum of their passages' lengths) for whole-thread BM25.

Authors get a code in order of first appearance (``fil_authors``), the order the
embedded backend breaks facet ties in. Each thread's row keeps the digest of its content
(:func:`..records.thread_hash`) and its passage count, for updates, and its title's
analysed terms (what the ranking's title evidence reads); ``fil_meta.format`` is FORMAT.

One rebuild, on the coordinator, in one transaction: take the advisory lock (or raise
RebuildLockedError), create ``fil_*_new`` tables, COPY, build indexes, ANALYZE, then
drop the live tables and rename the new ones in, and commit. Readers see the old
tables or the new ones; a failure rolls everything back and the old tables keep
answering. With shards (see :mod:`.store`), each shard's partition is first built
and committed on its own server under a generation-stamped name that nothing reads
yet; the coordinator's transaction then attaches it as a foreign partition of the new
``fil_passages``, and the swap makes it live. Partitions of older generations are
dropped from the shards once the swap has committed. Every commit of a rebuild is made
with ``synchronous_commit = on`` (DURABLE), so a crash cannot lose a step the next one
relies on. A connection lost in the middle of a COPY fails the rebuild (the old index
keeps answering) without psycopg's "error ignored terminating" warning.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, overload

import psycopg
from psycopg import sql
from psycopg.copy import LibpqWriter

from ...analysis import analyzer
from ...errors import IndexerError, RebuildLockedError
from ...ingest.folding import author_key
from ...ingest.model import COMMENT, Thread, date_key
from ..base import BuildReport
from ..records import thread_record
from .connections import BUILD_OPTIONS, FDW_OPTIONS, first_line, redact, scalar, with_defaults
from .lists import (
    COLUMN_NAMES,
    COLUMN_TYPES,
    COLUMNS,
    POSTING_NAMES,
    POSTING_TYPES,
    POSTINGS,
    THREAD_POSTING_NAMES,
    THREAD_POSTING_TYPES,
    THREAD_POSTINGS,
    ListsBuilder,
    create_statements,
)
from .sql import lexeme_ok, tsvector_literal

LOCK_KEY = 0x46494C5245  # "FILRE": advisory lock of rebuilds and updates (per database)
#: The index's layout (``fil_meta.format``). 2: thread digests, passage versions
#: (``born``/``died``), ``fil_versions``, ``max_ord``: what updates need. 3: the
#: analysis of the thread-first ranking (inverted subjects, ordinals), thread codes and
#: lengths, threads per term (``fil_terms.tdf``), the posting lists (:mod:`.lists`).
#: An index of an older format must be rebuilt before it is searched or updated.
FORMAT = 3
TABLES = ("fil_meta", "fil_threads", "fil_passages", "fil_terms", "fil_authors",
          "fil_versions", POSTINGS, THREAD_POSTINGS, COLUMNS)
ROUTE_TABLE = "fil_route"  # empty hash-partitioned table: routes thread ids to partitions
GENERATIONS_TABLE = "fil_generations"  # generations that may have partitions on shards
ROUTE_CHUNK = 500  # threads routed per round trip
SWAP_LOCK_TIMEOUT = "60s"  # wait at most this long for running searches before swapping
#: Each commit of a rebuild is on disk before the next step relies on it, whatever the
#: server's synchronous_commit: a shard's partition before the coordinator swaps it in,
#: the swap before the replaced partitions are dropped from the shards, the generation
#: log before any partition is created (a crash must not lose a committed step).
DURABLE = "SET LOCAL synchronous_commit = on"
#: libpq options of a shard URL that its foreign server keeps (user and password go to
#: the user mapping); FDW_OPTIONS fills in the ones the URL leaves out.
SERVER_OPTIONS = frozenset({
    "host", "hostaddr", "port", "dbname", "sslmode", "sslrootcert", "sslcrl",
    "application_name", "connect_timeout", "keepalives", "keepalives_idle",
    "keepalives_interval", "keepalives_count", "tcp_user_timeout", "target_session_attrs",
    "gssencmode", "options"})

PASSAGE_COLUMNS = """
    ord bigint NOT NULL,
    thread_id text NOT NULL,
    kind text NOT NULL,
    position integer NOT NULL,
    author text,
    author_key text,
    date text,
    date_key bigint NOT NULL,
    title text NOT NULL,
    content text NOT NULL,
    dl integer NOT NULL,
    tsv tsvector NOT NULL,
    born bigint NOT NULL DEFAULT 0,
    died bigint
"""
PASSAGE_NAMES = ("ord", "thread_id", "kind", "position", "author", "author_key", "date",
                 "date_key", "title", "content", "dl", "tsv", "born", "died")
#: ``born``/``died``: the index version that added / removed a passage (see
#: :mod:`.update`); the partial indexes find the few rows that updates touched.
PASSAGE_INDEXES = {"tsv": "USING gin (tsv)", "place": "(thread_id, kind, position)",
                   "ord": "(ord)",
                   "born": "(born) WHERE born > 0", "died": "(died) WHERE died IS NOT NULL"}
THREAD_NAMES = ("id", "title", "url", "author", "date", "data", "digest", "passages",
                "code", "length", "title_terms")
TERM_SEP = "\x1f"  # between the analysed terms of a title (``fil_threads.title_terms``)



@overload
def _clean(text: str) -> str: ...


@overload
def _clean(text: None) -> None: ...


def _clean(text: str | None) -> str | None:
    """PostgreSQL text can't hold NUL: it becomes a space (a word separator either way)."""
    return text.replace("\x00", " ") if text and "\x00" in text else text


def passage_indexes(table: str, prefix: str) -> list[sql.Composed]:
    """CREATE INDEX statements for one plain table of passages (``prefix_tsv``...)."""
    return [sql.SQL("CREATE INDEX {} ON {} " + how).format(
        sql.Identifier(f"{prefix}_{name}"), sql.Identifier(table))
        for name, how in PASSAGE_INDEXES.items()]


def _create_passages(table: str, partition_by: str | None = None) -> sql.Composed:
    tail = f" PARTITION BY {partition_by}" if partition_by else ""
    return sql.SQL("CREATE TABLE {} (" + PASSAGE_COLUMNS + ")" + tail).format(
        sql.Identifier(table))


class Stats:
    """Collection statistics counted while loading."""

    def __init__(self) -> None:
        self.df: dict[str, int] = {}
        self.total_length = 0
        self.passages = 0
        self.authors: dict[str, tuple[int, str]] = {}  # author key -> (code, shown name)

    def avg_length(self) -> float:
        """Average passage length, as the embedded store computes it (live length / live
        passages, in float64), so an update can keep it exact without reading every row."""
        return avg_length(self.total_length, self.passages)


def avg_length(total_length: int, passages: int) -> float:
    """The average passage length BM25 uses (1.0 for an empty index)."""
    return total_length / passages if passages else 1.0


def passage_rows(t: Thread, stats: Stats, first_ord: int, born: int = 0,
                 lists: ListsBuilder | None = None, code: int = 0) -> list[tuple[object, ...]]:
    """The ``fil_passages`` rows (PASSAGE_NAMES) of one thread, counted into ``stats``.

    Rebuilds and updates both make their rows here: each passage analysed by the French
    chain, its ``tsvector`` literal and length; ords from
    ``first_ord`` on; every term of a passage adds 1 to its document frequency, new
    authors get the next code (order of first appearance). With ``lists``, every
    posting is collected there instead, for the thread numbered ``code``, and the
    document frequencies are ``lists.df()``.
    """
    ana = analyzer()
    df = stats.df
    authors = stats.authors
    rows: list[tuple[object, ...]] = []
    ids = lists.ids if lists is not None else {}
    add_term = lists.terms.append if lists is not None else None
    add_tf = lists.tfs.append if lists is not None else None
    thread_length = 0
    for p in t.passages():
        text = _clean(p.text) or ""
        pos = ana.positions(text)
        length = sum(len(v) for v in pos.values())
        n = 0
        for k, v in pos.items():
            if len(k) > 511 and not lexeme_ok(k):
                continue
            f = len(v)
            if add_term is not None:  # document frequencies: counted by lists.df()
                tid = ids.get(k)
                if tid is None:
                    tid = ids[k] = len(ids)
                add_term(tid)
                add_tf(f)  # type: ignore[misc]
                n += 1
            else:
                df[k] = df.get(k, 0) + 1
        thread_length += length
        stats.total_length += length
        akey = author_key(_clean(p.author))
        if akey and akey not in authors:
            authors[akey] = (len(authors), _clean(p.author) or akey)
        stamp = date_key(p.date)
        if lists is not None:
            lists.passage(first_ord + len(rows), code, length, n, p.kind == COMMENT, stamp,
                          authors[akey][0] if akey else -1)
        rows.append((
            first_ord + len(rows), _clean(p.thread_id), p.kind, p.position,
            _clean(p.author), akey or None,
            _clean(p.date), stamp, _clean(p.thread_title),
            text, length, tsvector_literal(pos), born, None))
    stats.passages += len(rows)
    if lists is not None:
        lists.thread(code, thread_length)
    return rows


def thread_row(t: Thread, rows: list[tuple[object, ...]], code: int) -> tuple[object, ...]:
    """The ``fil_threads`` row (THREAD_NAMES) of a thread whose passage rows are ``rows``,
    numbered ``code``.

    ``digest`` is :func:`..records.thread_hash` of the thread (the same SHA-1 of its
    record, computed from the record serialised once here); ``length`` the sum of its
    passages' lengths.
    """
    record = thread_record(t)
    digest = hashlib.sha1(record.encode("utf-8"), usedforsecurity=False).digest()
    title = _clean(t.title) or ""
    return (_clean(t.id), title, _clean(t.url), _clean(t.author), _clean(t.date),
            _clean(record), digest, len(rows), code, sum(r[10] for r in rows),  # type: ignore[misc]
            TERM_SEP.join(dict.fromkeys(analyzer().terms(title))))


class Builder:
    """One rebuild of the index reached through ``connect()`` (and of its shards)."""

    def __init__(self, connect: Callable[..., psycopg.Connection[Any]], location: str,
                 shards: list[str]) -> None:
        self.connect = connect
        self.location = location
        self.shards = shards
        self.gen = "g" + datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
        self.stats = Stats()
        self.lists = ListsBuilder()
        self.ord = 0
        self.remote_schemas: list[str] = []  # schema of each shard's partition

    @property
    def modulus(self) -> int:
        return len(self.shards) + 1

    def partition(self, i: int) -> str:
        return f"fil_passages_{self.gen}_p{i}"

    # -- entry point ---------------------------------------------------------------
    def run(self, threads: Iterable[Thread],
            progress: Callable[[int], None] | None = None) -> BuildReport:
        started = time.perf_counter()
        report = BuildReport(location=self.location)
        conn = self.connect(autocommit=False, search=False)
        shard_conns: list[psycopg.Connection[Any]] = []
        side: psycopg.Connection[Any] | None = None
        try:
            if not scalar(conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (LOCK_KEY,))):
                raise RebuildLockedError(
                    f"another rebuild of {self.location} is running; try again when it "
                    "has finished")
            if self.shards:
                side = self._side_connection()
            conn.execute("SET LOCAL statement_timeout = 0")
            conn.execute("SET LOCAL lock_timeout = 0")
            conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
            conn.execute(DURABLE)
            self._create(conn)
            for i, url in enumerate(self.shards, start=1):
                shard_conns.append(self._open_shard(i, url))
            self._load(conn, side, shard_conns, threads, progress, report)
            self._finish_shards(shard_conns)
            self._attach_shards(conn)
            self._finish(conn, report, started)
            self._swap(conn)
            conn.commit()
        except BaseException:
            with contextlib.suppress(Exception):
                conn.rollback()
            for sc in shard_conns:
                with contextlib.suppress(Exception):
                    sc.rollback()
            if side is not None:
                self._drop_remote(side, succeeded=False)
            raise
        finally:
            conn.close()
            for sc in shard_conns:
                sc.close()
            if side is not None and not side.closed:
                side.close()
        if self.shards:
            with contextlib.closing(self._side_connection(register=False)) as side:
                self._drop_remote(side, succeeded=True)
        report.seconds = time.perf_counter() - started
        return report

    # -- schema --------------------------------------------------------------------
    def _create(self, conn: psycopg.Connection[Any]) -> None:
        for t in TABLES:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(
                sql.Identifier(t + "_new")))
        conn.execute("CREATE TABLE fil_threads_new (id text NOT NULL, title text NOT NULL, "
                     "url text, author text, date text, data text NOT NULL, "
                     "digest bytea NOT NULL, passages integer NOT NULL, code integer NOT NULL, "
                     "length bigint NOT NULL, title_terms text NOT NULL)")
        conn.execute("CREATE TABLE fil_terms_new (term text COLLATE \"C\" NOT NULL, "
                     "df integer NOT NULL, tdf integer NOT NULL, parts integer NOT NULL)")
        conn.execute("CREATE TABLE fil_meta_new (generation text NOT NULL, threads bigint, "
                     "passages bigint, total_length bigint, avg_length float8, terms bigint, "
                     "built_at text, seconds float8, shards integer, format integer NOT NULL, "
                     "version bigint NOT NULL, max_ord bigint NOT NULL, updated_at text, "
                     "max_code integer NOT NULL, dead bytea NOT NULL)")
        for ddl in create_statements("_new"):
            conn.execute(ddl)
        conn.execute("CREATE TABLE fil_versions_new (version bigint NOT NULL, "
                     "committed_at timestamptz NOT NULL)")
        conn.execute("CREATE TABLE fil_authors_new (key text NOT NULL, code integer NOT NULL, "
                     "name text NOT NULL)")
        if self.shards:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgres_fdw")
            conn.execute(_create_passages("fil_passages_new", "HASH (thread_id)"))
            conn.execute(_create_passages(self.partition(0)))
            conn.execute(sql.SQL(
                "ALTER TABLE fil_passages_new ATTACH PARTITION {} "
                "FOR VALUES WITH (MODULUS {}, REMAINDER 0)").format(
                    sql.Identifier(self.partition(0)), sql.Literal(self.modulus)))
        else:
            conn.execute(_create_passages("fil_passages_new"))

    def _open_shard(self, i: int, url: str) -> psycopg.Connection[Any]:
        """A transaction on shard ``i`` with its new (empty) partition table created."""
        try:
            sc: psycopg.Connection[Any] = psycopg.connect(
                with_defaults(url, BUILD_OPTIONS), autocommit=False,
                application_name="fil-rebuild")
        except psycopg.OperationalError as exc:
            raise IndexerError(f"shard {redact(url)} is unreachable: "
                               f"{first_line(exc)}") from None
        sc.execute("SET LOCAL statement_timeout = 0")
        sc.execute("SET LOCAL maintenance_work_mem = '256MB'")
        sc.execute(DURABLE)
        sc.execute(_create_passages(self.partition(i)))
        return sc

    # -- loading -------------------------------------------------------------------
    def _route(self, router: psycopg.Connection[Any] | None, ids: list[str]) -> list[int]:
        """Partition number (0 = coordinator) of each thread id, as PostgreSQL hashes it."""
        if router is None:
            return [0] * len(ids)
        rows = router.execute(
            "SELECT (SELECT r FROM generate_series(0, %(m)s - 1) r "
            "        WHERE satisfies_hash_partition(%(t)s::regclass, %(m)s, r, u.id)) "
            "FROM unnest(%(ids)s::text[]) WITH ORDINALITY AS u(id, n) ORDER BY u.n",
            {"m": self.modulus, "t": ROUTE_TABLE, "ids": ids}).fetchall()
        return [r[0] for r in rows]

    def _side_connection(self, register: bool = True) -> psycopg.Connection[Any]:
        """An autocommit connection to the coordinator, for routing and the generation log.

        ``fil_generations`` lists every generation whose partitions may exist on the
        shards (logged before any is created), so that the ones a failed or killed
        rebuild left behind, and the replaced ones, can be dropped later, and only those:
        several coordinators may keep their partitions in the same shard database.
        """
        side = self.connect(autocommit=True, search=False)
        side.execute(DURABLE.replace(" LOCAL", ""))
        for ddl in (f"CREATE TABLE IF NOT EXISTS {ROUTE_TABLE} (thread_id text) "
                    "PARTITION BY HASH (thread_id)",
                    f"CREATE TABLE IF NOT EXISTS {GENERATIONS_TABLE} (generation text PRIMARY KEY, "
                    "shards integer NOT NULL, started_at timestamptz NOT NULL DEFAULT now())"):
            with contextlib.suppress(psycopg.errors.UniqueViolation):  # created concurrently
                side.execute(ddl)
        if register:
            side.execute(f"INSERT INTO {GENERATIONS_TABLE} (generation, shards) VALUES (%s, %s)",
                         (self.gen, len(self.shards)))
        return side

    def _load(self, conn: psycopg.Connection[Any], router: psycopg.Connection[Any] | None,
              shard_conns: list[psycopg.Connection[Any]],
              threads: Iterable[Thread], progress: Callable[[int], None] | None,
              report: BuildReport) -> None:
        stats = self.stats
        lists = self.lists
        seen: set[str] = set()
        thread_rows: list[tuple[object, ...]] = []  # COPYed once the passages are in
        local_table = self.partition(0) if self.shards else "fil_passages_new"
        columns = sql.SQL(", ").join(map(sql.Identifier, PASSAGE_NAMES))
        with contextlib.ExitStack() as stack:
            copies = [stack.enter_context(_copy(conn, sql.SQL(
                "COPY {} ({}) FROM STDIN WITH (FREEZE)").format(
                    sql.Identifier(local_table), columns)))]
            for i, sc in enumerate(shard_conns, start=1):
                copies.append(stack.enter_context(_copy(sc, sql.SQL(
                    "COPY {} ({}) FROM STDIN WITH (FREEZE)").format(
                        sql.Identifier(self.partition(i)), columns))))
            for chunk in _chunks(threads, ROUTE_CHUNK):
                routes = self._route(router, [t.id for t in chunk])
                for t, part in zip(chunk, routes, strict=True):
                    if part is None:  # pragma: no cover - hashing always finds one
                        raise IndexerError(f"no partition for thread {t.id!r}")
                    if t.id in seen:
                        report.warnings.append(f"thread {t.id!r} appears twice: the first "
                                               "one is indexed")
                        continue
                    seen.add(t.id)
                    copy = copies[part]
                    code = report.threads
                    rows = passage_rows(t, stats, self.ord + 1, lists=lists, code=code)
                    self.ord += len(rows)
                    for row in rows:
                        copy.write_row(row)
                    thread_rows.append(thread_row(t, rows, code))
                    report.threads += 1
                    report.passages += len(rows)
                    if progress:
                        progress(len(rows))
        with _copy(conn, sql.SQL("COPY fil_threads_new ({}) FROM STDIN").format(
                sql.SQL(", ").join(map(sql.Identifier, THREAD_NAMES)))) as copy:
            for row in thread_rows:
                copy.write_row(row)
        del thread_rows
        stats.df = lists.df()
        made = lists.rows(stats.avg_length(), 0)
        write_lists(conn, made.postings, made.thread_postings, "_new",
                    lists.columns_row(0, written=0))
        tdf = made.tdf
        del made
        with _copy(conn, sql.SQL("COPY fil_terms_new (term, df, tdf, parts) FROM STDIN")) \
                as copy:
            for term, n in stats.df.items():
                copy.write_row((term, n, tdf.get(term, 0), 0))
        with _copy(conn, sql.SQL("COPY fil_authors_new (key, code, name) FROM STDIN")) as copy:
            for key, (code, name) in stats.authors.items():
                copy.write_row((key, code, name))

    # -- indexes, shards, swap -------------------------------------------------------
    def _finish_shards(self, shard_conns: list[psycopg.Connection[Any]]) -> None:
        """Index, analyse and commit each shard's new partition (not read by anyone yet)."""
        for i, sc in enumerate(shard_conns, start=1):
            for stmt in passage_indexes(self.partition(i), self.partition(i)):
                sc.execute(stmt)
            sc.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(self.partition(i))))
            self.remote_schemas.append(scalar(sc.execute("SELECT current_schema()")))
            sc.commit()

    def _attach_shards(self, conn: psycopg.Connection[Any]) -> None:
        """Foreign servers and foreign partitions of this generation, on the coordinator."""
        for i, url in enumerate(self.shards, start=1):
            server = f"fil_{self.gen}_s{i}"
            info = psycopg.conninfo.conninfo_to_dict(url)
            user = info.pop("user", None)
            password = info.pop("password", None)
            opts = {k: str(v) for k, v in info.items() if k in SERVER_OPTIONS}
            for key, value in {**FDW_OPTIONS, "application_name": "fil-coordinator"}.items():
                opts.setdefault(key, value)
            opts.update({"async_capable": "true", "fetch_size": "1000"})
            conn.execute(sql.SQL("CREATE SERVER {} FOREIGN DATA WRAPPER postgres_fdw "
                                 "OPTIONS ({})").format(sql.Identifier(server), _options(opts)))
            mapping = {k: str(v) for k, v in (("user", user), ("password", password)) if v}
            conn.execute(sql.SQL("CREATE USER MAPPING FOR CURRENT_USER SERVER {}{}").format(
                sql.Identifier(server),
                sql.SQL(" OPTIONS ({})").format(_options(mapping)) if mapping else sql.SQL("")))
            conn.execute(sql.SQL(
                "CREATE FOREIGN TABLE {} PARTITION OF fil_passages_new "
                "FOR VALUES WITH (MODULUS {}, REMAINDER {}) SERVER {} "
                "OPTIONS (schema_name {}, table_name {})").format(
                    sql.Identifier(self.partition(i)), sql.Literal(self.modulus),
                    sql.Literal(i), sql.Identifier(server),
                    sql.Literal(self.remote_schemas[i - 1]), sql.Literal(self.partition(i))))

    def _finish(self, conn: psycopg.Connection[Any], report: BuildReport,
                started: float) -> None:
        local = self.partition(0) if self.shards else "fil_passages_new"
        for stmt in passage_indexes(local, local if self.shards else f"fil_passages_{self.gen}"):
            conn.execute(stmt)
        for table, key in (("threads", "id"), ("terms", "term"), ("authors", "key"),
                           ("versions", "version"), ("postings", "term, part"),
                           ("thread_postings", "term, part"), ("columns", "part")):
            conn.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY ({})").format(
                sql.Identifier(f"fil_{table}_new"), sql.Identifier(f"fil_{table}_{self.gen}_pkey"),
                sql.SQL(key)))
        conn.execute(sql.SQL("CREATE UNIQUE INDEX {} ON fil_threads_new (code)").format(
            sql.Identifier(f"fil_threads_{self.gen}_code")))
        for t in ("fil_threads_new", "fil_terms_new", "fil_authors_new", local,
                  POSTINGS + "_new", THREAD_POSTINGS + "_new"):
            conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(t)))
        for i in range(1, self.modulus):
            conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(self.partition(i))))
        built_at = datetime.now(UTC).isoformat(timespec="seconds")
        conn.execute(
            "INSERT INTO fil_meta_new (generation, threads, passages, total_length, avg_length, "
            "terms, built_at, seconds, shards, format, version, max_ord, updated_at, max_code, "
            "dead) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 0, %s, %s, %s, '')",
            (self.gen, report.threads, self.stats.passages, self.stats.total_length,
             self.stats.avg_length(), len(self.stats.df), built_at,
             round(time.perf_counter() - started, 3), len(self.shards), FORMAT, self.ord,
             built_at, report.threads - 1))

    def _swap(self, conn: psycopg.Connection[Any]) -> None:
        """Drop the live tables and rename the new ones in (same transaction)."""
        conn.execute(f"SET LOCAL lock_timeout = '{SWAP_LOCK_TIMEOUT}'")
        for t in TABLES:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(sql.Identifier(t)))
            conn.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(
                sql.Identifier(t + "_new"), sql.Identifier(t)))
        old = conn.execute("SELECT srvname FROM pg_foreign_server WHERE srvname ~ %s",
                           (r"^fil_g[0-9]+_s[0-9]+$",)).fetchall()
        for (name,) in old:
            if not name.startswith(f"fil_{self.gen}_"):
                conn.execute(sql.SQL("DROP SERVER {} CASCADE").format(sql.Identifier(name)))

    def _drop_remote(self, side: psycopg.Connection[Any], succeeded: bool) -> None:
        """Drop shard partitions of replaced or failed generations (best effort).

        After a success: every logged generation but this one; after a failure: this
        one. A generation leaves the log once its partitions are gone from every shard.
        """
        if succeeded:
            gens = [r[0] for r in side.execute(
                f"SELECT generation FROM {GENERATIONS_TABLE} WHERE generation <> %s",
                (self.gen,))]
        else:
            gens = [self.gen]
        done = set(gens)
        for i, url in enumerate(self.shards, start=1):
            try:
                with psycopg.connect(with_defaults(url, BUILD_OPTIONS), autocommit=True) as sc:
                    for g in gens:
                        sc.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(
                            sql.Identifier(f"fil_passages_{g}_p{i}")))
            except psycopg.Error:
                done.clear()  # try again after the next rebuild
        if done:
            with contextlib.suppress(psycopg.Error):
                side.execute(f"DELETE FROM {GENERATIONS_TABLE} WHERE generation = ANY(%s)",
                             (list(done),))


def write_lists(conn: psycopg.Connection[Any], rows: Iterable[tuple[object, ...]],
                thread_rows: Iterable[tuple[object, ...]], suffix: str = "",
                columns: tuple[object, ...] | None = None) -> None:
    """COPY (binary) posting list rows into ``fil_postings`` and ``fil_thread_postings``,
    and a part of the passages' columns into ``fil_columns``, in that order (``rows``
    consumed first: see :class:`.lists.ListRows`)."""
    for table, names, types, items in ((POSTINGS, POSTING_NAMES, POSTING_TYPES, rows),
                                       (THREAD_POSTINGS, THREAD_POSTING_NAMES,
                                        THREAD_POSTING_TYPES, thread_rows),
                                       (COLUMNS, COLUMN_NAMES, COLUMN_TYPES,
                                        [columns] if columns else [])):
        items = iter(items)
        first = next(items, None)
        if first is None:
            continue
        with _copy(conn, sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
                sql.Identifier(table + suffix),
                sql.SQL(", ").join(map(sql.Identifier, names)))) as copy:
            copy.set_types(list(types))
            copy.write_row(first)
            for row in items:
                copy.write_row(row)


class _CopyWriter(LibpqWriter):
    """Ends a COPY, unless its connection is already lost: then nothing is left to end
    (psycopg would try, and log "error ignored terminating <psycopg.Copy [BAD]>")."""

    def finish(self, exc: BaseException | None = None) -> None:
        if exc is not None and self.connection.broken:
            return
        super().finish(exc)


def _copy(conn: psycopg.Connection[Any],
          statement: sql.Composed | sql.SQL) -> contextlib.AbstractContextManager[Any]:
    """``conn.cursor().copy(statement)``, quiet about a connection lost meanwhile."""
    cursor = conn.cursor()
    return cursor.copy(statement, writer=_CopyWriter(cursor))


def _options(opts: dict[str, str]) -> sql.Composed:
    return sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(k), sql.Literal(v))
                              for k, v in opts.items())


def _chunks(threads: Iterable[Thread], n: int) -> Iterator[list[Thread]]:
    chunk: list[Thread] = []
    for t in threads:
        chunk.append(t)
        if len(chunk) >= n:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
