"""A progress line for long commands on a terminal: reading the sources, then writing the index.

A rebuild streams: each thread is read, then analysed, while the next file waits; so the
first phase counts what is read (files and bytes, against the plan's totals, with a
rate and an estimated time left) and the passages analysed so far. When the sources
are exhausted the store still sorts postings and writes the segment, with no measure
of its own: the second phase says so, with the time it has taken, redrawn by a small
ticker thread so it never looks stuck. Only drawn when asked (the CLI asks when stderr
is a terminal); every redraw rewrites one line with a carriage return.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TextIO, TypeVar

T = TypeVar("T")

REDRAW_SECONDS = 0.1  # at most this often on counter changes (phase changes draw at once)
TICK_SECONDS = 0.25  # the ticker's redraw period, so elapsed time moves


def size_mib(n: int) -> str:
    """Bytes as MiB with one decimal: ``1.5 MiB``."""
    return f"{n / 2**20:.1f} MiB"


def clock(seconds: float) -> str:
    """``m:ss`` (or ``h:mm:ss``)."""
    s = int(seconds)
    h, rest = divmod(s, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    """Two phases on one terminal line: ``Reading`` (files, bytes, passages) then ``Writing``.

    ``counts()`` tells how many files the reader has opened and how many passages it has
    read so far (a :class:`~indexer.ingest.report.ReadReport` fills both as it goes);
    :meth:`on_passages` counts the passages the store has indexed.
    """

    def __init__(self, stream: TextIO, total_bytes: int, total_files: int,
                 counts: Callable[[], tuple[int, int]],
                 writing: str = "Writing the index") -> None:
        self.stream = stream
        self.total_bytes = total_bytes
        self.total_files = total_files
        self.counts = counts
        self.writing_label = writing
        self.bytes = 0
        self.passages = 0  # indexed
        self.phase = "reading"
        self.started = self.phase_started = time.monotonic()
        self._drawn = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._draw(force=True)

    # -- callbacks --------------------------------------------------------------------
    def on_bytes(self, n: int) -> None:
        """Bytes read from disk (``iter_threads``' ``on_bytes``)."""
        self.bytes += n
        self._draw()

    def on_passages(self, n: int) -> None:
        """Passages indexed (a store's ``progress``)."""
        self.passages += n
        self._draw()

    def reading(self, items: Iterable[T]) -> Iterator[T]:
        """Pass ``items`` through; when they run out, switch to the writing phase."""
        yield from items
        self.start_writing()

    def start_writing(self) -> None:
        """The sources are read: the store now writes (no counter of its own)."""
        if self.phase == "writing":
            return
        self._draw(force=True)  # the reading phase as it ended
        self.phase = "writing"
        self.phase_started = time.monotonic()
        self._draw(force=True)
        self._ticker = threading.Thread(target=self._tick, name="progress", daemon=True)
        self._ticker.start()

    def close(self) -> None:
        """Stop redrawing and clear the line (the command's summary follows)."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        with self._lock:
            self.stream.write("\r\x1b[K")
            self.stream.flush()

    # -- drawing ----------------------------------------------------------------------
    def _tick(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            self._draw(force=True)

    def line(self) -> str:
        """The current progress line."""
        now = time.monotonic()
        spent = max(now - self.phase_started, 1e-9)
        files, read = self.counts()
        if self.phase == "reading":
            files = min(files, self.total_files)
            parts = [f"Reading {files}/{self.total_files} file{'s' * (self.total_files != 1)}",
                     f"{size_mib(self.bytes)}/{size_mib(self.total_bytes)}"]
            if self.total_bytes:
                parts.append(f"{100 * self.bytes // self.total_bytes}%")
            parts.append(f"{read:,} passages read, {self.passages:,} indexed")
            if read:
                parts.append(f"{read / spent:,.0f} passages/s")
            if 0 < self.bytes < self.total_bytes:
                left = (self.total_bytes - self.bytes) * spent / self.bytes
                parts.append(f"ETA {clock(left)}")
            return "  ".join(parts)
        spinner = "|/-\\"[int(spent / TICK_SECONDS) % 4]
        return (f"{self.writing_label} {spinner}  {self.passages:,} of {read:,} passages "
                f"indexed  {clock(spent)} in this phase, {clock(now - self.started)} in all")

    def _columns(self) -> int:
        """The terminal's width (the line is cut to it: a wrapped line can't be redrawn)."""
        try:
            return os.get_terminal_size(self.stream.fileno()).columns or 80
        except (OSError, ValueError, AttributeError):
            return shutil.get_terminal_size((80, 24)).columns

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._drawn < REDRAW_SECONDS:
            return
        with self._lock:
            if self._stop.is_set():
                return
            self._drawn = now
            width = max(20, self._columns() - 1)
            self.stream.write("\r" + self.line()[:width] + "\x1b[K")
            self.stream.flush()
