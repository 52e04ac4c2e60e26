"""The embedded backend: search a Whoosh index built by :mod:`indexer.index`.

Matching and BM25 scoring run over the segment's postings and the impact weights written
beside it (:mod:`indexer.impact`, numpy over whole posting lists); phrase checks and the
proximity feature read the segment's position arrays directly (:mod:`indexer.codec`,
vectorised over all candidates). Whoosh's reader serves the stored passages and threads
and the term dictionary (prefixes, suggestions through its Levenshtein automata). One
searcher set per thread and per index generation, opened once and reused; each call
checks (one ``stat``) whether a rebuild swapped the index.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
from whoosh.index import Index
from whoosh.searching import Searcher

from ...service import check_paging
from .codec import FieldPostings
from ...errors import IndexMissingError
from .impact import ImpactIndex, exclude, intersect, top_k, union
from .generations import (
    CURRENT,
    build_index,
    current_generation,
    index_stats,
    open_generation,
    passage_store,
)
from .generations import thread_from_json as thread_from_store
from ...ingest.model import Thread
from ...search.results import Hit, SearchResults
from ..base import BuildReport, IndexStats
from ...search.query import (
    MAX_PREFIX_EXPANSION,
    PREFIX_SCAN_LIMIT,
    AndNode,
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

SEARCH_TIME_LIMIT = 2.0  # seconds: a query that runs longer returns what it has found
PHRASE_CHECK_LIMIT = 20_000  # best candidates whose positions are checked for one phrase
PROXIMITY_DEPTH = 10  # best candidates whose word positions feed the proximity feature
FACET_LIMIT = 15
USE_THREAD_MASS = True

Result = tuple[np.ndarray, np.ndarray]  # (doc numbers ascending, scores)


_IMPACTS: dict[Path, ImpactIndex] = {}
_IMPACTS_LOCK = threading.Lock()


def impacts_for(gen: Path, pix: Index) -> ImpactIndex:
    """The impact arrays of a generation, loaded once per process (read-only, shared)."""
    with _IMPACTS_LOCK:
        ix = _IMPACTS.get(gen)
        if ix is None:
            if not ImpactIndex.exists(gen):
                raise IndexMissingError(f"index at {gen} was built by an older version: "
                                        "rebuild it with `python -m indexer rebuild`")
            for old in [p for p in _IMPACTS if not p.exists()]:
                del _IMPACTS[old]
            ix = _IMPACTS[gen] = ImpactIndex(gen, passage_store(gen, pix))
        return ix


class _Generation:
    """Searchers on one index generation, for one thread."""

    def __init__(self, index_dir: Path) -> None:
        self.path, pix, tix = open_generation(index_dir)
        self.impacts = impacts_for(self.path, pix)
        self.passages: Searcher = pix.searcher()
        self.threads: Searcher = tix.searcher()

    def close(self) -> None:
        self.passages.close()
        self.threads.close()


class WhooshBackend:
    """Search core over the embedded index (thread-safe: one searcher set per thread)."""

    name = "whoosh"

    def __init__(self, index_dir: str | os.PathLike[str]) -> None:
        self.index_dir = Path(index_dir)
        self._local = threading.local()

    # -- index lifecycle -------------------------------------------------------------
    def rebuild(self, threads: Iterable[Thread],
                progress: Callable[[int], None] | None = None) -> BuildReport:
        """Build a new generation and swap it in (see :func:`indexer.index.build_index`)."""
        return build_index(threads, self.index_dir, progress=progress)

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

    def _impacts(self) -> ImpactIndex:
        return self._generation().impacts

    # -- threads ---------------------------------------------------------------------
    def get_thread(self, thread_id: str) -> Thread | None:
        """The whole thread with this id, or None (ids are looked up, never used as paths)."""
        if not isinstance(thread_id, str) or not thread_id or len(thread_id) > 500:
            return None
        gen = self._generation()
        fields = gen.threads.document(thread_id=thread_id)
        if not fields:
            return None
        return thread_from_store(fields["data"],
                                 lambda docnum: gen.passages.stored_fields(docnum)["content"])

    # -- search ----------------------------------------------------------------------
    def search(self, query: str, page: int = 1, per_page: int = 10,
               facets: bool = False) -> SearchResults:
        """Run a query: AND of the words, else (nothing found) ranked any-word matching.

        The whole call is bounded by SEARCH_TIME_LIMIT: past it, what was found so far
        is returned with a notice (and ``total_exact`` False).
        """
        started = time.perf_counter()
        page, per_page = check_paging(page, per_page)
        parsed = parse_query(query)
        gen = self._generation()
        s, ix = gen.passages, gen.impacts
        res = SearchResults(query=parsed.text, total=0, page=page, per_page=per_page,
                            notices=list(parsed.notices), terms=parsed.positive_terms())
        if not parsed.must and not parsed.has_filters:
            res.matched = "none"
            res.elapsed_ms = (time.perf_counter() - started) * 1000
            return res
        ev = _Evaluator(s, ix, res, started + SEARCH_TIME_LIMIT)
        parts = [ev.node(n) for n in parsed.must]
        allowed = ev.filter_mask(parsed)
        banned = union([ev.node(n) for n in parsed.must_not])[0] if parsed.must_not else None

        def narrow(r: Result) -> Result:
            if banned is not None:
                r = exclude(r, banned)
            if allowed is not None:
                keep = allowed[r[0]]
                r = (r[0][keep], r[1][keep])
            return r

        if parts:
            found = narrow(intersect(parts))
            if not len(found[0]) and len(parts) > 1:
                found = narrow(union(parts))
                res.matched = "any" if len(found[0]) else "none"
        else:  # filters only: newest first
            ids = np.flatnonzero(allowed).astype(np.int32)
            found = narrow((ids, ix.day[ids].astype(np.float32) / np.float32(1e8)))
        if not len(found[0]):
            res.matched = "none"
        res.total = int(len(found[0]))
        res.total_exact = ev.exact
        terms = res.terms
        res.terms = list(dict.fromkeys(terms + ev.expanded))
        depth = max(RERANK_DEPTH, page * per_page)
        best = top_k(found[0], found[1], depth)
        cands = self._candidates(ix, best, terms)
        head, tail = cands[:RERANK_DEPTH], cands[RERANK_DEPTH:]
        if parts:  # filters alone keep their newest-first order
            sums = np.bincount(ix.thread[found[0]], weights=found[1])
            mass = {c.thread_id: float(sums[ix.thread_codes[c.thread_id]]) for c in head}
            rerank(head, terms, {t: ix.idf(t) for t in terms},
                   mass if USE_THREAD_MASS else None)
        ordered = head + tail
        marked = set(res.terms)
        for c in ordered[(page - 1) * per_page: page * per_page]:
            fields = s.stored_fields(c.key)
            html, para = snippet(fields["content"], marked)
            res.hits.append(Hit(
                thread_id=fields["thread_id"], thread_title=fields["title"],
                kind=fields["kind"], position=fields["position"], author=fields.get("author"),
                date=fields.get("date"), snippet=html, score=round(c.final, 4),
                paragraph=para))
        if time.perf_counter() < ev.deadline and (
                res.total < 3 or any(ix.df(t) == 0 for t in terms)):
            res.suggestion = self._suggest(s, parsed)
        if facets and res.total:
            ids = found[0]
            kinds = np.bincount(ix.kind[ids], minlength=2)
            res.kinds = {k: int(n) for k, n in zip(("post", "comment"), kinds, strict=True)
                         if n}
            codes = ix.author[ids]
            codes = codes[codes >= 0]
            if len(codes):
                counts = np.bincount(codes)
                order = np.argsort(-counts, kind="stable")[:FACET_LIMIT]
                res.authors = [(ix.author_names[i], int(counts[i])) for i in order
                               if counts[i]]
        res.elapsed_ms = (time.perf_counter() - started) * 1000
        return res

    def _candidates(self, ix: ImpactIndex, best: list[tuple[int, float]],
                    terms: list[str]) -> list[Candidate]:
        """Candidates with thread, title terms and (for the best few) the query words' positions.

        Positions come from the index (no re-analysis of the passages).
        """
        cands = []
        for docnum, score in best:
            code = int(ix.thread[docnum])
            cands.append(Candidate(docnum, ix.threads[code][0], ix.title_terms(code), score))
        wanted = list(dict.fromkeys(terms))
        head = cands[:PROXIMITY_DEPTH]
        if len(wanted) > 1 and head:
            order = sorted(range(len(head)), key=lambda n: head[n].key)
            docs = np.array([head[n].key for n in order], dtype=np.int32)
            for term in wanted:
                i = ix.field.find(term)
                if i < 0:
                    continue
                owner, positions = ix.field.positions_of(i, docs)
                for o, p in zip(owner.tolist(), positions.tolist(), strict=True):
                    head[order[o]].positions.setdefault(term, []).append(p)
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
            df = self._impacts().df(term)
            if df > 2 or not term.isalpha() or len(term) < 4:
                continue
            best: tuple[int, int, str] | None = None
            for dist in (1, 2) if len(term) >= 7 else (1,):
                for cand in reader.terms_within("content", term, dist,
                                                prefix=1 if len(term) < 6 else 2):
                    cdf = self._impacts().df(cand)
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
        m = s.reader().postings("content", term)
        docs: list[int] = []
        while m.is_active() and len(docs) < 5:
            docs.append(m.id())
            m.next()
        return surface_form((s.stored_fields(d)["content"] for d in docs), term)



_EMPTY: Result = (np.empty(0, dtype=np.int32), np.empty(0, dtype=np.float32))


def phrase_match(fd: FieldPostings, terms: list[str], docs: np.ndarray) -> np.ndarray:
    """Which of ``docs`` (each holding every term) hold the terms at consecutive positions.

    Vectorised over all documents: the positions of term k, minus k, keyed by document,
    must meet in every term's set.
    """
    common: np.ndarray | None = None
    for k, term in enumerate(terms):
        i = fd.find(term)
        if i < 0:
            return np.zeros(len(docs), dtype=bool)
        owner, positions = fd.positions_of(i, docs)
        keys = (owner << 32) | (positions.astype(np.int64) - k + len(terms))
        common = np.unique(keys) if common is None else np.intersect1d(common, keys)
        if not len(common):
            break
    ok = np.zeros(len(docs), dtype=bool)
    if common is not None and len(common):
        ok[np.unique(common >> 32)] = True
    return ok


class _Evaluator:
    """Evaluate parsed query nodes over the impact arrays (and Whoosh positions for phrases)."""

    def __init__(self, s: Searcher, ix: ImpactIndex, res: SearchResults,
                 deadline: float) -> None:
        self.s = s
        self.ix = ix
        self.res = res
        self.deadline = deadline
        self.exact = True
        self.expanded: list[str] = []  # terms that prefixes expanded to (marked in snippets)
        self.expansions: dict[str, list[str]] = {}  # prefix -> its terms, once per query

    def node(self, node: Node) -> Result:
        if isinstance(node, TermNode):
            if node.prefix is not None:
                return union([self.ix.postings(t) for t in self.prefix(node)])
            if node.compound:
                parts, joined = node.terms[:-1], node.terms[-1]
                return union([self.phrase(parts), self.ix.postings(joined)])
            return self.ix.postings(node.terms[0])
        if isinstance(node, PhraseNode):
            return self.phrase(node.terms)
        if isinstance(node, OrNode):
            return union([self.node(c) for c in node.children])
        assert isinstance(node, AndNode)
        out = intersect([self.node(c) for c in node.children])
        if node.negated:
            out = exclude(out, union([self.node(c) for c in node.negated])[0])
        return out

    def prefix(self, node: TermNode) -> list[str]:
        """A bounded prefix: the MAX_PREFIX_EXPANSION most frequent matching terms."""
        assert node.prefix is not None
        found = self.expansions.get(node.prefix)
        if found is None:
            scanned: list[tuple[str, int]] = []
            reader = self.s.reader()
            for n, btext in enumerate(reader.expand_prefix("content", node.prefix)):
                if n >= PREFIX_SCAN_LIMIT:
                    break
                text = btext.decode("utf-8") if isinstance(btext, bytes) else btext
                scanned.append((text, self.ix.df(text)))
            found = choose_expansions(node, scanned, self.res.notices)
            self.expansions[node.prefix] = found
        terms = list(dict.fromkeys(found + node.terms))
        self.expanded.extend(terms)
        return terms

    def phrase(self, terms: list[str]) -> Result:
        """Docs holding the terms at consecutive positions (checked on the best candidates)."""
        cand_ids, cand_ws = intersect([self.ix.postings(t) for t in terms])
        if len(terms) == 1 or not len(cand_ids):
            return cand_ids, cand_ws
        if len(cand_ids) > PHRASE_CHECK_LIMIT:
            self.exact = False
            keep = np.sort(np.argpartition(-cand_ws, PHRASE_CHECK_LIMIT - 1)[:PHRASE_CHECK_LIMIT])
            cand_ids, cand_ws = cand_ids[keep], cand_ws[keep]
        if time.perf_counter() > self.deadline:
            self.timed_out()
            return _EMPTY
        ok = phrase_match(self.ix.field, terms, cand_ids)
        return cand_ids[ok], cand_ws[ok]

    def timed_out(self) -> None:
        """Note (once) that the time limit cut the search short."""
        if self.exact:
            self.res.notices.append("La recherche a été interrompue (trop longue) : "
                                    "résultats partiels.")
        self.exact = False

    def filter_mask(self, parsed: ParsedQuery) -> np.ndarray | None:
        """Boolean mask over docs for the field filters, or None when there are none."""
        if not parsed.has_filters:
            return None
        ix = self.ix
        mask = np.ones(ix.n_docs, dtype=bool)
        if parsed.kind:
            mask &= ix.kind == (1 if parsed.kind == "comment" else 0)
        if parsed.after is not None:
            mask &= ix.day >= parsed.after
        if parsed.before is not None:
            mask &= (ix.day <= parsed.before) & (ix.day > 0)
        if parsed.author is not None:
            code = ix.author_codes.get(parsed.author)
            mask &= ix.author == (code if code is not None else -2)
        if parsed.thread is not None:
            code = ix.thread_codes.get(parsed.thread)
            mask &= ix.thread == (code if code is not None else np.iinfo(np.uint32).max)
        return mask


def open_engine(index_dir: str | os.PathLike[str]) -> WhooshBackend:
    """Open the search core over an embedded index directory."""
    return WhooshBackend(index_dir)


__all__ = ["WhooshBackend", "open_engine", "SEARCH_TIME_LIMIT", "MAX_PREFIX_EXPANSION"]
