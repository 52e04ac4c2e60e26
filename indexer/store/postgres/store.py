"""The PostgreSQL store: answers the search pipeline's questions from an index kept in PostgreSQL.

Chosen with ``FIL_BACKEND=postgres`` and ``FIL_DATABASE_URL=postgresql://user@host:port/db``
(CLI: ``--backend postgres --database-url URL``). The pipeline, the web app and the JSON
API are the same as over the embedded store.

Same analysis
-------------
PostgreSQL's own parsers and dictionaries are never used. Passages are analysed in
Python by the project's French chain (:func:`indexer.analysis.analyzer`) and stored as
``tsvector`` literals with positions (``'deb':3,8 'tres':1``, cast with ``::tsvector``),
and their terms into posting lists; queries are parsed by :mod:`indexer.search.query`
into plans over the same terms (:mod:`indexer.search.plan`); a phrase's positions are
checked with a ``tsquery`` of its terms (``'haut' <-> 'deb'``, see :mod:`.sql`).

Same ranking, same numbers
--------------------------
Plans are evaluated over posting lists the index keeps packed in PostgreSQL, one row per
term (:mod:`.lists`: every posting's passage ``ord``, thread code and BM25 weight, plus
term frequency and length to recompute it when the average length has moved), read
whole in the search's snapshot and combined with numpy by the embedded store's own
functions (:mod:`..scoring`): the same BM25 (``BM25_K1``/``BM25_B`` and idf of
:mod:`indexer.search.ranking`, statistics from ``fil_terms``/``fil_meta``), OR, AND,
coordination, exclusions, in the same float32 arithmetic, so the scores are the embedded
store's to the bit, the best come in the same order (score, then ``ord``: the order
passages were indexed in, the embedded store's tie-break on document numbers), and
totals and thread totals are exact. Phrases: the candidates holding every word (the best
PHRASE_CHECK_LIMIT, as the embedded store) are checked by PostgreSQL on their
``tsvector`` positions (``tsv @@ 'a' <-> 'b'``). Field filters, facets and filters alone
(newest first: date descending, undated last, then ``ord``) read per-passage columns
(kind, date key, author, thread) kept packed beside the lists (``fil_columns``, cached
per process). Whole-thread scores (``thread_scores``) are computed from per-term thread
postings (``fil_thread_postings``: summed term frequencies and thread lengths), over
every thread holding a query term: exact, as the embedded store's (a few hundred
kilobytes read for a ten-word question at 300k passages). Everything else —
re-ranking, snippets, suggestions, notices, the any-word fallback — is the pipeline's
(:mod:`indexer.search.pipeline`).
tests/test_postgres.py checks that both stores return the same hits, in the same order,
with the same totals and facets, grouped by passage and by thread, on the seed and PIAF
threads, and the same answer to every question the pipeline asks a store.

Why lists: this store used to match and score in SQL (``tsv @@ tsquery`` over the GIN
index, BM25 as a SQL expression over a ``jsonb`` of term frequencies), which costs a row
visit, a ``tsvector`` check and ``jsonb`` lookups per matching passage; a question ORed
over ten words matches half the passages: 0.7-1.1 s p50 and up to 12 of 100 questions at
the 2 s limit at 300k passages, against tens of milliseconds now (README, *Scale, and
when to use PostgreSQL*).

Schema (one database; built by :mod:`.build`, swapped in atomically; changed in place
by :mod:`.update`)::

    fil_meta     (generation, threads, passages, total_length, avg_length, terms,
                  built_at, seconds, shards, format, version, max_ord, updated_at,
                  max_code, dead bytea)      -- format 3 (build.FORMAT); dead: the codes
                                             -- of threads removed since the lists' fold
    fil_threads  (id text PRIMARY KEY, title, url, author, date, data text,  -- thread JSON
                  digest bytea, passages integer,     -- records.thread_hash, passage count
                  code integer UNIQUE, length bigint, -- index order; sum of passage lengths
                  title_terms text)                   -- the title's analysed terms
    fil_terms    (term text COLLATE "C" PRIMARY KEY, df integer, tdf integer,  -- passages
                  parts integer)     -- and threads holding each term; its list parts from
                                     -- updates (merged at update.MAX_PARTS)
    fil_authors  (key text PRIMARY KEY, code integer, name text)   -- author facet order
    fil_passages (ord bigint, thread_id, kind, position, author, author_key, date,
                  date_key bigint, title, content text, dl integer,
                  tsv tsvector, born bigint, died bigint)  -- versions that added/removed it
      GIN (tsv); btree (thread_id, kind, position), (ord),
      (born) WHERE born > 0, (died) WHERE died IS NOT NULL
    fil_versions (version bigint PRIMARY KEY, committed_at timestamptz)  -- for the purge
    fil_postings, fil_thread_postings, fil_columns      -- the packed lists (see .lists)

Updates (``update``, ``delete``, ``optimize``; see :mod:`.update`) change rows in one
transaction under the rebuild lock, keep every statistic exact, and bump
``fil_meta.version``; each search keeps the passages of the version its snapshot of
``fil_meta`` shows (``born <= V AND (died IS NULL OR died > V)``), so it sees an update
whole or not at all, on one server or several. The lists, on the coordinator, are read
in the same snapshot. An index of an older format is neither searched nor updated: the
error says to rebuild it.

Filters are the embedded store's rules over the columns: ``author:`` -> the author's
code, ``kind:``, ``thread:`` -> the thread's code, ``after:``/``before:`` -> date key
``>= YYYYMMDD000000`` / ``<= YYYYMMDD235959`` and dated (date keys: YYYYMMDDhhmmss, 0
without a date).

Scale-out: passages partitioned by thread over several servers
----------------------------------------------------------------
``PostgresStore(url, shards=["postgresql://...", ...])`` (or ``FIL_PG_SHARDS``, URLs
separated by spaces or commas) makes the database at ``url`` the coordinator: threads,
terms and statistics stay there, and passages are hash-partitioned by ``thread_id``,
partition 0 on the coordinator and partition *i* on shard *i* through ``postgres_fdw``.
A rebuild creates, for generation ``G`` and two servers::

    -- on the shard (its own transaction, committed before the coordinator swaps):
    CREATE TABLE fil_passages_G_p1 (<passage columns>);
    COPY fil_passages_G_p1 FROM STDIN WITH (FREEZE);       -- the threads hashed to 1
    CREATE INDEX ON fil_passages_G_p1 USING gin (tsv);    -- + the btree indexes
    ANALYZE fil_passages_G_p1;

    -- on the coordinator (one transaction, with the swap):
    CREATE EXTENSION IF NOT EXISTS postgres_fdw;
    CREATE TABLE fil_passages_new (<passage columns>) PARTITION BY HASH (thread_id);
    CREATE TABLE fil_passages_G_p0 (<passage columns>);
    ALTER TABLE fil_passages_new ATTACH PARTITION fil_passages_G_p0
        FOR VALUES WITH (MODULUS 2, REMAINDER 0);
    COPY fil_passages_G_p0 FROM STDIN;                      -- the threads hashed to 0
    CREATE SERVER fil_G_s1 FOREIGN DATA WRAPPER postgres_fdw
        OPTIONS (host '10.0.0.2', port '5432', dbname 'fil',   -- from the shard URL
                 connect_timeout '2', keepalives '1', keepalives_idle '10',
                 keepalives_interval '5', keepalives_count '3', tcp_user_timeout '10000',
                 application_name 'fil-coordinator', async_capable 'true',
                 fetch_size '1000');
    CREATE USER MAPPING FOR CURRENT_USER SERVER fil_G_s1 OPTIONS (user 'fil', password '…');
    CREATE FOREIGN TABLE fil_passages_G_p1 PARTITION OF fil_passages_new
        FOR VALUES WITH (MODULUS 2, REMAINDER 1)
        SERVER fil_G_s1 OPTIONS (schema_name 'public', table_name 'fil_passages_G_p1');
    DROP TABLE IF EXISTS fil_passages CASCADE;
    ALTER TABLE fil_passages_new RENAME TO fil_passages;    -- (same for the other tables)

Rows are routed in Python with PostgreSQL's own hash (``satisfies_hash_partition`` on
an empty helper table ``fil_route``), so each row sits in the partition the planner
prunes to. ``fil_generations`` logs the generations that may have partitions on the
shards, so that replaced or abandoned ones are dropped there (and only those: several
coordinators may share a shard database).

Queries run unchanged on the coordinator. Matching reads the posting lists and columns,
which stay on the coordinator; the passages shown (texts, positions) are read by ``ord``
and thread id (which prunes to one partition) from the partitions, and phrase checks
(``tsv @@ $1::tsquery``, a built-in operator that ``postgres_fdw`` ships to the shard,
which uses its own GIN index) from all of them, scanned concurrently (``async_capable``). Shard URLs
must be reachable from the coordinator server as written (and from the machine that
rebuilds); as a non-superuser, the shard URL needs a password (``postgres_fdw`` rule) and
``postgres_fdw`` must already be installed.

Shard URL options: a shard URL's libpq parameters become its foreign server's options
(``host``, ``hostaddr``, ``port``, ``dbname``, ``sslmode``, ``sslrootcert``, ``sslcrl``,
``gssencmode``, ``target_session_attrs``, ``options``, ``application_name``,
``connect_timeout``, ``keepalives``, ``keepalives_idle``, ``keepalives_interval``,
``keepalives_count``, ``tcp_user_timeout``); ``user`` and ``password`` go to the user
mapping. Left out of the URL, the time limits default to ``connect_timeout=2`` (libpq's
least: the coordinator's connection attempt, which no ``statement_timeout`` interrupts,
then gives up within 2 s), ``keepalives=1``, ``keepalives_idle=10``,
``keepalives_interval=5``, ``keepalives_count=3`` and ``tcp_user_timeout=10000`` (ms),
e.g. ``postgresql://fil:pw@10.0.0.2:5432/fil?sslmode=require&connect_timeout=3``.
Characters ``@ / ? # :`` in a user name or password must be percent-encoded; a URL libpq
cannot read is refused before any connection, without showing its password.

Connections and time limits (see :mod:`.connections`): a small pool (reconnects when a
connection breaks; one retry when a pooled connection is found dead at once); each search
is one read-only REPEATABLE READ transaction (a snapshot) whose first statement locks
``fil_meta`` in ACCESS SHARE mode (``LOCK`` takes no snapshot, so the transaction's
snapshot is taken after any swap it waited for: a search sees the old index or the new
one, never none), every statement bounded by ``statement_timeout`` = what is left of the
search's deadline. The app's own connections have TCP keepalives and
``tcp_user_timeout``, are opened within what is left of the deadline, and are watched:
WATCHDOG_MARGIN (0.5 s) past the deadline, a connection whose server has not answered is
broken, so a frozen server costs a search its time limit plus 0.5 s, then a 503
(BackendUnavailableError). Out of time on a healthy server, a search returns what it
found (DeadlineExceeded: a ``timed_out`` notice). On a partitioned index, a timed-out
search first probes the shards (a trivial query on each foreign partition, PROBE_SECONDS
0.3 s, broken 0.2 s later): if one does not answer, the search fails rather than return
results that may lack a whole shard. Measured (tests/test_postgres_faults.py, 2 s
limit): a stopped shard or server, 503 at once; a frozen shard, 503 after 2.0-2.5 s; a
frozen coordinator, 503 after 2.5 s; recovery on the next search once it is back.
"""
from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

