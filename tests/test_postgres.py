"""The PostgreSQL backend against the Whoosh one, on real servers.

- Same analysis, same results: the seed cases, then the seed plus the PIAF threads with
  a set of queries covering the query language, compared hit for hit (thread, kind,
  position, score, snippet), with totals, suggestions and facets, grouped by passage
  and by thread. Totals are exact on both stores (the PostgreSQL store evaluates plans
  over whole posting lists, :mod:`indexer.store.postgres.lists`), except where the
  embedded store's are not either (a phrase with over PHRASE_CHECK_LIMIT candidates).
- Same answers to every question the search pipeline asks a store (:func:`replay`):
  matches, totals, thread totals, thread statistics and scores, best passages of
  threads, per-thread counts.
- Scale-out: the same corpus with passages hash-partitioned by thread over two
  PostgreSQL servers (a local partition and a postgres_fdw one) gives the same hits.
- Operations: atomic rebuilds (a failed one leaves the old index answering, readers
  never see a half-built one), the rebuild lock, reconnection after lost connections,
  the statement time limit, an unreachable server, a missing index, the CLI.

A server comes from tests/conftest.py (``pg_server``: DATABASE_URL, else a private
cluster, else skipped — failed under CI=true). The second server of the partitioned
layout is ``FIL_TEST_SHARD_URL`` if set, else another private cluster.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from conftest import PgServer, pg_unavailable, start_temp_cluster
from helpers import (
    GENEROUS_SECONDS,
    PIAF_QUERIES,
    PIAF_THREADS,
    ROOT,
    SEED_FILE,
    SEED_ID,
    build_index,
    embedded,
    postgres,
    require_file,
)
from helpers import SEED_TOP_FIVE as TOP_FIVE

from indexer.cli import EXIT_LOCKED, cli
from indexer.errors import (
    BackendUnavailableError,
    IndexerError,
    IndexMissingError,
    QueryError,
    RebuildLockedError,
)
from indexer.ingest.model import Comment, Thread
from indexer.ingest.parsing import read_sources
from indexer.search.deadline import Deadline
from indexer.search.results import SearchResults
from indexer.search.store import Matches
from indexer.service import Service, open_service
from indexer.store.postgres.build import LOCK_KEY
from indexer.store.postgres.connections import SEARCH_OPTIONS, redact, with_defaults
from indexer.store.postgres.sql import quote_lexeme, tsvector_literal
from indexer.store.postgres.store import NoIndexError, PostgresStore

pytestmark = pytest.mark.postgres

#: The seed cases of the API contract, plus the rest of the query language.
SEED_QUERIES = [
    "tres haut debit", "très haut débit", "TRÈS HAUT DÉBIT", '"haut debit"', "l'entreprise",
    "entreprise", "author:philrig", "sarkosy", "obama sarkozy xyzzy", "lippi", "entrep*",
    "auto-entrepreneur", "auto entrepreneur", "(obama OR sarkozy) debit", "lippi -debit",
    '-"haut debit" lippi', "kind:comment debit", "kind:post lippi", "after:2009-02-06",
    "before:2009-02-05 lippi", "author:billaut", f"thread:{SEED_ID} web",
    "Poitou-Charentes", "2.0", "aujourd'hui", "c'est-à-dire", "l’entreprise",
]
#: Over the seed and PIAF: words, phrases, OR, groups, exclusions, prefixes (one capped),
#: filters, compounds, misspellings (suggestions) and the any-word fallback.
CORPUS_QUERIES = SEED_QUERIES + [
    "gouvernement", "gouvernemant", "polititique", "revolution francaise", "pays-bas",
    "jean-paul sartre", "etats-unis -guerre", '"premier ministre" OR president',
    "(france (guerre OR paix)) -allemagne", "paris OR lyon OR marseille", '"la guerre"',
    "l'état", "etat", "états", "nucléaire", "franc*", "a*", "con*", "zzz*", "xyzzy plugh",
    "-france", "thread:piaf-0003", "thread:piaf-0003 histoire", "kind:post", "guerre mondiale",
    "guerre mondiale xyzzy", "Jakob Böhme", "\"Jakob Böhme\" -malade",
]


def piaf_queries(n: int) -> list[str]:
    """The first ``n`` PIAF questions (real questions about the PIAF threads)."""
    with require_file(PIAF_QUERIES, "the PIAF questions").open(encoding="utf-8") as fh:
        return [json.loads(line)["query"] for _, line in zip(range(n), fh, strict=False)]


#: The embedded backend ranks in float32, this one in float8: scores agree to ~1e-6, and
#: a re-ranked score shown with 4 decimals may differ by one in the last place.
SCORE_TOLERANCE = 5e-4


def hit_list(res: SearchResults) -> list[tuple[Any, ...]]:
    return [(h.thread_id, h.kind, h.position, h.score, h.snippet, h.paragraph, h.author,
             h.date, h.thread_title) for h in res.hits]


def tie_groups(res: SearchResults) -> list[dict[tuple[str, str, int], tuple[Any, ...]]]:
    """Consecutive hits whose scores are equal (within the tolerance), keyed by place."""
    groups: list[dict[tuple[str, str, int], tuple[Any, ...]]] = []
    last = None
    for h in hit_list(res):
        if last is None or abs(h[3] - last) > SCORE_TOLERANCE:
            groups.append({})
        groups[-1][h[:3]] = h[4:]
        last = h[3]
    return groups


def group_list(res: SearchResults) -> list[tuple[Any, ...]]:
    """A page grouped by thread: each thread, its best passages and how many more."""
    return [(g.thread_id, g.thread_title, g.score, [h[:3] + h[4:] for h in hit_list(
        SearchResults(res.query, 0, 1, 10, hits=g.hits))], g.more) for g in res.groups]


def assert_same_groups(a: SearchResults, b: SearchResults, q: str, exact: bool) -> None:
    """Two pages grouped by thread are the same (threads of equal scores in either order
    unless ``exact``)."""
    assert (a.total, a.total_threads, a.total_passages, a.total_exact) == \
           (b.total, b.total_threads, b.total_passages, b.total_exact), q
    x, y = group_list(a), group_list(b)
    if exact:
        assert x == y, q
        return
    assert len(x) == len(y), q
    for gx, gy in zip(x, y, strict=True):
        assert abs(gx[2] - gy[2]) <= SCORE_TOLERANCE, (q, gx, gy)
    key = lambda g: (round(g[2], 3), g[0])  # noqa: E731
    last = round(x[-1][2], 3) if x else None
    assert sorted((key(g), g[3], g[4]) for g in x if round(g[2], 3) != last) == \
           sorted((key(g), g[3], g[4]) for g in y if round(g[2], 3) != last), q


def assert_same(a: SearchResults, b: SearchResults, q: str, exact: bool = True) -> None:
    """Two backends' results for one query are the same.

    ``exact``: hit for hit (PostgreSQL against PostgreSQL). Otherwise (against the
    embedded backend) the scores agree within SCORE_TOLERANCE and the same passages come
    in the same order, except that passages with equal scores may come in either order,
    and the last group of equal scores may be cut at a different member by the page end.
    """
    assert a.total == b.total, q
    assert all(isinstance(t, str) for t in a.terms + b.terms), q
    assert (a.matched, a.suggestion, a.notices, a.terms) == \
           (b.matched, b.suggestion, b.notices, b.terms), q
    assert (a.kinds, a.authors) == (b.kinds, b.authors), q
    if a.group == "thread":
        assert_same_groups(a, b, q, exact)
        return
    if exact:
        assert hit_list(a) == hit_list(b), q
        return
    assert len(a.hits) == len(b.hits), q
    for x, y in zip(a.hits, b.hits, strict=True):
        assert abs(x.score - y.score) <= SCORE_TOLERANCE, (q, x, y)
    ga, gb = tie_groups(a), tie_groups(b)
    assert len(ga) == len(gb), q
    for i, (x, y) in enumerate(zip(ga, gb, strict=True)):
        cut = i == len(ga) - 1 and len(a.hits) == a.per_page
        if cut:
            assert len(x) == len(y), q
            continue
        assert x.keys() == y.keys(), q
        for key in x:
            assert x[key] == y[key], (q, key)  # snippet, paragraph, author, date, title


def compare(x: Any, y: Any, queries: list[str], exact: bool = True,
            groups: tuple[str, ...] = ("passage", "thread")) -> None:
    """Two backends give the same results for every query, pages 1 and 2, grouped by
    passage and by thread.

    A query one backend refuses (QueryError), the other refuses the same way.
    """
    assert queries
    for q in queries:
        for group in groups:
            for page, per_page in ((1, 10), (2, 7)):
                try:
                    expected = y.search(q, page=page, per_page=per_page, facets=True,
                                        group=group)
                except IndexerError as exc:
                    with pytest.raises(type(exc)) as refused:
                        x.search(q, page=page, per_page=per_page, facets=True, group=group)
                    assert str(refused.value) == str(exc), q
                    continue
                assert_same(x.search(q, page=page, per_page=per_page, facets=True,
                                     group=group), expected,
                            f"{q!r} page {page} by {group}", exact)


#: The questions the pipeline asks a store that :func:`replay` compares (the others are
#: about the passages shown, compared through the results).
REPLAYED = ("doc_count", "doc_freqs", "match", "thread_stats", "thread_scores",
            "best_in_threads", "thread_match_counts", "facets", "expand_prefix")


class Recorder:
    """A snapshot that records the questions it is asked (REPLAYED ones)."""

    def __init__(self, snap: Any, calls: list[tuple[str, tuple[Any, ...]]]) -> None:
        self._snap = snap
        self._calls = calls

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._snap, name)
        if name not in REPLAYED:
            return attr

        def call(*args: Any) -> Any:
            self._calls.append((name, args))
            return attr(*args)
        return call


def recorded(service: Service, queries: list[str]) -> list[tuple[str, tuple[Any, ...]]]:
    """Every REPLAYED question the pipeline asks the service's store for these queries
    (grouped by passage and by thread, pages 1 and 3)."""
    calls: list[tuple[str, tuple[Any, ...]]] = []
    store = service.store
    plain = store.snapshot

    @contextlib.contextmanager
    def snapshot(deadline: Any) -> Iterator[Any]:
        with plain(deadline) as snap:
            yield Recorder(snap, calls)

    store.snapshot = snapshot  # type: ignore[method-assign]
    try:
        for q in queries:
            for group in ("passage", "thread"):
                for page in (1, 3):
                    with contextlib.suppress(IndexerError):
                        service.search(q, page=page, group=group, facets=True)
    finally:
        del store.snapshot
    return calls


def answer(snap: Any, name: str, args: tuple[Any, ...]) -> Any:
    """A store's answer to one question, in terms both stores share: passages by place
    (thread, kind, position) instead of keys."""

    def places(m: Matches) -> list[tuple[Any, ...]]:
        records = snap.passages(m.keys)
        return [(records[k].thread_id, records[k].kind, records[k].position, sc)
                for k, sc in zip(m.keys, m.scores, strict=True)]

    found = getattr(snap, name)(*args)
    if name in ("match", "best_in_threads"):
        return (places(found), found.total, found.exact, found.total_threads,
                found.timed_out)
    if name == "thread_scores":
        return found.best, found.max, found.scores
    if name == "facets":
        return found.kinds, found.authors
    return found


def close(a: Any, b: Any) -> bool:
    """Equal, floats within float32 precision (relative 1e-6)."""
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, int | float) and isinstance(b, int | float) and \
            abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    return bool(a == b)


def replay(x: Service, y: Service, queries: list[str]) -> int:
    """Every question the pipeline asks ``y``'s store for ``queries`` gets the same answer
    from ``x``'s store (see :func:`answer`). Returns how many were compared."""
    calls = recorded(y, queries)
    assert calls
    with x.store.snapshot(Deadline(GENEROUS_SECONDS)) as a, \
            y.store.snapshot(Deadline(GENEROUS_SECONDS)) as b:
        for name, args in calls:
            if name in ("match", "best_in_threads"):
                args = (*args[:-1], Deadline(GENEROUS_SECONDS))
            got, expected = answer(a, name, args), answer(b, name, args)
            assert close(got, expected), (name, args, got, expected)
    return len(calls)


