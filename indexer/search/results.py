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
class ThreadGroup:
    """One thread of a page grouped by thread: its best passages, best first."""

    thread_id: str
    thread_title: str
    score: float  # its best passage's
    hits: list[Hit] = field(default_factory=list)
    more: int = 0  # its other matching passages


@dataclass(slots=True)
class FacetCounts:
    """The facets as filter choices: each counted over the matches with the query's own
    filter on that facet dropped (``kind:`` for kinds, ``author:`` for authors,
    ``after:``/``before:`` for months), so that a chosen value keeps its siblings."""

    kinds: dict[str, int] = field(default_factory=dict)
    authors: list[tuple[str, int]] = field(default_factory=list)
    months: dict[str, int] = field(default_factory=dict)  # "YYYY-MM" -> passages
    undated: int = 0  # passages without a date (a date filter leaves them out)


@dataclass(slots=True)
class SearchResults:
    """One page of results plus what the page needs around them (facets, suggestion).

    Grouped by passage (the default), ``hits`` are the page's passages, thread-first
    ordered, and ``total`` counts passages. Grouped by thread, ``groups`` are the page's
    threads, and ``total`` counts threads; ``total_passages`` counts passages either way.
    """

    query: str
    total: int
    page: int
    per_page: int
    hits: list[Hit] = field(default_factory=list)
    suggestion: str | None = None
    #: "all": every word matched; "any": none held them all, passages with any are ranked;
    #: "question": read as a question, passages ranked by how much of it they hold;
    #: "none": nothing matched
    matched: str = "all"
    group: str = "passage"  # or "thread"
    sort: str = "relevance"  # or "date": newest matching passages first
    groups: list[ThreadGroup] = field(default_factory=list)
    total_passages: int = 0
    total_threads: int = 0
    authors: list[tuple[str, int]] = field(default_factory=list)  # author facet with counts
    kinds: dict[str, int] = field(default_factory=dict)  # {"post": n, "comment": m}
    facet_counts: FacetCounts | None = None  # with facets: the choices (see FacetCounts)
    notices: list[Notice] = field(default_factory=list)  # e.g. a prefix expansion was capped
    terms: list[str] = field(default_factory=list)  # analysed terms to mark on thread pages
    total_exact: bool = True  # False: more matches than were counted (total is a lower bound)
    elapsed_ms: float = 0.0
