"""The embedded store: answers the search pipeline's questions from a Whoosh index built here.

Matching and BM25 scoring run over the segment's postings and the impact weights written
beside it (:mod:`.impact`, numpy over whole posting lists); phrase checks and word
positions read the segment's position arrays directly (:mod:`.codec`, vectorised over
all candidates). Whoosh's reader serves the stored passages and threads and the term
dictionary (suggestions through its Levenshtein automata). One searcher set per
thread and per index generation, opened once and reused; each snapshot checks (one
``stat``) whether a rebuild swapped the index.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
from whoosh.index import Index
from whoosh.searching import Searcher

from ...errors import IndexMissingError
from ...ingest.model import Thread, day_bounds
from ...search.deadline import Deadline
from ...search.plan import And, AndNot, Filters, Null, Or, Phrase, Plan, Term
from ...search.store import Facets, Key, Matches, PassageRecord
from ...search.suggest import levenshtein
from ..base import BuildReport, IndexStats
from ..records import thread_from_record
from .codec import FieldPostings
from .generations import (
    CURRENT,
    build_index,
    current_generation,
    index_stats,
    open_generation,
    passage_store,
)
from .impact import ImpactIndex, exclude, intersect, top_k, union

PHRASE_CHECK_LIMIT = 20_000  # best candidates whose positions are checked for one phrase

Result = tuple[np.ndarray, np.ndarray]  # (doc numbers ascending, scores)
_EMPTY: Result = (np.empty(0, dtype=np.int32), np.empty(0, dtype=np.float32))
_NO_CODE = np.iinfo(np.int32).min  # a code no passage has (unknown author or thread)

_IMPACTS: dict[Path, ImpactIndex] = {}
_IMPACTS_LOCK = threading.Lock()


def impacts_for(gen: Path, pix: Index) -> ImpactIndex:
    """The impact arrays of a generation, loaded once per process (read-only, shared)."""
    with _IMPACTS_LOCK:
        found = _IMPACTS.get(gen)
        if found is None:
            if not ImpactIndex.exists(gen):
                raise IndexMissingError(f"index at {gen} was built by an older version: "
                                        "rebuild it with `python -m indexer rebuild`")
            for old in [p for p in _IMPACTS if not p.exists()]:
                del _IMPACTS[old]
            found = _IMPACTS[gen] = ImpactIndex(gen, passage_store(gen, pix))
        return found


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


class EmbeddedStore:
    """The embedded index directory as a store (thread-safe: one searcher set per thread)."""

    name = "whoosh"

    def __init__(self, index_dir: str | os.PathLike[str]) -> None:
        self.index_dir = Path(index_dir)
        self._local = threading.local()

    # -- index lifecycle -------------------------------------------------------------
    def rebuild(self, threads: Iterable[Thread],
                progress: Callable[[int], None] | None = None) -> BuildReport:
        """Build a new generation and swap it in (see :func:`.generations.build_index`)."""
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

    # -- what the pipeline asks ------------------------------------------------------
    @contextlib.contextmanager
    def snapshot(self, deadline: Deadline) -> Iterator[EmbeddedSnapshot]:
        """The current generation, held for one search."""
        yield EmbeddedSnapshot(self._generation())

    def thread(self, thread_id: str) -> Thread | None:
        """The whole thread with this id, or None (ids are looked up, never used as paths)."""
        if not isinstance(thread_id, str) or not thread_id or len(thread_id) > 500:
            return None
        gen = self._generation()
        fields = gen.threads.document(thread_id=thread_id)
        if not fields:
            return None
        return thread_from_record(
            fields["data"], lambda docnum: gen.passages.stored_fields(docnum)["content"])


class EmbeddedSnapshot:
    """One generation's answers to the pipeline (see :class:`indexer.search.store.Snapshot`)."""

    def __init__(self, gen: _Generation) -> None:
        self.gen = gen
        self.ix = gen.impacts
        self._found: dict[tuple[object, ...], Result] = {}

    # -- statistics and terms ------------------------------------------------------------
    def doc_count(self) -> int:
        return self.ix.n_docs

    def doc_freqs(self, terms: Sequence[str]) -> dict[str, int]:
        return {t: self.ix.df(t) for t in terms}

    def expand_prefix(self, prefix: str, limit: int) -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = []
        for n, btext in enumerate(self.gen.passages.reader().expand_prefix("content", prefix)):
            if n >= limit:
                break
            text = btext.decode("utf-8") if isinstance(btext, bytes) else btext
            out.append((text, self.ix.df(text)))
        return out

    def near_terms(self, term: str, prefix: int, max_dist: int) -> list[tuple[str, int, int]]:
        reader = self.gen.passages.reader()
        found = reader.terms_within("content", term, max_dist, prefix=prefix)
        return [(t, self.ix.df(t), levenshtein(t, term, max_dist)) for t in sorted(found)]

    # -- matching ------------------------------------------------------------------------
    def match(self, plan: Plan | None, exclude_plan: Plan | None, filters: Filters, k: int,
              deadline: Deadline) -> Matches:
        ev = _Evaluator(self.ix, deadline)
        found = self._matching(ev, plan, exclude_plan, filters)
        ix = self.ix
        out = Matches(total=int(len(found[0])), exact=ev.exact and not ev.timed_out,
                      timed_out=ev.timed_out)
        if plan is None:  # filters alone: newest first, then index order
            order = np.lexsort((found[0], -ix.stamp[found[0]]))[:k]
            best = [(int(found[0][i]), 0.0) for i in order]
        else:
            best = top_k(found[0], found[1], k)
        for docnum, score in best:
            out.keys.append(docnum)
            out.scores.append(score)
            out.threads.append(ix.threads[int(ix.thread[docnum])][0])
        if plan is not None and best:
            sums = np.bincount(ix.thread[found[0]], weights=found[1])
            for tid in dict.fromkeys(out.threads):
                out.thread_mass[tid] = float(sums[ix.thread_codes[tid]])
        return out

    def _matching(self, ev: _Evaluator, plan: Plan | None, exclude_plan: Plan | None,
                  filters: Filters) -> Result:
        """Every passage matching, with its score (kept for the facets of the same search)."""
        key = (plan, exclude_plan, filters)
        found = self._found.get(key)
        if found is not None:
            return found
        allowed = self._filter_mask(filters)
        if plan is None:
            ids = (np.flatnonzero(allowed) if allowed is not None
                   else np.arange(self.ix.n_docs)).astype(np.int32)
            found = (ids, np.zeros(len(ids), dtype=np.float32))
        else:
            found = ev.eval(plan)
        if exclude_plan is not None:
            found = exclude(found, ev.eval(exclude_plan)[0])
        if allowed is not None and plan is not None:
            keep = allowed[found[0]]
            found = (found[0][keep], found[1][keep])
        self._found[key] = found
        return found

    def _filter_mask(self, f: Filters) -> np.ndarray | None:
        """Boolean mask over passages for the field filters, or None when there are none."""
        if not f:
            return None
        ix = self.ix
        mask = np.ones(ix.n_docs, dtype=bool)
        if f.kind:
            mask &= ix.kind == (1 if f.kind == "comment" else 0)
        low, high = day_bounds(f.after, f.before)
        if low is not None:
            mask &= ix.stamp >= low
        if high is not None:
            mask &= (ix.stamp <= high) & (ix.stamp > 0)
        if f.author is not None:
            mask &= ix.author == ix.author_codes.get(f.author, _NO_CODE)
        for key in f.not_authors:
            code = ix.author_codes.get(key)
            if code is not None:
                mask &= ix.author != code
        if f.thread is not None:
            code = ix.thread_codes.get(f.thread)
            mask &= (ix.thread == code) if code is not None else False
        for tid in f.not_threads:
            code = ix.thread_codes.get(tid)
            if code is not None:
                mask &= ix.thread != code
        return mask

    # -- what results show ---------------------------------------------------------------
    def positions(self, keys: Sequence[Key],
                  terms: Sequence[str]) -> dict[Key, dict[str, list[int]]]:
        out: dict[Key, dict[str, list[int]]] = {k: {} for k in keys}
        if not keys:
            return out
        docs = np.array(sorted({int(k) for k in keys}), dtype=np.int32)  # type: ignore[call-overload]
        field = self.ix.field
        for term in dict.fromkeys(terms):
            i = field.find(term)
            if i < 0:
                continue
            owner, positions = field.positions_of(i, docs)
            for o, p in zip(owner.tolist(), positions.tolist(), strict=True):
                out[int(docs[o])].setdefault(term, []).append(p)
        return out

    def title_terms(self, thread_ids: Sequence[str]) -> dict[str, frozenset[str]]:
        codes = self.ix.thread_codes
        return {t: self.ix.title_terms(codes[t]) for t in thread_ids if t in codes}

    def passages(self, keys: Sequence[Key]) -> dict[Key, PassageRecord]:
        s = self.gen.passages
        out: dict[Key, PassageRecord] = {}
        for k in keys:
            f = s.stored_fields(k)
            out[k] = PassageRecord(f["thread_id"], f["title"], f["kind"], f["position"],
                                   f.get("author"), f.get("date"), f["content"])
        return out

    def facets(self, plan: Plan | None, exclude_plan: Plan | None, filters: Filters,
               limit: int) -> Facets:
        ev = _Evaluator(self.ix, None)
        ids = self._matching(ev, plan, exclude_plan, filters)[0]
        ix = self.ix
        out = Facets()
        kinds = np.bincount(ix.kind[ids], minlength=2)
        out.kinds = {k: int(n) for k, n in zip(("post", "comment"), kinds, strict=True) if n}
        codes = ix.author[ids]
        codes = codes[codes >= 0]
        if len(codes):
            counts = np.bincount(codes)
            order = np.argsort(-counts, kind="stable")[:limit]
            out.authors = [(ix.author_names[i], int(counts[i])) for i in order if counts[i]]
        return out

    def sample_texts(self, term: str, n: int) -> list[str]:
        span = self.ix.span(term)
        if span is None:
            return []
        docs = self.ix.ids[span[0]:min(span[1], span[0] + n)]
        s = self.gen.passages
        return [s.stored_fields(int(d))["content"] for d in docs]


