"""Each store's snapshot (embedded and PostgreSQL) over a tiny corpus worked out by hand.

Eight passages of made-up words, so every match, total, filter and order below can be
checked by reading the table. Each test runs on both stores (the PostgreSQL one is marked
``postgres``); the last one checks that both give the same BM25 scores.

====  ======  =======  ===  ==========  ====================  ================
 #    thread  kind     pos  author      date                  text
====  ======  =======  ===  ==========  ====================  ================
 0    t1      post     1    Alice       2009-02-01T10:00      zorg blip
 1    t1      post     2    Alice       2009-02-01T10:00      zorg zorg quux
 2    t1      comment  1    Bob         2009-02-03T08:00      blip frob
 3    t1      comment  2    Chloé       2009-02-02T09:00      zorg frob blip
 4    t2      post     1    Bob         2009-02-05            quux blip zorg
 5    t2      comment  1    —           —                     frob
 6    t3      post     1    —           —                     blip zorg
 7    t3      post     2    —           —                     zorg zorglub
====  ======  =======  ===  ==========  ====================  ================
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from helpers import GENEROUS_SECONDS

from indexer.analysis import analyzer
from indexer.ingest.folding import author_key
from indexer.ingest.model import Comment, Thread
from indexer.search.deadline import Deadline
from indexer.search.plan import And, AndNot, Filters, Null, Or, Phrase, Plan, Term
from indexer.search.store import Matches, PassageRecord
from indexer.store.whoosh.store import EmbeddedStore

CORPUS = [
    Thread("t1", "Zorg et blip", ("zorg blip", "zorg zorg quux"),
           (Comment(1, "Bob", "2009-02-03T08:00", ("blip frob",)),
            Comment(2, "Chloé", "2009-02-02T09:00", ("zorg frob blip",))),
           author="Alice", date="2009-02-01T10:00"),
    Thread("t2", "Quux", ("quux blip zorg",), (Comment(1, None, None, ("frob",)),),
           author="Bob", date="2009-02-05"),
    Thread("t3", "Frob", ("blip zorg", "zorg zorglub")),
]
PLACES = [("t1", "post", 1), ("t1", "post", 2), ("t1", "comment", 1), ("t1", "comment", 2),
          ("t2", "post", 1), ("t2", "comment", 1), ("t3", "post", 1), ("t3", "post", 2)]
WORDS = ("zorg", "blip", "quux", "frob", "zorglub")


def term(word: str) -> str:
    """The index term of one of the corpus's words (each is one term)."""
    [found] = analyzer().terms(word)
    return found


ZORG, BLIP, QUUX, FROB, ZORGLUB = (Term(term(w)) for w in WORDS)
ABSENT = Term("absent")


