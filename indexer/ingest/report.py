"""What a read of thread sources reports: faults by place, skipped entries, per-file counts.

Plain data, so each edge (CLI, logs, tests) renders it in its own words: a fault has
its path, line, a stable ``code`` and an English ``reason``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ThreadParseError

#: Skipped-entry codes that are not problems: hidden entries, and folders reached twice.
INFORMATIONAL_SKIPS = frozenset({"hidden", "seen"})


@dataclass(frozen=True, slots=True)
class Fault:
    """One rejected record or one warning: where (path, line) and why (code, reason)."""

    path: str
    line: int | None
    code: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.reason}"

    def as_error(self) -> ThreadParseError:
        """The same fault as an exception value (path, reason, line)."""
        return ThreadParseError(self.path, self.reason, self.line)


@dataclass(frozen=True, slots=True)
class Skipped:
    """An entry under a source that is not read, and why (``code``: see plan_sources)."""

    path: str
    code: str
    reason: str

    @property
    def problem(self) -> bool:
        """Whether a strict rebuild should fail on it (hidden entries are not problems)."""
        return self.code not in INFORMATIONAL_SKIPS

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(slots=True)
class FileReport:
    """Counts for one file read: records, and what decoding changed or refused."""

    path: str
    format: str
    encoding: str = "utf-8"
    size: int = 0  # bytes on disk
    threads: int = 0  # threads kept
    rejected: int = 0  # records rejected
    cp1252_lines: int = 0  # lines that were not UTF-8, read as Windows-1252
    control_chars: int = 0  # control characters removed or replaced
    repaired: int = 0  # double-encoded strings repaired (ftfy)
    html_tags: int = 0  # HTML tags removed
    first_line: dict[str, int] = field(default_factory=dict)  # count name -> first line


@dataclass(slots=True)
class ReadReport:
    """Everything a read found, filled while threads stream out of :func:`iter_threads`."""

    files: list[FileReport] = field(default_factory=list)
    rejected: list[Fault] = field(default_factory=list)
    warnings: list[Fault] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    threads: int = 0
    passages: int = 0

    @property
    def problems(self) -> int:
        """Rejected records plus skipped entries that are problems: what ``--strict`` fails on."""
        return len(self.rejected) + sum(1 for s in self.skipped if s.problem)

    def skipped_counts(self) -> dict[str, int]:
        """How many entries were skipped, by code (``unknown-type``, ``hidden``...)."""
        counts: dict[str, int] = {}
        for s in self.skipped:
            counts[s.code] = counts.get(s.code, 0) + 1
        return counts

    @property
    def control_chars(self) -> int:
        """Control characters removed or replaced, over every file."""
        return sum(f.control_chars for f in self.files)