def phrase_match(fd: FieldPostings, terms: Sequence[str], docs: np.ndarray) -> np.ndarray:
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
    """Evaluate a plan over the impact arrays (positions for phrases), memoised per node."""

    def __init__(self, ix: ImpactIndex, deadline: Deadline | None) -> None:
        self.ix = ix
        self.deadline = deadline
        self.exact = True  # False when a phrase was checked on its best candidates only
        self.timed_out = False
        self._memo: dict[Plan, Result] = {}

    def eval(self, q: Plan) -> Result:
        found = self._memo.get(q)
        if found is None:
            found = self._memo[q] = self._eval(q)
        return found

    def _eval(self, q: Plan) -> Result:
        if isinstance(q, Term):
            return self.ix.postings(q.term)
        if isinstance(q, Phrase):
            return self.phrase(q.terms)
        if isinstance(q, Or):
            return union([self.eval(c) for c in q.children])
        if isinstance(q, And):
            return intersect([self.eval(c) for c in q.children])
        if isinstance(q, AndNot):
            return exclude(self.eval(q.positive), self.eval(q.negative)[0])
        assert isinstance(q, Null)
        return _EMPTY

    def phrase(self, terms: Sequence[str]) -> Result:
        """Docs holding the terms at consecutive positions (checked on the best candidates)."""
        cand_ids, cand_ws = intersect([self.ix.postings(t) for t in terms])
        if len(terms) == 1 or not len(cand_ids):
            return cand_ids, cand_ws
        if len(cand_ids) > PHRASE_CHECK_LIMIT:
            self.exact = False
            keep = np.sort(np.argpartition(-cand_ws, PHRASE_CHECK_LIMIT - 1)[:PHRASE_CHECK_LIMIT])
            cand_ids, cand_ws = cand_ids[keep], cand_ws[keep]
        if self.deadline is not None and self.deadline.expired():
            self.timed_out = True
            return _EMPTY
        ok = phrase_match(self.ix.field, terms, cand_ids)
        return cand_ids[ok], cand_ws[ok]


__all__ = ["EmbeddedStore", "EmbeddedSnapshot", "PHRASE_CHECK_LIMIT"]
