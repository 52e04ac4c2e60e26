"""Bytes of a thread file into clean text lines, one line at a time (bounded memory).

Rules, per file then per line:

* a byte order mark chooses UTF-8, UTF-16 or UTF-32; UTF-16 without one is recognised by
  its zero bytes (with a warning); otherwise a NUL byte or more than 10 % control bytes in
  the first 8 KiB (a trailing run of NUL padding aside) mean a binary file, rejected whole;
* each line is decoded on its own: UTF-8, and when a line is not valid UTF-8 its invalid
  bytes (only those) are read as Windows-1252 (counted, one warning per file). Bytes
  Windows-1252 leaves undefined become C1 controls, removed below. A file cut inside its
  last UTF-8 character loses that character (``.txt``) or its last line (JSON);
* control characters are cleaned as :func:`indexer.analysis.text.clean_controls` says
  (counted per file); a line where NUL bytes and other controls make up 10 % or more is
  binary data and is refused on its own; a trailing DOS end-of-file mark (``^Z``) and a
  byte order mark at the start of any line (files concatenated) are dropped silently;
* every line is put in Unicode NFC;
* a line longer than MAX_LINE_BYTES is refused (skipped without being held in memory).

Why no encoding detector (charset-normalizer): thread files are UTF-8 or Windows-1252
(Latin-1), sometimes UTF-16 with a byte order mark. A statistical guess over short lines
is less reliable than this rule, costs a pass over the file, and would make a file's
meaning depend on its other lines; deciding per line keeps one bad byte from costing
more than its line's accents. Double-encoded text is handled per record, not here
(:mod:`indexer.ingest.mojibake`).
"""

from __future__ import annotations

import codecs
import contextlib
import gzip
import io
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol, cast

from .report import FileReport
from .text import CONTROL_RE, clean_controls, nfc

MAX_LINE_BYTES = 64 * 1024 * 1024  # one JSONL record, one .txt line
SNIFF_BYTES = 8192
PROGRESS_STEP = 256 * 1024  # report progress every 256 KiB read

_CP1252 = [bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in range(256)]
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x1A), *range(0x1C, 0x20), 0x7F])


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: read the bytes UTF-8 refused as Windows-1252 (else Latin-1)."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start:exc.end]
    return "".join(_CP1252[b] for b in bad), exc.end