import numpy as np
import psycopg
from psycopg.pq import TransactionStatus

from ...analysis import analyzer
from ...errors import (
    BackendUnavailableError,
    IndexDamagedError,
    IndexerError,
    IndexMissingError,
)
from ...ingest.model import Thread, day_bounds
from ...search.deadline import Deadline, DeadlineExceeded
from ...search.plan import Filters, Plan, plan_terms
from ...search.store import Facets, Key, Matches, PassageRecord, ThreadScores
from ...search.suggest import levenshtein
from ..base import BuildReport, IndexStats, UpdateReport
from ..records import thread_from_record
from ..scoring import best_positions, facet_counts
from ..scoring import exclude as exclude_ids
from .build import FORMAT, TERM_SEP, Builder
from .connections import (
    BUILD_OPTIONS,
    SEARCH_OPTIONS,
    ConnectTimeout,
    Pool,
    Watchdog,
    check_url,
    connect_within,
    first_line,
    mask_quoted,
    redact,
    scalar,
    with_defaults,
)
from .lists import (
    NO_POSTINGS,
    ColumnCache,
    Columns,
    TermPostings,
    ThreadPostings,
    codes_of,
    count_distinct,
    list_evaluator,
    read_postings,
    read_thread_postings,
    thread_scores,
    unpack,
)
from .sql import MAX_POSITION, MAX_POSITIONS, lexeme_ok, quote_lexeme
from .update import UPDATE_LOCK_WAIT, Updater, meta_bytes