def table_names(url: str, pattern: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute(
            "SELECT relname FROM pg_class WHERE relname LIKE %s ORDER BY 1", (pattern,))]


# -- fixtures ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def corpus() -> list[Thread]:
    """The seed thread and the PIAF threads."""
    read = read_sources([SEED_FILE, require_file(PIAF_THREADS, "the PIAF threads")])
    assert not read.rejected, read.rejected
    return read.threads


@pytest.fixture(scope="module")
def whoosh_corpus(corpus: list[Thread],
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    index_dir = tmp_path_factory.mktemp("whoosh-corpus") / "index"
    build_index(corpus, index_dir)
    backend = embedded(index_dir)
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def pg_corpus(corpus: list[Thread], pg_server: PgServer) -> Iterator[Service]:
    backend = postgres(pg_server.new_database("fil_corpus"), shards=[])
    backend.rebuild(corpus)
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def shard_url(pg_server: PgServer) -> Iterator[str]:
    """A database on a second PostgreSQL server."""
    url = os.environ.get("FIL_TEST_SHARD_URL")
    if url:
        yield url
        return
    cluster = start_temp_cluster(
        "the two-server test needs the PostgreSQL binaries (or FIL_TEST_SHARD_URL)",
        "could not start a second PostgreSQL server")
    try:
        yield cluster.create_database("fil_shard")
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def coordinator_url(pg_server: PgServer) -> str:
    url = pg_server.new_database("fil_coord")
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT 1 FROM pg_available_extensions "
                        "WHERE name = 'postgres_fdw'").fetchone() is None:
            pg_unavailable("postgres_fdw is not installed (package postgresql-contrib)")
    return url


