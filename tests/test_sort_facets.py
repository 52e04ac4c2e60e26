"""Sorting by date and facet choices (``sort="date"``, ``facet_counts``).

The search page offers « Trier par : pertinence | date » and filter choices that keep
every value of a facet when one is chosen. Both come from the pipeline (one search: the
store's matches asked newest first, facets counted with each facet's own filter
dropped), tested here on the embedded store; the two store questions they rest on
(``match(..., newest=True)`` and the months of ``facets``) are checked on both stores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from helpers import GENEROUS_SECONDS, SEED_FILE, SEED_ID, embedded
from ui_corpus import UI_THREADS

from indexer.analysis import analyzer
from indexer.errors import QueryError
from indexer.ingest.model import date_key
from indexer.search.deadline import Deadline
from indexer.search.plan import And, Filters, Term
from indexer.search.results import SearchResults
from indexer.service import Service

SOURCES = [SEED_FILE, *UI_THREADS]


@pytest.fixture(scope="module")
def service(make_index: Callable[..., Any]) -> Iterator[Service]:
    """The seed and the UI threads in the embedded store."""
    svc = embedded(make_index(SOURCES))
    yield svc
    svc.close()


def newest_first(keys: list[int]) -> bool:
    """True when date keys run newest first with the undated (0) last."""
    return keys == sorted(keys, key=lambda k: (k == 0, -k))


def passage_dates(res: SearchResults) -> list[int]:
    """Date keys of a page's passages, in page order (0: undated)."""
    return [date_key(h.date) for h in res.hits]


def test_date_sort_orders_passages_newest_first_undated_last(service: Service) -> None:
    by_date = service.search("haut debit", per_page=100, sort="date")
    keys = passage_dates(by_date)
    assert newest_first(keys)
    assert keys[0] == date_key("2010-07-15T18:00") and keys[-1] == 0
    by_relevance = service.search("haut debit", per_page=100)
    assert by_date.total == by_relevance.total and by_date.sort == "date"
    assert sorted((h.thread_id, h.kind, h.position) for h in by_date.hits) == sorted(
        (h.thread_id, h.kind, h.position) for h in by_relevance.hits)  # the same matches


def test_date_sort_orders_threads_by_their_newest_match(service: Service) -> None:
    res = service.search("haut debit", group="thread", sort="date")
    assert [g.thread_id for g in res.groups] == [
        "forum-2010-07", "fibre-2010", "forum-2009-11", SEED_ID]
    seed = res.groups[-1]
    assert [(h.kind, h.position) for h in seed.hits][:2] == [("comment", 13), ("comment", 1)]
    assert seed.hits[2].kind == "post"  # dated passages first, newest first
    assert seed.more == 5 - len(seed.hits)
    relevance = service.search("haut debit", group="thread")
    assert (res.total, res.total_passages) == (relevance.total, relevance.total_passages)


def test_date_sort_keeps_the_any_word_fallback(service: Service) -> None:
    res = service.search("campagne xyzzyq", sort="date", per_page=100)
    assert res.matched in ("any", "all") and res.total
    assert newest_first(passage_dates(res))


def test_unknown_sort_is_refused(service: Service) -> None:
    with pytest.raises(QueryError) as info:
        service.search("debit", sort="random")
    assert info.value.code == "bad_sort"


def test_facet_counts_drop_each_facets_own_filter(service: Service) -> None:
    res = service.search("haut debit type:commentaire", facets=True, group="thread")
    assert res.kinds == {"comment": 3}  # the matches, as before
    assert res.facet_counts is not None
    assert res.facet_counts.kinds == {"post": 6, "comment": 3}  # both choices kept
    by_author = service.search("haut debit auteur:luc", facets=True)
    assert by_author.authors == [("Luc", 2)]
    assert by_author.facet_counts is not None
    names = dict(by_author.facet_counts.authors)
    assert names == {"Luc": 2, "Christophe Humbert": 1, "philrig": 1, "Jean Michel": 1,
                     "Anne Marie": 1}


def test_facet_counts_by_month_and_undated(service: Service) -> None:
    res = service.search("haut debit", facets=True)
    assert res.facet_counts is not None
    assert res.facet_counts.months == {"2009-02": 2, "2009-11": 1, "2010-03": 2,
                                       "2010-07": 1}
    assert res.facet_counts.undated == 3  # the seed's post paragraphs
    dated = service.search("haut debit après:2010 avant:2010", facets=True)
    assert dated.total_passages == 3
    assert dated.facet_counts is not None  # the date filter dropped: every month
    assert dated.facet_counts.months == res.facet_counts.months
    assert dated.facet_counts.undated == 3


