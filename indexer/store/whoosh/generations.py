"""The Whoosh index on disk: schema, atomic rebuilds into generations, and opening the current one.

Layout of an index directory::

    INDEX_DIR/CURRENT          name of the generation that answers queries
    INDEX_DIR/.rebuild.lock    held (flock) by the one rebuild allowed at a time
    INDEX_DIR/gen-*/           a complete Whoosh index ("passages" and "threads")
    INDEX_DIR/gen-*.tmp/       a rebuild in progress (removed by the next rebuild if left over)

A rebuild writes a new generation, then replaces ``CURRENT`` with ``os.replace``:
readers see the old index or the new one, never a mix, and a failed or killed
rebuild leaves the old one answering.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from array import array
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from whoosh import index as whoosh_index
from whoosh.fields import ID, STORED, TEXT, Schema
from whoosh.filedb.filestore import FileStorage

from ...analysis import analyzer
from ...analysis.folding import author_key
from ...errors import IndexMissingError, RebuildLockedError
from ...ingest.model import COMMENT, POST, Thread, date_key
from ..base import BuildReport, IndexStats
from ..records import thread_record
from .codec import (
    CodeColumn,
    FieldData,
    FilSegment,
    IntColumn,
    SegmentData,
    SegmentStore,
    TextColumn,
    TextColumnWriter,
    open_store,
    write_segment,
)
from .impact import DocColumns, write_impacts
from .postings import PostingsBuilder

CURRENT = "CURRENT"
LOCK = ".rebuild.lock"
PASSAGES = "passages"
THREADS = "threads"
META = "fil-meta.json"
KEEP_GENERATIONS = 2  # the current one and the one before (readers may still hold it)


def passage_schema() -> Schema:
    """Schema of the passages index: the text with positions, and what result pages show.

    Filters (kind, author, dates, thread) and ranking read the impact arrays' columns
    (indexer.impact), so only ``content`` is indexed here; the rest is stored. The
    segment is written by :mod:`indexer.codec` (see :func:`build_index`).
    """
    return Schema(
        thread_id=STORED(),
        title=STORED(),
        kind=STORED(),
        position=STORED(),
        author=STORED(),
        date=STORED(),
        content=TEXT(analyzer=analyzer(), phrase=True, stored=True),
    )


def thread_schema() -> Schema:
    """Schema of the threads store: whole threads by id, for the thread page."""
    return Schema(thread_id=ID(stored=True, unique=True), data=STORED())


@contextlib.contextmanager
def rebuild_lock(index_dir: Path) -> Iterator[None]:
    """Hold the index's rebuild lock, or raise RebuildLockedError at once if it is taken."""
    index_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(index_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RebuildLockedError(
                f"another rebuild of {index_dir} is running; try again when it has finished"
            ) from None
        yield
    finally:
        os.close(fd)


def current_generation(index_dir: Path) -> Path | None:
    """The directory of the generation that answers queries, or None if there is none."""
    try:
        name = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    gen = index_dir / name
    return gen if name.startswith("gen-") and "/" not in name and gen.is_dir() else None


def _cleanup(index_dir: Path, keep: Path) -> None:
    """Remove leftover temporary generations and all but the newest complete ones."""
    gens = sorted((p for p in index_dir.iterdir() if p.is_dir() and p.name.startswith("gen-")),
                  key=lambda p: p.name)
    for p in gens:
        if p.name.endswith(".tmp"):
            shutil.rmtree(p, ignore_errors=True)
    complete = [p for p in gens if not p.name.endswith(".tmp") and p != keep]
    for p in complete[: max(0, len(complete) - (KEEP_GENERATIONS - 1))]:
        shutil.rmtree(p, ignore_errors=True)


ProgressFn = Callable[[int], None]


class _Collector:
    """Everything a rebuild gathers from the threads before writing the two segments."""

    def __init__(self, storage: FileStorage) -> None:
        self.postings = PostingsBuilder(analyzer())
        self.texts = TextColumnWriter(storage, "content")
        self.thread_json = TextColumnWriter(storage, "data")
        self.dates: list[str | None] = []
        self.kinds = array("B")
        self.positions = array("q")
        self.stamps = array("q")
        self.authors = array("i")  # by folded key (filters, facets)
        self.author_keys: dict[str, int] = {}
        self.author_names: list[str] = []
        self.spellings = array("i")  # by exact spelling (shown on results)
        self.author_codes: dict[str | None, tuple[int, int]] = {}  # spelling -> both codes
        self.threads = array("I")  # thread code (one per distinct id: grouping, filters)
        self.occurrence = array("i")  # which input thread (stored id and title)
        self.thread_titles: list[str] = []
        self.thread_codes: dict[str, int] = {}
        self.thread_list: list[tuple[str, str]] = []
        self.thread_ids: list[str] = []

    def close(self) -> None:
        """Close the streamed columns (after a failure: their files are removed with tmp)."""
        self.texts.close()
        self.thread_json.close()

    def add(self, t: Thread) -> int:
        """Add one thread and its passages; return the number of passages."""
        tcode = self.thread_codes.get(t.id)
        if tcode is None:
            tcode = self.thread_codes[t.id] = len(self.thread_list)
            self.thread_list.append((t.id, t.title))
        passages = t.passages()
        n = len(passages)
        texts = [p.text for p in passages]
        self.postings.add_many(texts)
        self.texts.add_many(texts)
        dates = [p.date for p in passages]
        self.dates.extend(dates)
        self.stamps.extend(map(date_key, dates))
        self.kinds.extend([p.kind == COMMENT for p in passages])
        self.positions.extend([p.position for p in passages])
        self.threads.extend([tcode] * n)
        self.occurrence.extend([len(self.thread_ids)] * n)
        for p in passages:
            codes = self.author_codes.get(p.author)
            if codes is None:
                codes = self.author_codes[p.author] = self._author(p.author)
            self.authors.append(codes[0])
            self.spellings.append(codes[1])
        self.thread_ids.append(t.id)
        self.thread_titles.append(t.title)
        self.thread_json.add(thread_record(t, first_passage=len(self.dates) - n))
        return n

    def _author(self, author: str | None) -> tuple[int, int]:
        """(filter code by folded key or -1, code of this exact spelling) of a new author."""
        key = author_key(author)
        code = -1
        if key:
            code = self.author_keys.get(key, -1)
            if code < 0:
                code = self.author_keys[key] = len(self.author_names)
                self.author_names.append(author or key)
        return code, len(self.author_codes)

    def passages_segment(self) -> tuple[SegmentData, FieldData]:
        """The passages segment: content postings and the stored fields of result pages."""
        content = self.postings.finish()
        threads = np.frombuffer(self.occurrence, dtype=np.int32)
        stored = {
            "thread_id": CodeColumn(threads, self.thread_ids),
            "title": CodeColumn(threads, self.thread_titles),
            "kind": CodeColumn(np.frombuffer(self.kinds, dtype=np.uint8).astype(np.int32),
                               [POST, COMMENT]),
            "position": IntColumn(np.frombuffer(self.positions, dtype=np.int64)),
            "author": CodeColumn(np.frombuffer(self.spellings, dtype=np.int32),
                                 list(self.author_codes)),
            "date": TextColumn(self.dates),
            "content": self.texts,
        }
        return SegmentData(len(self.dates), {"content": content}, stored), content

    def threads_segment(self) -> SegmentData:
        """The threads segment: whole threads (JSON) found by their id."""
        order = sorted(range(len(self.thread_ids)), key=self.thread_ids.__getitem__)
        ids_in_order = [self.thread_ids[i] for i in order]
        firsts = [k for k, tid in enumerate(ids_in_order) if k == 0 or tid != ids_in_order[k - 1]]
        terms = [ids_in_order[k] for k in firsts]
        n = len(order)
        ids = FieldData(terms=terms, tstart=np.array([*firsts, n], dtype=np.int64),
                        ids=np.array(order, dtype=np.int32), freqs=np.ones(n, dtype=np.uint32),
                        lengths=np.ones(n, dtype=np.uint32))
        return SegmentData(n, {"thread_id": ids},
                           {"thread_id": TextColumn(self.thread_ids),
                            "data": self.thread_json})

    def columns(self) -> DocColumns:
        """Per-passage columns for the impact files."""
        return DocColumns(
            kind=np.frombuffer(self.kinds, dtype=np.uint8),
            stamp=np.frombuffer(self.stamps, dtype=np.int64),
            author=np.frombuffer(self.authors, dtype=np.int32),
            thread=np.frombuffer(self.threads, dtype=np.uint32),
            author_names=self.author_names, author_keys=list(self.author_keys),
            threads=self.thread_list,
            # after the passages: title words met in them are analysed already
            title_terms=[list(dict.fromkeys(self.postings.terms_of(title)))
                         for _, title in self.thread_list])


def build_index(threads: Iterable[Thread], index_dir: str | os.PathLike[str], *,
                progress: ProgressFn | None = None,
                on_swap: Callable[[Path], None] | None = None) -> BuildReport:
    """Index threads into a new generation of ``index_dir`` and make it current atomically.

    Each passage is analysed once, word by word with a cache (:mod:`indexer.postings`);
    the postings are sorted with numpy and written as Whoosh segments by
    :mod:`indexer.codec`, with the BM25 impacts used for ranking (:mod:`indexer.impact`).
    ``progress`` is called with the number of passages added since the last call.
    """
    index_dir = Path(index_dir)
    started = time.perf_counter()
    report = BuildReport(location=str(index_dir))
    with rebuild_lock(index_dir):
        _cleanup(index_dir, keep=current_generation(index_dir) or index_dir)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        final = index_dir / f"gen-{stamp}-{os.getpid()}"
        tmp = final.with_name(final.name + ".tmp")
        tmp.mkdir()
        collected: _Collector | None = None
        try:
            storage = FileStorage(str(tmp))
            pschema, tschema = passage_schema(), thread_schema()
            storage.create_index(pschema, indexname=PASSAGES)
            storage.create_index(tschema, indexname=THREADS)
            collected = _Collector(storage)
            for t in threads:
                n = collected.add(t)
                report.threads += 1
                report.passages += n
                if progress:
                    progress(n)
            data, content = collected.passages_segment()
            write_segment(storage, PASSAGES, data)
            write_impacts(tmp, content, collected.columns())
            del data, content
            write_segment(storage, THREADS, collected.threads_segment())
        except BaseException:
            if collected is not None:
                collected.close()
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        report.seconds = time.perf_counter() - started
        meta = {"built_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "threads": report.threads, "passages": report.passages,
                "seconds": round(report.seconds, 3)}
        (tmp / META).write_text(json.dumps(meta), encoding="utf-8")
        os.replace(tmp, final)
        pointer = index_dir / f"{CURRENT}.{os.getpid()}.tmp"
        pointer.write_text(final.name + "\n", encoding="utf-8")
        with open(pointer, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(pointer, index_dir / CURRENT)
        if on_swap:
            on_swap(final)
        _cleanup(index_dir, keep=final)
    return report


def open_generation(index_dir: str | os.PathLike[str]) -> tuple[Path, whoosh_index.Index,
                                                                  whoosh_index.Index]:
    """Open the current generation's passages and threads indexes."""
    index_dir = Path(index_dir)
    gen = current_generation(index_dir)
    if gen is None:
        raise IndexMissingError(
            f"no index at {index_dir}: build it with `python -m indexer rebuild`")
    storage = FileStorage(str(gen), readonly=True)
    try:
        return gen, storage.open_index(PASSAGES), storage.open_index(THREADS)
    except Exception as exc:  # noqa: BLE001 - old or damaged generations: say rebuild
        raise IndexMissingError(
            f"index at {gen} cannot be opened ({exc}); it was probably built by another "
            "version of Fil: rebuild it with `python -m indexer rebuild`") from None


def passage_store(gen: Path, pix: whoosh_index.Index) -> SegmentStore:
    """The passages segment's arrays (shared, memory-mapped) of an opened generation."""
    segments = pix._segments()  # noqa: SLF001 - Whoosh has no public accessor
    if len(segments) != 1 or not isinstance(segments[0], FilSegment):
        raise IndexMissingError(
            f"index at {gen} holds segments Fil did not write (built by another version, "
            "or changed with Whoosh's writer): rebuild it with `python -m indexer rebuild`")
    try:
        return open_store(pix.storage, segments[0])
    except (OSError, ValueError, KeyError) as exc:
        raise IndexMissingError(f"index at {gen} cannot be opened ({exc}): rebuild it") from None


def index_stats(index_dir: str | os.PathLike[str]) -> IndexStats:
    """Counts and size of the current generation (threads, passages, distinct terms, bytes)."""
    gen, pix, tix = open_generation(index_dir)
    with pix.reader() as r, tix.reader() as tr:
        terms = len(passage_store(gen, pix).fields["content"].terms)
        passages, threads = r.doc_count(), tr.doc_count()
    size = sum(f.stat().st_size for f in gen.rglob("*") if f.is_file())
    meta_path = gen / META
    built_at = json.loads(meta_path.read_text())["built_at"] if meta_path.exists() else None
    return IndexStats(str(gen), threads, passages, terms, size, built_at)
