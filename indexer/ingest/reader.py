"""Stream threads out of a source plan, filling a ReadReport as they go.

Memory holds one record at a time (one JSON Lines line, one ``.json`` array element, one
``.txt`` thread) plus the ids already seen, so a rebuild can consume any number of
threads. A fault costs at most the record that holds it; everything left out or changed
is in the report, by file and line.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ThreadParseError
from .decoding import (
    MAX_LINE_BYTES,
    BinaryFileError,
    LineFault,
    memory_lines,
    read_lines,
    size_text,
    summarize,
)
from .jsonrec import JsonDocument, thread_from_json, thread_from_line
from .model import Thread
from .record import TextCleaner, thread_id
from .report import Fault, FileReport, ReadReport
from .sources import KNOWN_TYPES, SourceFile, SourcePlan, file_format, plan_sources
from .txt import parse_txt_lines

ByteProgress = Callable[[int], None]


def _code(err: ThreadParseError) -> str:
    """A stable code for a record's parse error (for counting and for strict modes)."""
    reason = err.reason
    if reason.startswith("invalid JSON"):
        return "invalid-json"
    if "double-encoded" in reason:
        return "mojibake"
    if reason.startswith("no text"):
        return "empty"
    return "invalid-record"


class _FileReader:
    """Reads one planned file into threads, recording its faults in the report."""

    def __init__(self, f: SourceFile, report: ReadReport) -> None:
        self.f = f
        self.name = str(f.path)
        self.report = report
        self.file = FileReport(self.name, f.format, size=f.size)
        report.files.append(self.file)
        self.cleaner = TextCleaner(self.file)

    def warn(self, line: int | None, code: str, reason: str) -> None:
        self.report.warnings.append(Fault(self.name, line, code, reason))

    def reject(self, line: int | None, code: str, reason: str) -> None:
        self.report.rejected.append(Fault(self.name, line, code, reason))
        self.file.rejected += 1

    def threads(self, on_bytes: ByteProgress | None,
                data: bytes | None = None) -> Iterator[tuple[Thread, int | None]]:
        """(thread, line) for each thread read (from ``data`` when given, not the file);
        faults go to the report."""
        try:
            cut_ok = self.f.format == "txt"
            lines = (read_lines(self.f.path, self.f.compressed, self.file, self.warn,
                                cut_ok=cut_ok, on_bytes=on_bytes) if data is None
                     else memory_lines(data, self.file, self.warn, cut_ok))
            if self.f.format == "jsonl":
                yield from self._jsonl(lines)
            elif self.f.format == "json":
                yield from self._json(lines)
            else:
                yield from self._txt(lines)
        except BinaryFileError as exc:
            self.reject(None, "binary", str(exc))
        except OSError as exc:
            self.reject(None, "unreadable", f"cannot read: {exc.strerror or exc}")
        finally:
            summarize(self.file, self.warn)

    def _jsonl(self, lines: Iterator[tuple[int, str | LineFault]]
               ) -> Iterator[tuple[Thread, int | None]]:
        for n, line in lines:
            if isinstance(line, LineFault):
                self.reject(n, line.code, line.reason)
                continue
            if not line.strip():
                continue
            try:
                yield thread_from_line(line, self.name, n, self.cleaner, self.warn), n
            except ThreadParseError as exc:
                self.reject(n, _code(exc), exc.reason)

    def _json(self, lines: Iterator[tuple[int, str | LineFault]]
              ) -> Iterator[tuple[Thread, int | None]]:
        for item in JsonDocument(lines, self.name).values():
            if isinstance(item, ThreadParseError):
                self.reject(item.line, _code(item), item.reason)
                continue
            n, obj = item
            try:
                yield thread_from_json(obj, self.name, n, self.cleaner, self.warn), n
            except ThreadParseError as exc:
                self.reject(n, _code(exc), exc.reason)

    def _txt(self, lines: Iterator[tuple[int, str | LineFault]]
             ) -> Iterator[tuple[Thread, int | None]]:
        kept: list[tuple[int, str]] = []
        size = 0
        for n, line in lines:
            if isinstance(line, LineFault):
                self.warn(n, line.code, f"{line.reason}: line left out")
                continue
            size += len(line)
            if size > MAX_LINE_BYTES:
                self.reject(None, "too-large", f"thread larger than "
                            f"{size_text(MAX_LINE_BYTES)}: not read")
                return
            kept.append((n, line))
        try:
            tid = thread_id(self.f.stem)
            if "\ufffd" in tid and "\ufffd" not in self.f.stem:
                self.warn(None, "file-name", f"file name is not valid UTF-8: thread id {tid!r}")
            thread = parse_txt_lines(kept, self.name, tid, self.warn, self.cleaner)
        except ValueError as exc:
            self.reject(None, "invalid-record", f"file name can't be a thread id: {exc}")
            return
        except ThreadParseError as exc:
            self.reject(exc.line, _code(exc), exc.reason)
            return
        yield thread, None


