"""Scoring arithmetic every store shares: BM25 weights in float32, and set operations on
(passage numbers, scores) pairs: OR, AND, NOT, coordination and the best k.

The embedded store evaluates whole posting lists with these; the PostgreSQL store
evaluates the same plans over the candidates it fetched, with the same functions in the
same float32 arithmetic, so both give the same scores to the bit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from ..search.deadline import Deadline
from ..search.plan import And, AndNot, Coord, Null, Or, Phrase, Plan, Term
from ..search.ranking import BM25_B, BM25_K1
from ..search.store import Facets
from .memory import tune_for_search

Result = tuple[np.ndarray, np.ndarray]  # (doc numbers ascending, scores)
#: A phrase's candidates (passages holding all its words) have their positions checked
#: only for the best this many; beyond, the match is inexact (``Matches.exact`` False).
PHRASE_CHECK_LIMIT = 20_000
_EMPTY_IDS = np.empty(0, dtype=np.int32)
_EMPTY_W = np.empty(0, dtype=np.float32)
_EMPTY: Result = (_EMPTY_IDS, _EMPTY_W)


def length_norm(lengths: np.ndarray, avgdl: float, k1: float = BM25_K1,
                b: float = BM25_B) -> np.ndarray:
    """BM25's length normalisation of each document: ``k1·(1−b+b·dl/avgdl)`` (float32)."""
    dl = np.asarray(lengths).astype(np.float32)
    return (k1 * (1 - b + b * dl / max(avgdl, 1e-9))).astype(np.float32)


def bm25_weights(freqs: np.ndarray, norm: np.ndarray, k1: float = BM25_K1) -> np.ndarray:
    """BM25 term weights ``tf·(k1+1)/(tf+norm)`` of postings, given their documents' norms."""
    tf = np.asarray(freqs).astype(np.float32)
    return (tf * np.float32(k1 + 1) / (tf + norm)).astype(np.float32)


