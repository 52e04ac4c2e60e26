"""Blog exports (``.txt``): header lines, post paragraphs, comments closed by signature lines.

Only an empty file costs its thread. Everything else odd is kept and warned about
(file:line, reason): a signature whose date can't be read (the comment is kept without a
date), lines after the last signature (kept as a last, unsigned comment), a signature
with no comment above it or a repeated comments marker (the line is ignored), a header
date that can't be read, a line that looks like a signature but does not read as one.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..errors import ThreadParseError
from .dates import parse_date
from .model import Comment, Thread
from .mojibake import MojibakeError
from .record import TextCleaner, default_title, resolve_replies

Warn = Callable[[int | None, str, str], None]  # line, code, reason

_SIG_PREFIX = r"^\s*+(?:R[ée]dig[ée]|Post[ée]|Posted|[ÉE]crit|Publi[ée])\s++(?:par|by)\s*+:"
#: ``Rédigé par : AUTHOR | DD/MM/YYYY à HH:MM`` and its variants (``Posted by``, ``Écrit
#: par``, ``Publié par``; ``|``, ``-``, en or em dash; seconds; ``9h05``; two-digit years).
#: Linear: the author ends on a non-space and the spaces around it are possessive.
SIGNATURE_RE = re.compile(
    _SIG_PREFIX + r"\s*+(?P<author>(?:.*?\S)?)\s*+[|\u2013\u2014-]\s*+"
    r"(?P<date>\d{1,2}/\d{1,2}/(?:\d{4}|\d{2})"
    r"(?:\s*+(?:(?:à|a|at)\s*+)?\d{1,2}[:h]\d{2}(?::\d{2})?)?)\s*+$",
    re.IGNORECASE,
)
#: The same opening without a date that reads: a signature whose date is unreadable or absent.
LOOSE_SIGNATURE_RE = re.compile(_SIG_PREFIX + r"\s*+(?P<rest>.*)$", re.IGNORECASE)
_LOOSE_DASH_RE = re.compile(r"\s[\u2013\u2014-]\s")
#: A line that starts like a signature but has no ``:`` (warned about, kept as text).
SIGNATURE_LIKE_RE = re.compile(
    r"^\s*+(?:r[ée]dig[ée]|post[ée]|posted|[ée]crit|publi[ée])\s++(?:par|by)\b", re.IGNORECASE)
#: Optional header lines at the top of a .txt file, closed by a line ``---``.
HEADER_RE = re.compile(r"^(?P<key>titre|title|url|auteur|author|date)\s*:\s*(?P<value>.*)$",
                       re.IGNORECASE)
HEADER_END = "---"
#: Optional explicit marker between the post and the comments: ``--- commentaires ---``.
COMMENTS_MARKER_RE = re.compile(r"^\s*-{3,}\s*(?:commentaires?|comments?)\s*-{3,}\s*$",
                                re.IGNORECASE)
#: Lines that open a comment: a greeting, an address to someone, or an @reply.
OPENER_RE = re.compile(
    r"^\s*(?:@\S|(?:bonjour|bonsoir|salut|hello|coucou|hi|bravo|cher|ch[èe]re|chers"
    r"|monsieur|madame|mme|mlle|re|merci)\b|m\.\s)",
    re.IGNORECASE,
)
#: Line breaks of a thread file. Not ``str.splitlines``: that also splits on U+2028/U+2029
#: (legal unescaped inside a JSON string) and on other separators, shifting line numbers.
LINE_BREAK_RE = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """Split on ``\\n``, ``\\r\\n`` and ``\\r`` only, so line numbers match an editor's."""
    lines = LINE_BREAK_RE.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def first_comment_start(lines: list[str]) -> int:
    """Index (in ``lines``) where the first comment begins, given the lines before its signature.

    Rule: the nearest line above the first signature that opens a comment (a greeting
    such as ``Bonjour,``, an address such as ``Cher Jean-Michel``, or an ``@name`` reply)
    starts the comment; the post keeps at least its first line. Without such a line,
    the first comment is the last line before the signature (most comments are short).
    """
    for i in range(len(lines) - 1, 0, -1):
        if OPENER_RE.match(lines[i]):
            return i
    return len(lines) - 1 if len(lines) > 1 else len(lines)


def read_signature(line: str) -> tuple[str | None, str | None, bool] | None:
    """(author, date text, whether the date part read) for a signature line, else None."""
    m = SIGNATURE_RE.match(line)
    if m:
        return m.group("author").strip() or None, m.group("date"), True
    m = LOOSE_SIGNATURE_RE.match(line)
    if m is None:
        return None
    rest = m.group("rest").strip()
    if "|" in rest:
        author, _, date = rest.rpartition("|")
    else:
        dashes = list(_LOOSE_DASH_RE.finditer(rest))
        if not dashes:
            return rest or None, None, False
        author, date = rest[:dashes[-1].start()], rest[dashes[-1].end():]
    return author.strip() or None, date.strip() or None, False