KINDS = ("post", "comment")  # facet order
POOL_SIZE = 8  # idle connections kept (more are opened under load, closed when returned)
STATS_TIME_LIMIT = 30.0  # seconds for `fil stats`
THREAD_TIME_LIMIT = 5.0  # seconds to read one whole thread
#: Seconds past a transaction's deadline before the watchdog breaks its connection: the
#: server's own statement_timeout has had that long to answer.
WATCHDOG_MARGIN = 0.5
#: After a search timed out on a partitioned index: every shard must answer a trivial
#: query within PROBE_SECONDS (connection broken PROBE_MARGIN later), or the search
#: fails (503) rather than show results that may lack a whole shard.
PROBE_SECONDS = 0.3
PROBE_MARGIN = 0.2
#: A phrase with at most this many candidates is checked by their ords; with more,
#: through the GIN index (one bitmap scan instead of as many index lookups).
PHRASE_BY_ORD = 500
#: statement_timeout is set again (to what is left of the search's time) when it was
#: set more than this long ago (seconds): a statement may run at most that long past the
#: deadline, and a search of a few dozen milliseconds sets it once, with BEGIN.
TIMEOUT_SLACK = 0.05

#: The first statements of every search transaction, sent in one round trip. LOCK takes
#: no snapshot: the transaction's snapshot is taken by its first query, after any swap
#: the LOCK waited for.
BEGIN = ("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; "
         "SET LOCAL statement_timeout = {ms}; "
         "SET LOCAL enable_partitionwise_aggregate = on")
LOCK = "; LOCK TABLE fil_meta IN ACCESS SHARE MODE"

T = TypeVar("T")


@lru_cache(maxsize=50_000)
def _title_terms(joined: str) -> frozenset[str]:
    """A title's analysed terms, from ``fil_threads.title_terms`` (joined by TERM_SEP)."""
    return frozenset(joined.split(TERM_SEP)) if joined else frozenset()


class NoIndexError(IndexMissingError):
    """No index in this database: where, and the command that builds one."""

    def __init__(self, location: str, command: str) -> None:
        self.location = location
        self.command = command
        super().__init__(f"no index in the database {location}: build it with `{command}`")


def _ms(seconds: float) -> int:
    """A statement_timeout value: milliseconds, at least 1 (0 would mean no limit)."""
    return max(1, int(seconds * 1000))