@pytest.fixture(scope="module", params=["whoosh", pytest.param("postgres",
                                                               marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, make_index: Any) -> Iterator[Any]:
    """The corpus in each store in turn."""
    if request.param == "whoosh":
        found: Any = EmbeddedStore(make_index(CORPUS))
    else:
        from indexer.store.postgres.store import PostgresStore

        found = PostgresStore(request.getfixturevalue("make_pg_index")(CORPUS))
    yield found
    found.close()


@pytest.fixture
def snap(store: Any) -> Iterator[Any]:
    with store.snapshot(Deadline(GENEROUS_SECONDS)) as s:
        yield s


def numbers(snap: Any, keys: list[Any]) -> list[int]:
    """The table's passage numbers of some keys (each store has its own keys)."""
    records: dict[Any, PassageRecord] = snap.passages(keys)
    return [PLACES.index((r.thread_id, r.kind, r.position)) for r in map(records.get, keys)]


NO_FILTERS = Filters()


def match(snap: Any, plan: Plan | None, exclude: Plan | None = None,
          filters: Filters = NO_FILTERS, k: int = 100) -> tuple[Matches, list[int]]:
    """The snapshot's matches, and their passage numbers in the table."""
    m = snap.match(plan, exclude, filters, k, Deadline(GENEROUS_SECONDS))
    return m, numbers(snap, m.keys)


def test_the_words_are_one_term_each() -> None:
    assert len({term(w) for w in WORDS}) == len(WORDS)


# -- which passages each plan matches ------------------------------------------------------

PLANS = [
    ("zorg", ZORG, {0, 1, 3, 4, 6, 7}),
    ("blip", BLIP, {0, 2, 3, 4, 6}),
    ("quux", QUUX, {1, 4}),
    ("frob", FROB, {2, 3, 5}),
    ("zorglub", ZORGLUB, {7}),
    ("absent", ABSENT, set()),
    ("zorg blip (phrase)", Phrase((ZORG.term, BLIP.term)), {0}),
    ("blip zorg (phrase)", Phrase((BLIP.term, ZORG.term)), {4, 6}),
    ("zorg zorg (phrase)", Phrase((ZORG.term, ZORG.term)), {1}),
    ("zorg zorglub (phrase)", Phrase((ZORG.term, ZORGLUB.term)), {7}),
    ("phrase with an absent term", Phrase((BLIP.term, "absent")), set()),
    ("quux OR frob", Or((QUUX, FROB)), {1, 2, 3, 4, 5}),
    ("absent OR quux", Or((ABSENT, QUUX)), {1, 4}),
    ("Null OR quux", Or((Null(), QUUX)), {1, 4}),
    ("zorg AND blip", And((ZORG, BLIP)), {0, 3, 4, 6}),
    ("zorg AND frob", And((ZORG, FROB)), {3}),
    ("zorg AND absent", And((ZORG, ABSENT)), set()),
    ("zorg AND Null", And((ZORG, Null())), set()),
    ("zorg NOT blip", AndNot(ZORG, BLIP), {1, 7}),
    ("(quux OR frob) NOT zorg", AndNot(Or((QUUX, FROB)), ZORG), {2, 5}),
    ("zorg NOT Null", AndNot(ZORG, Null()), {0, 1, 3, 4, 6, 7}),
    ("zorg NOT absent", AndNot(ZORG, ABSENT), {0, 1, 3, 4, 6, 7}),
    ("Null", Null(), set()),
    ("(zorg AND blip) OR zorglub", Or((And((ZORG, BLIP)), ZORGLUB)), {0, 3, 4, 6, 7}),
]


@pytest.mark.parametrize(("plan", "expected"), [(p, e) for _, p, e in PLANS],
                         ids=[name for name, _, _ in PLANS])
def test_match_finds_exactly(snap: Any, plan: Plan, expected: set[int]) -> None:
    m, found = match(snap, plan)
    assert sorted(found) == sorted(expected)
    assert m.total == len(expected) and m.exact and not m.timed_out
    assert len(m.scores) == len(m.threads) == len(m.keys)
    assert all(s > 0 for s in m.scores)
    assert m.threads == [PLACES[n][0] for n in found]


@pytest.mark.parametrize(("plan", "exclude", "expected"), [
    (ZORG, BLIP, {1, 7}),
    (ZORG, Or((BLIP, QUUX)), {7}),
    (Or((QUUX, FROB)), ZORG, {2, 5}),
    (ZORG, ABSENT, {0, 1, 3, 4, 6, 7}),
    (ZORG, ZORG, set()),
])
def test_match_minus_an_exclusion(snap: Any, plan: Plan, exclude: Plan,
                                  expected: set[int]) -> None:
    m, found = match(snap, plan, exclude)
    assert sorted(found) == sorted(expected) and m.total == len(expected)


def test_best_first_then_index_order(snap: Any) -> None:
    """zorg: twice in a 3-word passage (1) beats once in 2 words (0, 6, 7: equal scores, in
    index order), which beats once in 3 words (3, 4: equal, in index order)."""
    m, found = match(snap, ZORG)
    assert found == [1, 0, 6, 7, 3, 4]
    s = dict(zip(found, m.scores, strict=True))
    assert s[1] > s[0] == s[6] == s[7] > s[3] == s[4] > 0


def test_k_cuts_the_list_not_the_total(snap: Any) -> None:
    m, found = match(snap, ZORG, k=2)
    assert found == [1, 0] and m.total == 6


# -- filters ---------------------------------------------------------------------------------

FILTERED = [
    (Filters(kind="post"), {0, 1, 4, 6, 7}),
    (Filters(kind="comment"), {3}),
    (Filters(author=author_key("Bob")), {4}),
    (Filters(author=author_key("Chloé")), {3}),
    (Filters(author=author_key("ALICE")), {0, 1}),
    (Filters(author="personne"), set()),
    (Filters(not_authors=(author_key("Bob"),)), {0, 1, 3, 6, 7}),  # no author: kept
    (Filters(not_authors=(author_key("Alice"), author_key("chloe"))), {4, 6, 7}),
    (Filters(not_authors=("personne",)), {0, 1, 3, 4, 6, 7}),
    (Filters(thread="t3"), {6, 7}),
    (Filters(thread="nope"), set()),
    (Filters(not_threads=("t1",)), {4, 6, 7}),
    (Filters(not_threads=("t1", "t3")), {4}),
    (Filters(not_threads=("nope",)), {0, 1, 3, 4, 6, 7}),
    (Filters(after=20090202), {3, 4}),  # undated passages are left out
    (Filters(before=20090202), {0, 1, 3}),  # the whole day, undated left out
    (Filters(after=20090202, before=20090203), {3}),
    (Filters(after=20090206), set()),
    (Filters(before=20090131), set()),
    (Filters(kind="post", not_threads=("t3",)), {0, 1, 4}),
    (Filters(kind="post", author=author_key("Bob"), after=20090205, before=20090205), {4}),
]


@pytest.mark.parametrize(("filters", "expected"), FILTERED)
def test_filters_narrow_the_matches(snap: Any, filters: Filters, expected: set[int]) -> None:
    m, found = match(snap, ZORG, filters=filters)
    assert sorted(found) == sorted(expected) and m.total == len(expected)


@pytest.mark.parametrize(("filters", "exclude", "order"), [
    (Filters(kind="comment"), None, [2, 3, 5]),
    (Filters(thread="t3"), None, [6, 7]),  # both undated: index order
    (Filters(not_threads=("t2",)), None, [2, 3, 0, 1, 6, 7]),  # 0 and 1: same date
    (Filters(author=author_key("Alice")), None, [0, 1]),
    (Filters(after=20090202), None, [4, 2, 3]),
    (Filters(), None, [4, 2, 3, 0, 1, 5, 6, 7]),
    (Filters(), ZORG, [2, 5]),
    (Filters(kind="comment"), BLIP, [5]),
])
def test_filters_alone_list_newest_first_undated_last_then_index_order(
        snap: Any, filters: Filters, exclude: Plan | None, order: list[int]) -> None:
    m, found = match(snap, None, exclude, filters)
    assert found == order and m.total == len(order)
    assert m.scores == [0.0] * len(order)


# -- the other questions ------------------------------------------------------------------------

def test_statistics_and_terms(snap: Any) -> None:
    assert snap.doc_count() == 8
    assert snap.doc_freqs([ZORG.term, BLIP.term, "absent"]) == {
        ZORG.term: 6, BLIP.term: 5, "absent": 0}
    assert snap.expand_prefix(ZORG.term, 10) == [(ZORG.term, 6), (ZORGLUB.term, 1)]
    assert snap.expand_prefix(ZORG.term, 1) == [(ZORG.term, 6)]
    assert snap.expand_prefix("zzz", 10) == []
    assert snap.near_terms("zorh", 1, 1) == [(ZORG.term, 6, 1)]


def test_what_results_show(snap: Any) -> None:
    m, found = match(snap, FROB)
    records = snap.passages(m.keys)
    by_number = dict(zip(found, (records[k] for k in m.keys), strict=True))
    assert by_number[3] == PassageRecord("t1", "Zorg et blip", "comment", 2, "Chloé",
                                         "2009-02-02T09:00", "zorg frob blip")
    assert by_number[5] == PassageRecord("t2", "Quux", "comment", 1, None, None, "frob")
    m, found = match(snap, QUUX)
    positions = snap.positions(m.keys, [ZORG.term, QUUX.term, "absent"])
    assert {n: positions[k] for n, k in zip(found, m.keys, strict=True)} == {
        1: {ZORG.term: [0, 1], QUUX.term: [2]}, 4: {QUUX.term: [0], ZORG.term: [2]}}
    assert snap.title_terms(["t1", "t2", "nope"]) == {
        "t1": frozenset({ZORG.term, BLIP.term}), "t2": frozenset({QUUX.term})}
    assert snap.sample_texts(ZORG.term, 2) == ["zorg blip", "zorg zorg quux"]
    assert snap.sample_texts("absent", 2) == []


def test_facets(snap: Any) -> None:
    f = snap.facets(ZORG, None, Filters(), 10)
    assert f.kinds == {"post": 5, "comment": 1}
    # by count, then in order of first appearance (Bob's comment comes before Chloé's)
    assert f.authors == [("Alice", 2), ("Bob", 1), ("Chloé", 1)]
    assert snap.facets(ZORG, None, Filters(), 1).authors == [("Alice", 2)]
    f = snap.facets(None, BLIP, Filters(kind="comment"), 10)
    assert (f.kinds, f.authors) == ({"comment": 1}, [])


# -- the same scores in both stores -------------------------------------------------------------

@pytest.mark.postgres
def test_bm25_scores_agree_across_stores(make_index: Any, make_pg_index: Any) -> None:
    from indexer.store.postgres.store import PostgresStore

    stores = [EmbeddedStore(make_index(CORPUS)), PostgresStore(make_pg_index(CORPUS))]
    plans = [p for _, p, expected in PLANS if expected]
    try:
        found: list[list[dict[int, float]]] = []
        for s in stores:
            with s.snapshot(Deadline(GENEROUS_SECONDS)) as snap:
                found.append([])
                for plan in plans:
                    m, numbers_ = match(snap, plan)
                    found[-1].append(dict(zip(numbers_, m.scores, strict=True)))
        embedded_scores, pg_scores = found
        assert len(embedded_scores) == len(plans) > 10
        for plan, a, b in zip(plans, embedded_scores, pg_scores, strict=True):
            assert a.keys() == b.keys() and a, plan
            for n in a:
                assert a[n] == pytest.approx(b[n], rel=1e-5), (plan, n)
    finally:
        for s in stores:
            s.close()