def _unpaired(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler for UTF-16/32: a bad unit becomes a lone surrogate, which the
    control-character cleaning counts and turns into U+FFFD."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "\udc80", exc.end


codecs.register_error("fil-cp1252", _cp1252_fallback)
codecs.register_error("fil-unpaired", _unpaired)


@dataclass(frozen=True, slots=True)
class LineFault:
    """A line that could not be read as text: why (``code``, ``reason``)."""

    code: str
    reason: str


class BinaryFileError(Exception):
    """The file is not text (the whole file is refused)."""


class _Lines(Protocol):
    """What line splitting needs from a binary stream."""

    def readline(self, size: int | None = -1, /) -> bytes: ...


Line = tuple[int, "str | LineFault"]
Warn = Callable[[int | None, str, str], None]  # line, code, reason


def size_text(n: int) -> str:
    """A byte count for messages: ``64 MiB``, or plain bytes below 1 MiB."""
    return f"{n // 2**20} MiB" if n >= 2**20 else f"{n} bytes"


def sniff_encoding(head: bytes) -> tuple[str, str | None]:
    """Choose the decoding of a file from its first bytes: (encoding, warning or None).

    Raises BinaryFileError when the bytes are not text.
    """
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32", None
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", None
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8", None
    head = head.rstrip(b"\x00")  # NUL padding left by a crash is binary lines, not a file
    if b"\x00" in head:
        pairs = len(head) // 2
        odd_zeros, even_zeros = head[1::2].count(0), head[0::2].count(0)
        if pairs >= 2 and odd_zeros * 10 >= pairs * 3 and even_zeros * 20 < pairs:
            return "utf-16-le", "no byte order mark: read as UTF-16-LE"
        if pairs >= 2 and even_zeros * 10 >= pairs * 3 and odd_zeros * 20 < pairs:
            return "utf-16-be", "no byte order mark: read as UTF-16-BE"
        raise BinaryFileError("binary data (NUL byte): not a text file")
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    if head and controls * 10 > len(head):
        raise BinaryFileError(f"binary data ({controls} control bytes in the first "
                              f"{len(head)}): not a text file")
    return "utf-8", None


def _byte_lines(stream: _Lines) -> Iterator[tuple[bytes | None, bool]]:
    """Raw lines without their break (``\\n``, ``\\r\\n`` or ``\\r``), and whether one ended them.

    An overlong line comes as None, read past without being kept.
    """
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while True:  # skip the rest of the line
                more = stream.readline(1 << 20)
                if not more or more.endswith(b"\n"):
                    break
            yield None, True
            continue
        if b"\r" not in raw:
            yield (raw[:-1], True) if raw.endswith(b"\n") else (raw, False)
            continue
        for piece in raw.splitlines(keepends=True):
            if piece.endswith(b"\r\n"):
                yield piece[:-2], True
            elif piece.endswith((b"\n", b"\r")):
                yield piece[:-1], True
            else:
                yield piece, False


def _text_lines(stream: IO[bytes], encoding: str) -> Iterator[tuple[str | None, bool]]:
    """Like :func:`_byte_lines` for UTF-16/32 files, decoded (bad units as surrogates)."""
    text = io.TextIOWrapper(stream, encoding=encoding, errors="fil-unpaired", newline="")
    try:
        while True:
            line = text.readline(MAX_LINE_BYTES + 1)
            if not line:
                return
            if len(line) > MAX_LINE_BYTES and not line.endswith(("\n", "\r")):
                while True:
                    more = text.readline(1 << 20)
                    if not more or more.endswith(("\n", "\r")):
                        break
                yield None, True
                continue
            if line.endswith("\r\n"):
                yield line[:-2], True
            elif line.endswith(("\n", "\r")):
                yield line[:-1], True
            else:
                yield line, False
    finally:
        text.detach()  # the caller closes the stream


class LineDecoder:
    """Decode one file's lines by the module's rules, counting into its FileReport."""

    def __init__(self, report: FileReport, warn: Warn, cut_ok: bool) -> None:
        """:param cut_ok: a last line cut inside a character keeps what is whole (``.txt``)."""
        self.report = report
        self.warn = warn
        self.cut_ok = cut_ok
        self.utf8_seen = False  # a non-ASCII UTF-8 line was read: a cut end is a truncation
        self.first = report.first_line

    def decode(self, raw: bytes, n: int, ended: bool) -> str | LineFault:
        """One raw line (without its break) as text, or why it can't be."""
        try:
            text = raw.decode("utf-8")
            if not self.utf8_seen and not raw.isascii():
                self.utf8_seen = True
        except UnicodeDecodeError as exc:
            cut = (not ended and exc.reason == "unexpected end of data"
                   and exc.end == len(raw))
            if cut and (self.utf8_seen or not self.cut_ok or not raw[:exc.start].isascii()):
                if not self.cut_ok:
                    return LineFault("truncated", "line cut in the middle of a UTF-8 "
                                     "character (file truncated?)")
                self.warn(n, "truncated", "file ends in the middle of a UTF-8 character "
                          "(truncated?): that character is dropped")
                raw = raw[:exc.start]
                return self.clean(raw.decode("utf-8", "fil-cp1252"), n, ended)
            text = raw.decode("utf-8", "fil-cp1252")
            self.report.cp1252_lines += 1
            self.first.setdefault("cp1252_lines", n)
        return self.clean(text, n, ended)

    def clean(self, text: str, n: int, ended: bool) -> str | LineFault:
        """Controls, ``^Z``, line-start BOM and NFC (see the module docstring)."""
        if not ended and text.endswith("\x1a"):
            text = text.rstrip("\x1a")
        if text.startswith("\ufeff"):
            text = text.lstrip("\ufeff")
        if CONTROL_RE.search(text) is not None:
            if "\x00" in text and len(CONTROL_RE.findall(text)) * 10 >= len(text):
                return LineFault("binary", "binary data (NUL bytes) in the line")
            text, count = clean_controls(text)
            self.report.control_chars += count
            self.first.setdefault("control_chars", n)
        return nfc(text)


def summarize(report: FileReport, warn: Warn) -> None:
    """Warn once per file about what reading changed (counts, and the first line of each)."""
    first = report.first_line
    if report.cp1252_lines:
        warn(first.get("cp1252_lines"), "cp1252", f"{report.cp1252_lines} line(s) not valid "
             "UTF-8: their invalid bytes were read as Windows-1252")
    if report.control_chars:
        warn(first.get("control_chars"), "control-chars",
             f"{report.control_chars} control character(s) removed or replaced")
    if report.repaired:
        warn(first.get("repaired"), "repaired", f"{report.repaired} double-encoded "
             "string(s) (mojibake such as 'Ã©') repaired")


def read_lines(path: Path, compressed: bool, report: FileReport, warn: Warn, cut_ok: bool,
               on_bytes: Callable[[int], None] | None = None) -> Iterator[Line]:
    """Yield (line number, clean text or LineFault) for each line of a thread file.

    Raises BinaryFileError (before any line) for a file that is not text, OSError when it
    can't be opened. A read error later (a corrupt ``.gz``) ends the lines with a
    LineFault ``read-error`` at the line where it happened.
    """
    with open(path, "rb") as raw:
        yield from stream_lines(raw, compressed, report, warn, cut_ok, on_bytes)


def memory_lines(data: bytes, report: FileReport, warn: Warn,
                 cut_ok: bool) -> Iterator[Line]:
    """:func:`read_lines` for bytes already in memory (a request body), same rules."""
    yield from stream_lines(io.BufferedReader(io.BytesIO(data)), False, report, warn, cut_ok)


def stream_lines(raw: io.BufferedReader, compressed: bool, report: FileReport, warn: Warn,
                 cut_ok: bool, on_bytes: Callable[[int], None] | None = None) -> Iterator[Line]:
    """:func:`read_lines` over an open binary stream (the caller closes it)."""
    decoder = LineDecoder(report, warn, cut_ok)
    done = 0
    with contextlib.ExitStack() as closing:
        stream: gzip.GzipFile | io.BufferedReader = (
            closing.enter_context(gzip.GzipFile(fileobj=raw, mode="rb")) if compressed else raw)
        n = 0
        try:
            head = stream.peek(SNIFF_BYTES)[:SNIFF_BYTES]
            encoding, note = sniff_encoding(head)
            report.encoding = encoding
            if note:
                warn(None, "encoding", note)
            lines = (_byte_lines(stream) if encoding == "utf-8"
                     else _text_lines(cast(IO[bytes], stream), encoding))
            for item, ended in lines:
                n += 1
                if on_bytes is not None and raw.tell() - done >= PROGRESS_STEP:
                    on_bytes(raw.tell() - done)
                    done = raw.tell()
                if item is None:
                    yield n, LineFault("too-long", f"line longer than "
                                       f"{size_text(MAX_LINE_BYTES)}: not read")
                elif isinstance(item, bytes):
                    yield n, decoder.decode(item, n, ended)
                else:
                    yield n, decoder.clean(item, n, ended)
        except (EOFError, zlib.error, gzip.BadGzipFile, UnicodeError) as exc:
            if n == 0 and isinstance(exc, gzip.BadGzipFile):
                raise BinaryFileError(f"not a gzip file ({exc})") from None
            what = ("text can't be decoded" if isinstance(exc, UnicodeError)
                    else "compressed data is corrupt or cut short")
            yield n + 1, LineFault("read-error", f"{what} ({exc}): the rest of the file is "
                                   "not read")
        finally:
            if on_bytes is not None:
                on_bytes(report.size - done)


def decode_lines(data: bytes, name: str = "<bytes>", cut_ok: bool = True,
                 warn: Warn | None = None) -> tuple[list[str | LineFault], FileReport]:
    """Decode bytes already in memory by the same rules (for tests and small inputs)."""
    report = FileReport(name, "txt", size=len(data))
    decoder = LineDecoder(report, warn or (lambda _n, _c, _r: None), cut_ok)
    encoding, _ = sniff_encoding(data[:SNIFF_BYTES])
    report.encoding = encoding
    stream = io.BytesIO(data)
    lines = _byte_lines(stream) if encoding == "utf-8" else _text_lines(stream, encoding)
    out: list[str | LineFault] = []
    for n, (item, ended) in enumerate(lines, start=1):
        if item is None:
            out.append(LineFault("too-long", "line too long"))
        elif isinstance(item, bytes):
            out.append(decoder.decode(item, n, ended))
        else:
            out.append(decoder.clean(item, n, ended))
    summarize(report, decoder.warn)
    return out, report
