"""JSON thread records: one per line (``.jsonl``), or a ``.json`` document holding one or an array.

A record is rejected (by path, line and reason) only when it is not a thread: not an
object, no usable ``id``, a member of the wrong type, no text at all, or double-encoded
text that can't be repaired. ``null`` stands for an absent member anywhere (``title``,
``url``, ``post``, ``comments``, ``author``, ``date``, ``paragraphs``). A date that can't be
read (or isn't a string) is left out with a warning; the post or comment is kept.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

from ..errors import ThreadParseError
from .dates import parse_date
from .decoding import MAX_LINE_BYTES, LineDecoder, LineFault
from .model import Comment, Thread
from .mojibake import maybe_mojibake
from .record import TextCleaner, default_title, resolve_replies, thread_id
from .report import FileReport
from .txt import split_lines

Warn = Callable[[int | None, str, str], None]  # line, code, reason
MAX_VALUE_CHARS = MAX_LINE_BYTES  # one element of a .json array
_REFILL = 64 * 1024


def needs_cleaning(line: str) -> bool:
    """Whether a (decoded, clean) JSON line's strings need the per-string cleaning.

    JSON escapes (``\\uXXXX``, ``\\b``, ``\\f``) can bring in what the line-level cleaning
    removed; ``<`` may open an HTML tag; a mojibake lead character may start double-encoded
    text.
    """
    return ("\\u" in line or "\\b" in line or "\\f" in line or "<" in line
            or maybe_mojibake(line))


def _opt_str(obj: dict, key: str, where: str, clean: Callable[[str], str] | None) -> str | None:
    """Read an optional string member of a JSON object, or say what is wrong with it."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{where}{key!r} must be a string, not {type(value).__name__}")
    return (clean(value) if clean else value).strip() or None


def _paragraphs(obj: dict, where: str, clean: Callable[[str], str] | None) -> tuple[str, ...]:
    """Read the ``paragraphs`` list of a post or comment object."""
    paras = obj.get("paragraphs")
    if paras is None:
        return ()
    if not isinstance(paras, list) or not all(isinstance(p, str) for p in paras):
        raise ValueError(f"{where}'paragraphs' must be a list of strings")
    if clean:
        paras = [clean(p) for p in paras]
    return tuple(s for s in (p.strip() for p in paras) if s)


def _date(obj: dict, where: str, path: str, line: int, warn: Warn) -> str | None:
    """An optional date member; an unreadable one is warned about and left out."""
    value = obj.get("date")
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        warn(line, "bad-date", f"{where}'date' must be a string, not {type(value).__name__}; "
             "kept without a date")
        return None
    try:
        return parse_date(value, path, line)
    except ThreadParseError as exc:
        warn(line, "bad-date", f"{where}'date': {exc.reason}; kept without a date")
        return None


def _object(obj: dict, key: str, kind: type, what: str) -> object:
    """A member that must be an object or a list (``null`` or absent: empty)."""
    value = obj.get(key)
    if value is None:
        return kind()
    if not isinstance(value, kind):
        raise ValueError(f"'{key}' must be {what}")
    return value


def thread_from_json(obj: object, path: str, line: int, cleaner: TextCleaner | None = None,
                     warn: Warn | None = None, deep: bool = True) -> Thread:
    """Validate one JSON record and build its Thread (errors name path and line).

    ``deep=False`` skips the per-string cleaning when the raw line can't need it (see
    :func:`needs_cleaning`); titles are always cleaned.
    """
    cleaner = cleaner or TextCleaner()
    cleaner.line = line
    warn = warn or (lambda _n, _c, _r: None)
    clean = cleaner.text if deep else None
    try:
        if not isinstance(obj, dict):
            raise ValueError(f"a thread must be a JSON object, not {type(obj).__name__}")
        raw_id = obj.get("id")
        if not isinstance(raw_id, str):
            raise ValueError("'id' must be a non-empty string")
        tid = thread_id(raw_id)
        title = obj.get("title")
        if title is not None and not isinstance(title, str):
            raise ValueError("'title' must be a string")
        post = _object(obj, "post", dict, "an object")
        comments_in = _object(obj, "comments", list, "a list")
        assert isinstance(post, dict) and isinstance(comments_in, list)
        paragraphs = _paragraphs(post, "post: ", clean)
        comments = []
        for i, c in enumerate(comments_in, start=1):
            where = f"comment {i}: "
            if not isinstance(c, dict):
                raise ValueError(f"{where}must be an object")
            comments.append(Comment(i, _opt_str(c, "author", where, clean),
                                    _date(c, where, path, line, warn),
                                    _paragraphs(c, where, clean)))
        if not paragraphs and not any(c.paragraphs for c in comments):
            raise ValueError("no text: post and comments are empty")
        title = cleaner.title(title) if title else ""
        return Thread(
            id=tid,
            title=title or default_title(paragraphs, tid),
            paragraphs=paragraphs,
            comments=tuple(resolve_replies(comments)),
            url=_opt_str(obj, "url", "", clean),
            author=_opt_str(post, "author", "post: ", clean),
            date=_date(post, "post: ", path, line, warn),
            source=f"{path}:{line}",
        )
    except ValueError as exc:  # MojibakeError included
        raise ThreadParseError(path, str(exc), line) from None