def iter_threads(plan: SourcePlan, report: ReadReport,
                 on_bytes: ByteProgress | None = None) -> Iterator[Thread]:
    """Yield every good thread of the plan, in order, filling ``report`` as it goes.

    A thread id met twice keeps its first thread; the second is rejected with both
    places named. ``on_bytes`` is called with the bytes read on disk since its last call
    (they add up to ``plan.total_bytes``).
    """
    report.skipped.extend(plan.skipped)
    seen: dict[str, str] = {}
    for f in plan.files:
        reader = _FileReader(f, report)
        yield from _unique(reader, reader.threads(on_bytes), seen)


def _unique(reader: _FileReader, threads: Iterator[tuple[Thread, int | None]],
            seen: dict[str, str]) -> Iterator[Thread]:
    """The threads whose id was not met before (later ones rejected), counted."""
    report = reader.report
    for t, line in threads:
        first = seen.get(t.id)
        if first is not None:
            reader.reject(line, "duplicate-id", f"duplicate thread id {t.id!r} (already "
                          f"read from {first}); kept the first")
            continue
        seen[t.id] = t.source
        reader.file.threads += 1
        report.threads += 1
        report.passages += len(t.paragraphs) + len(t.comments)
        yield t


def iter_data_threads(data: bytes, name: str, report: ReadReport,
                      fmt: str = "jsonl") -> Iterator[Thread]:
    """Threads from bytes in memory (e.g. a request body) read as a file of format ``fmt``.

    The same rules as files: decoding, per-record faults in ``report`` by line (``name``
    stands for the path), duplicate ids rejected.
    """
    f = SourceFile(Path(name), fmt, False, len(data))
    reader = _FileReader(f, report)
    yield from _unique(reader, reader.threads(None, data=data), {})


@dataclass(slots=True)
class ReadResult:
    """Every thread read from sources (a list), with the report's faults as text lines.

    ``rejected`` names records that were not read and entries that were skipped as a
    problem (unknown file types, unreadable folders, link loops); ``skipped`` lists every
    skipped entry, hidden ones too.
    """

    threads: list[Thread] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    report: ReadReport = field(default_factory=ReadReport)


def read_sources(sources: Iterable[str | os.PathLike[str]]) -> ReadResult:
    """Read every thread under the sources into a list (see :func:`iter_threads` to stream).

    Raises SourceMissingError (before reading anything) when a source path is missing.
    """
    plan = plan_sources(list(sources))
    report = ReadReport()
    threads = list(iter_threads(plan, report))
    return ReadResult(
        threads=threads,
        rejected=[str(s) for s in report.skipped if s.problem]
        + [str(f) for f in report.rejected],
        warnings=[str(w) for w in report.warnings],
        skipped=[str(s) for s in report.skipped],
        report=report,
    )


def read_file(path: Path) -> tuple[list[Thread], list[ThreadParseError], list[str]]:
    """Read one thread file: its good threads, its errors and its warnings (no duplicates check)."""
    fmt = file_format(path)
    if fmt is None:
        return [], [ThreadParseError(str(path), f"unknown file type (expected "
                                     f"{KNOWN_TYPES})")], []
    try:
        size = path.stat().st_size
    except OSError as exc:
        return [], [ThreadParseError(str(path), f"cannot read: {exc.strerror or exc}")], []
    report = ReadReport()
    reader = _FileReader(SourceFile(path, fmt[0], fmt[1], size), report)
    threads = [t for t, _ in reader.threads(None)]
    return (threads, [f.as_error() for f in report.rejected],
            [str(w) for w in report.warnings])