class PostgresStore:
    """PostgreSQL full-text search as a store (thread-safe; see the module docstring)."""

    name = "postgres"

    def __init__(self, url: str, shards: Sequence[str] = (), pool_size: int = POOL_SIZE,
                 lock_wait: float = UPDATE_LOCK_WAIT) -> None:
        if not isinstance(url, str) or not url.strip():
            raise IndexerError("the postgres backend needs a database URL")
        self.url = url
        self.shards = list(shards)
        check_url(url)
        for i, shard in enumerate(self.shards, start=1):
            check_url(shard, f"URL of shard {i}")
        self.location = redact(url)
        self.lock_wait = lock_wait  # seconds an update waits for a rebuild or another update
        self._watchdog = Watchdog()
        self._columns = ColumnCache()
        self._pool = Pool(lambda seconds: self._connect(autocommit=True, search=True,
                                                        seconds=seconds), pool_size)

    # -- connections -----------------------------------------------------------------
    def _connect(self, autocommit: bool, search: bool,
                 seconds: float | None = None) -> psycopg.Connection[Any]:
        """A new connection; within ``seconds`` when given (BackendUnavailableError if not)."""
        conninfo = with_defaults(self.url, SEARCH_OPTIONS if search else BUILD_OPTIONS)
        options: dict[str, Any] = {"autocommit": autocommit, "prepare_threshold": None,
                                   "application_name": "fil"}
        try:
            if seconds is None:
                return psycopg.connect(conninfo, **options)
            return connect_within(conninfo, seconds, **options)
        except ConnectTimeout:
            raise BackendUnavailableError(
                f"PostgreSQL at {self.location} did not accept a connection within "
                f"{seconds:.1f} s") from None
        except psycopg.Error as exc:
            raise BackendUnavailableError(f"PostgreSQL at {self.location} is unreachable: "
                                          f"{self._reason(exc)}") from None

    def _reason(self, exc: BaseException) -> str:
        """An error's first line, naming shards by number and URL (never a password).

        ``could not connect to server "fil_g…_s1"`` becomes ``could not connect to shard 1
        (postgresql://u@h:p/db): Connection refused`` (libpq's reason, from the detail).
        """
        text = first_line(exc)
        if isinstance(exc, psycopg.ProgrammingError):
            text = mask_quoted(text)
        detail = getattr(getattr(exc, "diag", None), "message_detail", None)
        if detail and text.startswith("could not connect"):
            text += ": " + first_line(Exception(detail)).rsplit(" failed: ", 1)[-1]

        return re.sub(r'(?:server )?"?fil_g[0-9]+_s([0-9]+)"?',
                      lambda m: self._shard_name(int(m.group(1))), text)

    def _shard_name(self, i: int) -> str:
        """``shard 1 (postgresql://u@h:p/db)`` (the URL when this store knows it)."""
        where = f" ({redact(self.shards[i - 1])})" if 0 < i <= len(self.shards) else ""
        return f"shard {i}{where}"

    def rebuild_command(self) -> str:
        """The command that builds this index, with this store's options (no password)."""
        command = f"python -m indexer rebuild --backend postgres --database-url {self.location}"
        if self.shards:
            command += f" (with FIL_PG_SHARDS set to its {len(self.shards)} shard URLs)"
        return command

    @contextlib.contextmanager
    def _transaction(self, deadline: Deadline, lock: bool = True,
                     margin: float = WATCHDOG_MARGIN) -> Iterator[psycopg.Connection[Any]]:
        """One read-only REPEATABLE READ transaction on a pooled connection, bounded by
        ``deadline``: its statements by ``statement_timeout``, the whole of it (connecting
        included) by the watchdog ``margin`` seconds later. With ``lock``, its first
        statement locks ``fil_meta`` (see BEGIN). Retried once on a new connection when
        the pooled one is found broken at once (a server restarted since)."""
        for attempt in (1, 2):
            started = fired = False
            try:
                with self._pool.connection(deadline.remaining() + margin) as conn:
                    watch = self._watchdog.watch(conn, deadline.remaining() + margin)
                    try:
                        conn.execute(BEGIN.format(ms=_ms(deadline.remaining()))
                                     + (LOCK if lock else ""))
                        started = True
                        yield conn
                    finally:
                        if not conn.broken and \
                                conn.info.transaction_status != TransactionStatus.IDLE:
                            with contextlib.suppress(psycopg.Error):
                                conn.execute("ROLLBACK")
                        if self._watchdog.release(watch):
                            fired = True
                            conn.close()
                return
            except psycopg.errors.UndefinedTable as exc:
                context = exc.diag.context or ""
                if "remote SQL command" in context:  # a shard lost its partition
                    part = re.search(r"fil_passages_g[0-9]+_p([0-9]+)", context)
                    where = self._shard_name(int(part.group(1))) if part else "a shard"
                    raise IndexDamagedError(
                        f"the index in {self.location} lacks its partition on {where}: "
                        f"rebuild it with `{self.rebuild_command()}`") from None
                raise NoIndexError(self.location, self.rebuild_command()) from None
            except psycopg.errors.QueryCanceled:
                raise DeadlineExceeded from None
            except psycopg.OperationalError as exc:
                if fired:
                    raise BackendUnavailableError(
                        f"PostgreSQL at {self.location} did not answer within "
                        f"{deadline.seconds + margin:.1f} s") from None
                if not started and attempt == 1:
                    self._pool.discard_idle()  # the others are likely dead too
                    continue
                raise BackendUnavailableError(f"PostgreSQL at {self.location} failed: "
                                              f"{self._reason(exc)}") from None
            except psycopg.Error as exc:
                raise BackendUnavailableError(f"PostgreSQL at {self.location} failed: "
                                              f"{self._reason(exc)}") from None

    @contextlib.contextmanager
    def _bounded(self, seconds: float, what: str) -> Iterator[psycopg.Connection[Any]]:
        """``_transaction`` for one whole operation: running out of time is an error."""
        try:
            with self._transaction(Deadline(seconds)) as conn:
                yield conn
        except DeadlineExceeded:
            raise BackendUnavailableError(
                f"PostgreSQL at {self.location} did not {what} within {seconds:.0f} s") \
                from None

    def probe_shards(self) -> str | None:
        """None when every shard answers a trivial query (an index lookup on each foreign
        partition, all at once) within PROBE_SECONDS; else what went wrong."""
        try:
            with self._transaction(Deadline(PROBE_SECONDS), lock=False,
                                   margin=PROBE_MARGIN) as conn:
                foreign = [r[0] for r in conn.execute(
                    "SELECT c.oid::regclass::text FROM pg_inherits i "
                    "JOIN pg_class c ON c.oid = i.inhrelid "
                    "WHERE i.inhparent = to_regclass('fil_passages') AND c.relkind = 'f'")]
                if foreign:
                    conn.execute(" UNION ALL ".join(
                        f"SELECT 1 FROM {name} WHERE ord = -1" for name in foreign)).fetchall()
        except IndexMissingError:
            return None  # swapped out meanwhile: nothing to say about the shards
        except DeadlineExceeded:
            return f"PostgreSQL at {self.location} did not answer within {PROBE_SECONDS} s"
        except BackendUnavailableError as exc:
            return str(exc)
        return None

    # -- index lifecycle -------------------------------------------------------------
    def rebuild(self, threads: Iterable[Thread],
                progress: Callable[[int], None] | None = None) -> BuildReport:
        """Load the threads into fresh tables and swap them in (see :mod:`.build`)."""
        try:
            where = self.location + (f" (+{len(self.shards)} shards)" if self.shards else "")
            return Builder(self._connect, where, self.shards).run(threads, progress)
        except psycopg.Error as exc:
            raise IndexerError(f"rebuild in {self.location} failed: {self._reason(exc)}") \
                from None

    def _updater(self) -> Updater:
        return Updater(self._connect, self.location, self.rebuild_command(), self.shards,
                       self.lock_wait)

    def update(self, threads: Iterable[Thread],
               progress: Callable[[int], None] | None = None) -> UpdateReport:
        """Add new threads and replace changed ones, by id, in one transaction (see
        :mod:`.update`); searches see all of it once committed. Without an index yet,
        builds one from these threads."""
        try:
            return self._updater().update(threads, progress, self.rebuild)
        except psycopg.Error as exc:
            raise IndexerError(f"update of {self.location} failed: {self._reason(exc)}") \
                from None

    def delete(self, thread_ids: Iterable[str]) -> UpdateReport:
        """Remove threads by id, in one transaction (ids not found: ``missing``)."""
        try:
            return self._updater().delete(
                thread_ids, lambda: NoIndexError(self.location, self.rebuild_command()))
        except psycopg.Error as exc:
            raise IndexerError(f"delete in {self.location} failed: {self._reason(exc)}") \
                from None

    def optimize(self) -> UpdateReport:
        """Drop the passages updates replaced long enough ago, VACUUM (ANALYZE) the tables."""
        try:
            return self._updater().optimize(
                lambda: NoIndexError(self.location, self.rebuild_command()))
        except psycopg.Error as exc:
            raise IndexerError(f"optimize of {self.location} failed: {self._reason(exc)}") \
                from None

    def stats(self) -> IndexStats:
        """Counts and size of the current index (shards' partitions included when known)."""
        with self._bounded(STATS_TIME_LIMIT, "answer") as conn:
            row = conn.execute("SELECT threads, passages, terms, built_at, generation, shards, "
                               "to_jsonb(m) ->> 'updated_at' FROM fil_meta m").fetchone()
            if row is None:
                raise NoIndexError(self.location, self.rebuild_command())
            threads, passages, terms, built_at, gen, nshards, updated_at = row
            size = scalar(conn.execute(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind = 'r' AND n.nspname = current_schema() "
                "AND (c.relname = ANY(%s) OR c.relname LIKE %s)",
                (["fil_meta", "fil_threads", "fil_passages", "fil_terms", "fil_authors",
                  "fil_versions", "fil_postings", "fil_thread_postings", "fil_columns"],
                 f"fil\\_passages\\_{gen}\\_p%")))
        location = self.location + (f" (+{nshards} shards)" if nshards else "")
        st = IndexStats(location, threads, passages, terms, int(size), built_at,
                        updated_at=updated_at or built_at)
        for i, url in enumerate(self.shards, start=1):
            st.size_bytes += self._shard_size(url, f"fil_passages_{gen}_p{i}")
        return st

    def _shard_size(self, url: str, table: str) -> int:
        """Size of one shard's partition, 0 when the shard does not answer in time."""
        deadline = Deadline(THREAD_TIME_LIMIT)
        try:
            conn = connect_within(with_defaults(url, SEARCH_OPTIONS), deadline.remaining(),
                                  autocommit=True)
        except (ConnectTimeout, psycopg.Error):
            return 0
        with contextlib.closing(conn), \
                self._watchdog.watching(conn, deadline.remaining() + WATCHDOG_MARGIN), \
                contextlib.suppress(psycopg.Error):
            conn.execute(f"SET statement_timeout = {_ms(deadline.remaining())}")
            row = conn.execute("SELECT pg_total_relation_size(to_regclass(%s))",
                               (table,)).fetchone()
            return int(row[0] or 0) if row else 0
        return 0

    def close(self) -> None:
        """Close the pooled connections (the store reconnects if used again)."""
        self._pool.discard_idle()

    # -- what the pipeline asks ------------------------------------------------------
    @contextlib.contextmanager
    def snapshot(self, deadline: Deadline) -> Iterator[PostgresSnapshot]:
        """One read-only transaction, every statement bounded by what is left of the deadline.

        Raises NoIndexError (an IndexMissingError) when the database holds no index,
        BackendUnavailableError when the server, or a shard, cannot answer in time.
        """
        with self._transaction(deadline) as conn:
            yield PostgresSnapshot(conn, deadline, self.probe_shards, self.rebuild_command(),
                                   self._columns)

    def thread(self, thread_id: str) -> Thread | None:
        """The whole thread with this id, or None."""
        if not isinstance(thread_id, str) or not thread_id or len(thread_id) > 500 \
                or "\x00" in thread_id:
            return None
        with self._bounded(THREAD_TIME_LIMIT, "return a thread") as conn:
            row = conn.execute("SELECT data FROM fil_threads WHERE id = %s",
                               (thread_id,)).fetchone()
        return thread_from_record(row[0]) if row is not None else None


