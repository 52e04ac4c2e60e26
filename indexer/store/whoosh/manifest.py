"""The embedded index's directory: manifests of segments, committed atomically, and leases.

Layout of an index directory::

    INDEX_DIR/CURRENT                 name of the manifest that answers queries
    INDEX_DIR/manifest-<gen>.json     the live segments and their deletion files
    INDEX_DIR/seg-<id>/               an immutable segment (:mod:`.segment`)
    INDEX_DIR/del-<id>-<gen>.npy      which of a segment's passages are deleted (immutable)
    INDEX_DIR/.write.lock             held (flock) by the one writer allowed at a time
    INDEX_DIR/*.tmp                   a write in progress (removed by the next writer)

A change (rebuild, update, delete, merge) writes new segments and deletion files under
temporary names, renames them, writes a new manifest, then replaces ``CURRENT`` with
``os.replace`` (each step fsynced): a reader sees the old manifest or the new one,
never a mix, and a write killed at any point leaves the previous manifest answering.

A reader holds a shared ``flock`` on the manifest it reads (a lease); the writer removes
old manifests it can lock exclusively — nobody reads them any more — and then the
segments and deletion files no remaining manifest names.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from ...errors import IndexDamagedError, IndexMissingError, RebuildLockedError

FORMAT = "fil3"
CURRENT = "CURRENT"
WRITE_LOCK = ".write.lock"
MANIFEST_PREFIX = "manifest-"


@dataclass(frozen=True, slots=True)
class SegmentEntry:
    """One live segment of a manifest, with what is deleted from it."""

    name: str  # folder name, seg-<id>
    docs: int  # passages written
    threads: int  # threads written
    deleted: str | None = None  # deletion file name (None: nothing deleted)
    live_docs: int = 0
    live_length: int = 0  # total length (in terms) of the live passages
    live_threads: int = 0


@dataclass(frozen=True, slots=True)
class Manifest:
    """The segments that make up one state of the index."""

    generation: int
    segments: tuple[SegmentEntry, ...] = ()
    created_at: str = ""
    rebuilt_at: str = ""  # when the last full rebuild was committed

    @property
    def live_docs(self) -> int:
        return sum(s.live_docs for s in self.segments)

    @property
    def live_length(self) -> int:
        return sum(s.live_length for s in self.segments)

    @property
    def live_threads(self) -> int:
        return sum(s.live_threads for s in self.segments)

    def avgdl(self) -> float:
        """Average length of the live passages (1.0 for an empty index)."""
        return self.live_length / self.live_docs if self.live_docs else 1.0

    def files(self) -> set[str]:
        """The names (segment folders, deletion files) this manifest needs."""
        out = {s.name for s in self.segments}
        out.update(s.deleted for s in self.segments if s.deleted)
        return out

    def to_json(self) -> str:
        data = {"format": FORMAT, **asdict(self)}
        return json.dumps(data, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str, where: str) -> Manifest:
        """Parse a manifest; IndexDamagedError names what is wrong."""
        try:
            data = json.loads(text)
            if data.get("format") != FORMAT:
                raise IndexDamagedError(
                    f"{where}: index format {data.get('format')!r}, this version of Fil "
                    f"reads {FORMAT!r}: rebuild the index")
            segments = tuple(SegmentEntry(**s) for s in data["segments"])
            return cls(int(data["generation"]), segments, data.get("created_at", ""),
                       data.get("rebuilt_at", ""))
        except (ValueError, KeyError, TypeError) as exc:
            raise IndexDamagedError(f"{where}: unreadable manifest ({exc})") from None

    def with_changes(self, **changes: object) -> Manifest:
        return replace(self, **changes)  # type: ignore[arg-type]


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_name(prefix: str) -> str:
    """A fresh, sortable, unique file name: ``prefix-<time>-<random>``."""
    return f"{prefix}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}"


def manifest_name(generation: int) -> str:
    return f"{MANIFEST_PREFIX}{generation:09d}.json"


# -- reading -------------------------------------------------------------------------------

def current_name(index_dir: Path) -> str | None:
    """The name CURRENT points at (None: no index at all)."""
    try:
        return (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise IndexDamagedError(f"{index_dir / CURRENT}: cannot be read ({exc.strerror})") \
            from None


def read_current(index_dir: Path) -> tuple[str, Manifest]:
    """The current manifest (IndexMissingError: none; IndexDamagedError: unreadable)."""
    name = current_name(index_dir)
    if name is None:
        raise IndexMissingError(f"no index at {index_dir}")
    if name.startswith("gen-"):
        raise IndexDamagedError(f"index at {index_dir} was built by an older version of Fil "
                                "(format fil1): rebuild it")
    if not name.startswith(MANIFEST_PREFIX) or "/" in name:
        raise IndexDamagedError(f"{index_dir / CURRENT}: does not name a manifest ({name!r})")
    path = index_dir / name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise IndexDamagedError(f"{path}: cannot be read ({exc.strerror})") from None
    return name, Manifest.from_json(text, str(path))


class Lease:
    """A shared lock on one manifest while a process reads its segments."""

    def __init__(self, index_dir: Path) -> None:
        missing: set[str] = set()
        for _ in range(20):  # a writer may remove the manifest we just read CURRENT for
            name = current_name(index_dir)
            if name is None:
                raise IndexMissingError(f"no index at {index_dir}")
            if not name.startswith(MANIFEST_PREFIX) or "/" in name:
                read_current(index_dir)  # raises the error that explains it
            try:
                fd = os.open(index_dir / name, os.O_RDONLY)
            except FileNotFoundError:
                missing.add(name)
                continue
            fcntl.flock(fd, fcntl.LOCK_SH)
            try:
                same = os.fstat(fd).st_ino == os.stat(index_dir / name).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self.fd: int | None = fd
                self.name = name
                self.path = index_dir / name
                return
            os.close(fd)
        if len(missing) == 1:  # not a race with writers: CURRENT names a file that is gone
            raise IndexDamagedError(f"{index_dir / CURRENT} names {missing.pop()}, which does "
                                    "not exist")
        raise IndexDamagedError(f"{index_dir}: the current manifest keeps changing")

    def read(self) -> Manifest:
        """The leased manifest."""
        assert self.fd is not None
        chunks = []
        offset = 0
        while True:
            chunk = os.pread(self.fd, 1 << 16, offset)
            if not chunk:
                break
            chunks.append(chunk)
            offset += len(chunk)
        where = str(self.path)
        try:
            text = b"".join(chunks).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise IndexDamagedError(f"{where}: unreadable manifest ({exc})") from None
        return Manifest.from_json(text, where)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


# -- writing -------------------------------------------------------------------------------

_WRITERS: dict[Path, threading.Lock] = {}
_WRITERS_LOCK = threading.Lock()


@contextlib.contextmanager
def writer_lock(index_dir: Path) -> Iterator[None]:
    """Hold the index's write lock, or raise RebuildLockedError at once if it is taken."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with _WRITERS_LOCK:
        local = _WRITERS.setdefault(index_dir.resolve(), threading.Lock())
    if not local.acquire(blocking=False):  # flock does not exclude threads of one process
        raise RebuildLockedError(f"another change to {index_dir} is running; try again when "
                                 "it has finished")
    try:
        fd = os.open(index_dir / WRITE_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RebuildLockedError(
                    f"another change to {index_dir} is running; try again when it has "
                    "finished") from None
            yield
        finally:
            os.close(fd)
    finally:
        local.release()


def fsync_dir(path: Path) -> None:
    """Make a rename inside ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    """Make a written file's content durable."""
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


#: Files of one folder fsynced at once: the file system commits their journal together
#: (48 files of a small segment: ~130 ms one by one, ~15 ms this way, on ext4).
FSYNC_THREADS = 16


def fsync_tree(path: Path) -> None:
    """fsync every file of a freshly written folder (concurrently), and the folder."""
    files = [f for f in path.iterdir() if f.is_file()]
    if len(files) > 1:
        with ThreadPoolExecutor(min(FSYNC_THREADS, len(files))) as pool:
            list(pool.map(fsync_file, files))  # list(): the first error is raised here
    elif files:
        fsync_file(files[0])
    fsync_dir(path)


def commit(index_dir: Path, manifest: Manifest) -> str:
    """Write ``manifest`` and make it current (atomic; every file it names must exist)."""
    name = manifest_name(manifest.generation)
    tmp = index_dir / f"{name}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(manifest.to_json())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, index_dir / name)
    pointer = index_dir / f"{CURRENT}.{os.getpid()}.tmp"
    with open(pointer, "w", encoding="utf-8") as fh:
        fh.write(name + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(pointer, index_dir / CURRENT)
    fsync_dir(index_dir)
    return name


def cleanup(index_dir: Path) -> list[str]:
    """Remove leftovers of failed writes, unread old manifests and what only they named.

    Call with the write lock held. Returns the names removed.
    """
    removed: list[str] = []
    current = current_name(index_dir)
    for p in index_dir.iterdir():
        if p.name.endswith(".tmp"):
            _remove(p)
            removed.append(p.name)
    keep: set[str] = set()
    for p in sorted(index_dir.glob(f"{MANIFEST_PREFIX}*.json")):
        if p.name == current:
            continue
        try:
            fd = os.open(p, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # a reader holds it: keep it and its files
                with contextlib.suppress(OSError, IndexDamagedError):
                    keep |= Manifest.from_json(p.read_text(encoding="utf-8"), p.name).files()
                continue
            p.unlink()
            removed.append(p.name)
        finally:
            os.close(fd)
    if current and current.startswith(MANIFEST_PREFIX):
        with contextlib.suppress(OSError, IndexDamagedError):
            keep |= Manifest.from_json((index_dir / current).read_text(encoding="utf-8"),
                                       current).files()
    for p in index_dir.iterdir():
        if (p.name.startswith(("seg-", "del-")) and p.name not in keep) or \
                (p.name.startswith("gen-") and p.is_dir()):
            _remove(p)
            removed.append(p.name)
    return removed


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def empty_manifest() -> Manifest:
    return Manifest(generation=0, created_at=now())


__all__ = ["CURRENT", "FORMAT", "Lease", "Manifest", "SegmentEntry", "cleanup", "commit",
           "current_name", "empty_manifest", "new_name", "read_current",
           "writer_lock"]
