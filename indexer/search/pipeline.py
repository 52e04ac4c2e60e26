"""The search, written once: parse, plan, match, fall back, re-rank, page, show, suggest.

Every store answers the same few questions (:mod:`indexer.search.store`); the rules
live here: an empty query finds nothing; the words are ANDed, and when no passage holds
them all, passages holding any of them are ranked instead (``matched = "any"``);
filters alone list the newest passages first; the best candidates are re-ranked
thread-first (:mod:`indexer.search.ranking`); the
page's snippets mark the words as written (:mod:`indexer.search.snippets`); rare or
unknown words get a "did you mean"; one deadline bounds the whole search.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

from ..analysis import analyzer
from ..errors import QueryError
from ..ingest.folding import fold
from .deadline import Deadline, DeadlineExceeded
from .plan import Coord, Filters, Or, Plan, all_of, any_of, compile_node, plan_terms
from .query import (
    INTERROGATIVES,
    MAX_PREFIX_EXPANSION,
    Marks,
    ParsedQuery,
    TermNode,
    choose_expansions,
    is_capitalised,
    parse_query,
    query_words,
    surface_word,
)
from .ranking import (
    DEFAULT,
    Candidate,
    RankingConfig,
    idf,
    inherited_score,
    rerank,
    thread_weights,
)
from .results import FacetCounts, Hit, Notice, SearchResults, ThreadGroup
from .snippets import snippet
from .store import Facets, Matches, SearchStore, Snapshot
from .suggest import Speller, suggest

SEARCH_TIME_LIMIT = 2.0  # seconds: a search that runs longer returns what it has found
FACET_LIMIT = 15  # authors listed in the facet
GROUPS = ("passage", "thread")
SORTS = ("relevance", "date")
PER_THREAD_SHOWN = 3  # passages a thread shows when results are grouped by thread
MAX_GROUP_DEPTH = 30_000  # passages read to fill the last page of threads
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
           facets: bool = False, time_limit: float | None = None,
           config: RankingConfig = DEFAULT, group: str = "passage",
           sort: str = "relevance") -> SearchResults:
    """Run a query on a store and return one page of results (see the module docstring).

    ``group="thread"`` pages over threads (each with its best passages) instead of
    passages. ``sort="date"`` orders the same matches newest first (undated last, no
    re-ranking): passages by date, threads by their newest matching passage. With
    ``facets``, ``facet_counts`` counts each facet with the query's own filter on it
    dropped (see :class:`FacetCounts`). Raises QueryError for a query or paging that
    cannot run, IndexMissingError when the store holds no index. Past ``time_limit``
    seconds (default SEARCH_TIME_LIMIT), what was found so far comes back with a
    ``timed_out`` notice and ``total_exact`` False.
    """
    started = time.perf_counter()
    page, per_page = check_paging(page, per_page)
    if group not in GROUPS:
        raise QueryError("bad_group", name="group", value=str(group)[:20])
    if sort not in SORTS:
        raise QueryError("bad_sort", name="sort", value=str(sort)[:20])
    parsed = parse_query(query)
    deadline = Deadline(SEARCH_TIME_LIMIT if time_limit is None else time_limit)
    res = SearchResults(query=parsed.text, total=0, page=page, per_page=per_page,
                        notices=list(parsed.notices), terms=parsed.positive_terms(),
                        group=group, sort=sort)
    try:
        with store.snapshot(deadline) as snap:
            if not parsed.must and not parsed.has_filters:
                res.matched = "none"
            else:
                _Search(snap, parsed, res, deadline, config).run(facets)
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
                 deadline: Deadline, config: RankingConfig) -> None:
        self.snap = snap
        self.parsed = parsed
        self.res = res
        self.deadline = deadline
        self.config = config
        self.rescued: dict[str, tuple[str, str]] = {}  # raw word -> (term, as written)
        self.speller = Speller(snap)
        self._n: int | None = None
        self._proper: set[str] = set()  # terms of capitalised words (names, acronyms)
        self._any: Plan | None = None  # the any-word plan, and its clauses' idf, weights
        self._any_parts: tuple[list[float], list[float], float] | None = None  # and power

    def doc_count(self) -> int:
        """The store's passage count (asked once)."""
        if self._n is None:
            self._n = self.snap.doc_count()
        return self._n

    def run(self, facets: bool) -> None:
        snap, parsed, res, config = self.snap, self.parsed, self.res, self.config
        if not config.questions and parsed.dropped:  # ablation: search them after all
            parsed.must = [*parsed.dropped, *parsed.must]
            parsed.dropped = []
        question = config.questions and parsed.question
        if config.rescue:
            self._rescue(question)
        res.terms = parsed.positive_terms()
        expansions, expanded = self._expansions()
        required = [compile_node(n, expansions) for n in parsed.must]
        exclude = any_of([compile_node(n, expansions) for n in parsed.must_not])
        filters = Filters.of(parsed)
        wanted = res.page * res.per_page
        depth = max(config.depth, wanted * (PER_THREAD_SHOWN if res.group == "thread" else 1))
        any_word = self._any_word(required)
        plan: Plan | None
        if question and len(required) > 1:  # questions: ranked any-word, no AND first
            plan = any_word
            res.matched = "question"
            m = self._match(plan, exclude, filters, depth)
        else:
            plan = all_of(required)
            m = self._match(plan, exclude, filters, depth)
            if not m.total and len(required) > 1:  # any-word fallback
                plan = any_word
                m = self._match(plan, exclude, filters, depth)
                res.matched = "any" if m.total else "none"
        if not m.total:
            res.matched = "none"
        res.total, res.total_exact = m.total, m.exact
        res.total_passages = m.total
        if m.timed_out:
            _timed_out(res)
        terms = res.terms
        res.terms = list(dict.fromkeys(terms + expanded))
        df = snap.doc_freqs(terms)
        cands = self._ordered(m, plan, exclude, filters, terms, df)
        if res.group == "thread":
            while (len({c.thread_id for c in cands}) < wanted and len(m.keys) < m.total
                   and depth < MAX_GROUP_DEPTH and not self.deadline.expired()):
                depth = min(MAX_GROUP_DEPTH, depth * 4)  # a deep page: read further
                m = self._match(plan, exclude, filters, depth)
                cands = self._ordered(m, plan, exclude, filters, terms, df)
            self._groups(cands, m, plan, exclude, filters)
        else:
            self._hits(cands[(res.page - 1) * res.per_page: res.page * res.per_page])
        if not self.deadline.expired() and (
                not res.total or self.rescued or any(df.get(t, 0) == 0 for t in terms)):
            res.suggestion = suggest(self.speller, parsed, self.deadline, self.rescued)
        if facets and (res.total or filters):
            found = snap.facets(plan, exclude, filters, FACET_LIMIT)
            if res.total:
                res.kinds, res.authors = found.kinds, found.authors
            res.facet_counts = self._facet_counts(plan, exclude, filters, found)

    def _match(self, plan: Plan | None, exclude: Plan | None, filters: Filters,
               depth: int) -> Matches:
        """The store's matches, newest first when sorting by date."""
        if self.res.sort == "date":
            return self.snap.match(plan, exclude, filters, depth, self.deadline, newest=True)
        return self.snap.match(plan, exclude, filters, depth, self.deadline)

    def _facet_counts(self, plan: Plan | None, exclude: Plan | None, filters: Filters,
                      found: Facets) -> FacetCounts:
        """Each facet over the matches with the query's own filter on it dropped."""

        def dropped(other: Filters) -> Facets:
            return found if other == filters else self.snap.facets(plan, exclude, other,
                                                                    FACET_LIMIT)

        dated = dropped(replace(filters, after=None, before=None))
        return FacetCounts(dropped(replace(filters, kind=None)).kinds,
                           dropped(replace(filters, author=None)).authors,
                           dated.months, dated.undated)

    def _ordered(self, m: Matches, plan: Plan | None, exclude: Plan | None,
                 filters: Filters, terms: list[str], df: dict[str, int]) -> list[Candidate]:
        """The matches in the order results show them."""
        if plan is None:  # filters alone: newest first, as the store orders them
            return [Candidate(k, tid, 0.0) for k, tid in zip(m.keys, m.threads, strict=True)]
        if self.res.sort == "date":  # newest first, as the store orders them
            top = max(m.scores, default=1.0) or 1.0
            return [Candidate(k, tid, s, final=s / top)
                    for k, s, tid in zip(m.keys, m.scores, m.threads, strict=True)]
        return self._ranked(m, plan, exclude, filters, terms, df)

    def _groups(self, cands: list[Candidate], m: Matches, plan: Plan | None,
                exclude: Plan | None, filters: Filters) -> None:
        """The page's threads, each with its best passages, and the thread totals."""
        res = self.res
        by_thread: dict[str, list[Candidate]] = {}
        for c in cands:
            by_thread.setdefault(c.thread_id, []).append(c)
        if m.total_threads is not None:
            res.total = m.total_threads
        else:  # the store did not count: what was read is a lower bound
            res.total = len(by_thread)
            res.total_exact = res.total_exact and len(m.keys) >= m.total
        res.total_threads = res.total
        page = list(by_thread.items())[(res.page - 1) * res.per_page: res.page * res.per_page]
        if not page:
            return
        counts = self.snap.thread_match_counts(plan, exclude, filters, [t for t, _ in page])
        shown = [c for _, cs in page for c in cs[:PER_THREAD_SHOWN]]
        hits = dict(zip((c.key for c in shown), self._make_hits(shown), strict=True))
        for tid, cs in page:
            group_hits = [hits[c.key] for c in cs[:PER_THREAD_SHOWN]]
            res.groups.append(ThreadGroup(
                tid, group_hits[0].thread_title, group_hits[0].score, group_hits,
                max(0, counts.get(tid, len(cs)) - len(group_hits))))

    def _any_word(self, required: list[Plan]) -> Plan:
        """The clauses ORed, each passage scored by coordination (the share it holds)."""
        if len(required) == 1:
            return required[0]
        n = self.doc_count()
        terms = [plan_terms(c) for c in required]
        df = self.snap.doc_freqs([t for ts in terms for t in ts])
        idfs = [sum(idf(n, df[t]) for t in ts) / len(ts) if ts else 0.0 for ts in terms]
        config = self.config
        if config.proper_boost != 1.0 and len(self.parsed.must) == len(required):
            text = self.parsed.text
            boost = [config.proper_boost if isinstance(node, TermNode)
                     and is_capitalised(node.raw, text) else 1.0 for node in self.parsed.must]
            idfs = [w * b for w, b in zip(idfs, boost, strict=True)]
            self._proper = {t for ts, b in zip(terms, boost, strict=True) if b != 1.0
                            for t in ts}
        plan: Plan
        if not config.coordination:
            plan = Or(tuple(required))
            self._any_parts = (idfs, idfs, 0.0)
        else:
            weights = tuple(w ** config.coord_idf_power for w in idfs)
            plan = Coord(tuple(required), weights, config.coord_power)
            self._any_parts = (idfs, list(weights), config.coord_power)
        self._any = plan
        return plan

    def _rescue(self, question: bool) -> None:
        """Search a word no passage holds as its closest indexed term, and say so.

        A verb in ``-ent`` (3rd person plural, which Snowball leaves whole) is first read
        as its ``-e`` form (``abandonnent`` -> ``abandonne``); else the closest frequent
        term (the suggestion's rule). A question's word rescued into an interrogative
        (``Qaund`` -> ``quand``) is dropped like the other interrogatives.
        """
        parsed, snap = self.parsed, self.snap
        plain = [n for n in parsed.must if isinstance(n, TermNode) and n.prefix is None
                 and not n.compound and len(n.terms) == 1]
        if not plain:
            return
        speller = self.speller
        speller.know(snap.doc_freqs([n.terms[0] for n in plain]))
        ana = analyzer()
        interrogatives = {t for w in INTERROGATIVES for t in ana.terms(w)}
        drop: list[TermNode] = []
        for node in plain:
            if speller.df(node.terms[0]) or self.deadline.expired():
                continue
            word, new = surface_word(node.raw), None
            if word.endswith("ent") and len(word) > 5:
                alt = ana.terms(word[:-2])
                if len(alt) == 1 and speller.df(alt[0]):
                    new = alt[0]
            if new is None:
                new = speller.closest(node.terms[0], 0)
            if new is None:
                continue
            if question and new in interrogatives:
                drop.append(node)
                continue
            node.terms = [new]
            shown = speller.surface(new) or new
            self.rescued[node.raw] = (new, shown)
            self.res.notices.append(Notice("rescued", node.raw, other=shown))
        if drop and len(drop) < len(parsed.must):
            parsed.must = [n for n in parsed.must if all(n is not d for d in drop)]
            parsed.dropped.extend(drop)

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

    def _ranked(self, m: Matches, plan: Plan, exclude: Plan | None, filters: Filters,
                terms: list[str], df: dict[str, int]) -> list[Candidate]:
        """The matches thread-first: a re-ranked head (the best passages, and the best
        passages of the best threads), then the other matches by passage score."""
        snap, config = self.snap, self.config
        cands = [Candidate(k, tid, s) for k, s, tid in zip(m.keys, m.scores, m.threads,
                                                            strict=True)]
        head, tail = cands[:config.depth], cands[config.depth:]
        max_thread = 0.0
        unique = list(dict.fromkeys(terms))
        if config.thread and head and unique:
            n_threads, tdf = snap.thread_stats(unique)
            tw = thread_weights(tdf, n_threads, config)
            for t in self._proper & tw.keys():
                tw[t] *= config.proper_boost ** config.thread_idf_power
            ts = snap.thread_scores(tw, config.thread_k1,
                                    config.thread_b, config.thread_coord_power,
                                    config.thread_depth,
                                    list(dict.fromkeys(c.thread_id for c in head)))
            max_thread = ts.max
            if ts.best and config.per_thread:
                extra = snap.best_in_threads(plan, exclude, filters, [t for t, _ in ts.best],
                                             config.per_thread, self.deadline)
                have = {c.key for c in head}
                added = [Candidate(k, tid, s) for k, s, tid
                         in zip(extra.keys, extra.scores, extra.threads, strict=True)
                         if k not in have]
                added.sort(key=lambda c: -c.score)
                head += added
                moved = {c.key for c in added}
                tail = [c for c in tail if c.key not in moved]
            for c in head:
                c.thread_score = ts.scores.get(c.thread_id, 0.0)
        if (config.titles or config.title_inherit) and head:
            titles = snap.title_terms(list(dict.fromkeys(c.thread_id for c in head)))
            for c in head:
                c.title_terms = titles.get(c.thread_id, frozenset())
        inherit = (config.title_inherit and head
                   and plan is self._any and self._any_parts is not None)
        if (config.proximity and len(unique) > 1 or inherit) and head:
            found = snap.positions([c.key for c in head], unique)
            for c in head:
                c.positions = found.get(c.key, {})
        if inherit:
            assert isinstance(plan, Or | Coord) and self._any_parts is not None
            idfs, weights, power = self._any_parts
            known = set(unique)
            for c in head:
                c.score = inherited_score(c, plan.children, idfs, weights, power, known,
                                          config.inherit_weight)
        n = self.doc_count()
        rerank(head, terms, {t: idf(n, df.get(t, 0)) for t in terms}, max_thread, config)
        top = max((c.score for c in head), default=1.0) or 1.0
        for c in tail:  # deeper pages: the passage score, on the head's scale
            c.final = c.score / top
        return head + tail

    def _hits(self, page: Sequence[Candidate]) -> None:
        """The page's hits: what each passage shows, with its snippet."""
        self.res.hits.extend(self._make_hits(page))

    def _make_hits(self, cands: Sequence[Candidate]) -> list[Hit]:
        """What each passage shows, with its snippet."""
        records = self.snap.passages([c.key for c in cands])
        marked = set(self.res.terms)
        rescued = {fold(shown).replace("-", "") for _, shown in self.rescued.values()}
        words = Marks(words=query_words(self.parsed) | rescued)  # a rescued word is exact
        out = []
        for c in cands:
            r = records[c.key]
            html, para = snippet(r.text, marked, exact=words.exact)
            out.append(Hit(
                thread_id=r.thread_id, thread_title=r.thread_title, kind=r.kind,
                position=r.position, author=r.author, date=r.date, snippet=html,
                score=round(c.final, 4), paragraph=para))
        return out


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
