"""What a search returns: one page of ranked hits and what the page needs around them."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..ingest.model import anchor


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the reader should know about how the query ran; edges word it.

    Codes: ``prefix_capped`` (``word``: the prefix expanded to its ``limit`` most frequent
    terms), ``prefix_short`` (``word`` has fewer than ``limit`` letters before ``*``: it
    was searched as a word), ``rescued`` (no passage holds ``word``: it was searched as
    ``other``, the closest indexed word), ``timed_out`` (the time limit cut the search
    short).
    """

    code: str
    word: str = ""
    limit: int = 0
    other: str = ""


@dataclass(slots=True)
class Hit:
    """One ranked result: a passage, its snippet (safe HTML) and its score."""

    thread_id: str
    thread_title: str
    kind: str
    position: int
    author: str | None
    date: str | None
    snippet: str  # HTML: thread text escaped, matched words wrapped in <mark>
    score: float
    paragraph: int = 1  # paragraph within a comment holding the best match

    @property
    def anchor(self) -> str:
        """Fragment id of the passage on the thread page: ``p3`` or ``c5``."""
        return anchor(self.kind, self.position)


@dataclass(slots=True)
class SearchResults:
    """One page of results plus what the page needs around them (facets, suggestion)."""

    query: str
    total: int
    page: int
    per_page: int
    hits: list[Hit] = field(default_factory=list)
    suggestion: str | None = None
    matched: str = "all"  # "all": every word matched; "any": fallback to any word; "none"
    authors: list[tuple[str, int]] = field(default_factory=list)  # author facet with counts
    kinds: dict[str, int] = field(default_factory=dict)  # {"post": n, "comment": m}
    notices: list[Notice] = field(default_factory=list)  # e.g. a prefix expansion was capped
    terms: list[str] = field(default_factory=list)  # analysed terms to mark on thread pages
    total_exact: bool = True  # False: more matches than were counted (total is a lower bound)
    elapsed_ms: float = 0.0
