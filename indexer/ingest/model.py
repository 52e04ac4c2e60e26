"""Plain data shared by every layer: threads, comments and searchable passages."""

from __future__ import annotations

from dataclasses import dataclass

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
