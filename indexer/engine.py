"""The embedded backend: search a Whoosh index built by :mod:`indexer.index`.

One searcher per thread and per index generation, opened once and reused; each call
checks (one ``stat``) whether a rebuild swapped the index, and reopens if so.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path

from whoosh import query as wq
from whoosh.collectors import TimeLimitCollector
from whoosh.scoring import BM25F
from whoosh.searching import Searcher, TimeLimit

from .analysis import analyzer
from .backend import check_paging
from .errors import IndexMissingError, QueryError
from .index import (
    CURRENT,
    author_key,
    build_index,
    current_generation,
    index_stats,
    open_generation,
)
from .index import thread_from_json as thread_from_store
from .model import BuildReport, Hit, IndexStats, SearchResults, Thread
from .query import AndNode, Node, OrNode, ParsedQuery, PhraseNode, TermNode, parse_query
from .ranking import RERANK_DEPTH, Candidate, rerank
from .snippets import snippet

SEARCH_TIME_LIMIT = 2.0  # seconds: a query that runs longer returns what it has found
MAX_PREFIX_EXPANSION = 50  # terms a prefix may expand to (the most frequent ones)
PREFIX_SCAN_LIMIT = 5000  # index terms looked at while expanding one prefix
FACET_LIMIT = 15
BM25_B, BM25_K1 = 0.4, 0.9


@lru_cache(maxsize=50_000)
def title_terms(title: str) -> frozenset[str]:
    """Analysed terms of a thread title (cached: titles repeat across passages)."""
    return frozenset(analyzer().terms(title))


class _Generation:
    """Searchers on one index generation, for one thread."""

    def __init__(self, index_dir: Path) -> None:
        self.path, pix, tix = open_generation(index_dir)
        self.passages: Searcher = pix.searcher(weighting=BM25F(B=BM25_B, K1=BM25_K1))
        self.threads: Searcher = tix.searcher()

    def close(self) -> None:
        self.passages.close()
        self.threads.close()


class WhooshBackend:
    """Search core over the embedded index (thread-safe: one searcher set per thread)."""

    name = "whoosh"

    def __init__(self, index_dir: str | os.PathLike[str], procs: int = 1) -> None:
        self.index_dir = Path(index_dir)
        self.procs = procs
        self._local = threading.local()
        self._pointer: tuple[int, int] | None = None
        self._lock = threading.Lock()

    # -- index lifecycle -------------------------------------------------------------
    def rebuild(self, threads: Iterable[Thread],
                progress: Callable[[int], None] | None = None) -> BuildReport:
        """Build a new generation and swap it in (see :func:`indexer.index.build_index`)."""
        return build_index(threads, self.index_dir, procs=self.procs, progress=progress)

    def stats(self) -> IndexStats:
        """Counts and size of the current generation."""
        return index_stats(self.index_dir)

    def close(self) -> None:
        """Close this thread's searchers."""
        gen = getattr(self._local, "gen", None)
        if gen is not None:
            gen.close()
            self._local.gen = None

    def _generation(self) -> _Generation:
        """This thread's searchers, reopened when CURRENT points at a new generation."""
        gen: _Generation | None = getattr(self._local, "gen", None)
        try:
            st = os.stat(self.index_dir / CURRENT)
            pointer = (st.st_ino, st.st_mtime_ns)
        except OSError:
            pointer = None
        if gen is not None and pointer == getattr(self._local, "pointer", None):
            return gen
        current = current_generation(self.index_dir)
        if current is None:
            raise IndexMissingError(
                f"no index at {self.index_dir}: build it with `python -m indexer rebuild`")
        if gen is None or gen.path != current:
            fresh = _Generation(self.index_dir)
            if gen is not None:
                gen.close()
            gen = self._local.gen = fresh
        self._local.pointer = pointer
        return gen

    # -- threads ---------------------------------------------------------------------
    def get_thread(self, thread_id: str) -> Thread | None:
        """The whole thread with this id, or None (ids are looked up, never used as paths)."""
        if not isinstance(thread_id, str) or not thread_id or len(thread_id) > 500:
            return None
        fields = self._generation().threads.document(thread_id=thread_id)
        return thread_from_store(fields["data"]) if fields else None

    # -- search ----------------------------------------------------------------------
    def search(self, query: str, page: int = 1, per_page: int = 10,
               facets: bool = False) -> SearchResults:
        """Run a query: AND of the words, else (nothing found) ranked any-word matching."""
        started = time.perf_counter()
        page, per_page = check_paging(page, per_page)
        parsed = parse_query(query)
        gen = self._generation()
        s = gen.passages
        res = SearchResults(query=parsed.text, total=0, page=page, per_page=per_page,
                            notices=list(parsed.notices), terms=parsed.positive_terms())
        if not parsed.must and not parsed.has_filters:
            res.matched = "none"
            res.elapsed_ms = (time.perf_counter() - started) * 1000
            return res
        compiler = _Compiler(s, res.notices)
        filters = compiler.filters(parsed)
        exclude = [compiler.node(n) for n in parsed.must_not]
        required = [compiler.node(n) for n in parsed.must]
        depth = max(RERANK_DEPTH, page * per_page)
        hits, total = self._run(s, required, exclude, filters, depth, res)
        if total == 0 and len(parsed.must) > 1:
            flat = _flatten_any(required)
            hits, total = self._run(s, [wq.Or(flat)], exclude, filters, depth, res)
            res.matched = "any" if total else "none"
        elif total == 0:
            res.matched = "none"
        res.total = total
        terms = res.terms
        cands = self._candidates(s, hits, terms)
        head, tail = cands[:RERANK_DEPTH], cands[RERANK_DEPTH:]
        rerank(head, terms, {t: s.idf("content", t) for t in terms})
        ordered = head + tail
        for c in ordered[(page - 1) * per_page: page * per_page]:
            fields = s.stored_fields(c.key)
            html, para = snippet(fields["content"], set(terms))
            res.hits.append(Hit(
                thread_id=fields["thread_id"], thread_title=fields["title"],
                kind=fields["kind"], position=fields["position"], author=fields.get("author"),
                date=fields.get("date"), snippet=html, score=round(c.final, 4),
                paragraph=para))
        if total < 3 or any(s.doc_frequency("content", t) == 0 for t in terms):
            res.suggestion = self._suggest(s, parsed)
        if facets and total:
            self._facets(s, required if res.matched == "all" else [wq.Or(_flatten_any(required))],
                         exclude, filters, res)
        res.elapsed_ms = (time.perf_counter() - started) * 1000
        return res

    def _run(self, s: Searcher, required: list[wq.Query], exclude: list[wq.Query],
             filters: list[wq.Query], depth: int,
             res: SearchResults) -> tuple[list[tuple[int, float]], int]:
        """Top ``depth`` (docnum, score) pairs and the total count for a compiled query."""
        q: wq.Query = wq.And(required + filters) if len(required) + len(filters) > 1 else (
            (required + filters)[0])
        if exclude:
            q = wq.AndNot(q, wq.Or(exclude) if len(exclude) > 1 else exclude[0])
        collector = TimeLimitCollector(s.collector(limit=depth), timelimit=SEARCH_TIME_LIMIT,
                                       use_alarm=threading.current_thread()
                                       is threading.main_thread())
        try:
            s.search_with_collector(q, collector)
        except TimeLimit:
            res.notices.append("La recherche a été interrompue (trop longue) : "
                               "résultats partiels.")
        results = collector.results()
        hits = [(docnum, score) for score, docnum in results.top_n]
        try:
            total = len(results)
        except TimeLimit:  # pragma: no cover - counting is bounded by the same limit
            total = len(hits)
        return hits, total

    def _candidates(self, s: Searcher, hits: list[tuple[int, float]],
                    terms: list[str]) -> list[Candidate]:
        """Candidates with thread, title terms and (for the re-ranked head) term positions."""
        cands = []
        for docnum, score in hits:
            fields = s.stored_fields(docnum)
            cands.append(Candidate(docnum, fields["thread_id"], title_terms(fields["title"]),
                                   score))
        head = sorted(cands[:RERANK_DEPTH], key=lambda c: c.key)
        if len(set(terms)) > 1 and head:
            reader = s.reader()
            for t in dict.fromkeys(terms):
                try:
                    m = reader.postings("content", t)
                except Exception:  # term absent from the index
                    continue
                for c in head:
                    if not m.is_active():
                        break
                    if m.id() < c.key:
                        m.skip_to(c.key)
                    if m.is_active() and m.id() == c.key:
                        c.positions[t] = m.value_as("positions")
        return cands

    def _suggest(self, s: Searcher, parsed: ParsedQuery) -> str | None:
        """A "did you mean" query: unknown or rare words replaced by close, frequent ones."""
        reader = s.reader()
        text = parsed.text
        changed = False
        for node in parsed.words():
            if node.compound or len(node.terms) != 1:
                continue
            term = node.terms[0]
            df = s.doc_frequency("content", term)
            if df > 2 or not term.isalpha() or len(term) < 4:
                continue
            best: tuple[int, int, str] | None = None
            for dist in (1, 2):
                for cand in reader.terms_within("content", term, dist,
                                                prefix=1 if len(term) < 6 else 2):
                    cdf = s.doc_frequency("content", cand)
                    enough = cdf >= 1 if df == 0 else cdf > df * 3
                    if cand != term and enough and (
                            best is None or (-dist, cdf) > (-best[0], best[1])):
                        best = (dist, cdf, cand)
                if best:
                    break
            if best is None:
                continue
            surface = self._surface_form(s, best[2])
            if surface and surface.lower() != node.raw.lower():
                text = text.replace(node.raw, surface, 1)
                changed = True
        return text if changed else None

    def _surface_form(self, s: Searcher, term: str) -> str | None:
        """How a term is most often written in the first passages that contain it."""
        counts: dict[str, int] = {}
        m = s.reader().postings("content", term)
        seen = 0
        while m.is_active() and seen < 5:
            text = s.stored_fields(m.id())["content"]
            for t, _, start, end in analyzer().spans(text):
                if t == term:
                    word = text[start:end].lower()
                    counts[word] = counts.get(word, 0) + 1
            seen += 1
            m.next()
        return max(counts, key=lambda w: (counts[w], -len(w))) if counts else None

    def _facets(self, s: Searcher, required: list[wq.Query], exclude: list[wq.Query],
                filters: list[wq.Query], res: SearchResults) -> None:
        """Author and kind counts over every match (for the result page's filters)."""
        q: wq.Query = wq.And(required + filters) if len(required) + len(filters) > 1 else (
            (required + filters)[0])
        if exclude:
            q = wq.AndNot(q, wq.Or(exclude) if len(exclude) > 1 else exclude[0])
        authors: dict[str, int] = {}
        kinds: dict[str, int] = {}
        names: dict[str, str] = {}
        deadline = time.perf_counter() + SEARCH_TIME_LIMIT / 2
        for n, docnum in enumerate(s.docs_for_query(q)):
            if n % 1000 == 0 and time.perf_counter() > deadline:
                res.notices.append("Décomptes des filtres partiels (trop de résultats).")
                break
            fields = s.stored_fields(docnum)
            kinds[fields["kind"]] = kinds.get(fields["kind"], 0) + 1
            author = fields.get("author")
            if author:
                key = author_key(author)
                authors[key] = authors.get(key, 0) + 1
                names.setdefault(key, author)
        res.kinds = kinds
        res.authors = sorted(((names[k], v) for k, v in authors.items()),
                             key=lambda kv: (-kv[1], kv[0].lower()))[:FACET_LIMIT]


