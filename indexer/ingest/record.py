"""What every thread format shares: cleaning a record's strings, ids, titles and reply links."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from .folding import fold
from .markup import plain_title, strip_tags
from .model import Comment
from .mojibake import maybe_mojibake, repair
from .report import FileReport
from .text import normalize_key, normalize_text

MAX_ID_CHARS = 200
MENTION_RE = re.compile(r"^\s*@\s*(?P<rest>.+)$", re.DOTALL)


class TextCleaner:
    """Clean one file's strings (controls, NFC, double encoding, HTML tags), counting changes.

    Raises MojibakeError (a ValueError) for double-encoded text that can't be repaired.
    """

    def __init__(self, report: FileReport | None = None) -> None:
        """:param report: where the counts go (a throwaway one when None)."""
        self.report = report or FileReport("", "")
        self.line: int | None = None  # the record being cleaned, for first_line

    def text(self, value: str) -> str:
        """A paragraph (or any string) as plain, clean text."""
        value, count = normalize_text(value)
        if count:
            self.report.control_chars += count
            if self.line is not None:
                self.report.first_line.setdefault("control_chars", self.line)
        if maybe_mojibake(value):
            value, fixed = repair(value)
            if fixed:
                self.report.repaired += 1
                if self.line is not None:
                    self.report.first_line.setdefault("repaired", self.line)
        if "<" in value:
            value, tags = strip_tags(value)
            self.report.html_tags += tags
        return value

    def title(self, value: str) -> str:
        """A title: clean text, then tags out and entities unescaped (:func:`plain_title`)."""
        value = self.text(value)
        if "<" in value or "&" in value or "\n" in value or "\t" in value:
            value, tags = plain_title(value)
            self.report.html_tags += tags
        return value.strip()


def thread_id(raw: str) -> str:
    """A thread id as stored: NFC, format characters removed, trimmed; ValueError if unusable."""
    tid = normalize_key(raw).strip()
    if not tid:
        raise ValueError("'id' must be a non-empty string")
    if len(tid) > MAX_ID_CHARS:
        raise ValueError(f"'id' must be at most {MAX_ID_CHARS} characters")
    return tid


def default_title(paragraphs: Iterable[str], fallback: str) -> str:
    """A title for a thread without one: the post's first sentence, shortened."""
    first = next((p for p in paragraphs if p.strip()), "")
    sentence = re.split(r"(?<=[.!?…])\s", first.strip(), maxsplit=1)[0] if first else ""
    if not sentence:
        return fallback
    return sentence if len(sentence) <= 90 else sentence[:87].rsplit(" ", 1)[0] + "…"


@lru_cache(maxsize=65536)
def _name_key(text: str) -> str:
    """Fold a name (or the text after ``@``) word by word, keeping one space between words.

    ``fold`` alone drops every space, so ``@Thierry merci`` would read as ``thierrymerci``
    and never match the author ``Thierry``.
    """
    return " ".join(w for w in (fold(word) for word in text.split()) if w)


def resolve_replies(comments: list[Comment]) -> list[Comment]:
    """Link each comment's ``@Name`` lines to the latest earlier comment by that author.

    The longest earlier author name that starts the line (followed by a non-letter) wins.
    Linear in the number of comments: names are looked up by the lengths they can have.
    """
    out: list[Comment] = []
    latest: dict[str, int] = {}  # folded author -> position of their latest comment
    lengths: set[int] = set()
    for c in comments:
        targets: dict[int, None] = {}
        for para in c.paragraphs:
            m = MENTION_RE.match(para)
            if not m:
                continue
            rest = _name_key(m.group("rest"))
            for n in sorted((n for n in lengths if n <= len(rest)), reverse=True):
                if rest[n:n + 1].isalnum():
                    continue
                position = latest.get(rest[:n])
                if position is not None:
                    targets[position] = None
                    break
        out.append(Comment(c.position, c.author, c.date, c.paragraphs, tuple(targets)))
        key = _name_key(c.author) if c.author else ""
        if key:
            latest[key] = c.position
            lengths.add(len(key))
    return out
