"""The questions the search pipeline asks a store, and the shapes of the answers.

A store (the embedded index, PostgreSQL) only answers these; the search itself —
parsing, planning, the any-word fallback, paging, re-ranking, hits, suggestions,
notices, facets — is :mod:`indexer.search.pipeline`, written once. Every question is
asked of a :class:`Snapshot`: one consistent view of one index generation (a
PostgreSQL transaction, an embedded generation), so that a rebuild or an update
swapping the index in the middle of a search is never seen half-way.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

from ..ingest.model import Passage, Thread
from .deadline import Deadline
from .plan import Filters, Plan

Key = Hashable  # a store's handle on one passage (a document number, a row id)


@dataclass(slots=True)
class Matches:
    """The best matches of a plan, best first, and how many there are in all."""

    keys: list[Key] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)  # BM25 summed over matching terms
    threads: list[str] = field(default_factory=list)  # thread id of each key
    total: int = 0  # passages matching (a lower bound when ``exact`` is False)
    exact: bool = True
    total_threads: int | None = None  # threads matching (None: the store did not count)
    timed_out: bool = False  # the deadline cut the matching short (what was found is here)


@dataclass(slots=True)
class ThreadScores:
    """Whole-thread scores: the best threads, the ones asked for, and the best score."""

    best: list[tuple[str, float]] = field(default_factory=list)  # best first, score > 0
    scores: dict[str, float] = field(default_factory=dict)  # asked-for and best threads
    max: float = 0.0


#: What a result shows of one passage: the passage itself.
PassageRecord = Passage


@dataclass(slots=True)
class Facets:
    """Counts over every match: by kind, the most frequent authors, by month."""

    kinds: dict[str, int] = field(default_factory=dict)
    authors: list[tuple[str, int]] = field(default_factory=list)
    months: dict[str, int] = field(default_factory=dict)  # "YYYY-MM" -> passages
    undated: int = 0  # passages without a date


class Snapshot(Protocol):
    """One consistent view of an index, for the length of one search."""

    def doc_count(self) -> int:
        """Number of passages in the index."""
        ...

    def doc_freqs(self, terms: Sequence[str]) -> dict[str, int]:
        """Number of passages holding each term (0 for unknown terms)."""
        ...

    def expand_prefix(self, prefix: str, limit: int) -> list[tuple[str, int]]:
        """The ``limit`` most frequent index terms starting with ``prefix`` (df descending,
        then term order), with their df."""
        ...

    def near_terms(self, term: str, prefix: int, max_dist: int) -> list[tuple[str, int, int]]:
        """Index terms within ``max_dist`` edits of ``term`` that share its first ``prefix``
        characters, as (term, df, distance), in term order (spelling suggestions)."""
        ...

    def match(self, plan: Plan | None, exclude: Plan | None, filters: Filters, k: int,
              deadline: Deadline, newest: bool = False) -> Matches:
        """The ``k`` best passages for ``plan`` minus ``exclude`` within ``filters``.

        Best first by score, then index order. With ``plan`` None (filters alone), or
        ``newest``, the newest first: date descending, undated last, then index order
        (scores are 0 with ``plan`` None, the passages' scores with ``newest``).
        """
        ...

    def thread_stats(self, terms: Sequence[str]) -> tuple[int, dict[str, int]]:
        """Number of threads, and how many threads hold each term."""
        ...

    def thread_scores(self, weights: Mapping[str, float], k1: float, b: float,
                      coord_power: float, top: int, include: Sequence[str]) -> ThreadScores:
        """Every thread scored as ONE document (its passages' text together).

        ``T = Σ_t w_t · tf·(k1+1)/(tf + k1·(1−b+b·len/avglen)) · (Σ_{t held} w_t / Σ_t w_t)
        ** coord_power``, over the threads' summed term frequencies and lengths. Returns
        the ``top`` best threads (score > 0), the scores of those and of ``include``,
        and the best score of all.
        """
        ...

    def best_in_threads(self, plan: Plan, exclude: Plan | None, filters: Filters,
                        threads: Sequence[str], per_thread: int,
                        deadline: Deadline) -> Matches:
        """The ``per_thread`` best matches of each of ``threads`` (scored as ``match``)."""
        ...

    def thread_match_counts(self, plan: Plan | None, exclude: Plan | None, filters: Filters,
                            threads: Sequence[str]) -> dict[str, int]:
        """How many passages of each of ``threads`` match (as ``match`` matches)."""
        ...

    def positions(self, keys: Sequence[Key],
                  terms: Sequence[str]) -> dict[Key, dict[str, list[int]]]:
        """Word positions (0-based, ascending) of some terms in some passages."""
        ...

    def title_terms(self, thread_ids: Sequence[str]) -> dict[str, frozenset[str]]:
        """Analysed terms of the threads' titles."""
        ...

    def passages(self, keys: Sequence[Key]) -> dict[Key, PassageRecord]:
        """What the results show of some passages."""
        ...

    def facets(self, plan: Plan | None, exclude: Plan | None, filters: Filters,
               limit: int) -> Facets:
        """Counts by kind, the ``limit`` most frequent authors, and counts by month
        (``YYYY-MM``; ``undated`` for passages without a date) over every match."""
        ...

    def sample_texts(self, term: str, n: int) -> list[str]:
        """Texts of the first ``n`` passages (index order) holding ``term``."""
        ...


class SearchStore(Protocol):
    """A store the pipeline can search: it opens snapshots and fetches whole threads."""

    name: str

    def snapshot(self, deadline: Deadline) -> AbstractContextManager[Snapshot]:
        """A consistent view of the current index (raises IndexMissingError when none)."""
        ...

    def thread(self, thread_id: str) -> Thread | None:
        """The whole thread with this id, or None."""
        ...


def iter_keys(m: Matches) -> Iterator[tuple[Key, float, str]]:
    """(key, score, thread id) of each match, best first."""
    return zip(m.keys, m.scores, m.threads, strict=True)
