"""Which files a rebuild reads: source paths expanded into a plan, every other entry named.

Folders are walked recursively in name order, following symbolic links to folders (a
link back to a folder being walked is a loop: named, not followed). Every entry under
a folder is either planned or listed in ``skipped`` with a code:

* ``hidden`` — a name starting with ``.`` (``.git``, drafts): not read, not a problem;
* ``seen`` — a folder already walked through another link: its files are read once;
* ``unknown-type`` — not ``.txt``, ``.jsonl`` or ``.json`` (optionally ``.gz``);
* ``symlink-loop``, ``broken-link``, ``unreadable`` (a folder that can't be listed),
  ``not-a-file`` (a socket, a device...).

Everything but ``hidden`` and ``seen`` is a problem a strict rebuild fails on. A file
reached twice is planned once.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SourceMissingError
from .report import Skipped

#: Name endings read, longest first, and the format each means.
SUFFIXES = ((".jsonl", "jsonl"), (".json", "json"), (".txt", "txt"))
KNOWN_TYPES = ".txt, .jsonl or .json, optionally compressed as .gz"


def file_format(path: Path) -> tuple[str, bool] | None:
    """(format, gzip-compressed) from a file name, or None for other files."""
    name = path.name.lower()
    compressed = name.endswith(".gz")
    if compressed:
        name = name[:-3]
    for suffix, fmt in SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return fmt, compressed
    return None


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file to read: where, its format, whether gzip-compressed, and its size on disk."""

    path: Path
    format: str
    compressed: bool
    size: int

    @property
    def stem(self) -> str:
        """The name without its format suffixes (a ``.txt`` file's thread id, as written)."""
        name = self.path.name
        if self.compressed:
            name = name[:-3]
        return name[:-len(f".{self.format}")]


@dataclass(slots=True)
class SourcePlan:
    """The files a read will go through, in order, and every entry it leaves out."""

    files: list[SourceFile] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        """Bytes on disk of the planned files (what byte progress counts up to)."""
        return sum(f.size for f in self.files)


class _Planner:
    """Walks the sources once, filling a plan."""

    def __init__(self) -> None:
        self.plan = SourcePlan()
        self.files: set[tuple[int, int]] = set()
        self.folders: set[tuple[int, int]] = set()

    def add_file(self, path: Path, st: os.stat_result) -> None:
        fmt = file_format(path)
        if fmt is None:
            self.plan.skipped.append(Skipped(str(path), "unknown-type",
                                             f"unknown file type (expected {KNOWN_TYPES})"))
            return
        key = (st.st_dev, st.st_ino)
        if key not in self.files:
            self.files.add(key)
            self.plan.files.append(SourceFile(path, fmt[0], fmt[1], st.st_size))

    def walk(self, folder: Path, ancestors: frozenset[tuple[int, int]]) -> None:
        skip = self.plan.skipped.append
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            skip(Skipped(str(folder), "unreadable", f"cannot read folder: "
                         f"{exc.strerror or exc}"))
            return
        for e in entries:
            path = Path(e.path)
            if e.name.startswith("."):
                skip(Skipped(str(path), "hidden", "hidden (name starts with '.'): not read"))
                continue
            try:
                st = os.stat(path)  # follows symbolic links
            except OSError as exc:
                if e.is_symlink():
                    skip(Skipped(str(path), "broken-link", "symbolic link to nothing"))
                else:
                    skip(Skipped(str(path), "unreadable", f"cannot read: "
                                 f"{exc.strerror or exc}"))
                continue
            if e.is_dir():
                self.enter(path, st, ancestors)
            elif e.is_file():
                self.add_file(path, st)
            else:
                skip(Skipped(str(path), "not-a-file", "not a regular file or folder"))

    def enter(self, folder: Path, st: os.stat_result,
              ancestors: frozenset[tuple[int, int]]) -> None:
        key = (st.st_dev, st.st_ino)
        if key in ancestors:
            self.plan.skipped.append(Skipped(str(folder), "symlink-loop", "symbolic link loop "
                                             "(leads back to a folder being read): not "
                                             "followed"))
        elif key in self.folders:
            self.plan.skipped.append(Skipped(str(folder), "seen", "folder already read "
                                             "through another path"))
        else:
            self.folders.add(key)
            self.walk(folder, ancestors | {key})


def plan_sources(sources: Iterable[str | os.PathLike[str]]) -> SourcePlan:
    """Expand source files and folders into a plan; raise SourceMissingError before any walk.

    >>> plan_sources(["index_data/threads"]).files[0].format
    'txt'
    """
    paths: list[Path] = []
    for src in sources:
        if not os.fspath(src).strip():
            # Path("") is ".": an empty entry (``FIL_SOURCES="a:"``) would read the cwd
            raise SourceMissingError("empty source path (a stray ':' in FIL_SOURCES?)")
        p = Path(src)
        if not p.exists():
            raise SourceMissingError(f"source not found: {p}")
        paths.append(p)
    planner = _Planner()
    for p in paths:
        try:
            st = os.stat(p)
        except OSError as exc:
            planner.plan.skipped.append(Skipped(str(p), "unreadable",
                                                f"cannot read: {exc.strerror or exc}"))
            continue
        if p.is_dir():
            planner.enter(p, st, frozenset())
        elif p.is_file():
            planner.add_file(p, st)
        else:
            planner.plan.skipped.append(Skipped(str(p), "not-a-file",
                                                "not a regular file or folder"))
    return planner.plan
