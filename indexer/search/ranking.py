"""Thread-first ranking, written once for every store: passages, then the threads they are in.

A passage's score P is its BM25 scaled by coordination (the share of the query's weight
it holds, :class:`indexer.search.plan.Coord`). Each thread is also scored as ONE
document, T: BM25 over the whole thread (its passages' text together), each term
weighted by its thread idf squared, times the share of those weights the thread holds.
The candidates are the DEPTH best passages by P, plus the PER_THREAD best passages of
the THREAD_DEPTH best threads by T (a thread about the question brings its passages
even when none of them alone is among the best); each gets::

    final = P / max P + W_THREAD · T / max T + W_PROXIMITY · prox + W_TITLE · title

where ``prox`` is the share of consecutive query-term pairs found within
PROXIMITY_WINDOW positions (either order) and ``title`` the share of the query's idf
found in the thread's title (worth nothing where titles mean nothing). Every constant
was tuned on the even-numbered PIAF questions only (``bench/relevance.py``); the odd
ones are held out. :class:`RankingConfig` holds them, with switches for ablations.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

#: Passage BM25 (every store scores passages with these).
BM25_K1 = 0.9
BM25_B = 0.4
#: Whole-thread BM25 (threads are long: tf saturates later, length matters less).
THREAD_K1 = 2.0
THREAD_B = 0.5


def idf(n_docs: int, df: int) -> float:
    """BM25 idf, always positive: ``log(1 + (N - df + 0.5) / (df + 0.5))``."""
    return math.log(1 + (n_docs - df + 0.5) / (df + 0.5))


@dataclass(frozen=True, slots=True)
class RankingConfig:
    """The ranking's constants, and switches that turn each capability off (ablations)."""

    questions: bool = True  # questions ranked any-word, interrogatives not searched
    rescue: bool = True  # words no passage holds searched as their closest indexed term
    coordination: bool = True
    thread: bool = True
    proximity: bool = True
    titles: bool = True
    coord_power: float = 0.5  # P = bm25 · share ** coord_power
    thread_k1: float = THREAD_K1
    thread_b: float = THREAD_B
    thread_idf_power: float = 2.0  # a term's weight in T: its thread idf ** this
    thread_coord_power: float = 1.0  # T = bm25_thread · share ** this
    w_thread: float = 0.5
    w_proximity: float = 0.8
    w_title: float = 1.0
    proximity_window: int = 2
    depth: int = 100  # best passages by P re-ranked
    thread_depth: int = 10  # best threads by T whose best passages join them
    per_thread: int = 3  # passages each of those threads adds

    def but(self, **changes: object) -> RankingConfig:
        """These settings with some changed."""
        return replace(self, **changes)  # type: ignore[arg-type]


DEFAULT = RankingConfig()


@dataclass(slots=True)
class Candidate:
    """A passage being ranked: its P score, its thread's T and evidence, its final score."""

    key: object  # the store's handle (a passage number, a row id)
    thread_id: str
    score: float  # P: BM25 with coordination
    thread_score: float = 0.0  # T of its thread
    title_terms: frozenset[str] = frozenset()
    positions: dict[str, list[int]] = field(default_factory=dict)
    final: float = 0.0


def proximity(positions: Mapping[str, Sequence[int]], terms: Sequence[str],
              window: int) -> float:
    """Share (0..1) of consecutive query-term pairs found within ``window`` positions.

    The pairs are consecutive distinct terms of the query; a pair counts when some
    occurrence of one is at most ``window`` positions from an occurrence of the other,
    on either side.

    >>> proximity({"tres": [4], "haut": [5], "deb": [9]}, ["tres", "haut", "deb"], 2)
    0.5
    """
    pairs = [(a, b) for a, b in zip(terms, terms[1:], strict=False) if a != b]
    if not pairs:
        return 0.0
    close = 0
    for a, b in pairs:
        pa, pb = positions.get(a), positions.get(b)
        if not pa or not pb:
            continue
        for p in pa:
            j = bisect_left(pb, p - window)
            if j < len(pb) and pb[j] <= p + window:
                close += 1
                break
    return close / len(pairs)


def title_share(title_terms: frozenset[str], terms: Sequence[str],
                idf_of: Mapping[str, float]) -> float:
    """Share (0..1) of the query's idf found among a thread's title terms."""
    unique = set(terms)
    total = sum(idf_of.get(t, 0.0) for t in unique) or 1.0
    return sum(idf_of.get(t, 0.0) for t in unique if t in title_terms) / total


def thread_weights(thread_df: Mapping[str, int], n_threads: int,
                   config: RankingConfig = DEFAULT) -> dict[str, float]:
    """Each term's weight in the thread score: its idf over threads, to a power."""
    return {t: idf(n_threads, df) ** config.thread_idf_power for t, df in thread_df.items()}


def rerank(cands: list[Candidate], terms: Sequence[str], idf_of: Mapping[str, float],
           max_thread: float, config: RankingConfig = DEFAULT) -> None:
    """Set ``final`` on each candidate and sort them best first (stable on ties)."""
    if not cands:
        return
    top = max(c.score for c in cands) or 1.0
    titles: dict[frozenset[str], float] = {}  # share of each title met (threads repeat)
    for c in cands:
        final = c.score / top
        if config.thread and max_thread > 0:
            final += config.w_thread * c.thread_score / max_thread
        if config.proximity and c.positions:
            final += config.w_proximity * proximity(c.positions, terms,
                                                    config.proximity_window)
        if config.titles and c.title_terms:
            share = titles.get(c.title_terms)
            if share is None:
                share = titles[c.title_terms] = title_share(c.title_terms, terms, idf_of)
            final += config.w_title * share
        c.final = final
    cands.sort(key=lambda c: -c.final)
