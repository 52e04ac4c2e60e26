"""The search, written once: parse, plan, match, fall back, re-rank, page, show, suggest.

Every store answers the same few questions (:mod:`indexer.search.store`); the rules
live here: an empty query finds nothing; the words are ANDed, and when no passage holds
them all, passages holding any of them are ranked instead (``matched = "any"``);
filters alone list the newest passages first; the best RERANK_DEPTH candidates are
re-ranked with thread and proximity evidence (:mod:`indexer.search.ranking`); the
page's snippets mark the words as written (:mod:`indexer.search.snippets`); rare or
unknown words get a "did you mean"; one deadline bounds the whole search.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from ..errors import QueryError
from .deadline import Deadline, DeadlineExceeded
from .plan import Filters, Or, Plan, all_of, any_of, compile_node
from .query import (
    MAX_PREFIX_EXPANSION,
    ParsedQuery,
    TermNode,
    choose_expansions,
    parse_query,
)
from .ranking import RERANK_DEPTH, Candidate, idf, rerank
from .results import Hit, Notice, SearchResults
from .snippets import snippet
from .store import Matches, SearchStore, Snapshot
from .suggest import suggest

SEARCH_TIME_LIMIT = 2.0  # seconds: a search that runs longer returns what it has found
PROXIMITY_DEPTH = 10  # best candidates whose word positions feed the proximity feature
FACET_LIMIT = 15  # authors listed in the facet
MAX_PER_PAGE = 100
MAX_PAGE = 100


def check_paging(page: object, per_page: object) -> tuple[int, int]:
    """Validate page and per_page (whole numbers, 1..MAX_PAGE and 1..MAX_PER_PAGE)."""
    out = []
    for name, value, top in (("page", page, MAX_PAGE), ("per_page", per_page, MAX_PER_PAGE)):
        try:
            n = int(str(value).strip())
        except ValueError:
            raise QueryError("not_integer", name=name, value=str(value)[:20]) from None
        if not 1 <= n <= top:
            raise QueryError("out_of_range", name=name, limit=top)
        out.append(n)
    return out[0], out[1]


def search(store: SearchStore, query: str, page: int = 1, per_page: int = 10,
           facets: bool = False, time_limit: float | None = None) -> SearchResults:
    """Run a query on a store and return one page of ranked hits (see the module docstring).

    Raises QueryError for a query or paging that cannot run, IndexMissingError when the
    store holds no index. Past ``time_limit`` seconds (default SEARCH_TIME_LIMIT), what was
    found so far comes back with a ``timed_out`` notice and ``total_exact`` False.
    """
    started = time.perf_counter()
    page, per_page = check_paging(page, per_page)
    parsed = parse_query(query)
    deadline = Deadline(SEARCH_TIME_LIMIT if time_limit is None else time_limit)
    res = SearchResults(query=parsed.text, total=0, page=page, per_page=per_page,
                        notices=list(parsed.notices), terms=parsed.positive_terms())
    try:
        with store.snapshot(deadline) as snap:
            if not parsed.must and not parsed.has_filters:
                res.matched = "none"
            else:
                _Search(snap, parsed, res, deadline).run(facets)
    except DeadlineExceeded:
        _timed_out(res)
    res.elapsed_ms = (time.perf_counter() - started) * 1000
    return res


def _timed_out(res: SearchResults) -> None:
    """Say (once) that the time limit cut the search short."""
    if not any(n.code == "timed_out" for n in res.notices):
        res.notices.append(Notice("timed_out"))
    res.total_exact = False


class _Search:
    """One search over one snapshot."""

    def __init__(self, snap: Snapshot, parsed: ParsedQuery, res: SearchResults,
                 deadline: Deadline) -> None:
        self.snap = snap
        self.parsed = parsed
        self.res = res
        self.deadline = deadline

    def run(self, facets: bool) -> None:
        snap, parsed, res = self.snap, self.parsed, self.res
        expansions, expanded = self._expansions()
        required = [compile_node(n, expansions) for n in parsed.must]
        exclude = any_of([compile_node(n, expansions) for n in parsed.must_not])
        filters = Filters.of(parsed)
        depth = max(RERANK_DEPTH, res.page * res.per_page)
        plan: Plan | None = all_of(required)
        m = snap.match(plan, exclude, filters, depth, self.deadline)
        if not m.total and len(required) > 1:  # any-word fallback: the union of the clauses
            plan = Or(tuple(required))
            m = snap.match(plan, exclude, filters, depth, self.deadline)
            res.matched = "any" if m.total else "none"
        if not m.total:
            res.matched = "none"
        res.total, res.total_exact = m.total, m.exact
        if m.timed_out:
            _timed_out(res)
        terms = res.terms
        res.terms = list(dict.fromkeys(terms + expanded))
        df = snap.doc_freqs(terms)
        cands = self._candidates(m, terms, df, rerank_head=plan is not None)
        self._hits(cands[(res.page - 1) * res.per_page: res.page * res.per_page])
        if not self.deadline.expired() and (
                res.total < 3 or any(df.get(t, 0) == 0 for t in terms)):
            res.suggestion = suggest(snap, parsed, self.deadline)
        if facets and res.total:
            found = snap.facets(plan, exclude, filters, FACET_LIMIT)
            res.kinds, res.authors = found.kinds, found.authors

    def _expansions(self) -> tuple[dict[str, list[str]], list[str]]:
        """Each prefix's chosen terms, and every term the required prefixes expanded to."""
        expansions: dict[str, list[str]] = {}
        expanded: list[str] = []
        for nodes, required in ((self.parsed.must, True), (self.parsed.must_not, False)):
            for node in _prefix_nodes(nodes):
                assert node.prefix is not None
                if node.prefix not in expansions:
                    scanned = self.snap.expand_prefix(node.prefix,
                                                       MAX_PREFIX_EXPANSION + 1)
                    expansions[node.prefix] = choose_expansions(node, scanned,
                                                                self.res.notices)
                if required:
                    expanded.extend(dict.fromkeys([*expansions[node.prefix], *node.terms]))
        return expansions, expanded

    def _candidates(self, m: Matches, terms: list[str], df: dict[str, int],
                    rerank_head: bool) -> list[Candidate]:
        """The matches as candidates, the best RERANK_DEPTH re-ranked (not for filters alone)."""
        cands = [Candidate(k, tid, frozenset(), s)
                 for k, s, tid in zip(m.keys, m.scores, m.threads, strict=True)]
        head, tail = cands[:RERANK_DEPTH], cands[RERANK_DEPTH:]
        if rerank_head and head:
            titles = self.snap.title_terms(list(dict.fromkeys(c.thread_id for c in head)))
            for c in head:
                c.title_terms = titles.get(c.thread_id, frozenset())
            wanted = list(dict.fromkeys(terms))
            if len(wanted) > 1:
                near = head[:PROXIMITY_DEPTH]
                found = self.snap.positions([c.key for c in near], wanted)
                for c in near:
                    c.positions = found.get(c.key, {})
            n = self.snap.doc_count()
            rerank(head, terms, {t: idf(n, df.get(t, 0)) for t in terms}, m.thread_mass)
        return head + tail

    def _hits(self, page: Sequence[Candidate]) -> None:
        """The page's hits: what each passage shows, with its snippet."""
        records = self.snap.passages([c.key for c in page])
        marked = set(self.res.terms)
        for c in page:
            r = records[c.key]
            html, para = snippet(r.text, marked)
            self.res.hits.append(Hit(
                thread_id=r.thread_id, thread_title=r.thread_title, kind=r.kind,
                position=r.position, author=r.author, date=r.date, snippet=html,
                score=round(c.final, 4), paragraph=para))


def _prefix_nodes(nodes: Sequence[object]) -> list[TermNode]:
    """The prefix words (``entrep*``) under some parsed nodes, in query order."""
    out: list[TermNode] = []
    for node in nodes:
        if isinstance(node, TermNode):
            if node.prefix is not None:
                out.append(node)
        else:
            out.extend(_prefix_nodes(getattr(node, "children", [])))
            out.extend(_prefix_nodes(getattr(node, "negated", [])))
    return out