def _flatten_any(required: list[wq.Query]) -> list[wq.Query]:
    """The any-word fallback: each required clause (or each OR alternative) on its own."""
    out: list[wq.Query] = []
    for q in required:
        if isinstance(q, wq.And):
            out.extend(_flatten_any(list(q.subqueries)))
        else:
            out.append(q)
    return out


class _Compiler:
    """Turn parsed query nodes into Whoosh queries over the passages index."""

    def __init__(self, s: Searcher, notices: list[str]) -> None:
        self.s = s
        self.notices = notices

    def node(self, node: Node) -> wq.Query:
        if isinstance(node, TermNode):
            if node.prefix is not None:
                return self.prefix(node)
            if node.compound:
                parts, joined = node.terms[:-1], node.terms[-1]
                return wq.Or([wq.Phrase("content", parts, slop=1), wq.Term("content", joined)])
            return wq.Term("content", node.terms[0])
        if isinstance(node, PhraseNode):
            return wq.Phrase("content", node.terms, slop=1)
        if isinstance(node, OrNode):
            return wq.Or([self.node(c) for c in node.children])
        assert isinstance(node, AndNode)
        q: wq.Query = wq.And([self.node(c) for c in node.children])
        if node.negated:
            q = wq.AndNot(q, wq.Or([self.node(c) for c in node.negated]))
        return q

    def prefix(self, node: TermNode) -> wq.Query:
        """A bounded prefix: the MAX_PREFIX_EXPANSION most frequent matching terms."""
        assert node.prefix is not None
        found: list[str] = []
        for n, btext in enumerate(self.s.reader().expand_prefix("content", node.prefix)):
            if n >= PREFIX_SCAN_LIMIT:
                break
            found.append(btext.decode("utf-8") if isinstance(btext, bytes) else btext)
        if len(found) > MAX_PREFIX_EXPANSION:
            found.sort(key=lambda t: -self.s.doc_frequency("content", t))
            found = found[:MAX_PREFIX_EXPANSION]
            self.notices.append(f"« {node.raw} » : préfixe trop courant, limité aux "
                                f"{MAX_PREFIX_EXPANSION} mots les plus fréquents.")
        terms = list(dict.fromkeys(found + node.terms))
        if not terms:
            return wq.NullQuery
        return wq.Or([wq.Term("content", t) for t in terms])

    def filters(self, parsed: ParsedQuery) -> list[wq.Query]:
        """Field filters as zero-score queries (they narrow, they don't rank)."""
        out: list[wq.Query] = []
        if parsed.author:
            out.append(wq.Term("author_key", parsed.author))
        if parsed.kind:
            out.append(wq.Term("kind", parsed.kind))
        if parsed.thread:
            out.append(wq.Term("thread_id", parsed.thread))
        if parsed.after is not None or parsed.before is not None:
            out.append(wq.NumericRange("day", parsed.after or 1, parsed.before))
        return [wq.ConstantScoreQuery(q, 0.0) for q in out]


def open_engine(index_dir: str | os.PathLike[str]) -> WhooshBackend:
    """Open the search core over an embedded index directory."""
    return WhooshBackend(index_dir)


__all__ = ["WhooshBackend", "open_engine", "QueryError", "SEARCH_TIME_LIMIT"]