@pytest.fixture(scope="module")
def sharded(corpus: list[Thread], coordinator_url: str,
            shard_url: str) -> Iterator[Service]:
    backend = postgres(coordinator_url, shards=[shard_url])
    backend.rebuild(corpus)
    yield backend
    backend.close()


@pytest.fixture
def pg_seed(pg_seed_url: str) -> Iterator[Service]:
    backend = postgres(pg_seed_url, shards=[])
    yield backend
    backend.close()


@pytest.fixture
def whoosh_seed(seed_index: Path) -> Iterator[Service]:
    backend = embedded(seed_index)
    yield backend
    backend.close()


@pytest.fixture
def fresh_db(pg_server: PgServer) -> str:
    return pg_server.new_database("fil_fresh")


# -- same analysis, same results -----------------------------------------------------------
@pytest.mark.parametrize("q", ["tres haut debit", "très haut débit", "TRÈS HAUT DÉBIT",
                               '"haut debit"'])
def test_seed_top_five(pg_seed: Service, q: str) -> None:
    res = pg_seed.search(q)
    assert {(h.kind, h.position) for h in res.hits[:5]} == TOP_FIVE
    assert all(h.thread_id == SEED_ID for h in res.hits)


def test_seed_elision_author_and_marks(pg_seed: Service) -> None:
    a, b = pg_seed.search("l'entreprise"), pg_seed.search("entreprise")
    assert a.total == b.total > 0
    assert [(h.kind, h.position) for h in a.hits] == [(h.kind, h.position) for h in b.hits]
    philrig = pg_seed.search("author:philrig")
    assert philrig.total == 2
    assert {(h.kind, h.position) for h in philrig.hits} == {("comment", 9), ("comment", 13)}
    snippets = " ".join(h.snippet for q in ("tres haut debit", "très haut débit")
                        for h in pg_seed.search(q).hits)
    for marked in ("<mark>TRES</mark>", "<mark>très</mark>", "<mark>tres</mark>",
                   "<mark>débit</mark>"):
        assert marked in snippets
    assert pg_seed.search("sarkosy").suggestion == "sarkozy"


