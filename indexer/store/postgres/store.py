"""The PostgreSQL backend: the same search as :mod:`indexer.engine`, on PostgreSQL full-text search.

Chosen with ``SEARCH_BACKEND=postgres`` and ``DATABASE_URL=postgresql://user@host:port/db``
(CLI: ``python -m indexer rebuild --backend postgres``; web app: config keys
``SEARCH_BACKEND`` / ``DATABASE_URL``). The web app and the JSON API don't change.

Same analysis
-------------
PostgreSQL's own parsers and dictionaries are never used. Passages are analysed in
Python by the project's French chain (:func:`indexer.analysis.analyzer`) and stored as
``tsvector`` literals with positions (``'deb':3,8 'tres':1``, cast with ``::tsvector``);
queries are parsed by :mod:`indexer.query` and written as ``tsquery`` text over the
same terms (``&``, ``|``, ``!``, ``<->`` for phrases, compounds as their parts in a
phrase OR the joined form, bounded prefixes as an OR of the index's terms), bound as a
parameter and cast with ``::tsquery`` (see :mod:`indexer.pg_query`).

Same ranking
------------
Matching passages are scored in SQL with the embedded backend's BM25 (``K1``/``B`` and
idf of :mod:`indexer.impact`, over per-passage term frequencies ``tf`` and lengths
``dl``; document frequencies and the average length from ``fil_terms``/``fil_meta``),
OR and AND summing the scores of the clauses that match, as it does. The best
RERANK_DEPTH (or page x per_page) come ordered by score then ``ord`` (the order
passages were indexed in: its tie-break on document numbers), then go through the same
:func:`indexer.ranking.rerank`, with word positions for the first PROXIMITY_DEPTH read
back from the tsvectors. Filters alone rank newest first, as there. Snippets come from
:func:`indexer.snippets.snippet` on the stored text; suggestions, facets (authors by
count, then order of first appearance: ``fil_authors``), notices and the any-word
fallback follow the embedded backend's rules. tests/test_postgres.py checks that both
backends return the same hits, in the same order, on the seed and PIAF threads. (It
scores in float8 where the embedded backend uses float32; and its phrases are always
checked exactly, where the embedded backend checks the best PHRASE_CHECK_LIMIT.)

Schema (one database; built by :mod:`indexer.pg_build`, swapped in atomically)::

    fil_meta     (generation, threads, passages, total_length, avg_length, terms,
                  built_at, seconds, shards)
    fil_threads  (id text PRIMARY KEY, title, url, author, date, data text)  -- thread JSON
    fil_terms    (term text COLLATE "C" PRIMARY KEY, df integer)             -- the lexicon
    fil_authors  (key text PRIMARY KEY, code integer, name text)   -- author facet order
    fil_passages (ord bigint, thread_id, kind, position, author, author_key, date,
                  day integer, title, content text, dl integer, tf jsonb, tsv tsvector)
      GIN (tsv); btree (author_key), (thread_id, kind, position), (day), (ord)

Filters are SQL conditions: ``author:`` -> ``author_key = $1``, ``kind:`` -> ``kind``,
``thread:`` -> ``thread_id``, ``after:``/``before:`` -> ``day >= $1`` / ``day <= $2``.

Scale-out: passages partitioned by thread over several servers
----------------------------------------------------------------
``PostgresBackend(url, shards=["postgresql://...", ...])`` (or ``FIL_PG_SHARDS``, URLs
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
        OPTIONS (host '10.0.0.2', port '5432', dbname 'fil',
                 async_capable 'true', fetch_size '1000');
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

Queries run unchanged on the coordinator. The match (``tsv @@ $1::tsquery``) and the
filters are built-in operators that ``postgres_fdw`` ships to the shard, which uses its
own GIN index and returns only the narrow columns the score needs; the partitions are
scanned concurrently (``async_capable``); ``thread:`` prunes to one partition. Shard URLs must be
reachable from the coordinator server as written; as a non-superuser, the shard URL
needs a password (``postgres_fdw`` rule) and ``postgres_fdw`` must already be installed.

Connections: a small pool (reconnects when a connection breaks; one retry per call);
each search is one read-only REPEATABLE READ transaction, every statement bounded by
``statement_timeout`` = :data:`indexer.engine.SEARCH_TIME_LIMIT`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any, TypeVar

import psycopg
from psycopg.pq import TransactionStatus

from ..whoosh import store as _engine
from ...analysis import analyzer
from ...service import check_paging
from ..whoosh.store import FACET_LIMIT, SEARCH_TIME_LIMIT
from ...errors import IndexerError, IndexMissingError
from ..whoosh.generations import thread_from_json as thread_from_store
from ...ingest.model import Thread
from ...search.results import Hit, SearchResults
from ..base import BuildReport, IndexStats
from .build import Builder, redact
from .sql import (
    MAX_POSITION,
    MAX_POSITIONS,
    And,
    AndNot,
    Emitter,
    Null,
    Or,
    Phrase,
    Q,
    Term,
    combine,
    exclusion,
    lexeme_ok,
    quote_lexeme,
)
from ...search.query import (
    PREFIX_SCAN_LIMIT,
    Node,
    OrNode,
    ParsedQuery,
    PhraseNode,
    TermNode,
    choose_expansions,
    parse_query,
)
from ...search.ranking import RERANK_DEPTH, Candidate, rerank
from ...search.snippets import snippet, surface_form

#: Candidates whose word positions feed the proximity feature (as in the embedded backend).
PROXIMITY_DEPTH: int = getattr(_engine, "PROXIMITY_DEPTH", RERANK_DEPTH)
#: Thread evidence from every matching passage of a thread (not only the candidates').
USE_THREAD_MASS: bool = getattr(_engine, "USE_THREAD_MASS", False)
KINDS = ("post", "comment")  # facet order
POOL_SIZE = 8  # idle connections kept (more are opened under load, closed when returned)
CONNECT_TIMEOUT = 10  # seconds
TIMEOUT_NOTICE = "La recherche a été interrompue (trop longue) : résultats partiels."
SHARDS_ENV = "FIL_PG_SHARDS"

T = TypeVar("T")


@lru_cache(maxsize=50_000)
def title_terms(title: str) -> frozenset[str]:
    """Analysed terms of a thread title (cached: titles repeat across passages)."""
    return frozenset(analyzer().terms(title))


class _Partial(Exception):
    """A statement hit the time limit: return the results gathered so far."""

    def __init__(self, res: SearchResults) -> None:
        self.res = res


class _Pool:
    """A few open connections shared by the threads of one process."""

    def __init__(self, factory: Callable[[], psycopg.Connection[Any]], size: int) -> None:
        self.factory = factory
        self.size = size
        self._idle: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self.factory()
        try:
            yield conn
        finally:
            reusable = (not conn.closed and not conn.broken
                        and conn.info.transaction_status == TransactionStatus.IDLE)
            with self._lock:
                if reusable and len(self._idle) < self.size:
                    self._idle.append(conn)
                    conn = None
            if conn is not None:
                conn.close()

    def discard_idle(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def shards_from_env() -> list[str]:
    """Shard URLs from ``FIL_PG_SHARDS`` (separated by spaces or commas)."""
    return [u for u in re.split(r"[\s,]+", os.environ.get(SHARDS_ENV, "")) if u]


class PostgresBackend:
    """Search core over PostgreSQL full-text search (thread-safe; see the module docstring)."""

    name = "postgres"

    def __init__(self, url: str, shards: Sequence[str] | None = None,
                 pool_size: int = POOL_SIZE) -> None:
        if not isinstance(url, str) or not url.strip():
            raise IndexerError("the postgres backend needs a DATABASE_URL")
        self.url = url
        self.shards = list(shards) if shards is not None else shards_from_env()
        self.location = redact(url)
        self._pool = _Pool(lambda: self._connect(autocommit=True, search=True), pool_size)

    # -- connections -----------------------------------------------------------------
    def _connect(self, autocommit: bool, search: bool) -> psycopg.Connection[Any]:
        try:
            conn: psycopg.Connection[Any] = psycopg.connect(
                self.url, autocommit=autocommit, connect_timeout=CONNECT_TIMEOUT,
                prepare_threshold=None, application_name="fil")
        except psycopg.Error as exc:
            raise IndexerError(f"PostgreSQL at {self.location} is unreachable: "
                               f"{_first_line(exc)}") from None
        if search:
            conn.execute(f"SET statement_timeout = {int(SEARCH_TIME_LIMIT * 1000)}")
            conn.execute("SET enable_partitionwise_aggregate = on")
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
        return conn

    def _call(self, fn: Callable[[psycopg.Connection[Any]], T]) -> T:
        """Run ``fn`` in one read-only transaction; retry once on a broken connection."""
        for attempt in (1, 2):
            conn_broken = False
            try:
                with self._pool.connection() as conn:
                    try:
                        with conn.transaction():
                            return fn(conn)
                    finally:
                        conn_broken = conn.broken or conn.closed
            except psycopg.errors.UndefinedTable:
                raise IndexMissingError(
                    f"no index in the database {self.location}: build it with "
                    "`python -m indexer rebuild --backend postgres`") from None
            except psycopg.OperationalError as exc:
                if conn_broken and attempt == 1:
                    self._pool.discard_idle()  # the others are likely dead too
                    continue
                raise IndexerError(f"PostgreSQL at {self.location} failed: "
                                   f"{_first_line(exc)}") from None
            except psycopg.Error as exc:
                raise IndexerError(f"PostgreSQL at {self.location} failed: "
                                   f"{_first_line(exc)}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    # -- index lifecycle -------------------------------------------------------------
    def rebuild(self, threads: Iterable[Thread],
                progress: Callable[[int], None] | None = None) -> BuildReport:
        """Load the threads into fresh tables and swap them in (see :mod:`indexer.pg_build`)."""
        try:
            where = self.location + (f" (+{len(self.shards)} shards)" if self.shards else "")
            return Builder(self._connect, where, self.shards).run(threads, progress)
        except psycopg.Error as exc:
            raise IndexerError(f"rebuild in {self.location} failed: {_first_line(exc)}") \
                from None

    def stats(self) -> IndexStats:
        """Counts and size of the current index (shards' partitions included when known)."""

        gens: list[str] = []

        def run(conn: psycopg.Connection[Any]) -> IndexStats:
            row = conn.execute("SELECT threads, passages, terms, built_at, generation, shards "
                               "FROM fil_meta").fetchone()
            if row is None:
                raise psycopg.errors.UndefinedTable("empty fil_meta")
            threads, passages, terms, built_at, gen, nshards = row
            gens.append(gen)
            size = conn.execute(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind = 'r' AND n.nspname = current_schema() "
                "AND (c.relname = ANY(%s) OR c.relname LIKE %s)",
                (["fil_meta", "fil_threads", "fil_passages", "fil_terms"],
                 f"fil\\_passages\\_{gen}\\_p%")).fetchone()[0]
            location = self.location + (f" (+{nshards} shards)" if nshards else "")
            return IndexStats(location, threads, passages, terms, int(size), built_at)

        st = self._call(run)
        for i, url in enumerate(self.shards, start=1):
            with contextlib.suppress(psycopg.Error), \
                    psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT) as sc:
                size = sc.execute("SELECT pg_total_relation_size(to_regclass(%s))",
                                  (f"fil_passages_{gens[-1]}_p{i}",)).fetchone()[0]
                st.size_bytes += int(size or 0)
        return st

    def close(self) -> None:
        """Close the pooled connections (the backend reconnects if used again)."""
        self._pool.discard_idle()

    # -- threads ---------------------------------------------------------------------
    def get_thread(self, thread_id: str) -> Thread | None:
        """The whole thread with this id, or None."""
        if not isinstance(thread_id, str) or not thread_id or len(thread_id) > 500 \
                or "\x00" in thread_id:
            return None

        def run(conn: psycopg.Connection[Any]) -> str | None:
            conn.execute("SELECT 1 FROM fil_meta LIMIT 0")  # missing index -> 503, not 404
            row = conn.execute("SELECT data FROM fil_threads WHERE id = %s",
                               (thread_id,)).fetchone()
            return row[0] if row else None

        data = self._call(run)
        return thread_from_store(data) if data is not None else None

    # -- search ----------------------------------------------------------------------
    def search(self, query: str, page: int = 1, per_page: int = 10,
               facets: bool = False) -> SearchResults:
        """Run a query: AND of the words, else (nothing found) ranked any-word matching."""
        started = time.perf_counter()
        page, per_page = check_paging(page, per_page)
        parsed = parse_query(query)

        def run(conn: psycopg.Connection[Any]) -> SearchResults:
            res = SearchResults(query=parsed.text, total=0, page=page, per_page=per_page,
                                notices=list(parsed.notices), terms=parsed.positive_terms())
            try:
                _Search(conn, parsed, res).run(facets)
            except psycopg.errors.QueryCanceled:
                res.notices.append(TIMEOUT_NOTICE)
                raise _Partial(res) from None
            return res

        try:
            res = self._call(run)
        except _Partial as partial:
            res = partial.res
        res.elapsed_ms = (time.perf_counter() - started) * 1000
        return res


