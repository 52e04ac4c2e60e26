"""Plain data shared by every layer: threads, comments and searchable passages."""

from __future__ import annotations

from dataclasses import dataclass, field

POST = "post"
COMMENT = "comment"


def anchor(kind: str, position: int) -> str:
    """Fragment id of a passage on the thread page: ``p3`` (post ¶3) or ``c5`` (comment 5)."""
    return f"{'p' if kind == POST else 'c'}{position}"


@dataclass(frozen=True, slots=True)
class Comment:
    """One reader comment: its 1-based number in the thread, signature and paragraphs."""

    position: int
    author: str | None
    date: str | None  # ISO 8601, e.g. "2009-02-05T14:51"
    paragraphs: tuple[str, ...]
    reply_to: tuple[int, ...] = ()  # numbers of earlier comments this one answers (@Name)


@dataclass(frozen=True, slots=True)
class Thread:
    """A blog post (paragraphs) and its comments, as read from one source."""

    id: str
    title: str
    paragraphs: tuple[str, ...]
    comments: tuple[Comment, ...] = ()
    url: str | None = None
    author: str | None = None
    date: str | None = None
    source: str = ""  # file (and line) the thread was read from, for messages

    def passages(self) -> list[Passage]:
        """Split the thread into searchable units: each post paragraph, each whole comment."""
        out = [
            Passage(self.id, self.title, POST, n, self.author, self.date, text)
            for n, text in enumerate(self.paragraphs, start=1)
        ]
        out.extend(
            Passage(self.id, self.title, COMMENT, c.position, c.author, c.date,
                    "\n".join(c.paragraphs))
            for c in self.comments
        )
        return out


@dataclass(frozen=True, slots=True)
class Passage:
    """A searchable unit and where it lives: thread, kind (post/comment) and 1-based position.

    A post paragraph is one passage; a comment is one passage whose paragraphs are
    joined by newlines, so a hit can also name the paragraph within the comment.
    """

    thread_id: str
    thread_title: str
    kind: str
    position: int
    author: str | None
    date: str | None
    text: str

    @property
    def anchor(self) -> str:
        """Fragment id of this passage on the thread page: ``p3`` or ``c5``."""
        return anchor(self.kind, self.position)


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
    notices: list[str] = field(default_factory=list)  # e.g. a prefix expansion was capped
    terms: list[str] = field(default_factory=list)  # analysed terms to mark on thread pages
    total_exact: bool = True  # False: more matches than were counted (total is a lower bound)
    elapsed_ms: float = 0.0


@dataclass(slots=True)
class IndexStats:
    """What `indexer stats` prints about an index."""

    location: str
    threads: int
    passages: int
    terms: int
    size_bytes: int
    built_at: str | None = None


@dataclass(slots=True)
class BuildReport:
    """Outcome of a rebuild: counts, rejected inputs (with reasons) and time."""

    threads: int = 0
    passages: int = 0
    rejected: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    location: str = ""