def load_record(text: str, path: str, line: int) -> object:
    """``json.loads`` one record; a ThreadParseError names what is wrong."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        # JSONDecodeError is a ValueError; so is an integer of more than 4300 digits.
        reason = (exc.msg if isinstance(exc, json.JSONDecodeError)
                  else "nested too deeply" if isinstance(exc, RecursionError)
                  else str(exc).split(";")[0])
        raise ThreadParseError(path, f"invalid JSON: {reason}", line) from None


def thread_from_line(text: str, path: str, line: int, cleaner: TextCleaner,
                     warn: Warn) -> Thread:
    """One JSON Lines record (a decoded, clean line) as a Thread, or ThreadParseError."""
    return thread_from_json(load_record(text, path, line), path, line, cleaner, warn,
                            needs_cleaning(text))


def parse_jsonl(text: str, path: str,
                warn: Warn | None = None) -> Iterator[Thread | ThreadParseError]:
    """Yield a Thread for each good JSON Lines record, a ThreadParseError for each bad one.

    The lines get the same cleaning as lines read from a file (controls, NFC).
    """
    report = FileReport(path, "jsonl")
    warn = warn or (lambda _n, _c, _r: None)
    decoder, cleaner = LineDecoder(report, warn, cut_ok=False), TextCleaner(report)
    for n, raw in enumerate(split_lines(text), start=1):
        line = decoder.clean(raw, n, ended=True)
        if isinstance(line, LineFault):
            yield ThreadParseError(path, line.reason, n)
            continue
        if not line.strip():
            continue
        try:
            yield thread_from_line(line, path, n, cleaner, warn)
        except ThreadParseError as exc:
            yield exc


class JsonDocument:
    """The values of a ``.json`` file, decoded incrementally from its lines.

    The file holds one value (a thread object) or an array of them; each array element
    is decoded as soon as its text is complete, so memory holds one element at a time
    (at most MAX_VALUE_CHARS). JSON can't be resynchronised after a syntax error: the
    error is reported at its line and the rest of the file is not read.
    """

    def __init__(self, lines: Iterator[tuple[int, str | LineFault]], path: str) -> None:
        self.lines = lines
        self.path = path
        self.buf = ""
        self.pos = 0
        self.base_line = 1  # line number of buf[0]
        self.done = False
        self.fault: ThreadParseError | None = None
        self.decoder = json.JSONDecoder()

    def _refill(self, need: int) -> bool:
        """Append whole lines until ``need`` characters came or the file ended."""
        if self.done:
            return False
        if self.pos > (1 << 20):  # drop what was consumed
            self.base_line += self.buf.count("\n", 0, self.pos)
            self.buf, self.pos = self.buf[self.pos:], 0
        parts: list[str] = []
        got = 0
        for n, line in self.lines:
            if isinstance(line, LineFault):
                self.fault = ThreadParseError(self.path, f"{line.reason}: the rest of the "
                                              "file is not read", n)
                self.done = True
                break
            if not self.buf and not parts:
                self.base_line = n
            parts.append(line + "\n")
            got += len(line) + 1
            if got >= need:
                break
        else:
            self.done = True
        self.buf += "".join(parts)
        return got > 0

    def line_at(self, pos: int) -> int:
        """Line number of a position in the buffer."""
        return self.base_line + self.buf.count("\n", 0, pos)

    def _skip_space(self) -> str:
        """Move past whitespace; the next character, or "" at the end of the file."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._refill(_REFILL):
                return ""

    def _value(self) -> tuple[int, object] | None:
        """Decode the value at the position, reading more lines as long as it is incomplete."""
        start = self.pos
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buf, start)
            except json.JSONDecodeError as exc:
                if len(self.buf) - start > MAX_VALUE_CHARS:
                    self.fault = ThreadParseError(self.path, f"JSON value longer than "
                                                  f"{MAX_VALUE_CHARS // 2**20} MiB: the rest "
                                                  "of the file is not read", self.line_at(start))
                    return None
                if self._refill(max(_REFILL, len(self.buf) - start)):
                    start = self.pos
                    continue
                self.fault = self.fault or ThreadParseError(
                    self.path, f"invalid JSON: {exc.msg}: the rest of the file is not read",
                    self.line_at(exc.pos))
                return None
            except RecursionError:
                self.fault = ThreadParseError(self.path, "invalid JSON: nested too deeply",
                                              self.line_at(start))
                return None
            self.pos = end
            return self.line_at(start), value

    def values(self) -> Iterator[tuple[int, object] | ThreadParseError]:
        """Each value with the line it starts on; a final ThreadParseError if the file breaks."""
        first = self._skip_space()
        if first == "[":
            self.pos += 1
            while True:
                nxt = self._skip_space()
                if nxt == "]":
                    self.pos += 1
                    break
                if not nxt:
                    self.fault = self.fault or ThreadParseError(
                        self.path, "invalid JSON: the file ends inside the array",
                        self.line_at(self.pos))
                    break
                item = self._value()
                if item is None:
                    break
                yield item
                nxt = self._skip_space()
                if nxt == ",":
                    self.pos += 1
                elif nxt != "]":
                    self.fault = self.fault or ThreadParseError(
                        self.path, "invalid JSON: expected ',' or ']' between array elements: "
                        "the rest of the file is not read", self.line_at(self.pos))
                    break
        elif first:
            item = self._value()
            if item is not None:
                yield item
        elif self.fault is None:
            self.fault = ThreadParseError(self.path, "no JSON value: empty file")
        if self.fault is None and self._skip_space():
            self.fault = ThreadParseError(self.path, "invalid JSON: extra data after the "
                                          "value", self.line_at(self.pos))
        if self.fault is not None:
            yield self.fault