def _all_terms(nodes: Iterable[Node], out: list[str]) -> list[str]:
    """Every analysed term under the nodes (required and excluded)."""
    for node in nodes:
        if isinstance(node, TermNode | PhraseNode):
            out.extend(node.terms)
        elif isinstance(node, OrNode):
            _all_terms(node.children, out)
        else:
            _all_terms(node.children, out)
            _all_terms(node.negated, out)
    return out


def levenshtein(a: str, b: str, limit: int) -> int:
    """Edit distance between ``a`` and ``b`` (``limit + 1`` as soon as it exceeds ``limit``)."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        if min(cur) > limit:
            return limit + 1
        prev = cur
    return prev[-1]


def _next_prefix(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


class _Search:
    """One search, in one transaction: the embedded backend's steps, in SQL."""

    def __init__(self, conn: psycopg.Connection[Any], parsed: ParsedQuery,
                 res: SearchResults) -> None:
        self.conn = conn
        self.parsed = parsed
        self.res = res

    def run(self, facets: bool) -> None:
        parsed, res = self.parsed, self.res
        terms = list(dict.fromkeys(_all_terms(parsed.must, []) + _all_terms(parsed.must_not, [])))
        row = self.conn.execute(
            "SELECT m.passages, m.avg_length, (SELECT coalesce(json_object_agg(t.term, t.df), "
            "'{}') FROM fil_terms t WHERE t.term = ANY(%s)) FROM fil_meta m",
            ([t for t in terms if lexeme_ok(t)],)).fetchone()
        if row is None:
            raise psycopg.errors.UndefinedTable("empty fil_meta")
        doc_count, avg, df = row
        df = dict(json.loads(df) if isinstance(df, str) else df)
        if not parsed.must and not parsed.has_filters:
            res.matched = "none"
            return
        self.em = em = Emitter(df, doc_count, avg)
        self.expanded: list[str] = []  # terms prefixes expanded to (marked in snippets)
        self.expansions: dict[str, list[str]] = {}  # prefix -> its terms, once per query
        self.filters = self._filters()
        required = [self.node(n) for n in parsed.must]
        exclude = [self.node(n) for n in parsed.must_not]
        depth = max(RERANK_DEPTH, res.page * res.per_page)
        hits, res.total, mass = self._top(required, exclude, depth)
        if not hits and len(parsed.must) > 1:  # any-word fallback: the union of the clauses
            required = [Or(tuple(required))]
            hits, res.total, mass = self._top(required, exclude, depth)
            res.matched = "any" if hits else "none"
        elif not hits:
            res.matched = "none"
        terms = res.terms
        res.terms = list(dict.fromkeys(terms + self.expanded))
        self._hits(hits, terms, rerank_head=bool(parsed.must),
                   thread_mass=mass if USE_THREAD_MASS else None)
        if res.total < 3 or any(em.df.get(t, 0) == 0 for t in terms):
            res.suggestion = self._suggest()
        if facets and res.total:
            self._facets(required, exclude)

    # -- compiling -----------------------------------------------------------------------
    def node(self, node: Node) -> Q:
        """The compiled form of a parsed node (as indexer.engine evaluates it)."""
        if isinstance(node, TermNode):
            if node.prefix is not None:
                return self.prefix(node)
            if node.compound:
                parts, joined = node.terms[:-1], node.terms[-1]
                return Or((Phrase(tuple(parts)), Term(joined)))
            return Term(node.terms[0])
        if isinstance(node, PhraseNode):
            return Phrase(tuple(node.terms))
        if isinstance(node, OrNode):
            return Or(tuple(self.node(c) for c in node.children))
        q: Q = And(tuple(self.node(c) for c in node.children))
        if node.negated:
            q = AndNot(q, Or(tuple(self.node(c) for c in node.negated)))
        return q

    def prefix(self, node: TermNode) -> Q:
        """A bounded prefix: the MAX_PREFIX_EXPANSION most frequent index terms under it."""
        assert node.prefix is not None
        found = self.expansions.get(node.prefix)
        if found is None:
            scanned = self.conn.execute(
                "SELECT term, df FROM fil_terms WHERE term >= %s AND term < %s ORDER BY term "
                "LIMIT %s", (node.prefix, _next_prefix(node.prefix),
                             PREFIX_SCAN_LIMIT)).fetchall()
            self.em.df.update(scanned)
            found = choose_expansions(node, scanned, self.res.notices)
            self.expansions[node.prefix] = found
        terms = list(dict.fromkeys(found + node.terms))
        self.expanded.extend(terms)
        if not terms:
            return Null()
        return Or(tuple(Term(t) for t in terms))

    def _filters(self) -> tuple[list[str], list[object]]:
        """Field filters as SQL conditions (they narrow, they don't score)."""
        p = self.parsed
        where: list[str] = []
        params: list[object] = []
        if p.author:
            where.append("p.author_key = %s")
            params.append(p.author)
        if p.kind:
            where.append("p.kind = %s")
            params.append(p.kind)
        if p.thread:
            where.append("p.thread_id = %s")
            params.append(p.thread)
        if p.after is not None:
            where.append("p.day >= %s")
            params.append(p.after)
        if p.before is not None:
            where.append("p.day <= %s AND p.day > 0")
            params.append(p.before)
        return where, params

    def _where(self, required: list[Q], exclude: list[Q],
               with_score: bool) -> tuple[str, str, list[object], list[object]] | None:
        """(score SQL, WHERE SQL, score params, WHERE params); None when nothing can match."""
        em = self.em
        where, wparams = list(self.filters[0]), list(self.filters[1])
        sparams: list[object] = []
        q = combine(required, exclude)
        body = None
        if q is not None:
            tsq = em.tsquery(q)
            if tsq is None:
                return None
            where.insert(0, "p.tsv @@ %s::tsquery")
            wparams.insert(0, tsq)
            if with_score:
                body = em.score(q, sparams)
        else:
            ex = exclusion(exclude)
            tsq = em.tsquery(ex) if ex is not None else None
            if tsq is not None:
                where.append("NOT (p.tsv @@ %s::tsquery)")
                wparams.append(tsq)
        score = body or "(p.day::float4 / '1e8'::float4)"
        return score, " AND ".join(where) or "true", sparams, wparams

    # -- retrieval -----------------------------------------------------------------------
    def _top(self, required: list[Q], exclude: list[Q],
             depth: int) -> tuple[list[tuple[int, str, float]], int, dict[str, float]]:
        """Best ``depth`` (ord, thread id, score), by score then indexing order; the number
        of matches; the summed scores of all the matches of each thread among the best.

        Filters alone rank newest first: the embedded backend's ``day / 1e8`` in float32,
        whose ties (close days) fall back to indexing order.
        """
        built = self._where(required, exclude, with_score=True)
        if built is None:
            return [], 0, {}
        score, where, sparams, wparams = built
        rows = self.conn.execute(
            "SELECT m.ord, m.thread_id, m.score, count(*) OVER (), "
            "sum(m.score) OVER (PARTITION BY m.thread_id ORDER BY m.ord ROWS BETWEEN "
            "UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) "  # summed in index order
            f"FROM (SELECT p.ord, p.thread_id, {score} AS score FROM fil_passages p "
            f"WHERE {where}) m ORDER BY m.score DESC, m.ord LIMIT %s",
            [*sparams, *wparams, depth]).fetchall()
        hits = [(o, tid, sc) for o, tid, sc, _, _ in rows]
        mass = {tid: float(m) for _, tid, _, _, m in rows}
        return hits, (int(rows[0][3]) if rows else 0), mass

    def _hits(self, hits: list[tuple[int, str, float]], terms: list[str],
              rerank_head: bool, thread_mass: dict[str, float] | None) -> None:
        """Re-rank the head like the embedded backend, then build the page's hits.

        Word positions (for proximity) come from the stored tsvectors (1-based there);
        a passage where PostgreSQL's limits may have cut them (256 positions of a term,
        positions past 16383) is re-analysed instead, so that they are the analyzer's.
        """
        res = self.res
        page_range = range((res.page - 1) * res.per_page, res.page * res.per_page)
        wanted = [h for i, h in enumerate(hits) if i < RERANK_DEPTH or i in page_range]
        near = {h[0] for h in hits[:PROXIMITY_DEPTH]}
        unique = list(dict.fromkeys(terms)) if len(set(terms)) > 1 else []
        rows: dict[int, tuple[Any, ...]] = {}
        if wanted:
            for r in self.conn.execute(
                    "SELECT p.ord, p.title, p.kind, p.position, p.author, p.date, "
                    "CASE WHEN p.ord = ANY(%s) THEN (SELECT json_object_agg("
                    "u.lexeme, u.positions) FROM unnest(p.tsv) u WHERE u.lexeme = ANY(%s)) END "
                    "FROM fil_passages p WHERE p.ord = ANY(%s) AND p.thread_id = ANY(%s)",
                    (list(near) if unique else [], unique, [h[0] for h in wanted],
                     list({h[1] for h in wanted}))):
                rows[r[0]] = r
        cands = [Candidate(o, tid, title_terms(rows[o][1]) if o in rows else frozenset(),
                           score) for o, tid, score in hits]
        head, tail = cands[:RERANK_DEPTH], cands[RERANK_DEPTH:]
        if unique:
            for c in cands[:PROXIMITY_DEPTH]:
                found = rows[c.key][6] or {}
                if any(len(v) >= MAX_POSITIONS or v[-1] >= MAX_POSITION
                       for v in found.values()):
                    content = self.conn.execute("SELECT content FROM fil_passages WHERE ord = %s",
                                                (c.key,)).fetchone()[0]
                    pos = analyzer().positions(content)
                    c.positions = {t: pos[t] for t in unique if t in pos}
                else:
                    c.positions = {t: [p - 1 for p in found[t]] for t in unique if t in found}
        if rerank_head:  # filters alone keep their newest-first order
            idf = {t: self.em.idf(t) for t in terms}
            if thread_mass is None:
                rerank(head, terms, idf)
            else:
                rerank(head, terms, idf, thread_mass)
        page = (head + tail)[page_range.start:page_range.stop]
        contents = dict(self.conn.execute(
            "SELECT p.ord, p.content FROM fil_passages p WHERE p.ord = ANY(%s) "
            "AND p.thread_id = ANY(%s)", ([c.key for c in page],
                                          list({c.thread_id for c in page}))).fetchall()) \
            if page else {}
        wanted_terms = set(res.terms)
        for c in page:
            _, title, kind, position, author, date, _ = rows[c.key]
            content = contents[c.key]
            html, para = snippet(content, wanted_terms)
            res.hits.append(Hit(thread_id=c.thread_id, thread_title=title, kind=kind,
                                position=position, author=author, date=date, snippet=html,
                                score=round(c.final, 4), paragraph=para))

    # -- suggestions and facets ----------------------------------------------------------
    def _suggest(self) -> str | None:
        """A "did you mean" query: unknown or rare words replaced by close, frequent ones."""
        text = self.parsed.text
        changed = False
        df_of = self.em.df
        for node in self.parsed.words():
            if node.compound or len(node.terms) != 1:
                continue
            term = node.terms[0]
            df = df_of.get(term, 0)
            if df > 2 or not term.isalpha() or len(term) < 4:
                continue
            n = 1 if len(term) < 6 else 2
            prefix, rest = term[:n], term[n:]
            cands = self.conn.execute(
                "SELECT term, df FROM fil_terms WHERE term >= %s AND term < %s "
                "AND length(term) BETWEEN %s AND %s ORDER BY term",
                (prefix, _next_prefix(prefix), len(term) - 2, len(term) + 2)).fetchall()
            best: tuple[int, int, str] | None = None
            for dist in (1, 2) if len(term) >= 7 else (1,):
                for cand, cdf in cands:
                    enough = cdf >= 1 if df == 0 else cdf > df * 3
                    if (cand != term and enough and (best is None or cdf > best[1])
                            and levenshtein(cand[n:], rest, dist) <= dist):
                        best = (dist, cdf, cand)
                if best:
                    break
            if best is None:
                continue
            surface = self._surface_form(best[2])
            if surface and surface.lower() != node.raw.lower():
                text = text.replace(node.raw, surface, 1)
                changed = True
        return text if changed else None

    def _surface_form(self, term: str) -> str | None:
        """How a term is most often written in the first passages that contain it."""
        rows = self.conn.execute(
            "SELECT p.content FROM fil_passages p WHERE p.tsv @@ %s::tsquery "
            "ORDER BY p.ord LIMIT 5", (quote_lexeme(term),)).fetchall()
        return surface_form((text for (text,) in rows), term)

    def _facets(self, required: list[Q], exclude: list[Q]) -> None:
        """Kind and author counts over every match, authors by count then first appearance."""
        built = self._where(required, exclude, with_score=False)
        if built is None:
            return
        _, where, _, wparams = built
        rows = self.conn.execute(
            f"WITH g AS (SELECT p.kind, p.author_key, count(*) AS n FROM fil_passages p "
            f"WHERE {where} GROUP BY p.kind, p.author_key) "
            "SELECT g.kind, a.code, a.name, g.n FROM g "
            "LEFT JOIN fil_authors a ON a.key = g.author_key", wparams).fetchall()
        kinds: dict[str, int] = {}
        authors: dict[int, list[Any]] = {}
        for kind, code, name, n in rows:
            kinds[kind] = kinds.get(kind, 0) + n
            if code is not None:
                authors.setdefault(code, [name, 0])[1] += n
        self.res.kinds = {k: kinds[k] for k in KINDS if kinds.get(k)}
        ranked = sorted(authors.items(), key=lambda item: (-item[1][1], item[0]))
        self.res.authors = [(name, n) for _, (name, n) in ranked[:FACET_LIMIT]]


def open_postgres(url: str, shards: Sequence[str] | None = None) -> PostgresBackend:
    """Open the PostgreSQL backend (for scripts and benchmarks)."""
    return PostgresBackend(url, shards=shards)


__all__ = ["PostgresBackend", "open_postgres"]
