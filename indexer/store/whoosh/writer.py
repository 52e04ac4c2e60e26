"""Changing the embedded index: rebuild, update and delete threads, merge segments.

Every change holds the write lock, writes what is new under temporary names, then
commits a new manifest (:mod:`.manifest`); searches keep reading the manifest they
started with. Updates add one segment holding the new and changed threads (a thread
whose content digest is unchanged is left alone) and mark the replaced threads' passages
deleted in their old segments. Merges follow a tiered policy like Lucene's: when
SEGMENTS_PER_TIER segments of about the same size exist, they become one; a segment
with more than EXPUNGE_SHARE of its passages deleted is rewritten; ``optimize`` merges
everything into one segment.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from ...errors import (
    IndexerError,
    IndexMissingError,
    IndexWriteError,
    NothingToIndexError,
    RebuildLockedError,
)
from ...ingest.model import Thread
from ..base import BuildReport, UpdateReport
from ..memory import build_allocation
from ..records import thread_hash
from .manifest import (
    WRITE_LOCK,
    Manifest,
    SegmentEntry,
    cleanup,
    commit,
    empty_manifest,
    fsync_dir,
    fsync_tree,
    new_name,
    now,
    read_current,
    writer_lock,
)
from .merge import merge_segments
from .segment import Averages, SegmentBuilder, SegmentInfo
from .view import IndexView, save_deletions

SEGMENTS_PER_TIER = 10  # segments of one size tier that trigger a merge
FLOOR_DOCS = 1_000  # segments smaller than this count as this size (one tier of small ones)
EXPUNGE_SHARE = 0.4  # a segment with this share of deleted passages is rewritten

ProgressFn = Callable[[int], None]


def _write_error(index_dir: Path, exc: OSError) -> IndexWriteError:
    """The failed write as an IndexWriteError, in the system's words."""
    code = exc.errno
    if code in (errno.ENOTDIR, errno.EEXIST):
        reason = "part of the path is a file, not a folder"
    elif code is None and _SHORT_WRITE.search(str(exc)):
        # numpy reports a short write ("N requested and M written") without an errno;
        # a regular file is only written short when its file system is full
        code = errno.ENOSPC
        reason = os.strerror(code)
    else:
        reason = exc.strerror or str(exc)
    return IndexWriteError(str(index_dir), reason, code)


_SHORT_WRITE = re.compile(r"\d+ requested and \d+ written")


class _CallerError(Exception):
    """An OSError raised by the caller's threads or progress callback, not by the writer."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


def _theirs(threads: Iterable[Thread]) -> Iterator[Thread]:
    """The caller's threads; an OSError they raise is theirs, not a failed write."""
    it = iter(threads)
    while True:
        try:
            t = next(it)
        except StopIteration:
            return
        except OSError as exc:
            raise _CallerError(exc) from exc
        yield t


def _their_progress(progress: ProgressFn | None) -> ProgressFn | None:
    """The caller's progress callback, its OSErrors marked as theirs."""
    if progress is None:
        return None

    def call(n: int) -> None:
        try:
            progress(n)
        except OSError as exc:
            raise _CallerError(exc) from exc

    return call


@contextlib.contextmanager
def _changing(index_dir: Path) -> Iterator[None]:
    """Hold the write lock for one change; a failed write becomes an IndexWriteError.

    What a write that fails (disk full, no permission...) had written under temporary
    names, or renamed but not committed, is removed before the error goes up: the
    previous manifest still answers and nothing is left behind.
    """
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(writer_lock(index_dir))
        except OSError as exc:  # the folder can't be created, or its lock file opened
            raise _write_error(index_dir, exc) from None
        try:
            yield
        except _CallerError as exc:
            raise exc.error from None
        except OSError as exc:
            with contextlib.suppress(OSError):
                cleanup(index_dir)
            raise _write_error(index_dir, exc) from None


