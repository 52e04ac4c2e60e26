"""Re-ranking shared by every backend: passage score plus thread evidence and proximity.

A backend retrieves candidates with its own BM25-like score; this module mixes in
(1) how much of the query's weight the thread's title carries, (2) how much of the
candidate set the thread holds (a thread about the query beats a stray mention), and
(3) whether query words stand close together in the passage, in query order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

#: BM25 parameters (every store scores with these; tuned on PIAF's even questions).
BM25_K1 = 0.9
BM25_B = 0.4

#: Weights of the evidence, relative to the best candidate's passage score (= 1.0).
#: Tuned on the even-numbered PIAF questions only; the odd-numbered ones are held out.
TITLE_WEIGHT = 0.35
THREAD_WEIGHT = 0.25
PROXIMITY_WEIGHT = 0.25
PROXIMITY_WINDOW = 3  # words: pairs closer than this count as "together"
RERANK_DEPTH = 100  # candidates re-ranked; deeper pages keep the backend's order


def idf(n_docs: int, df: int) -> float:
    """BM25 idf, always positive: ``log(1 + (N - df + 0.5) / (df + 0.5))``."""
    return math.log(1 + (n_docs - df + 0.5) / (df + 0.5))


@dataclass(slots=True)
class Candidate:
    """A retrieved passage before re-ranking; ``positions`` maps query terms to positions."""

    key: object  # backend's handle (Whoosh docnum, SQL row id)
    thread_id: str
    title_terms: frozenset[str]
    score: float
    positions: dict[str, list[int]] = field(default_factory=dict)
    final: float = 0.0


def proximity(positions: Mapping[str, Sequence[int]], terms: Sequence[str]) -> float:
    """Share (0..1) of consecutive query-term pairs found within PROXIMITY_WINDOW, in order."""
    pairs = [(a, b) for a, b in zip(terms, terms[1:], strict=False) if a != b]
    if not pairs:
        return 0.0
    close = 0
    for a, b in pairs:
        pa, pb = positions.get(a), positions.get(b)
        if not pa or not pb:
            continue
        j = 0
        for p in pa:
            while j < len(pb) and pb[j] <= p:
                j += 1
            if j < len(pb) and pb[j] - p <= PROXIMITY_WINDOW:
                close += 1
                break
    return close / len(pairs)


def rerank(cands: list[Candidate], terms: Sequence[str], idf: Mapping[str, float],
           thread_mass: Mapping[str, float] | None = None) -> None:
    """Set ``final`` on each candidate and sort the list best first (stable on ties).

    ``thread_mass`` maps a thread to the summed scores of ALL its matching passages
    (the backend computes it over the whole match set); without it, the candidates'
    own scores stand in for it.
    """
    if not cands:
        return
    top = max(c.score for c in cands) or 1.0
    weight_total = sum(idf.get(t, 0.0) for t in set(terms)) or 1.0
    if thread_mass is None:
        mass: dict[str, float] = {}
        for c in cands:
            mass[c.thread_id] = mass.get(c.thread_id, 0.0) + c.score
        thread_mass = mass
    norm = {t: thread_mass.get(t, 0.0) / top for t in {c.thread_id for c in cands}}
    best_mass = max(norm.values()) or 1.0
    for c in cands:
        title = sum(idf.get(t, 0.0) for t in set(terms) if t in c.title_terms) / weight_total
        thread = math.log1p(norm[c.thread_id]) / math.log1p(best_mass)
        prox = proximity(c.positions, terms) if c.positions else 0.0
        c.final = (c.score / top + TITLE_WEIGHT * title + THREAD_WEIGHT * thread
                   + PROXIMITY_WEIGHT * prox)
    cands.sort(key=lambda c: -c.final)
