"""Read thread files (blog export ``.txt`` and JSON Lines ``.jsonl``) into :class:`Thread` values.

No index code here: parsing only turns bytes into threads, and every problem into a
:class:`ThreadParseError` that names the file, the line and the reason.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from ..analysis.folding import fold
from ..errors import SourceMissingError, ThreadParseError
from .model import Comment, Thread

THREAD_SUFFIXES = (".txt", ".jsonl")
MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_LINE_CHARS = 1_000_000
MAX_ID_CHARS = 200

#: ``Rédigé par : AUTHOR | DD/MM/YYYY à HH:MM`` (also without accents, "Posted by" and "-").
#: Written to run in linear time: the author ends on a non-space and the spaces around
#: it are matched possessively, so a long line of spaces can't make it backtrack.
SIGNATURE_RE = re.compile(
    r"^\s*+(?:R[ée]dig[ée] par|Posted by|[ÉE]crit par)\s*+:\s*+(?P<author>(?:.*?\S)?)"
    r"\s*+[|\u2013-]\s*+(?P<d>\d{1,2})/(?P<m>\d{1,2})/(?P<y>\d{4})"
    r"(?:\s*+(?:à|a|at)\s*+(?P<H>\d{1,2})[:h](?P<M>\d{2}))?\s*+$",
    re.IGNORECASE,
)
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
MENTION_RE = re.compile(r"^\s*@\s*(?P<rest>.+)$", re.DOTALL)
#: ``DD/MM/YYYY [à] HH:MM`` (no two adjacent ``\s*``: that backtracks quadratically).
DMY_DATE_RE = re.compile(
    r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:\s*+(?:(?:à|a|at)\s*+)?(\d{1,2})[:h](\d{2}))?$")
ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?$")
#: Line breaks of a thread file. Not ``str.splitlines``: that also splits on U+2028/U+2029
#: (legal unescaped inside a JSON string) and on other separators, shifting line numbers.
LINE_BREAK_RE = re.compile(r"\r\n|\r|\n")
#: How UTF-8 continuation bytes (0x80-0xBF) look once decoded as Windows-1252 or Latin-1.
_CONTINUATION = "".join(sorted(set(bytes(range(0x80, 0xC0)).decode("cp1252", errors="ignore")
                                   + bytes(range(0x80, 0xC0)).decode("latin-1"))))
#: UTF-8 read as Windows-1252 (``é`` -> ``Ã©``, ``œ`` -> ``Å“``, ``’`` -> ``â€™``).
MOJIBAKE_RE = re.compile(f"[ÂÃÅ][{re.escape(_CONTINUATION)}]|â€|Ã ")
#: Characters that make a text file binary: C0/C1 controls except tab, LF, CR and form feed.
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
#: What thread text may not contain: those controls, and unpaired surrogates (JSON
#: ``"\\ud800"``, or undecodable bytes in a file name).
BAD_JSON_TEXT_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


@dataclass(slots=True)
class ReadResult:
    """Threads read from sources, plus every rejected input and every warning, by name."""

    threads: list[Thread] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _mostly_mojibake(text: str) -> bool:
    """True when mojibake pairs make up a quarter or more of the text's non-ASCII characters."""
    garbled = 2 * len(MOJIBAKE_RE.findall(text))
    non_ascii = sum(1 for ch in text if ord(ch) > 127)
    return garbled * 4 >= non_ascii