def probe_lock(index_dir: Path) -> None:
    """Raise RebuildLockedError now if another change holds the write lock (creates nothing).

    A caller about to read its sources checks this first, so a locked index is reported
    before any source is opened; the change itself takes the lock again before it reads.
    """
    if not (index_dir / WRITE_LOCK).exists():
        return  # no index folder or never written: nobody can hold its lock
    try:
        with writer_lock(index_dir):
            pass
    except RebuildLockedError:
        raise
    except OSError:
        return  # can't even open the lock file: the change itself will say why


def _current_or_empty(index_dir: Path) -> Manifest:
    """The current manifest, or an empty one when there is no index yet."""
    try:
        return read_current(index_dir)[1]
    except IndexMissingError:
        return empty_manifest()


def _write_segment(index_dir: Path, build: Callable[[Path], SegmentInfo | None],
                   ) -> tuple[str, SegmentInfo] | None:
    """Write a segment into a temporary folder, then give it its final name."""
    name = new_name("seg")
    tmp = index_dir / f"{name}.tmp"
    tmp.mkdir()
    try:
        with build_allocation():
            info = build(tmp)
        if info is None:
            shutil.rmtree(tmp, ignore_errors=True)
            return None
        fsync_tree(tmp)
        os.replace(tmp, index_dir / name)
        fsync_dir(index_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return name, info


def _entry(name: str, info: SegmentInfo) -> SegmentEntry:
    return SegmentEntry(name=name, docs=info.docs, threads=info.threads, deleted=None,
                        live_docs=info.docs, live_length=info.total_length,
                        live_threads=info.threads)


def rebuild(index_dir: Path, threads: Iterable[Thread],
            progress: ProgressFn | None = None) -> BuildReport:
    """Replace the whole index with these threads (one new segment), atomically."""
    started = time.perf_counter()
    report = BuildReport(location=str(index_dir))
    threads, progress = _theirs(threads), _their_progress(progress)
    with _changing(index_dir):
        cleanup(index_dir)
        previous = _current_or_empty_quiet(index_dir)

        def build(folder: Path) -> SegmentInfo:
            builder = SegmentBuilder(folder)
            try:
                for t in threads:
                    if t.id in builder.seen:
                        report.warnings.append(f"thread {t.id!r} appears twice: the first "
                                               "one is indexed")
                        continue
                    n = builder.add(t)
                    report.threads += 1
                    report.passages += n
                    if progress:
                        progress(n)
                if not report.threads:  # never commit an empty index over a good one
                    raise NothingToIndexError(f"no thread to index: the index at {index_dir} "
                                              "was left unchanged")
                return builder.finish()
            except BaseException:
                with contextlib.suppress(OSError):  # a full disk fails the flush again
                    builder.close()
                raise

        written = _write_segment(index_dir, build)
        assert written is not None
        name, info = written
        manifest = Manifest(generation=previous + 1, segments=(_entry(name, info),),
                            created_at=now(), rebuilt_at=now())
        commit(index_dir, manifest)
        cleanup(index_dir)
    report.seconds = time.perf_counter() - started
    return report


def _current_or_empty_quiet(index_dir: Path) -> int:
    """The current generation number, 0 when there is none or it cannot be read."""
    try:
        return read_current(index_dir)[1].generation
    except IndexerError:
        return 0


def update(index_dir: Path, threads: Iterable[Thread], progress: ProgressFn | None = None,
           merge: bool = True) -> UpdateReport:
    """Add new threads and replace changed ones (by id); unchanged threads cost nothing."""
    started = time.perf_counter()
    report = UpdateReport(location=str(index_dir))
    threads, progress = _theirs(threads), _their_progress(progress)
    with _changing(index_dir):
        cleanup(index_dir)
        manifest = _current_or_empty(index_dir)
        view = IndexView(index_dir, manifest, "")
        incoming: dict[str, tuple[Thread, bytes]] = {}
        for t in threads:
            if t.id in incoming:
                report.warnings.append(f"thread {t.id!r} given twice: the last one is kept")
            incoming[t.id] = (t, thread_hash(t))
        deletions: dict[int, list[tuple[int, int]]] = {}  # segment -> passage ranges
        fresh: list[tuple[Thread, bytes]] = []
        for tid, (t, digest) in incoming.items():
            code = view.find_thread(tid)
            if code is not None:
                i, local = view.thread_locate(code)
                seg = view.segments[i]
                if bytes(seg.thread_hash[local]) == digest:
                    report.unchanged += 1
                    continue
                first = int(seg.thread_first[local])
                deletions.setdefault(i, []).append((first, first + int(seg.thread_count[local])))
                report.replaced += 1
            else:
                report.added += 1
            fresh.append((t, digest))
        if not fresh and not deletions:
            report.seconds = time.perf_counter() - started
            return report
        entries = list(manifest.segments)
        removed_docs = removed_length = 0
        for i, ranges in deletions.items():
            entries[i], d, length = _with_deletions(index_dir, view, i, entries[i], ranges,
                                                    manifest.generation + 1)
            removed_docs += d
            removed_length += length
        live_docs = manifest.live_docs - removed_docs
        live_length = manifest.live_length - removed_length
        live_threads = sum(e.live_threads for e in entries)

        def build(folder: Path) -> SegmentInfo | None:
            if not fresh:
                return None
            builder = SegmentBuilder(folder)
            try:
                for t, digest in fresh:
                    n = builder.add(t, digest)
                    report.passages += n
                    if progress:
                        progress(n)
                return builder.finish(lambda docs, threads, length: Averages.of(
                    live_docs + docs, live_threads + threads, live_length + length))
            except BaseException:
                with contextlib.suppress(OSError):  # a full disk fails the flush again
                    builder.close()
                raise

        written = _write_segment(index_dir, build)
        if written is not None:
            entries.append(_entry(*written))
        commit(index_dir, manifest.with_changes(generation=manifest.generation + 1,
                                                segments=tuple(entries), created_at=now()))
        if merge:
            report.merged = _merge_policy(index_dir)
        cleanup(index_dir)
    report.seconds = time.perf_counter() - started
    return report


def _with_deletions(index_dir: Path, view: IndexView, i: int, entry: SegmentEntry,
                    ranges: Sequence[tuple[int, int]],
                    generation: int) -> tuple[SegmentEntry, int, int]:
    """A segment entry with more passages deleted (a new deletion file); and what went."""
    seg = view.segments[i]
    old = view.deleted[i]
    dead = np.zeros(seg.docs, dtype=bool) if old is None else old.copy()
    newly = np.zeros(seg.docs, dtype=bool)
    for a, b in ranges:
        newly[a:b] = True
    newly &= ~dead
    dead |= newly
    name = f"del-{entry.name[4:]}-{generation:09d}.npy"
    tmp = index_dir / f"{name}.tmp"
    save_deletions(tmp, dead)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, index_dir / name)
    gone_docs = int(newly.sum())
    gone_length = int(np.asarray(seg.lengths)[newly].sum(dtype=np.int64))
    gone_threads = int(newly[np.asarray(seg.thread_first)].sum()) if seg.info.threads else 0
    return (SegmentEntry(entry.name, entry.docs, entry.threads, name,
                         entry.live_docs - gone_docs, entry.live_length - gone_length,
                         entry.live_threads - gone_threads), gone_docs, gone_length)