def union(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """OR: every doc in any part, scores summed."""
    parts = [p for p in parts if len(p[0])]
    if not parts:
        return _EMPTY_IDS, _EMPTY_W
    if len(parts) == 1:
        return parts[0]
    ids = np.concatenate([p[0] for p in parts])
    ws = np.concatenate([p[1] for p in parts])
    uniq, inv = np.unique(ids, return_inverse=True)
    return uniq.astype(np.int32), np.bincount(inv, weights=ws).astype(np.float32)


def intersect(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """AND: docs present in every part, scores summed (smallest list first)."""
    if not parts:
        return _EMPTY_IDS, _EMPTY_W
    parts = sorted(parts, key=lambda p: len(p[0]))
    ids, ws = parts[0]
    ids, ws = np.asarray(ids), np.asarray(ws)
    for other_ids, other_ws in parts[1:]:
        if not len(ids):
            break
        common, ia, ib = np.intersect1d(ids, other_ids, assume_unique=True,
                                        return_indices=True)
        ids, ws = common, ws[ia] + other_ws[ib]
    return ids.astype(np.int32), ws.astype(np.float32)


def exclude(base: tuple[np.ndarray, np.ndarray], ids: np.ndarray) -> tuple[np.ndarray,
                                                                             np.ndarray]:
    """NOT: drop the docs in ``ids`` from ``base``."""
    if not len(ids) or not len(base[0]):
        return base
    keep = ~np.isin(base[0], ids, assume_unique=True)
    return base[0][keep], base[1][keep]


def best_positions(ids: np.ndarray, ws: np.ndarray, k: int) -> np.ndarray:
    """Positions (into ``ids``) of the k best by score, ties broken by doc number, best first.

    Every doc tied with the k-th score is considered before cutting, so which of
    several equal scores are kept never depends on numpy's partition order.
    """
    if len(ids) > k:
        kth = np.partition(-ws, k - 1)[k - 1]
        part = np.flatnonzero(-ws <= kth)
    else:
        part = np.arange(len(ids))
    return part[np.lexsort((ids[part], -ws[part]))][:k]


def top_k(ids: np.ndarray, ws: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The k best (docnum, score), best first; ties broken by doc number (stable)."""
    if not len(ids):
        return []
    order = best_positions(ids, ws, k)
    return [(int(ids[i]), float(ws[i])) for i in order]

def coordinated(parts: Sequence[Result], weights: Sequence[float], power: float,
                 n_docs: int) -> Result:
    """Any part: scores summed, times the share of the parts' weights matched ** power."""
    total = float(sum(weights))
    live = [(p, w) for p, w in zip(parts, weights, strict=True) if len(p[0])]
    if not live or total <= 0:
        return _EMPTY
    ids = np.concatenate([p[0] for p, _ in live])
    ws = np.concatenate([p[1] for p, _ in live]).astype(np.float64)
    cw = np.concatenate([np.full(len(p[0]), w, dtype=np.float64) for p, w in live])
    score: np.ndarray
    if len(ids) * 16 > n_docs:  # dense accumulation over all passages
        score = np.bincount(ids, weights=ws, minlength=n_docs)
        cov = np.bincount(ids, weights=cw, minlength=n_docs)
        hit = np.flatnonzero(cov > 0).astype(np.int32)
        score, cov = score[hit], cov[hit]
    else:
        hit, inv = np.unique(ids, return_inverse=True)
        hit = hit.astype(np.int32)
        score = np.bincount(inv, weights=ws)
        cov = np.bincount(inv, weights=cw)
    if power:
        score = score * (cov / total) ** power
    return hit, score.astype(np.float32)


#: Which of some candidate passages (ascending) hold these terms at consecutive positions.
PhraseCheck = Callable[[Sequence[str], np.ndarray], np.ndarray]


class PlanEvaluator:
    """Evaluate a plan, the same way for every store: each store gives its scored postings
    of a term (``scored``: passages ascending, BM25 weight with idf) and its phrase check;
    OR/AND/NOT/coordination use the shared set operations, phrases are checked on their
    best PHRASE_CHECK_LIMIT candidates; results are memoised per plan node."""

    def __init__(self, scored: Callable[[str], Result], check: PhraseCheck, n_docs: int,
                 deadline: Deadline | None) -> None:
        self.scored = scored
        self.check = check
        self.n_docs = n_docs  # one more than the highest passage number
        tune_for_search()  # per-query arrays over all passages stay on the heap
        self.deadline = deadline
        self.exact = True  # False when a phrase was checked on its best candidates only
        self.timed_out = False
        self._memo: dict[Plan, Result] = {}

    def eval(self, q: Plan) -> Result:
        """(passages matching ``q``, ascending; their scores)."""
        found = self._memo.get(q)
        if found is None:
            found = self._memo[q] = self._eval(q)
        return found

    def _eval(self, q: Plan) -> Result:
        if isinstance(q, Term):
            return self.scored(q.term)
        if isinstance(q, Phrase):
            return self.phrase(q.terms)
        if isinstance(q, Or):
            return union([self.eval(c) for c in q.children])
        if isinstance(q, Coord):
            return coordinated([self.eval(c) for c in q.children], q.weights, q.power,
                               self.n_docs)
        if isinstance(q, And):
            return intersect([self.eval(c) for c in q.children])
        if isinstance(q, AndNot):
            return exclude(self.eval(q.positive), self.eval(q.negative)[0])
        assert isinstance(q, Null)
        return _EMPTY

    def phrase(self, terms: Sequence[str]) -> Result:
        """Passages holding the terms at consecutive positions (the best candidates)."""
        cand_ids, cand_ws = intersect([self.scored(t) for t in terms])
        if len(terms) == 1 or not len(cand_ids):
            return cand_ids, cand_ws
        if len(cand_ids) > PHRASE_CHECK_LIMIT:  # the best, ties in index order
            self.exact = False
            keep = np.sort(best_positions(cand_ids, cand_ws, PHRASE_CHECK_LIMIT))
            cand_ids, cand_ws = cand_ids[keep], cand_ws[keep]
        if self.deadline is not None and self.deadline.expired():
            self.timed_out = True
            return _EMPTY
        ok = self.check(terms, cand_ids)
        return cand_ids[ok], cand_ws[ok]


def facet_counts(kinds: np.ndarray, authors: np.ndarray, stamps: np.ndarray, limit: int,
                 names: Callable[[list[int]], Mapping[int, str]]) -> Facets:
    """Facets of some matches from their columns (kind 0/1, author code or -1, date key
    YYYYMMDDhhmmss or 0): kinds, the ``limit`` most frequent authors (ties: lower code
    first, the order of first appearance) named by ``names``, passages per month."""
    out = Facets()
    counted = np.bincount(kinds, minlength=2)
    out.kinds = {k: int(n) for k, n in zip(("post", "comment"), counted, strict=True) if n}
    codes = authors[authors >= 0]
    if len(codes):
        counts = np.bincount(codes)
        order = [int(c) for c in np.argsort(-counts, kind="stable")[:limit] if counts[c]]
        named = names(order)
        out.authors = [(named[c], int(counts[c])) for c in order]
    dated = stamps[stamps > 0]
    out.undated = int(len(stamps) - len(dated))
    if len(dated):
        months, n = np.unique(dated // 100_000_000, return_counts=True)
        out.months = {f"{ym // 100:04d}-{ym % 100:02d}": c
                      for ym, c in zip(months.tolist(), n.tolist(), strict=True)}
    return out