def decode_bytes(data: bytes, path: str) -> tuple[str, str]:
    """Decode a thread file: UTF-8 (with or without BOM), else Windows-1252; never garble.

    Returns (text, encoding). Raises ThreadParseError when neither fits, or when the
    bytes are binary (NUL or other control characters).
    """
    if b"\x00" in data:
        raise ThreadParseError(path, "binary data (NUL byte): not a text file")
    utf8_error = None
    try:
        text, encoding = data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc.start + len(data) - len(exc.object)  # offsets skip a BOM
        if _truncated_utf8(data) is not None:
            raise ThreadParseError(path, f"file ends in the middle of a UTF-8 character (byte "
                                   f"{utf8_error}): truncated?") from None
        try:
            text, encoding = data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            raise ThreadParseError(
                path, f"not UTF-8 (byte {utf8_error}) and not Windows-1252/Latin-1 either"
            ) from None
    # The regex scans slowly (no literal to skip to); most texts hold none of its leads.
    maybe = "Ã" in text or "Â" in text or "Å" in text or "â€" in text
    mojibake = MOJIBAKE_RE.search(text) if maybe else None
    if mojibake is not None and encoding == "utf-8" and not _mostly_mojibake(text):
        mojibake = None  # a few quoted "Ã©" in real accented text (e.g. a post about encodings)
    if mojibake is not None:
        line = _line_of(text, mojibake.start())
        if encoding == "utf-8":
            raise ThreadParseError(path, f"text looks double-encoded (mojibake such as "
                                   f"{mojibake.group()!r}); re-export it as UTF-8", line)
        # Valid UTF-8 sequences inside a file that is not UTF-8 as a whole: decoding it
        # as Windows-1252 would garble them, so refuse rather than guess.
        raise ThreadParseError(path, f"mixed encodings: UTF-8 text (read as "
                               f"{mojibake.group()!r}) in a file that is not valid UTF-8 "
                               f"(byte {utf8_error}); re-export it as UTF-8", line)
    bad = CONTROL_RE.search(text)
    if bad is not None:
        raise ThreadParseError(path, f"control character U+{ord(bad.group()):04X}: "
                               "not a text file", _line_of(text, bad.start()))
    return text, encoding


def _truncated_utf8(data: bytes, ascii_ok: bool = False) -> int | None:
    """Where ``data``'s cut last UTF-8 character starts, when that is its only flaw; else None.

    Unless ``ascii_ok``, only when the rest holds UTF-8 characters beyond ASCII:
    ``caf\\xe9`` is Windows-1252 "café", not a cut UTF-8 file.
    """
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # strict decoding stops at the first error: if it is the end, all before is valid
        if (exc.reason == "unexpected end of data" and exc.end == len(exc.object)
                and (ascii_ok or not exc.object[:exc.start].isascii())):
            return exc.start + len(data) - len(exc.object)
    return None


def _line_of(text: str, pos: int) -> int:
    """1-based line number of a character offset (same line breaks as :func:`split_lines`)."""
    return len(LINE_BREAK_RE.findall(text, 0, pos)) + 1


def split_lines(text: str) -> list[str]:
    """Split on ``\\n``, ``\\r\\n`` and ``\\r`` only, so line numbers match an editor's."""
    lines = LINE_BREAK_RE.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def parse_date(value: str, path: str, line: int | None) -> str:
    """Turn ``DD/MM/YYYY à HH:MM`` or ISO 8601 into ISO 8601 (``2009-02-05T14:51``)."""
    value = value.strip()
    m = DMY_DATE_RE.match(value)
    if m:
        d, mo, y, hh, mm = m.groups()
        return _iso(int(y), int(mo), int(d), hh, mm, path, line)
    if ISO_DATE_RE.match(value):
        y, mo, d = int(value[:4]), int(value[5:7]), int(value[8:10])
        hh, mm = (value[11:13], value[14:16]) if len(value) > 10 else (None, None)
        canonical = value.isascii() and (len(value) == 10 or len(value) == 16
                                          and value[10] == "T")
        if canonical:  # already as the index writes it: validate only
            _iso(y, mo, d, hh, mm, path, line, validate_only=True)
            return value
        return _iso(y, mo, d, hh, mm, path, line)
    raise ThreadParseError(path, f"unreadable date {value!r} (expected DD/MM/YYYY à HH:MM "
                           "or YYYY-MM-DD[THH:MM])", line)


def _iso(y: int, mo: int, d: int, hh: str | None, mm: str | None, path: str,
         line: int | None, validate_only: bool = False) -> str:
    """Validate a calendar date and format it as ISO 8601."""
    try:
        dt = datetime(y, mo, d, int(hh or 0), int(mm or 0))
    except ValueError as exc:
        raise ThreadParseError(path, f"invalid date: {exc}", line) from None
    if validate_only:
        return ""
    # not strftime("%Y"): it does not pad years before 1000 to four digits
    day = f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}"
    return f"{day}T{dt.hour:02d}:{dt.minute:02d}" if hh is not None else day


def default_title(paragraphs: Iterable[str], fallback: str) -> str:
    """A title for a thread without one: the post's first sentence, shortened."""
    first = next((p for p in paragraphs if p.strip()), "")
    sentence = re.split(r"(?<=[.!?…])\s", first.strip(), maxsplit=1)[0] if first else ""
    if not sentence:
        return fallback
    return sentence if len(sentence) <= 90 else sentence[:87].rsplit(" ", 1)[0] + "…"


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


