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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.fields import ID, STORED, TEXT, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.formats import Positions
from whoosh.system import pack_uint

from .analysis import FrenchAnalyzer, analyzer
from .errors import IndexMissingError, RebuildLockedError
from .folding import author_key
from .impact import ImpactWriter
from .model import COMMENT, BuildReport, Comment, IndexStats, Passage, Thread

CURRENT = "CURRENT"
LOCK = ".rebuild.lock"
PASSAGES = "passages"
THREADS = "threads"
META = "fil-meta.json"
KEEP_GENERATIONS = 2  # the current one and the one before (readers may still hold it)


class Analysed(str):
    """Passage text carrying its analysed positions, so indexing analyses it only once."""

    positions: dict[str, list[int]]

    def __new__(cls, text: str, positions: dict[str, list[int]]) -> Analysed:
        obj = super().__new__(cls, text)
        obj.positions = positions
        return obj


class FrenchText(TEXT):
    """A TEXT field that indexes through :meth:`FrenchAnalyzer.positions` (no Token objects)."""

    def index(self, value: str, **kwargs: object) -> Iterator[tuple[bytes, int, float, bytes]]:
        """Return (term bytes, frequency, weight, encoded positions) for each distinct term."""
        ana = self.analyzer
        if not isinstance(ana, FrenchAnalyzer):  # pragma: no cover - schema always uses it
            yield from super().index(value, **kwargs)
            return
        fmt = self.format
        fb = fmt.field_boost
        if isinstance(fmt, Positions):
            poses = value.positions if isinstance(value, Analysed) else ana.positions(value)
            encode = fmt.encode
            for term, plist in poses.items():
                yield term.encode("utf-8"), len(plist), len(plist) * fb, encode(plist)
        else:
            counts: dict[str, int] = {}
            for term in ana.terms(value):
                counts[term] = counts.get(term, 0) + 1
            for term, n in counts.items():
                yield term.encode("utf-8"), n, n * fb, pack_uint(n)


def passage_schema() -> Schema:
    """Schema of the passages index: the text with positions, and what result pages show.

    Filters (kind, author, dates, thread) and ranking read the impact arrays' columns
    (indexer.impact), so only ``content`` is indexed here; the rest is stored.
    """
    return Schema(
        thread_id=STORED(),
        title=STORED(),
        kind=STORED(),
        position=STORED(),
        author=STORED(),
        date=STORED(),
        content=FrenchText(analyzer=analyzer(), phrase=True, stored=True),
    )


def thread_schema() -> Schema:
    """Schema of the threads store: whole threads by id, for the thread page."""
    return Schema(thread_id=ID(stored=True, unique=True), data=STORED())


def day_number(date: str | None) -> int:
    """``2009-02-05T14:51`` -> ``20090205`` (0 when there is no date), for date ranges."""
    return int(date[:10].replace("-", "")) if date else 0


def passage_fields(p: Passage) -> dict[str, object]:
    """The Whoosh document of one passage."""
    return {
        "thread_id": p.thread_id,
        "title": p.thread_title,
        "kind": p.kind,
        "position": p.position,
        "author": p.author,
        "author_key": author_key(p.author) or None,
        "date": p.date,
        "day": day_number(p.date),
        "content": p.text,
    }


def thread_to_json(t: Thread) -> str:
    """Serialise a thread for the thread store."""
    data = asdict(t)
    data.pop("source", None)
    return json.dumps(data, ensure_ascii=False)


def thread_from_json(data: str) -> Thread:
    """Rebuild a Thread from the thread store."""
    d = json.loads(data)
    comments = tuple(Comment(c["position"], c["author"], c["date"], tuple(c["paragraphs"]),
                             tuple(c["reply_to"])) for c in d["comments"])
    return Thread(id=d["id"], title=d["title"], paragraphs=tuple(d["paragraphs"]),
                  comments=comments, url=d["url"], author=d["author"], date=d["date"])


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


def build_index(threads: Iterable[Thread], index_dir: str | os.PathLike[str], *,
                limitmb: int = 256, progress: ProgressFn | None = None,
                on_swap: Callable[[Path], None] | None = None) -> BuildReport:
    """Index threads into a new generation of ``index_dir`` and make it current atomically.

    Each passage is analysed once; its terms feed both the Whoosh segment (positions,
    stored text) and the impact arrays used for ranking (see :mod:`indexer.impact`).
    ``progress`` is called with the number of passages added since the last call.
    """
    index_dir = Path(index_dir)
    started = time.perf_counter()
    report = BuildReport(location=str(index_dir))
    ana = analyzer()
    with rebuild_lock(index_dir):
        _cleanup(index_dir, keep=current_generation(index_dir) or index_dir)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        final = index_dir / f"gen-{stamp}-{os.getpid()}"
        tmp = final.with_name(final.name + ".tmp")
        tmp.mkdir()
        storage = FileStorage(str(tmp))
        pix = storage.create_index(passage_schema(), indexname=PASSAGES)
        tix = storage.create_index(thread_schema(), indexname=THREADS)
        pw = pix.writer(limitmb=limitmb)
        tw = tix.writer()
        impacts = ImpactWriter()
        try:
            for t in threads:
                passages = t.passages()
                for p in passages:
                    fields = passage_fields(p)
                    poses = ana.positions(p.text)
                    impacts.add(poses, p.kind == COMMENT, fields.pop("day"),  # type: ignore[arg-type]
                                fields.pop("author_key") or "", p.author, p.thread_id,
                                p.thread_title)
                    fields["content"] = Analysed(p.text, poses)
                    fields["_stored_content"] = p.text
                    pw.add_document(**fields)
                tw.add_document(thread_id=t.id, data=thread_to_json(t))
                report.threads += 1
                report.passages += len(passages)
                if progress:
                    progress(len(passages))
            tw.commit()
            pw.commit()
            impacts.write(tmp)
        except BaseException:
            with contextlib.suppress(Exception):
                pw.cancel()
            with contextlib.suppress(Exception):
                tw.cancel()
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
    except (whoosh_index.EmptyIndexError, OSError) as exc:
        raise IndexMissingError(f"index at {gen} cannot be opened ({exc}): rebuild it") from None


def index_stats(index_dir: str | os.PathLike[str]) -> IndexStats:
    """Counts and size of the current generation (threads, passages, distinct terms, bytes)."""
    gen, pix, tix = open_generation(index_dir)
    with pix.reader() as r, tix.reader() as tr:
        terms = sum(1 for _ in r.lexicon("content"))
        passages, threads = r.doc_count(), tr.doc_count()
    size = sum(f.stat().st_size for f in gen.rglob("*") if f.is_file())
    meta_path = gen / META
    built_at = json.loads(meta_path.read_text())["built_at"] if meta_path.exists() else None
    return IndexStats(str(gen), threads, passages, terms, size, built_at)