def _header_key(key: str) -> str:
    """Normalise a French or English header name to the Thread field it fills."""
    return {"titre": "title", "auteur": "author"}.get(key.lower(), key.lower())


def _ignore(_line: int | None, _code: str, _reason: str) -> None:
    """Drop a warning (callers that don't collect them)."""


def parse_txt(text: str, path: str, thread_id: str, warn: Warn | None = None,
              cleaner: TextCleaner | None = None) -> Thread:
    """Parse a blog export; raise ThreadParseError only when it holds no text at all."""
    numbered = list(enumerate(split_lines(text), start=1))
    return parse_txt_lines(numbered, path, thread_id, warn, cleaner)


def parse_txt_lines(numbered: list[tuple[int, str]], path: str, thread_id: str,
                    warn: Warn | None = None, cleaner: TextCleaner | None = None) -> Thread:
    """:func:`parse_txt` on numbered lines (already decoded)."""
    warn = warn or _ignore
    clean = cleaner or TextCleaner()
    lines: list[tuple[int, str]] = []
    for n, line in numbered:
        clean.line = n
        try:
            lines.append((n, clean.text(line).strip()))
        except MojibakeError as exc:
            warn(n, "mojibake", f"{exc}: line left out")
    meta: dict[str, str] = {}
    meta_line: dict[str, int] = {}
    if lines and HEADER_RE.match(lines[0][1]):
        end = next((i for i, (_, line) in enumerate(lines) if line == HEADER_END), None)
        if end is not None and all(HEADER_RE.match(line) or not line
                                   for _, line in lines[:end]):
            for n, line in lines[:end]:
                m = HEADER_RE.match(line)
                if m:
                    meta[_header_key(m.group("key"))] = m.group("value").strip()
                    meta_line[_header_key(m.group("key"))] = n
            lines = lines[end + 1:]
    lines = [(n, line) for n, line in lines if line]

    post: list[tuple[int, str]] = []
    comments: list[Comment] = []
    pending: list[tuple[int, str]] = []
    marker_seen = split = False  # split: the post / first comment boundary is placed
    for n, line in lines:
        if COMMENTS_MARKER_RE.match(line):
            if marker_seen or split:
                where = "appears twice" if marker_seen else "after the first signature"
                warn(n, "marker", f"comments marker {where}: line ignored")
                continue
            marker_seen = split = True
            post, pending = pending, []
            continue
        sig = read_signature(line)
        if sig is None:
            if SIGNATURE_LIKE_RE.match(line) and len(line) < 300:
                warn(n, "signature-like", "looks like a signature but was not read as one "
                     "(expected 'Rédigé par : AUTHOR | DD/MM/YYYY à HH:MM'): kept as text")
            pending.append((n, line))
            continue
        if not split and pending:
            start = first_comment_start([line for _, line in pending])
            post, pending, split = pending[:start], pending[start:], True
        if not pending:
            warn(n, "signature-alone", "signature without a comment above it: line ignored")
            continue
        author, date_text, date_read = sig
        date = None
        if date_text is not None:
            try:
                date = parse_date(date_text, path, n)
            except ThreadParseError as exc:
                warn(n, "bad-date", f"signature date: {exc.reason}; comment kept without a date")
        elif not date_read:
            warn(n, "bad-date", "signature without a date: comment kept without a date")
        comments.append(Comment(len(comments) + 1, author, date,
                                tuple(line for _, line in pending)))
        pending = []
    if not split:
        post, pending = pending, []
    if pending:
        warn(pending[0][0], "unsigned", f"{len(pending)} line(s) after the last signature "
             "have no 'Rédigé par : AUTHOR | DD/MM/YYYY à HH:MM' line: kept as a last "
             "comment without author or date")
        comments.append(Comment(len(comments) + 1, None, None,
                                tuple(line for _, line in pending)))
    if not post and not comments:
        raise ThreadParseError(path, "no text: empty thread")
    paragraphs = tuple(line for _, line in post)
    post_date = None
    if meta.get("date"):
        try:
            post_date = parse_date(meta["date"], path, meta_line["date"])
        except ThreadParseError as exc:
            warn(meta_line["date"], "bad-date", f"{exc.reason}; post kept without a date")
    title = clean.title(meta.get("title") or "")
    return Thread(
        id=thread_id,
        title=title or default_title(paragraphs, thread_id),
        paragraphs=paragraphs,
        comments=tuple(resolve_replies(comments)),
        url=meta.get("url") or None,
        author=meta.get("author") or None,
        date=post_date,
        source=path,
    )