def parse_txt(text: str, path: str, thread_id: str) -> Thread:
    """Parse a blog export: header lines (optional), post paragraphs, signed comments."""
    raw_lines = split_lines(text)
    numbered = [(n, line.strip()) for n, line in enumerate(raw_lines, start=1)]
    meta: dict[str, str] = {}
    meta_line: dict[str, int] = {}
    if numbered and HEADER_RE.match(numbered[0][1]):
        end = next((i for i, (_, line) in enumerate(numbered) if line == HEADER_END), None)
        if end is not None and all(HEADER_RE.match(line) or not line
                                   for _, line in numbered[:end]):
            for n, line in numbered[:end]:
                if line:
                    m = HEADER_RE.match(line)
                    assert m is not None
                    meta[_header_key(m.group("key"))] = m.group("value").strip()
                    meta_line[_header_key(m.group("key"))] = n
            numbered = numbered[end + 1:]
    numbered = [(n, line) for n, line in numbered if line]

    post: list[tuple[int, str]] = []
    comments: list[Comment] = []
    pending: list[tuple[int, str]] = []
    marker_seen = False
    for n, line in numbered:
        if COMMENTS_MARKER_RE.match(line):
            if marker_seen:
                raise ThreadParseError(path, "comments marker appears twice", n)
            if comments:
                raise ThreadParseError(path, "comments marker after the first comment's "
                                       "signature", n)
            marker_seen, post, pending = True, pending, []
            continue
        sig = SIGNATURE_RE.match(line)
        if not sig:
            pending.append((n, line))
            continue
        if not comments and not marker_seen:
            start = first_comment_start([line for _, line in pending])
            post, pending = pending[:start], pending[start:]
        if not pending:
            raise ThreadParseError(path, "signature without a comment above it", n)
        author = sig.group("author").strip() or None
        d, mo, y, hh, mm = (sig.group(k) for k in ("d", "m", "y", "H", "M"))
        date = _iso(int(y), int(mo), int(d), hh, mm, path, n)
        comments.append(Comment(len(comments) + 1, author, date,
                                tuple(line for _, line in pending)))
        pending = []
    if not comments and not marker_seen:
        post, pending = pending, []
    if pending:
        raise ThreadParseError(
            path, f"{len(pending)} line(s) after the last signature have no "
            "'Rédigé par : AUTHOR | DD/MM/YYYY à HH:MM' line", pending[0][0])
    if not post and not comments:
        raise ThreadParseError(path, "no text: empty thread")
    paragraphs = tuple(line for _, line in post)
    post_date = parse_date(meta["date"], path, meta_line["date"]) if meta.get("date") else None
    return Thread(
        id=thread_id,
        title=meta.get("title") or default_title(paragraphs, thread_id),
        paragraphs=paragraphs,
        comments=tuple(resolve_replies(comments)),
        url=meta.get("url") or None,
        author=meta.get("author") or None,
        date=post_date,
        source=path,
    )


def _header_key(key: str) -> str:
    """Normalise a French or English header name to the Thread field it fills."""
    return {"titre": "title", "auteur": "author"}.get(key.lower(), key.lower())


def _check_text(value: str, what: str) -> str:
    """Refuse text the index can't store or show: unpaired surrogates, control characters.

    JSON escapes can produce both (``"\\ud800"``, ``"\\u001b"``); a surrogate would make the
    index writer fail (it encodes terms as UTF-8) and the web pages too.
    """
    bad = BAD_JSON_TEXT_RE.search(value)
    if bad is None:
        return value
    code = ord(bad.group())
    if 0xD800 <= code <= 0xDFFF:
        raise ValueError(f"{what} contains an unpaired surrogate U+{code:04X} (invalid Unicode)")
    raise ValueError(f"{what} contains the control character U+{code:04X}")