def delete(index_dir: Path, thread_ids: Iterable[str]) -> UpdateReport:
    """Remove threads by id (ids not in the index are listed in ``missing``)."""
    started = time.perf_counter()
    report = UpdateReport(location=str(index_dir))
    with _changing(index_dir):
        cleanup(index_dir)
        manifest = read_current(index_dir)[1]
        view = IndexView(index_dir, manifest, "")
        deletions: dict[int, list[tuple[int, int]]] = {}
        for tid in dict.fromkeys(thread_ids):
            code = view.find_thread(tid)
            if code is None:
                report.missing.append(tid)
                continue
            i, local = view.thread_locate(code)
            first = int(view.segments[i].thread_first[local])
            deletions.setdefault(i, []).append(
                (first, first + int(view.segments[i].thread_count[local])))
            report.deleted += 1
        if deletions:
            entries = list(manifest.segments)
            for i, ranges in deletions.items():
                entries[i] = _with_deletions(index_dir, view, i, entries[i], ranges,
                                             manifest.generation + 1)[0]
            commit(index_dir, manifest.with_changes(generation=manifest.generation + 1,
                                                    segments=tuple(entries), created_at=now()))
            report.merged = _merge_policy(index_dir)
        cleanup(index_dir)
    report.seconds = time.perf_counter() - started
    return report