def test_seed_results_equal_across_backends(pg_seed: Service,
                                            whoosh_seed: Service) -> None:
    compare(pg_seed, whoosh_seed, SEED_QUERIES, exact=False)
    for q in ("tres haut debit", "l'entreprise", "author:philrig", '"haut debit"'):
        a, b = pg_seed.search(q, per_page=100), whoosh_seed.search(q, per_page=100)
        assert {h[:3] for h in hit_list(a)} == {h[:3] for h in hit_list(b)}, q


def test_corpus_results_equal_across_backends(pg_corpus: Service,
                                              whoosh_corpus: Service) -> None:
    compare(pg_corpus, whoosh_corpus, CORPUS_QUERIES + piaf_queries(60), exact=False)
    for q, code in (("a*", "prefix_short"), ("par*", "prefix_capped")):
        notices = {(n.code, n.word) for n in pg_corpus.search(q).notices}
        assert notices == {(n.code, n.word) for n in whoosh_corpus.search(q).notices}
        assert (code, q) in notices


def test_store_answers_equal_across_backends(pg_corpus: Service,
                                             whoosh_corpus: Service) -> None:
    """Every question asked while searching (words, phrases, filters, exclusions,
    prefixes, questions; grouped by passage and by thread) gets the same answer."""
    assert replay(pg_corpus, whoosh_corpus, CORPUS_QUERIES + piaf_queries(40)) > 500


def test_stats_and_threads_match_whoosh(pg_corpus: Service,
                                        whoosh_corpus: Service,
                                        corpus: list[Thread]) -> None:
    a, b = pg_corpus.stats(), whoosh_corpus.stats()
    assert (a.threads, a.passages, a.terms) == (b.threads, b.passages, b.terms)
    assert a.size_bytes > 0 and a.built_at
    info = psycopg.conninfo.conninfo_to_dict(pg_corpus.store.url)
    assert a.location == (f"postgresql://{info['user']}@{info['host']}:{info['port']}/"
                          f"{info['dbname']}")
    for t in corpus[:: max(1, len(corpus) // 25)]:
        assert pg_corpus.get_thread(t.id) == whoosh_corpus.get_thread(t.id)
    for bad in ("", "nope", "x" * 501, "a\x00b", None):
        assert pg_corpus.get_thread(bad) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://fil:s3cret@db.example:5433/fil", "postgresql://fil@db.example:5433/fil"),
    ("postgresql://fil:s3cret@10.0.0.2/fil", "postgresql://fil@10.0.0.2/fil"),
    ("host=db.example user=fil password=s3cret dbname=fil", "postgresql://fil@db.example/fil"),
])
def test_locations_never_show_passwords(url: str, shown: str) -> None:
    from indexer.store.postgres.store import PostgresStore

    assert PostgresStore(url).location == shown  # no connection is made


def test_lexemes_are_quoted_not_parsed() -> None:
    assert quote_lexeme("aujourd'hui") == "'aujourd''hui'"
    assert quote_lexeme("a\\b") == "'a\\\\b'"
    assert tsvector_literal({"deb": [2, 7], "l'a": [0]}) == "'deb':3,8 'l''a':1"
    # PostgreSQL's limits: positions 1..16383, 256 positions per lexeme
    lit = tsvector_literal({"x": list(range(300)) + [20000]})
    assert lit.count(",") == 255 and lit.endswith(",256")