def _opt_str(obj: dict, key: str, where: str, check: bool = True) -> str | None:
    """Read an optional string member of a JSON object, or say what is wrong with it."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{where}{key!r} must be a string, not {type(value).__name__}")
    if check:
        _check_text(value, f"{where}{key!r}")
    return value.strip() or None


def _paragraphs(obj: dict, where: str, check: bool = True) -> tuple[str, ...]:
    """Read the ``paragraphs`` list of a post or comment object."""
    paras = obj.get("paragraphs", [])
    if not isinstance(paras, list) or not all(isinstance(p, str) for p in paras):
        raise ValueError(f"{where}'paragraphs' must be a list of strings")
    if check:
        for n, p in enumerate(paras, start=1):
            _check_text(p, f"{where}paragraph {n}")
    return tuple(p.strip() for p in paras if p.strip())


def needs_text_check(line: str) -> bool:
    """Whether a JSON line's strings can hold what ``_check_text`` refuses.

    Only a raw refused character (a control character, or a lone surrogate in a ``str``
    built by other code) or the escapes ``\\uXXXX`` and ``\\b`` can bring one into a
    string: one scan of the line instead of one per string.
    """
    return "\\u" in line or "\\b" in line or BAD_JSON_TEXT_RE.search(line) is not None


def thread_from_json(obj: object, path: str, line: int, check_text: bool = True) -> Thread:
    """Validate one JSON Lines record and build its Thread (errors name path and line).

    ``check_text=False`` skips the per-string character check when the raw line cannot
    hold a refused character (see :func:`needs_text_check`).
    """
    check = check_text
    try:
        if not isinstance(obj, dict):
            raise ValueError(f"a thread must be a JSON object, not {type(obj).__name__}")
        tid = obj.get("id")
        if not isinstance(tid, str) or not tid.strip():
            raise ValueError("'id' must be a non-empty string")
        tid = tid.strip()
        if len(tid) > MAX_ID_CHARS or any(unicodedata.category(c) in ("Cc", "Cs")
                                          for c in tid):
            raise ValueError(f"'id' must be at most {MAX_ID_CHARS} printable characters")
        title = obj.get("title", "")
        if not isinstance(title, str):
            raise ValueError("'title' must be a string")
        if check:
            _check_text(title, "'title'")
        post = obj.get("post", {})
        if not isinstance(post, dict):
            raise ValueError("'post' must be an object")
        paragraphs = _paragraphs(post, "post: ", check)
        raw_comments = obj.get("comments", [])
        if not isinstance(raw_comments, list):
            raise ValueError("'comments' must be a list")
        comments = []
        for i, c in enumerate(raw_comments, start=1):
            where = f"comment {i}: "
            if not isinstance(c, dict):
                raise ValueError(f"{where}must be an object")
            date = _opt_str(c, "date", where, check)
            comments.append(Comment(i, _opt_str(c, "author", where, check),
                                    _json_date(date, where, path, line),
                                    _paragraphs(c, where, check)))
        if not paragraphs and not any(c.paragraphs for c in comments):
            raise ValueError("no text: post and comments are empty")
        post_date = _opt_str(post, "date", "post: ", check)
        return Thread(
            id=tid,
            title=title.strip() or default_title(paragraphs, tid),
            paragraphs=paragraphs,
            comments=tuple(resolve_replies(comments)),
            url=_opt_str(obj, "url", "", check),
            author=_opt_str(post, "author", "post: ", check),
            date=_json_date(post_date, "post: ", path, line),
            source=f"{path}:{line}",
        )
    except ValueError as exc:
        raise ThreadParseError(path, str(exc), line) from None


def _json_date(value: str | None, where: str, path: str, line: int) -> str | None:
    """Parse an optional JSON date; a bad one is reported with the member it came from."""
    if not value:
        return None
    try:
        return parse_date(value, path, line)
    except ThreadParseError as exc:
        raise ValueError(f"{where}'date': {exc.reason}") from None


def parse_jsonl(text: str, path: str,
                checked: bool = False) -> Iterator[Thread | ThreadParseError]:
    """Yield a Thread for each good line and a ThreadParseError for each bad one.

    ``checked``: the text came through :func:`decode_bytes`, which refuses control
    characters, so only JSON escapes can bring one in (see :func:`needs_text_check`).
    """
    for n, line in enumerate(split_lines(text), start=1):
        if not line.strip():
            continue
        if len(line) > MAX_LINE_CHARS:
            yield ThreadParseError(path, f"line longer than {MAX_LINE_CHARS} characters", n)
            continue
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError) as exc:
            # JSONDecodeError is a ValueError; so is an integer of more than 4300 digits.
            reason = (exc.msg if isinstance(exc, json.JSONDecodeError)
                      else "nested too deeply" if isinstance(exc, RecursionError)
                      else str(exc).split(";")[0])
            yield ThreadParseError(path, f"invalid JSON: {reason}", n)
            continue
        try:
            check = ("\\u" in line or "\\b" in line) if checked else needs_text_check(line)
            yield thread_from_json(obj, path, n, check)
        except ThreadParseError as exc:
            yield exc


def iter_source_files(sources: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """Expand files and folders (recursively) into thread files, in a stable order.

    A file reached twice (the same folder given twice, or a file and its folder) is
    read once, so its threads are not rejected as duplicates of themselves.
    """
    seen: set[Path] = set()
    for src in sources:
        if not os.fspath(src).strip():
            # Path("") is ".": an empty entry (``FIL_SOURCES="a:"``) would read the cwd
            raise SourceMissingError("empty source path (a stray ':' in FIL_SOURCES?)")
        p = Path(src)
        if not p.exists():
            raise SourceMissingError(f"source not found: {p}")
        if p.is_dir():
            files = sorted(f for f in p.rglob("*")
                           if f.is_file() and f.suffix.lower() in THREAD_SUFFIXES
                           and not any(part.startswith(".") for part in f.relative_to(p).parts))
        else:
            files = [p]
        for f in files:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                yield f


def read_file(path: Path) -> tuple[list[Thread], list[ThreadParseError], list[str]]:
    """Read one thread file: its good threads, its errors and its warnings."""
    name = str(path)
    if path.suffix.lower() not in THREAD_SUFFIXES:
        return [], [ThreadParseError(name, "unknown file type (expected .txt or .jsonl)")], []
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ThreadParseError(name, f"file larger than {MAX_FILE_BYTES // 2**20} MiB")
        data = path.read_bytes()
    except ThreadParseError as exc:
        return [], [exc], []
    except OSError as exc:
        return [], [ThreadParseError(name, f"cannot read: {exc.strerror or exc}")], []
    if path.suffix.lower() == ".jsonl":
        # A cut last character only spoils the last line (its whole lines read the same
        # in UTF-8 and Windows-1252 when they are ASCII, and are kept either way).
        cut = _truncated_utf8(data, ascii_ok=True)
        if cut is not None:
            return _read_cut_jsonl(data, cut, name)
    try:
        text, encoding = decode_bytes(data, name)
    except ThreadParseError as exc:
        return [], [exc], []
    warnings = [f"{name}: decoded as Windows-1252 (not UTF-8)"] if encoding != "utf-8" else []
    if path.suffix.lower() == ".txt":
        if BAD_JSON_TEXT_RE.search(path.stem):
            return [], [ThreadParseError(name, "file name is not valid UTF-8 text (or holds "
                                         "control characters): it can't be a thread id; "
                                         "rename the file")], warnings
        try:
            return [parse_txt(text, name, path.stem)], [], warnings
        except ThreadParseError as exc:
            return [], [exc], warnings
    threads, errors = [], []
    for item in parse_jsonl(text, name, checked=True):
        (errors if isinstance(item, ThreadParseError) else threads).append(item)
    return threads, errors, warnings


def _read_cut_jsonl(data: bytes, cut: int,
                    name: str) -> tuple[list[Thread], list[ThreadParseError], list[str]]:
    """A JSON Lines file cut in the middle of a character: keep its whole lines.

    Only the last line is incomplete; it is rejected by number, the others are read as
    usual (a .txt file cut this way is rejected whole: its thread is incomplete).
    """
    try:
        text, _ = decode_bytes(data[:cut], name)
    except ThreadParseError as exc:
        return [], [exc], []
    breaks = list(LINE_BREAK_RE.finditer(text))
    whole = text[:breaks[-1].end()] if breaks else ""
    threads, errors = [], []
    for item in parse_jsonl(whole, name, checked=True):
        (errors if isinstance(item, ThreadParseError) else threads).append(item)
    errors.append(ThreadParseError(name, "line cut in the middle of a UTF-8 character "
                                   "(file truncated?)", len(breaks) + 1))
    return threads, errors, []


def read_sources(sources: Iterable[str | os.PathLike[str]]) -> ReadResult:
    """Read every thread under the sources; bad files and lines are rejected by name.

    Raises SourceMissingError (before reading anything) when a source path is missing.
    A thread id seen twice keeps its first thread and rejects the second.
    """
    files = list(iter_source_files(list(sources)))
    result = ReadResult()
    seen: dict[str, str] = {}
    for f in files:
        threads, errors, warnings = read_file(f)
        result.rejected.extend(str(e) for e in errors)
        result.warnings.extend(warnings)
        for t in threads:
            if t.id in seen:
                result.rejected.append(f"{t.source}: duplicate thread id {t.id!r} "
                                       f"(already read from {seen[t.id]}); kept the first")
                continue
            seen[t.id] = t.source
            result.threads.append(t)
    return result
