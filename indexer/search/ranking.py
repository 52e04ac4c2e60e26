"""Thread-first ranking, written once for every store: passages, then the threads they are in.

A passage's score P is its BM25 scaled by coordination (the share of the query's weight
it holds, :class:`indexer.search.plan.Coord`); in the re-ranked head, a passage also
holds its thread's title (title inheritance: a query word it lacks but its title holds
counts as one occurrence at average length, in BM25 and in the share; a forum reply
rarely repeats its thread's subject). Capitalised query words that do not open the
query (names, acronyms) weigh PROPER_BOOST times their idf in the share, in what a
title lends and in the thread score. Each thread is also scored as ONE
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
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass, field, replace

from .plan import And, AndNot, Coord, Or, Phrase, Plan, Term

#: Passage BM25 (every store scores passages with these).
BM25_K1 = 0.9
BM25_B = 0.4
#: Weight of a capitalised query word that does not open the query (a name, an acronym).
PROPER_BOOST = 1.3
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
    proximity_idf: bool = False  # pairs weighted by their rarer term's idf (else equally)
    coord_idf_power: float = 1.0  # a clause's weight in coordination: its idf ** this
    w_phrase: float = 0.0  # share of consecutive query-term pairs found adjacent, in order
    proper_boost: float = PROPER_BOOST  # capitalised words not opening the query (names)
    title_inherit: bool = True  # a passage holds its thread title's words (P, any-word)
    inherit_weight: float = 1.0  # a title word missing from a passage counts this much
    depth: int = 100  # best passages by P re-ranked
    thread_depth: int = 10  # best threads by T whose best passages join them
    per_thread: int = 5  # passages each of those threads adds

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
              window: int, weight_of: Mapping[str, float] | None = None,
              ordered: bool = False) -> float:
    """Share (0..1) of consecutive query-term pairs found within ``window`` positions.

    The pairs are consecutive distinct terms of the query; a pair counts when some
    occurrence of one is at most ``window`` positions from an occurrence of the other,
    on either side (``ordered``: the other after it). With ``weight_of``, each pair
    counts as its rarer term's weight.

    >>> proximity({"tres": [4], "haut": [5], "deb": [9]}, ["tres", "haut", "deb"], 2)
    0.5
    >>> proximity({"tres": [5], "haut": [4]}, ["tres", "haut"], 1, ordered=True)
    0.0
    """
    pairs = [(a, b) for a, b in zip(terms, terms[1:], strict=False) if a != b]
    if not pairs:
        return 0.0
    close = total = 0.0
    for a, b in pairs:
        w = min(weight_of.get(a, 0.0), weight_of.get(b, 0.0)) if weight_of else 1.0
        total += w
        pa, pb = positions.get(a), positions.get(b)
        if not pa or not pb:
            continue
        for p in pa:
            j = bisect_left(pb, p + 1 if ordered else p - window)
            if j < len(pb) and pb[j] <= p + window:
                close += w
                break
    return close / total if total > 0 else 0.0


def title_share(title_terms: frozenset[str], terms: Sequence[str],
                idf_of: Mapping[str, float]) -> float:
    """Share (0..1) of the query's idf found among a thread's title terms."""
    unique = set(terms)
    total = sum(idf_of.get(t, 0.0) for t in unique) or 1.0
    return sum(idf_of.get(t, 0.0) for t in unique if t in title_terms) / total


def holds(plan: Plan, has: Callable[[str], bool]) -> bool:
    """Whether a clause is satisfied by the terms ``has`` accepts (phrases: every word,
    their order unchecked)."""
    if isinstance(plan, Term):
        return has(plan.term)
    if isinstance(plan, Phrase):
        return all(has(t) for t in plan.terms)
    if isinstance(plan, Or | Coord):
        return any(holds(c, has) for c in plan.children)
    if isinstance(plan, And):
        return all(holds(c, has) for c in plan.children)
    if isinstance(plan, AndNot):
        return holds(plan.positive, has)
    return False


def inherited_score(c: Candidate, clauses: Sequence[Plan], idfs: Sequence[float],
                    weights: Sequence[float], power: float, known: Set[str],
                    gamma: float = 1.0) -> float:
    """A passage's P with its thread's title read as part of it.

    Each query clause the passage lacks but its thread's title holds counts as ``gamma``
    occurrence at average length (BM25 impact 1, so it adds its passage idf ``idfs``)
    and joins the coordination share (its ``weights``, to ``power``), as if the title
    were written at the head of every passage of its thread. The passage's own clauses
    are read from its positions (a term whose positions were not asked for counts as
    held).

    >>> c = Candidate(1, "t", 2.0, title_terms=frozenset({"gesualdo"}),
    ...               positions={"oeuvr": [3]})
    >>> round(inherited_score(c, [Term("oeuvr"), Term("gesualdo")], [2.0, 2.0],
    ...                       [2.0, 2.0], 0.5, {"oeuvr", "gesualdo"}), 4)
    4.8284
    """
    if not c.score or c.title_terms.isdisjoint(known):
        return c.score

    def present(t: str) -> bool:
        return t in c.positions or t not in known

    have = [holds(cl, present) for cl in clauses]
    gain = [not h and holds(cl, c.title_terms.__contains__) for cl, h in zip(clauses, have,
                                                                              strict=True)]
    if not any(gain):
        return c.score
    total = sum(weights) or 1.0
    share = sum(w for w, h in zip(weights, have, strict=True) if h) / total
    if power and share <= 0:
        return c.score
    bm25 = c.score / share ** power if power else c.score
    add = gamma * sum(i for i, g in zip(idfs, gain, strict=True) if g)
    more = gamma * sum(w for w, g in zip(weights, gain, strict=True) if g) / total
    return (bm25 + add) * min(1.0, share + more) ** power


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
            final += config.w_proximity * proximity(
                c.positions, terms, config.proximity_window,
                idf_of if config.proximity_idf else None)
            if config.w_phrase:
                final += config.w_phrase * proximity(c.positions, terms, 1, None, True)
        if config.titles and c.title_terms:
            share = titles.get(c.title_terms)
            if share is None:
                share = titles[c.title_terms] = title_share(c.title_terms, terms, idf_of)
            final += config.w_title * share
        c.final = final
    cands.sort(key=lambda c: -c.final)