def test_odd_text_indexed_and_found_alike(make_pg_index: Callable[..., str],
                                          tmp_path: Path) -> None:
    threads = [
        Thread("odd-1", "Guillemets ' et \\ barres", (
            "aujourd'hui l’entreprise C:\\dossier\\fichier « citation » 'quote' \"double\"",
            "tab\there newline\nthere & | ! <-> :* ( ) 'x':1 \\'",
            " ".join(["zorglub"] * 300) + " fin de la phrase",
        ), (Comment(1, "O'Brien \\ Jr", "2010-01-02T03:04", ("commentaire d'O'Brien",)),)),
        Thread("odd-2", "Deux", ("zorglub aujourd'hui",)),
    ]
    url = make_pg_index(threads)
    whoosh_dir = tmp_path / "w"
    build_index(threads, whoosh_dir)
    pg, wh = postgres(url, shards=[]), embedded(whoosh_dir)
    try:
        queries = ["aujourd'hui", "dossier fichier", "'quote'", "\\", "zorglub",
                   '"de la phrase"', "author:\"o'brien \\ jr\"", "o'brien", "x:1",
                   "here there", "citation"]
        compare(pg, wh, queries, exact=False)
        assert pg.search("zorglub").total == 2
        assert pg.search("author:\"o'brien \\ jr\"").total == 1
    finally:
        pg.close()
        wh.close()


HOSTILE = ["'", "''", "\\", "\\'", "a & b", "a | b", "!a", "a <-> b", "a:*", "a:* & !b",
           "'); DROP TABLE fil_threads; --", "x' OR '1'='1", "%", "_", "%s", "%(x)s", "$1",
           "::tsquery", "entreprise'::tsquery", "author:\"'; DROP TABLE fil_meta; --\"",
           "thread:\"' OR 1=1 --\"", "lippi -\"'\"", "\x00", "é" * 300,
           "(" * 8 + "lippi" + ")" * 8, "a* b* c* d*"]