def test_facet_counts_when_a_filter_leaves_nothing(service: Service) -> None:
    """What the empty page needs: the matches a date filter dropped, undated ones apart."""
    res = service.search("lippi après:2011", facets=True)
    assert res.total == 0 and res.facet_counts is not None
    assert (res.facet_counts.months, res.facet_counts.undated) == ({"2009-02": 1}, 9)
    assert res.kinds == {} and res.authors == []  # the old fields: over the matches


def test_facets_without_filters_ask_one_question(service: Service) -> None:
    res = service.search("haut debit", facets=True)
    assert res.facet_counts is not None
    assert res.facet_counts.kinds == res.kinds and res.facet_counts.authors == res.authors


# -- the store questions, on each store -------------------------------------------------------

@pytest.fixture(scope="module", params=["whoosh", pytest.param("postgres",
                                                               marks=pytest.mark.postgres)])
def snap(request: pytest.FixtureRequest, make_index: Any) -> Iterator[Any]:
    """A snapshot of the seed and the UI threads, in each store in turn."""
    if request.param == "whoosh":
        from indexer.store.whoosh.store import EmbeddedStore

        store: Any = EmbeddedStore(make_index(SOURCES))
    else:
        from indexer.store.postgres.store import PostgresStore

        store = PostgresStore(request.getfixturevalue("make_pg_index")(SOURCES))
    with store.snapshot(Deadline(GENEROUS_SECONDS)) as s:
        yield s
    store.close()


def plan(words: str) -> And:
    """Every word's term required."""
    return And(tuple(Term(t) for t in analyzer().terms(words)))


def test_store_match_newest_first(snap: Any) -> None:
    m = snap.match(plan("haut debit"), None, Filters(), 100, Deadline(GENEROUS_SECONDS),
                   newest=True)
    records = snap.passages(m.keys)
    places = [(records[k].thread_id, records[k].kind, records[k].position) for k in m.keys]
    dates = [date_key(records[k].date) for k in m.keys]
    assert m.total == len(places) == 9 and newest_first(dates)
    assert places[:3] == [("forum-2010-07", "post", 1), ("fibre-2010", "comment", 1),
                          ("fibre-2010", "post", 1)]
    assert places[-3:] == [(SEED_ID, "post", 2), (SEED_ID, "post", 14),
                           (SEED_ID, "post", 15)]  # undated: in index order
    assert all(s > 0 for s in m.scores)  # still scored
    best = snap.match(plan("haut debit"), None, Filters(), 100, Deadline(GENEROUS_SECONDS))
    assert sorted(map(str, best.keys)) == sorted(map(str, m.keys))


def test_store_facets_by_month(snap: Any) -> None:
    found = snap.facets(plan("haut debit"), None, Filters(), 15)
    assert found.months == {"2009-02": 2, "2009-11": 1, "2010-03": 2, "2010-07": 1}
    assert found.undated == 3
    comments = snap.facets(plan("haut debit"), None, Filters(kind="comment"), 15)
    assert (comments.months, comments.undated) == ({"2009-02": 2, "2010-03": 1}, 0)


# -- the JSON API: new keys only ----------------------------------------------------------------

def test_api_sort_and_facet_counts_are_new_keys(make_app: Any, make_index: Any) -> None:
    client = make_app(make_index(SOURCES)).test_client()
    old = client.get("/api/search", query_string={"q": "haut debit", "facets": 1}).get_json()
    assert {"query", "total", "page", "per_page", "suggestion", "results", "matched",
            "authors", "kinds"} <= set(old)
    assert old["sort"] == "relevance" and old["kinds"] == {"post": 6, "comment": 3}
    new = client.get("/api/search", query_string={
        "q": "haut debit type:commentaire", "facets": 1, "sort": "date", "group": "thread",
    }).get_json()
    assert new["sort"] == "date" and new["kinds"] == {"comment": 3}  # as before: the matches
    assert new["facet_counts"] == {
        "kinds": {"post": 6, "comment": 3},
        "authors": [{"name": "Christophe Humbert", "count": 1}, {"name": "philrig", "count": 1},
                    {"name": "Anne Marie", "count": 1}],
        "months": {"2009-02": 2, "2010-03": 1}, "undated": 0}
    assert [r["thread_id"] for r in new["results"]] == ["fibre-2010", SEED_ID]
    bad = client.get("/api/search", query_string={"q": "debit", "sort": "hasard"})
    assert bad.status_code == 400 and "tri" in bad.get_json()["error"]