def _tier(entry: SegmentEntry) -> int:
    """The size tier of a segment: powers of ten above FLOOR_DOCS."""
    return int(math.log10(max(entry.live_docs, FLOOR_DOCS) / FLOOR_DOCS))


def merge_candidates(manifest: Manifest) -> list[int]:
    """Indexes of the segments the tiered policy would merge now ([]: none)."""
    segs = manifest.segments
    for i, e in enumerate(segs):
        if e.docs and e.live_docs < e.docs * (1 - EXPUNGE_SHARE):
            return [i]
    tiers: dict[int, list[int]] = {}
    for i, e in enumerate(segs):
        tiers.setdefault(_tier(e), []).append(i)
    for tier in sorted(tiers):
        members = tiers[tier]
        if len(members) >= SEGMENTS_PER_TIER:
            members = sorted(members, key=lambda i: segs[i].live_docs)[:SEGMENTS_PER_TIER]
            return sorted(members)
    return []


def _merge_policy(index_dir: Path) -> int:
    """Merge what the tiered policy asks for, repeatedly; return how many segments went."""
    merged = 0
    for _ in range(100):
        manifest = read_current(index_dir)[1]
        chosen = merge_candidates(manifest)
        if not chosen:
            break
        merged += _merge(index_dir, manifest, chosen)
    return merged


def _alive(deleted: np.ndarray | None) -> np.ndarray | None:
    """A live mask from a deletion mask (None: nothing deleted)."""
    return None if deleted is None else ~deleted


def _merge(index_dir: Path, manifest: Manifest, chosen: Sequence[int]) -> int:
    """Merge the chosen segments of ``manifest`` into one and commit (write lock held)."""
    view = IndexView(index_dir, manifest, "")
    inputs = [(view.segments[i], _alive(view.deleted[i])) for i in chosen]
    averages = Averages.of(manifest.live_docs, manifest.live_threads, manifest.live_length)
    written = _write_segment(index_dir, lambda folder: merge_segments(inputs, folder, averages))
    entries: list[SegmentEntry | None] = list(manifest.segments)
    for i in chosen:
        entries[i] = None
    if written is not None:
        entries[chosen[0]] = _entry(*written)
    commit(index_dir, manifest.with_changes(
        generation=manifest.generation + 1, created_at=now(),
        segments=tuple(e for e in entries if e is not None)))
    return len(chosen)


def optimize(index_dir: Path) -> UpdateReport:
    """Merge every segment into one, without deleted passages (exact BM25 again)."""
    started = time.perf_counter()
    report = UpdateReport(location=str(index_dir))
    with _changing(index_dir):
        cleanup(index_dir)
        manifest = read_current(index_dir)[1]
        if len(manifest.segments) > 1 or any(e.deleted for e in manifest.segments):
            report.merged = _merge(index_dir, manifest, range(len(manifest.segments)))
        cleanup(index_dir)
    report.seconds = time.perf_counter() - started
    return report