@pytest.mark.parametrize("q", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_queries_are_data(pg_seed: Service, whoosh_seed: Service,
                                  pg_seed_url: str, q: str) -> None:
    """SQL and tsquery syntax in a query are words (or nothing): the same results as the
    embedded store, and every table still there."""
    assert_same(pg_seed.search(q, facets=True), whoosh_seed.search(q, facets=True), q,
                exact=False)
    assert {"fil_threads", "fil_meta", "fil_passages", "fil_terms"} <= set(
        table_names(pg_seed_url, "fil_%"))


def test_hostile_filter_value_is_refused_alike(pg_seed: Service, whoosh_seed: Service) -> None:
    for backend in (pg_seed, whoosh_seed):
        with pytest.raises(QueryError) as refused:
            backend.search("kind:post'")
        assert refused.value.code == "bad_kind"


# -- the backend's interface -------------------------------------------------------------
def test_open_backend_chooses_postgres(pg_seed_url: str,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIL_PG_SHARDS", raising=False)
    backend = open_service("postgres", database_url=pg_seed_url)
    try:
        assert backend.name == "postgres"
        assert backend.search("lippi").total > 0
    finally:
        backend.close()
    monkeypatch.setenv("FIL_BACKEND", "postgres")
    monkeypatch.setenv("FIL_DATABASE_URL", pg_seed_url)
    backend = open_service()
    try:
        assert backend.name == "postgres"
    finally:
        backend.close()
    monkeypatch.delenv("FIL_DATABASE_URL")
    with pytest.raises(IndexerError, match="DATABASE_URL"):
        open_service("postgres")


def with_password(url: str, password: str = "secret") -> str:
    """The URL with a password (trust authentication ignores it)."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    return psycopg.conninfo.make_conninfo(**{**info, "password": password})


def test_missing_index_names_the_command_with_the_options(fresh_db: str,
                                                          make_pg_app: Callable[..., Any]
                                                          ) -> None:
    url = with_password(fresh_db)
    command = f"python -m indexer rebuild --backend postgres --database-url {redact(url)}"
    backend = postgres(url, shards=[])
    try:
        for call in (lambda: backend.search(""), lambda: backend.search("lippi"),
                     lambda: backend.get_thread(SEED_ID), backend.stats):
            with pytest.raises(IndexMissingError) as info:
                call()
            assert isinstance(info.value, NoIndexError)
            assert info.value.command == command and command in str(info.value)
            assert "secret" not in str(info.value)
    finally:
        backend.close()
    sharded = PostgresStore(url, shards=[fresh_db, fresh_db])
    assert sharded.rebuild_command() == f"{command} (with FIL_PG_SHARDS set to its 2 shard URLs)"
    resp = make_pg_app(url).test_client().get("/api/search?q=lippi")
    assert resp.status_code == 503 and resp.headers["Retry-After"].isdigit()
    assert "secret" not in resp.get_data(as_text=True)


#: URLs libpq cannot read (or would read wrongly): refused up front, password unseen.
BAD_URLS = [
    "host=db password=my secret",  # libpq: missing "=" after "secret"
    "host=db password='secret",  # unterminated quote
    "postgresql://fil:sec ret@db/fil",  # libpq: unexpected spaces found in "sec ret"
    "postgresql://fil@db/fil?password=secret&bogus=1",  # unknown parameter
    "postgresql://fil:p@secret@db:5432/fil",  # unencoded @: libpq's host "secret@db"
    "postgresql://fil:se/secret@db/fil",  # unencoded /: libpq's host "fil", port "se"
]


@pytest.mark.parametrize("url", BAD_URLS, ids=range(len(BAD_URLS)))
def test_bad_urls_are_refused_without_their_password(url: str, tmp_path: Path) -> None:
    for make in (lambda: PostgresStore(url), lambda: PostgresStore("postgresql://db/fil",
                                                                    shards=[url])):
        with pytest.raises(IndexerError) as info:
            make()
        assert "secret" not in str(info.value) and "cannot be parsed" in str(info.value) \
            or "ambiguous" in str(info.value), str(info.value)
    assert "secret" not in redact(url)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FIL_BACKEND": "postgres",
           "FIL_DATABASE_URL": url, "FIL_PG_SHARDS": ""}
    proc = subprocess.run([sys.executable, "-m", "search_app", "--port", "0"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert "Traceback" not in output and "secret" not in output, output
    assert len(output.strip().splitlines()) == 1, output


def test_url_libpq_reads_but_cannot_use_fails_without_its_password() -> None:
    backend = postgres("postgresql://fil:secret@127.0.0.1:54x/fil?sslmode=bogus")
    with pytest.raises(BackendUnavailableError) as info:
        backend.search("lippi")
    assert "secret" not in str(info.value) and "unreachable" in str(info.value)


def test_connection_defaults_leave_the_urls_own_values() -> None:
    url = with_defaults("postgresql://fil@db/fil?keepalives_idle=30&connect_timeout=9",
                        SEARCH_OPTIONS)
    info = psycopg.conninfo.conninfo_to_dict(url)
    assert (info["keepalives_idle"], info["connect_timeout"]) == ("30", "9")
    assert (info["keepalives"], info["keepalives_interval"], info["keepalives_count"],
            info["tcp_user_timeout"]) == ("1", "5", "3", "10000")
    assert (info["user"], info["host"], info["dbname"]) == ("fil", "db", "fil")


def test_unreachable_server_is_a_backend_error(make_pg_app: Callable[..., Any]) -> None:
    from pg_cluster import free_port

    url = f"postgresql://fil:secret@127.0.0.1:{free_port()}/fil"
    backend = postgres(url, shards=[])
    with pytest.raises(IndexerError) as info:
        backend.search("lippi")
    assert not isinstance(info.value, IndexMissingError)
    assert "secret" not in str(info.value)
    for path in ("/api/search?q=lippi", "/?q=lippi", f"/thread/{SEED_ID}"):
        resp = make_pg_app(url).test_client().get(path)
        assert resp.status_code == 503 and resp.headers["Retry-After"].isdigit(), path
        assert "secret" not in resp.get_data(as_text=True)


def test_reconnects_after_lost_connections(pg_seed: Service, pg_seed_url: str) -> None:
    before = hit_list(pg_seed.search("tres haut debit"))
    with psycopg.connect(pg_seed_url, autocommit=True) as admin:
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = 'fil' AND pid <> pg_backend_pid()").fetchone()[0]
    assert killed >= 1
    assert hit_list(pg_seed.search("tres haut debit")) == before


def test_time_limit_returns_partial_results(pg_seed_url: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A search blocked by a lock gives up at its deadline: a notice, no hits, inexact.

    If the deadline did not cut it short, the search would wait for the lock, which is
    released after GENEROUS_SECONDS, and come back with full results and no notice.
    """
    monkeypatch.setattr("indexer.search.pipeline.SEARCH_TIME_LIMIT", 0.3)
    backend = postgres(pg_seed_url, shards=[])
    try:
        with psycopg.connect(pg_seed_url) as locker:
            locker.execute("LOCK TABLE fil_passages IN ACCESS EXCLUSIVE MODE")
            release = threading.Timer(GENEROUS_SECONDS, locker.rollback)
            release.start()
            try:
                res = backend.search("tres haut debit")
            finally:
                release.cancel()
            locker.rollback()
        assert [n.code for n in res.notices] == ["timed_out"]
        assert res.hits == [] and res.total_exact is False
        assert {(h.kind, h.position) for h in backend.search("tres haut debit").hits[:5]} \
            == TOP_FIVE
    finally:
        backend.close()


def test_concurrent_searches(pg_seed: Service) -> None:
    queries = ["tres haut debit", "entreprise", "author:philrig", "lippi", "sarkosy"]
    expected = {q: hit_list(pg_seed.search(q)) for q in queries}
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(10):
                for q in queries:
                    assert hit_list(pg_seed.search(q)) == expected[q]
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=worker) for _ in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(GENEROUS_SECONDS)
    assert not any(w.is_alive() for w in workers)
    assert not errors, errors[0]


# -- rebuilds ----------------------------------------------------------------------------
def small_threads(word: str, n: int = 3) -> list[Thread]:
    return [Thread(f"{word}-{i}", f"Fil {word} {i}", (f"{word} numéro {i}", "commun"))
            for i in range(n)]


def test_duplicate_thread_ids_behave_like_whoosh(fresh_db: str, tmp_path: Path) -> None:
    threads = [Thread("dup", "Premier", ("alpha",)), Thread("dup", "Second", ("beta",))]
    backend = postgres(fresh_db, shards=[])
    try:
        report = backend.rebuild(threads)
        assert report.threads == 1 and report.passages == 1 and report.warnings
        build_index(threads, tmp_path / "w")
        wh = embedded(tmp_path / "w")
        compare(backend, wh, ["alpha", "beta", "thread:dup"], exact=False)
        assert backend.get_thread("dup") == wh.get_thread("dup")
        wh.close()
    finally:
        backend.close()


def test_failed_rebuild_keeps_the_old_index(fresh_db: str) -> None:
    backend = postgres(fresh_db, shards=[])
    try:
        backend.rebuild(small_threads("ancien"))

        def broken() -> Iterator[Thread]:
            yield from small_threads("nouveau")
            raise RuntimeError("source vanished")

        with pytest.raises(RuntimeError, match="source vanished"):
            backend.rebuild(broken())
        assert backend.search("ancien").total == 3
        assert backend.search("nouveau").total == 0
        assert table_names(fresh_db, "fil\\_%\\_new") == []
        backend.rebuild(small_threads("nouveau"))
        assert backend.search("ancien").total == 0
        assert backend.search("nouveau").total == 3
        assert backend.stats().threads == 3
    finally:
        backend.close()


def test_concurrent_rebuild_is_refused(fresh_db: str) -> None:
    backend = postgres(fresh_db, shards=[])
    try:
        backend.rebuild(small_threads("ancien"))
        with psycopg.connect(fresh_db, autocommit=True) as other:
            other.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
            with pytest.raises(RebuildLockedError):
                backend.rebuild(small_threads("nouveau"))
            result = CliRunner().invoke(
                cli, ["rebuild", "--backend", "postgres", "--database-url", fresh_db,
                      "--source", str(SEED_FILE)], env={"FIL_PG_SHARDS": ""})
            assert result.exit_code == EXIT_LOCKED, result.output
        assert backend.search("ancien").total == 3
        backend.rebuild(small_threads("nouveau"))  # the lock went with the session
        assert backend.search("nouveau").total == 3
    finally:
        backend.close()


def test_readers_see_the_old_index_until_the_swap(fresh_db: str) -> None:
    backend = postgres(fresh_db, shards=[])
    try:
        backend.rebuild(small_threads("ancien"))
        halfway, resume = threading.Event(), threading.Event()
        errors: list[BaseException] = []

        def slow() -> Iterator[Thread]:
            new = small_threads("nouveau", 4)
            yield from new[:2]
            halfway.set()
            assert resume.wait(GENEROUS_SECONDS)
            yield from new[2:]

        def rebuild() -> None:
            try:
                backend.rebuild(slow())
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        worker = threading.Thread(target=rebuild)
        worker.start()
        assert halfway.wait(GENEROUS_SECONDS)
        assert backend.search("ancien").total == 3
        assert backend.search("nouveau").total == 0
        assert backend.get_thread("nouveau-0") is None
        resume.set()
        worker.join(GENEROUS_SECONDS)
        assert not worker.is_alive() and not errors, errors
        assert backend.search("nouveau").total == 4 and backend.search("ancien").total == 0
    finally:
        backend.close()


def test_cli_rebuild_stats_search(fresh_db: str, monkeypatch: pytest.MonkeyPatch,
                                  tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FIL_PG_SHARDS", raising=False)
    env = {"FIL_BACKEND": "postgres", "FIL_DATABASE_URL": fresh_db}
    runner = CliRunner()
    result = runner.invoke(cli, ["rebuild", "--source", str(SEED_FILE)], env=env)
    assert result.exit_code == 0, result.output
    assert "Indexed 1 thread, 29 passages" in result.output
    assert "password" not in result.output
    result = runner.invoke(cli, ["stats"], env=env)
    assert result.exit_code == 0 and "passages: 29" in result.output, result.output
    result = runner.invoke(cli, ["search", "tres haut debit", "--json"], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {(r["kind"], r["position"]) for r in data["results"][:5]} == TOP_FIVE
    assert not (tmp_path / "index_data").exists()  # nothing written for Whoosh


# -- scale-out: passages partitioned over two servers -----------------------------------
def test_two_servers_hold_the_partitions(sharded: Service, coordinator_url: str,
                                         shard_url: str, corpus: list[Thread]) -> None:
    with psycopg.connect(coordinator_url) as conn:
        kinds = dict(conn.execute(
            "SELECT c.relkind, count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'fil_passages'::regclass GROUP BY 1").fetchall())
        assert kinds == {"r": 1, "f": 1}  # one local partition, one postgres_fdw partition
        parts = dict(conn.execute("SELECT tableoid::regclass::text, count(*) "
                                  "FROM fil_passages GROUP BY 1").fetchall())
    assert len(parts) == 2 and all(n > 0 for n in parts.values())
    remote = [n for n in parts if n.endswith("_p1")][0]
    with psycopg.connect(shard_url) as conn:  # the rows really are on the second server
        assert conn.execute(f'SELECT count(*) FROM "{remote}"').fetchone()[0] == parts[remote]
    assert sum(parts.values()) == sum(len(t.passages()) for t in corpus)
    st = sharded.stats()
    assert st.passages == sum(parts.values()) and "+1 shards" in st.location


def test_two_servers_same_results(sharded: Service, pg_corpus: Service,
                                  whoosh_corpus: Service) -> None:
    queries = CORPUS_QUERIES + piaf_queries(40)
    compare(sharded, pg_corpus, queries)
    compare(sharded, whoosh_corpus, SEED_QUERIES + piaf_queries(40), exact=False)
    assert replay(sharded, whoosh_corpus, SEED_QUERIES + piaf_queries(20)) > 100
    for tid in (SEED_ID, "piaf-0003", "piaf-0100"):
        assert sharded.get_thread(tid) == pg_corpus.get_thread(tid)


def test_two_servers_rebuild_swaps_and_cleans(corpus: list[Thread], coordinator_url: str,
                                              shard_url: str, pg_server: PgServer) -> None:
    url = pg_server.new_database("fil_coord2")
    backend = postgres(url, shards=[shard_url])
    try:
        others = set(table_names(shard_url, "fil\\_passages\\_g%"))  # other coordinators'
        backend.rebuild(corpus[:40])
        first = set(table_names(shard_url, "fil\\_passages\\_g%")) - others
        assert first

        def broken() -> Iterator[Thread]:
            yield from corpus[40:80]
            raise RuntimeError("source vanished")

        with pytest.raises(RuntimeError):
            backend.rebuild(broken())
        assert set(table_names(shard_url, "fil\\_passages\\_g%")) - others == first  # no orphan
        assert backend.stats().threads == 40
        backend.rebuild(corpus[40:80])
        second = set(table_names(shard_url, "fil\\_passages\\_g%")) - others
        assert second and second.isdisjoint(first)  # old generation dropped from the shard
        assert others <= set(table_names(shard_url, "fil\\_passages\\_g%"))  # others kept
        assert backend.stats().threads == 40
        assert backend.get_thread(corpus[0].id) is None
        assert backend.get_thread(corpus[40].id) is not None
    finally:
        backend.close()


def test_foreign_servers_get_timeouts_and_keepalives(coordinator_url: str, shard_url: str,
                                                    pg_server: PgServer) -> None:
    """Defaults in each foreign server's options, except where the shard URL sets its own."""
    url = pg_server.new_database("fil_coord3")
    info = psycopg.conninfo.conninfo_to_dict(shard_url)
    own = psycopg.conninfo.make_conninfo(**{**info, "connect_timeout": "7",
                                            "keepalives_idle": "30"})
    backend = postgres(url, shards=[own])
    try:
        backend.rebuild(small_threads("serveur", 6))
        assert backend.search("serveur").total == 6
    finally:
        backend.close()
    with psycopg.connect(url) as conn:
        (options,) = conn.execute("SELECT srvoptions FROM pg_foreign_server").fetchone()
    options = dict(o.split("=", 1) for o in options)
    assert options["connect_timeout"] == "7" and options["keepalives_idle"] == "30"
    assert (options["keepalives"], options["keepalives_interval"], options["keepalives_count"],
            options["tcp_user_timeout"]) == ("1", "5", "3", "10000")
    assert options["async_capable"] == "true" and "password" not in options


def test_coordinators_sharing_a_shard_keep_their_partitions(
        sharded: Service, pg_corpus: Service) -> None:
    """The rebuilds above used the same shard database: this index still answers."""
    compare(sharded, pg_corpus, SEED_QUERIES[:6])