@dataclass(slots=True)
class _Found:
    """Every live passage a plan matches, from the posting lists: ords ascending, their
    scores and thread codes; ``exact`` False when a phrase was checked on its best
    candidates only."""

    ids: np.ndarray
    scores: np.ndarray
    codes: np.ndarray
    exact: bool
    timed_out: bool


class PostgresSnapshot:
    """One transaction's answers to the pipeline (see :class:`indexer.search.store.Snapshot`).

    A key is ``(ord, thread_id)``: the thread id lets a partitioned index read only the
    partition that holds the passage.
    """

    def __init__(self, conn: psycopg.Connection[Any], deadline: Deadline,
                 probe: Callable[[], str | None] | None = None,
                 rebuild_command: str = "python -m indexer rebuild --backend postgres",
                 columns: ColumnCache | None = None) -> None:
        self.conn = conn
        self.deadline = deadline
        self.probe = probe
        self.shards = 0
        #: when statement_timeout was last set to what was left (BEGIN set it just now)
        self._limit_set = time.perf_counter()
        row = self._execute("SELECT to_jsonb(m) FROM fil_meta m").fetchone()
        if row is None:
            raise IndexMissingError("the index's fil_meta table is empty: rebuild it")
        meta = row[0]
        if (meta.get("format") or 0) < FORMAT:
            raise IndexDamagedError(
                f"the index was built by an older version of Fil (format "
                f"{meta.get('format') or 1}, this version reads {FORMAT}): rebuild it with "
                f"`{rebuild_command}`")
        self.n_docs, self.avg_length = int(meta["passages"]), float(meta["avg_length"] or 1.0)
        self.shards = int(meta["shards"] or 0)
        #: The index version this snapshot's statistics describe. Passages are filtered to
        #: it: on a partitioned index a shard's snapshot is taken after the coordinator's
        #: and may hold a newer update's rows.
        self.version: int = int(meta["version"])
        self.n_threads = int(meta["threads"] or 0)
        self.avg_thread = (int(meta["total_length"]) / self.n_threads if self.n_threads
                           else 1.0)  # as the embedded store: live length / live threads
        self.n_codes = int(meta["max_code"]) + 1
        self.max_ord = int(meta["max_ord"])
        self.dead = unpack(meta_bytes(meta.get("dead")))
        self._df: dict[str, int] = {}
        self._tdf: dict[str, int] = {}
        self._lists: dict[str, TermPostings] = {}
        self._thread_lists: dict[str, ThreadPostings] = {}
        self._found: dict[tuple[object, ...], _Found] = {}
        self._codes: dict[str, int] = {}  # thread id <-> code, as met
        self._ids: dict[int, str] = {}
        self._titles: dict[str, str] = {}  # thread id -> its title's terms, joined
        self.generation = str(meta["generation"])
        self._column_cache = columns if columns is not None else ColumnCache()
        self._cols: Columns | None = None

    def _execute(self, query: str, params: Sequence[object] | None = None,
                 binary: bool = False) -> Any:
        """Run one statement within what is left of the search's time.

        When it times out on a partitioned index, the shards are probed: a shard that
        cannot answer makes the search fail (BackendUnavailableError) rather than come
        back with what the other partitions found; otherwise the search is just long
        (DeadlineExceeded: the pipeline returns what it has).
        """
        left = self.deadline.remaining()
        if left <= 0:
            raise DeadlineExceeded
        try:
            now = time.perf_counter()
            if now - self._limit_set > TIMEOUT_SLACK:  # else the limit set last is close
                self.conn.execute(f"SET LOCAL statement_timeout = {_ms(left)}")
                self._limit_set = now
            return self.conn.execute(query, params, binary=binary)
        except psycopg.errors.QueryCanceled:
            problem = self.probe() if self.shards and self.probe is not None else None
            if problem is not None:
                raise BackendUnavailableError(
                    f"a search timed out and a shard did not answer in time ({problem})") \
                    from None
            raise DeadlineExceeded from None

    # -- statistics and terms ------------------------------------------------------------
    def doc_count(self) -> int:
        return self.n_docs

    def doc_freqs(self, terms: Sequence[str]) -> dict[str, int]:
        self._term_stats(terms)
        return {t: self._df[t] for t in terms}

    def _term_stats(self, terms: Sequence[str]) -> None:
        """Passages and threads holding each term, read once per snapshot (together: the
        pipeline asks for both)."""
        missing = [t for t in dict.fromkeys(terms) if t not in self._df or t not in self._tdf]
        if missing:
            found = {t: (df, tdf) for t, df, tdf in self._execute(
                "SELECT term, df, tdf FROM fil_terms WHERE term = ANY(%s)",
                ([t for t in missing if lexeme_ok(t)],)).fetchall()}
            for t in missing:
                df, tdf = found.get(t, (0, 0))
                self._df[t], self._tdf[t] = int(df), int(tdf)

    def expand_prefix(self, prefix: str, limit: int) -> list[tuple[str, int]]:
        rows = self._execute(
            "SELECT term, df, tdf FROM fil_terms WHERE term >= %s AND term < %s "
            "ORDER BY df DESC, term LIMIT %s", (prefix, _next_prefix(prefix), limit)).fetchall()
        for t, df, tdf in rows:
            self._df[t], self._tdf[t] = int(df), int(tdf)
        return [(t, int(df)) for t, df, _ in rows]

    def near_terms(self, term: str, prefix: int, max_dist: int) -> list[tuple[str, int, int]]:
        head, rest = term[:prefix], term[prefix:]
        rows = self._execute(
            "SELECT term, df FROM fil_terms WHERE term >= %s AND term < %s "
            "AND length(term) BETWEEN %s AND %s ORDER BY term",
            (head, _next_prefix(head), len(term) - max_dist, len(term) + max_dist)).fetchall()
        out = []
        for cand, df in rows:
            d = levenshtein(cand[prefix:], rest, max_dist)
            if d <= max_dist:
                out.append((cand, int(df), d))
        return out

    # -- matching ------------------------------------------------------------------------
    def _visible(self, where: list[str], params: list[object]) -> None:
        """The condition that keeps the passages of this snapshot's version (see .update)."""
        where.append("p.born <= %s AND (p.died IS NULL OR p.died > %s)")
        params += [self.version, self.version]

    def match(self, plan: Plan | None, exclude: Plan | None, filters: Filters, k: int,
              deadline: Deadline, newest: bool = False) -> Matches:
        found = self._evaluate(plan, exclude, filters)
        ids, ws, codes = found.ids, found.scores, found.codes
        out = Matches(total=int(len(ids)), exact=found.exact and not found.timed_out,
                      timed_out=found.timed_out, total_threads=count_distinct(codes))
        if not len(ids):
            return out
        if plan is None or newest:  # newest first, undated last, then index order
            stamps = self.columns().stamps[ids]
            best = np.lexsort((ids, -stamps))[:k]
        else:
            best = best_positions(ids, ws, k)
        names = self._thread_ids(codes[best].tolist())
        for i in best.tolist():
            tid = names[int(codes[i])]
            out.keys.append((int(ids[i]), tid))
            out.scores.append(float(ws[i]))
            out.threads.append(tid)
        return out

    # -- matching over the posting lists ---------------------------------------------
    def _postings(self, terms: Sequence[str]) -> dict[str, TermPostings]:
        """The live postings of some terms (read once per snapshot)."""
        missing = [t for t in dict.fromkeys(terms) if t not in self._lists]
        if missing:
            known = self.doc_freqs(missing)
            wanted = [t for t in missing if known.get(t) and lexeme_ok(t)]
            self._lists.update(read_postings(self._fetch, wanted, self.avg_length,
                                             self.dead))
            for t in missing:
                self._lists.setdefault(t, NO_POSTINGS)
        return {t: self._lists[t] for t in terms}

    def _fetch(self, query: str, params: Sequence[object]) -> list[tuple[object, ...]]:
        """Rows of a query, ``bytea`` as bytes (binary results)."""
        return self._execute(query, params, binary=True).fetchall()

    def _phrase_check(self, terms: Sequence[str], ids: np.ndarray) -> np.ndarray:
        """Which of the passages ``ids`` (ords, ascending) hold ``terms`` consecutively:
        PostgreSQL reads their positions (``tsv @@ 'a' <-> 'b'``)."""
        tsq = "(" + " <-> ".join(quote_lexeme(t) for t in terms) + ")"
        if len(ids) <= PHRASE_BY_ORD:
            rows = self._execute("SELECT p.ord FROM fil_passages p WHERE p.ord = ANY(%s) "
                                 "AND p.tsv @@ %s::tsquery", (ids.tolist(), tsq)).fetchall()
        else:  # many candidates: through the GIN index, then kept if a candidate
            where: list[str] = ["p.tsv @@ %s::tsquery"]
            params: list[object] = [tsq]
            self._visible(where, params)
            rows = self._execute(f"SELECT p.ord FROM fil_passages p WHERE {' AND '.join(where)}",
                                 params).fetchall()
        found = np.array(sorted(r[0] for r in rows), dtype=np.int64)
        return np.isin(ids, found, assume_unique=True)

    def _evaluate(self, plan: Plan | None, exclude: Plan | None, filters: Filters) -> _Found:
        """Every live passage matching (a plan over the posting lists, or with no plan
        every passage of the columns), minus the exclusions, within the filters;
        remembered for the same search's other questions (thread counts, best passages
        of threads, facets)."""
        key = (plan, exclude, filters)
        found = self._found.get(key)
        if found is not None:
            return found
        lists = self._postings(plan_terms(plan) + plan_terms(exclude))
        ev = list_evaluator(lists, self.n_docs, self.max_ord + 1, self._phrase_check,
                           self.deadline)
        if plan is None:
            codes = self.columns().codes
            live = codes >= 0
            if len(self.dead):
                live &= ~np.isin(codes, self.dead)
            ids = np.flatnonzero(live).astype(np.int32)
            ws = np.zeros(len(ids), dtype=np.float32)
        else:
            ids, ws = ev.eval(plan)
        if exclude is not None:
            ids, ws = exclude_ids((ids, ws), ev.eval(exclude)[0])
        codes = self.columns().codes[ids] if plan is None \
            else codes_of(lists, ids, self.max_ord + 1)
        if filters:
            keep = self._allowed(ids, codes, filters)
            ids, ws, codes = ids[keep], ws[keep], codes[keep]
        found = self._found[key] = _Found(ids, ws, codes, ev.exact, ev.timed_out)
        return found

    def columns(self) -> Columns:
        """Every passage's kind, date, author and thread (a process keeps the parts it
        read)."""
        if self._cols is None:
            self._cols = self._column_cache.columns(self._fetch, self.generation)
        return self._cols

    def _allowed(self, ids: np.ndarray, codes: np.ndarray, f: Filters) -> np.ndarray:
        """Which of the passages ``ids`` (their threads ``codes``) pass the filters: the
        embedded store's rules over the same columns."""
        keep = np.ones(len(ids), dtype=bool)
        if f.kind or f.after is not None or f.before is not None or f.author is not None \
                or f.not_authors:
            cols = self.columns()
            if f.kind:
                keep &= cols.kinds[ids] == (1 if f.kind == "comment" else 0)
            low, high = day_bounds(f.after, f.before)
            if low is not None:
                keep &= cols.stamps[ids] >= low
            if high is not None:
                stamps = cols.stamps[ids]
                keep &= (stamps <= high) & (stamps > 0)
            if f.author is not None or f.not_authors:
                known = self._author_codes([*([f.author] if f.author is not None else []),
                                            *f.not_authors])
                authors = cols.authors[ids]
                if f.author is not None:
                    keep &= authors == known.get(f.author, -2)
                for key in f.not_authors:
                    if key in known:
                        keep &= authors != known[key]
        if f.thread is not None:
            code = self._thread_codes([f.thread]).get(f.thread)
            keep &= codes == (code if code is not None else -1)
        if f.not_threads:
            gone = list(self._thread_codes(f.not_threads).values())
            if gone:
                keep &= ~np.isin(codes, np.array(gone, dtype=np.int32))
        return keep

    def _author_codes(self, keys: Sequence[str]) -> dict[str, int]:
        """Codes of some folded author keys (unknown ones left out)."""
        rows = self._execute("SELECT key, code FROM fil_authors WHERE key = ANY(%s)",
                             ([k for k in keys if "\x00" not in k],)).fetchall()
        return {k: int(c) for k, c in rows}

    def _thread_ids(self, codes: Sequence[int]) -> dict[int, str]:
        """Thread ids of some codes (looked up once per snapshot)."""
        missing = [c for c in dict.fromkeys(codes) if c not in self._ids]
        if missing:
            for code, tid, title in self._execute(
                    "SELECT code, id, title_terms FROM fil_threads "
                    "WHERE code = ANY(%s::integer[])",
                    (missing,)).fetchall():
                self._ids[code] = tid
                self._codes[tid] = code
                self._titles[tid] = title
        return {c: self._ids[c] for c in codes if c in self._ids}

    def _thread_codes(self, ids: Sequence[str]) -> dict[str, int]:
        """Codes of some live thread ids (unknown ids left out)."""
        missing = [t for t in dict.fromkeys(ids) if t not in self._codes
                   and isinstance(t, str) and "\x00" not in t]
        if missing:
            for tid, code, title in self._execute(
                    "SELECT id, code, title_terms FROM fil_threads WHERE id = ANY(%s)",
                    (missing,)).fetchall():
                self._ids[code] = tid
                self._codes[tid] = code
                self._titles[tid] = title
        return {t: self._codes[t] for t in ids if t in self._codes}

    # -- threads ---------------------------------------------------------------------
    def best_in_threads(self, plan: Plan, exclude: Plan | None, filters: Filters,
                        threads: Sequence[str], per_thread: int,
                        deadline: Deadline) -> Matches:
        out = Matches()
        wanted = self._thread_codes(threads)
        if not wanted:
            return out
        found = self._evaluate(plan, exclude, filters)
        ids, ws, codes = found.ids, found.scores, found.codes
        inside = np.flatnonzero(np.isin(codes, np.array(list(wanted.values()),
                                                        dtype=np.int32)))
        order = inside[np.lexsort((ids[inside], -ws[inside], codes[inside]))]
        count: dict[int, int] = {}
        for i in order.tolist():  # by thread (index order), then as match orders them
            code = int(codes[i])
            if count.get(code, 0) >= per_thread:
                continue
            count[code] = count.get(code, 0) + 1
            tid = self._ids[code]
            out.keys.append((int(ids[i]), tid))
            out.scores.append(float(ws[i]))
            out.threads.append(tid)
        out.total = len(out.keys)
        return out

    def thread_match_counts(self, plan: Plan | None, exclude: Plan | None, filters: Filters,
                            threads: Sequence[str]) -> dict[str, int]:
        out = {t: 0 for t in threads}
        wanted = self._thread_codes(threads)
        codes = self._evaluate(plan, exclude, filters).codes
        if wanted and len(codes):
            counts = np.bincount(codes[codes >= 0], minlength=max(wanted.values()) + 1)
            for tid, code in wanted.items():
                out[tid] = int(counts[code]) if code < len(counts) else 0
        return out

    def thread_stats(self, terms: Sequence[str]) -> tuple[int, dict[str, int]]:
        self._term_stats(terms)
        return self.n_threads, {t: self._tdf[t] for t in terms}

    def thread_scores(self, weights: Mapping[str, float], k1: float, b: float,
                      coord_power: float, top: int, include: Sequence[str]) -> ThreadScores:
        out = ThreadScores()
        missing = [t for t in weights if t not in self._thread_lists]
        if missing:
            self._thread_lists.update(read_thread_postings(
                self._fetch, [t for t in missing if lexeme_ok(t)], self.dead))
        score = thread_scores(self._thread_lists, weights, k1, b, coord_power,
                              self.avg_thread, self.n_codes)
        if score is None:
            return out
        out.max = float(score.max())
        n = len(score)
        k = min(top, n)
        best: list[int] = []
        if k > 0:
            part = np.argpartition(-score, k - 1)[:k]
            part = part[np.lexsort((part, -score[part]))]
            best = [c for c in part.tolist() if score[c] > 0]
        codes = self._thread_codes(list(include))
        names = self._thread_ids(best)
        for c in best:
            tid = names[c]
            out.best.append((tid, float(score[c])))
            out.scores[tid] = float(score[c])
        for tid in include:
            if tid not in out.scores:
                code = codes.get(tid)
                out.scores[tid] = float(score[code]) if code is not None and code < n else 0.0
        return out

    # -- what results show ---------------------------------------------------------------
    def positions(self, keys: Sequence[Key],
                  terms: Sequence[str]) -> dict[Key, dict[str, list[int]]]:
        out: dict[Key, dict[str, list[int]]] = {k: {} for k in keys}
        wanted = [t for t in dict.fromkeys(terms) if lexeme_ok(t)]
        if not keys or not wanted:
            return out
        ords = [k[0] for k in keys]  # type: ignore[index]
        rows = self._execute(
            "SELECT p.ord, p.thread_id, (SELECT json_object_agg(u.lexeme, u.positions) "
            "FROM unnest(p.tsv) u WHERE u.lexeme = ANY(%s)) "
            "FROM fil_passages p WHERE p.ord = ANY(%s) AND p.thread_id = ANY(%s)",
            (wanted, ords, list({k[1] for k in keys}))).fetchall()  # type: ignore[index]
        cut = []
        for o, tid, found in rows:
            found = found or {}
            if any(len(v) >= MAX_POSITIONS or v[-1] >= MAX_POSITION for v in found.values()):
                cut.append(o)  # PostgreSQL's limits may have cut them: analysed again below
            else:
                out[(o, tid)] = {t: [p - 1 for p in found[t]] for t in wanted if t in found}
        if cut:
            for o, tid, content in self._execute(
                    "SELECT p.ord, p.thread_id, p.content FROM fil_passages p "
                    "WHERE p.ord = ANY(%s)", (cut,)).fetchall():
                pos = analyzer().positions(content)
                out[(o, tid)] = {t: pos[t] for t in wanted if t in pos}
        return out

    def title_terms(self, thread_ids: Sequence[str]) -> dict[str, frozenset[str]]:
        self._thread_codes(thread_ids)  # titles come with the codes (most already read)
        return {tid: _title_terms(self._titles[tid]) for tid in thread_ids
                if tid in self._titles}

    def passages(self, keys: Sequence[Key]) -> dict[Key, PassageRecord]:
        if not keys:
            return {}
        rows = self._execute(
            "SELECT p.ord, p.thread_id, p.title, p.kind, p.position, p.author, p.date, "
            "p.content FROM fil_passages p WHERE p.ord = ANY(%s) AND p.thread_id = ANY(%s)",
            ([k[0] for k in keys], list({k[1] for k in keys}))).fetchall()  # type: ignore[index]
        return {(r[0], r[1]): PassageRecord(*r[1:]) for r in rows}

    def facets(self, plan: Plan | None, exclude: Plan | None, filters: Filters,
               limit: int) -> Facets:
        out = Facets()
        ids = self._evaluate(plan, exclude, filters).ids
        if not len(ids):
            return out
        cols = self.columns()
        return facet_counts(cols.kinds[ids], cols.authors[ids], cols.stamps[ids], limit,
                            self._author_names)

    def _author_names(self, codes: list[int]) -> dict[int, str]:
        """Names of some author codes."""
        return dict(self._execute("SELECT code, name FROM fil_authors "
                                  "WHERE code = ANY(%s::integer[])", (codes,)).fetchall())

    def sample_texts(self, term: str, n: int) -> list[str]:
        if not lexeme_ok(term):
            return []
        ords = self._postings([term])[term].ords[:n].tolist()  # the first n, index order
        if not ords:
            return []
        rows = self._execute("SELECT p.content FROM fil_passages p WHERE p.ord = ANY(%s) "
                             "ORDER BY p.ord", (ords,)).fetchall()
        return [text for (text,) in rows]


def _next_prefix(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


__all__ = ["PostgresStore", "PostgresSnapshot"]
