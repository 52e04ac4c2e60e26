"""One immutable segment of the embedded index: its passages, postings, columns and threads.

A segment is a folder written once, by :class:`SegmentBuilder` (from threads) or by
:mod:`.merge` (from other segments), and never changed::

    seg-<id>/segment.json         format, counts, the average length its impacts used
    seg-<id>/passages_*           a Whoosh index with one fil1 segment (:mod:`.codec`):
                                  content postings with positions, stored passage fields
    seg-<id>/col.<name>.npy       per passage: kind (0 post, 1 comment), stamp (date key),
                                  author (code into authors.json), thread (local code),
                                  impact (BM25 weight of every posting, aligned with them)
    seg-<id>/thread.<name>.*      per thread: id, record (thread JSON without its texts),
                                  first passage, passage count, digest, title terms, order
                                  (thread codes sorted by id, for lookups)
    seg-<id>/authors.json         author names and folded keys by code

Impacts are BM25 term weights ``tf·(k1+1)/(tf + k1·(1−b+b·dl/avgdl))`` computed with
the average passage length of the whole index when the segment was written; queries
multiply them by the idf of the live index (see :mod:`.view`).
"""

from __future__ import annotations

import json
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from whoosh.fields import STORED, TEXT, Schema
from whoosh.filedb.filestore import FileStorage

from ...analysis import analyzer
from ...ingest.folding import author_key
from ...ingest.model import COMMENT, POST, Thread, date_key
from ...search.ranking import THREAD_B, THREAD_K1
from ..records import thread_from_record, thread_hash, thread_record
from ..scoring import bm25_weights, length_norm
from .codec import (
    CodeColumn,
    FieldData,
    FieldPostings,
    IntColumn,
    SegmentData,
    SegmentStore,
    StoredText,
    TextColumnWriter,
    load_mapped,
    load_raw,
    write_segment,
)
from .postings import BLOCK, PostingsBuilder

SEGMENT_FORMAT = "fil2"
INFO = "segment.json"
PASSAGES = "passages"
FIELD = "content"
HASH_BYTES = 20
TERM_SEP = "\x1f"  # between the title terms of a thread


def passage_schema() -> Schema:
    """Schema of a segment's Whoosh index: the text with positions, and what results show."""
    return Schema(thread_id=STORED(), title=STORED(), kind=STORED(), position=STORED(),
                  author=STORED(), date=STORED(),
                  content=TEXT(analyzer=analyzer(), phrase=True, stored=True))






def impacts(fd: FieldData | FieldPostings, avgdl: float) -> np.ndarray:
    """BM25 impact of every posting of a field (aligned with ``fd.ids``) for this avgdl."""
    return bm25_weights(fd.freqs, length_norm(fd.lengths, avgdl)[fd.ids])


def thread_postings(fd: FieldData | FieldPostings, thread: np.ndarray,
                    n_threads: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Postings of whole threads, each thread one document (its passages' text together).

    Returns (thread codes, summed term frequencies, per-term starts aligned with the
    field's terms, each thread's length in terms). A segment's threads hold contiguous
    passages in order, so each term's thread codes come out ascending. Built block by
    block of terms from the passage postings: no analysis, bounded temporaries.
    """
    tstart = np.asarray(fd.tstart)
    ids_all, freqs_all = np.asarray(fd.ids), np.asarray(fd.freqs)
    thread = np.asarray(thread).astype(np.int64)
    out_ids, out_freqs = [], []
    counts = np.zeros(len(tstart) - 1, dtype=np.int64)
    n_terms = len(tstart) - 1
    a = 0
    while a < n_terms:
        b = int(np.searchsorted(tstart, tstart[a] + BLOCK, side="right")) - 1
        b = min(max(b, a + 1), n_terms)
        s, e = int(tstart[a]), int(tstart[b])
        per_term = np.diff(tstart[a:b + 1])
        term_of = np.repeat(np.arange(a, b, dtype=np.int64), per_term)
        key = term_of * max(n_threads, 1) + thread[ids_all[s:e]]
        if len(key):
            head = np.ones(len(key), dtype=bool)
            head[1:] = key[1:] != key[:-1]
            starts = np.flatnonzero(head)
            out_ids.append((key[starts] % max(n_threads, 1)).astype(np.int32))
            out_freqs.append(np.add.reduceat(freqs_all[s:e].astype(np.int64),
                                             starts).astype(np.uint32))
            counts[a:b] = np.bincount(term_of[starts] - a, minlength=b - a)
        a = b
    ids = np.concatenate(out_ids) if out_ids else np.empty(0, np.int32)
    freqs = np.concatenate(out_freqs) if out_freqs else np.empty(0, np.uint32)
    starts_all = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(counts, out=starts_all[1:])
    lengths = np.bincount(thread, weights=np.asarray(fd.lengths),
                          minlength=n_threads).astype(np.int64)
    return ids, freqs, starts_all, lengths


# -- small column files ------------------------------------------------------------------

def save_array(folder: Path, name: str, values: np.ndarray) -> None:
    """Write one array as ``name.npy``."""
    with open(folder / f"{name}.npy", "wb") as fh:
        np.save(fh, np.ascontiguousarray(values))


def load_array(folder: Path, name: str) -> np.ndarray:
    """A saved array (memory-mapped when big: see :func:`~.codec.load_mapped`)."""
    return load_mapped(folder / f"{name}.npy")


class TextsWriter:
    """Streams strings to ``name.blob`` (UTF-8, concatenated); ``close`` writes the offsets."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder, self.name = folder, name
        self.lengths = array("q")
        self._fh = open(folder / f"{name}.blob", "wb", buffering=1 << 20)  # noqa: SIM115

    def add(self, value: str) -> None:
        data = value.encode("utf-8")
        self._fh.write(data)
        self.lengths.append(len(data))

    def close(self) -> None:
        if self._fh.closed:
            return
        self._fh.close()
        offsets = np.zeros(len(self.lengths) + 1, dtype=np.int64)
        np.cumsum(np.frombuffer(self.lengths, dtype=np.int64), out=offsets[1:])
        save_array(self.folder, f"{self.name}.off", offsets)


def save_texts(folder: Path, name: str, values: Iterable[str] | TextsWriter) -> None:
    """Write strings as ``name.blob`` (UTF-8, concatenated) and ``name.off.npy``.

    A TextsWriter that already streamed them there is just closed.
    """
    if isinstance(values, TextsWriter):
        values.close()
        return
    out = TextsWriter(folder, name)
    for v in values:
        out.add(v)
    out.close()


class Texts:
    """Strings saved by :func:`save_texts`, read one at a time (memory-mapped)."""

    def __init__(self, folder: Path, name: str) -> None:
        self.off = load_array(folder, f"{name}.off")
        path = folder / f"{name}.blob"
        self.blob = load_raw(path, np.uint8)

    def __len__(self) -> int:
        return len(self.off) - 1

    def __getitem__(self, i: int) -> str:
        return bytes(self.blob[int(self.off[i]):int(self.off[i + 1])]).decode("utf-8")


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """What ``segment.json`` says of a segment."""

    docs: int
    threads: int
    total_length: int
    avgdl: float  # the average passage length its impacts were computed with
    stem: str  # the fil1 segment's file stem inside the folder
    avgdl_threads: float = 1.0  # the average thread length its thread impacts used

    def to_json(self) -> str:
        return json.dumps({"format": SEGMENT_FORMAT, "docs": self.docs,
                           "threads": self.threads, "total_length": self.total_length,
                           "avgdl": self.avgdl, "stem": self.stem,
                           "avgdl_threads": self.avgdl_threads})


# -- writing -----------------------------------------------------------------------------

@dataclass
class SegmentParts:
    """Everything a segment holds, ready to be written (from threads, or merged)."""

    content: FieldData
    stored: dict[str, object]
    kind: np.ndarray
    stamp: np.ndarray
    author: np.ndarray
    thread: np.ndarray
    author_names: list[str]
    author_keys: list[str]
    thread_ids: list[str]
    thread_records: Sequence[str] | TextsWriter
    thread_first: np.ndarray
    thread_count: np.ndarray
    thread_hash: np.ndarray
    thread_titles: list[str]  # title terms joined by TERM_SEP


@dataclass(frozen=True, slots=True)
class Averages:
    """Average lengths (in terms) of the index's live passages and threads."""

    passage: float
    thread: float

    @classmethod
    def of(cls, docs: int, threads: int, total_length: int) -> Averages:
        return cls(total_length / docs if docs else 1.0,
                   total_length / threads if threads else 1.0)


#: The averages impacts use: given, a function of the segment's (passages, threads, total
#: length) (the index's averages once it is added), or None (the segment's own).
AveragesFor = Averages | Callable[[int, int, int], Averages] | None


def write_parts(folder: Path, parts: SegmentParts, averages: AveragesFor) -> SegmentInfo:
    """Write a complete segment into an empty ``folder`` (impacts for ``averages``)."""
    storage = FileStorage(str(folder))
    storage.create_index(passage_schema(), indexname=PASSAGES)
    docs = len(parts.kind)
    threads = len(parts.thread_ids)
    total = int(np.sum(parts.content.lengths, dtype=np.int64))
    if callable(averages):
        averages = averages(docs, threads, total)
    if averages is None:
        averages = Averages.of(docs, threads, total)
    avgdl = averages.passage
    segment = write_segment(storage, PASSAGES,
                            SegmentData(docs, {FIELD: parts.content}, parts.stored))  # type: ignore[arg-type]
    save_array(folder, "col.impact", impacts(parts.content, avgdl))
    tids, tfreqs, tstart, tlengths = thread_postings(parts.content, parts.thread, threads)
    save_array(folder, "tpost.ids", tids)
    save_array(folder, "tpost.freq", tfreqs)
    save_array(folder, "tpost.tstart", tstart)
    save_array(folder, "thread.length", tlengths)
    save_array(folder, "tpost.impact", bm25_weights(
        tfreqs, length_norm(tlengths, averages.thread, THREAD_K1, THREAD_B)[tids], THREAD_K1))
    del tids, tfreqs, tstart
    save_array(folder, "col.kind", parts.kind.astype(np.uint8))
    save_array(folder, "col.stamp", parts.stamp.astype(np.int64))
    save_array(folder, "col.author", parts.author.astype(np.int32))
    save_array(folder, "col.thread", parts.thread.astype(np.int32))
    save_texts(folder, "thread.id", parts.thread_ids)
    save_texts(folder, "thread.record", parts.thread_records)
    save_texts(folder, "thread.title", parts.thread_titles)
    save_array(folder, "thread.first", parts.thread_first.astype(np.int32))
    save_array(folder, "thread.count", parts.thread_count.astype(np.int32))
    save_array(folder, "thread.hash", parts.thread_hash.astype(np.uint8).reshape(-1, HASH_BYTES))
    order = sorted(range(len(parts.thread_ids)), key=parts.thread_ids.__getitem__)
    save_array(folder, "thread.order", np.array(order, dtype=np.int32))
    (folder / "authors.json").write_text(json.dumps(
        {"names": parts.author_names, "keys": parts.author_keys}, ensure_ascii=False),
        encoding="utf-8")
    info = SegmentInfo(docs, threads, total, float(avgdl), segment.make_filename(""),
                       float(averages.thread))
    (folder / INFO).write_text(info.to_json(), encoding="utf-8")
    return info


class SegmentBuilder:
    """Collects threads, then writes them as one segment (each passage analysed once)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        storage = FileStorage(str(folder))
        self.postings = PostingsBuilder(analyzer())
        self.texts = TextColumnWriter(storage, "content")
        self.dates = TextColumnWriter(storage, "date")
        self.docs = 0
        self.kinds = array("B")
        self.positions = array("q")
        self.stamps = array("q")
        self.authors = array("i")  # by folded key (filters, facets)
        self.author_keys: dict[str, int] = {}
        self.author_names: list[str] = []
        self.spellings = array("i")  # by exact spelling (shown on results)
        self.author_codes: dict[str | None, tuple[int, int]] = {}  # spelling -> both codes
        self.threads = array("i")  # local thread code of each passage
        self.thread_ids: list[str] = []
        self.thread_titles: list[str] = []
        self.thread_records = TextsWriter(folder, "thread.record")
        self.thread_first = array("i")
        self.thread_count = array("i")
        self.hashes = bytearray()
        self.seen: set[str] = set()

    def __len__(self) -> int:
        return self.docs

    def add(self, t: Thread, digest: bytes | None = None) -> int:
        """Add one thread (ids must be new to this segment); return its passage count."""
        if t.id in self.seen:
            raise ValueError(f"thread {t.id!r} added twice to one segment")
        self.seen.add(t.id)
        tcode = len(self.thread_ids)
        passages = t.passages()
        n = len(passages)
        texts = [p.text for p in passages]
        self.thread_first.append(self.docs)
        self.docs += n
        self.thread_count.append(n)
        self.postings.add_many(texts)
        self.texts.add_many(texts)
        dates = [p.date for p in passages]
        for d in dates:
            self.dates.add(d)
        self.stamps.extend(map(date_key, dates))
        self.kinds.extend([p.kind == COMMENT for p in passages])
        self.positions.extend([p.position for p in passages])
        self.threads.extend([tcode] * n)
        for p in passages:
            codes = self.author_codes.get(p.author)
            if codes is None:
                codes = self.author_codes[p.author] = self._author(p.author)
            self.authors.append(codes[0])
            self.spellings.append(codes[1])
        self.thread_ids.append(t.id)
        self.thread_titles.append(t.title)
        self.thread_records.add(thread_record(t, with_texts=False))
        self.hashes += digest if digest is not None else thread_hash(t)
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

    def close(self) -> None:
        """Close the streamed columns (after a failure, the folder is removed).

        Each is closed even when an earlier one fails (a full disk fails every flush);
        the first error is raised after.
        """
        failed: OSError | None = None
        for col in (self.texts, self.dates, self.thread_records):
            try:
                col.close()
            except OSError as exc:
                failed = failed or exc
        if failed is not None:
            raise failed

    def finish(self, averages: AveragesFor = None) -> SegmentInfo:
        """Write the segment (impacts for ``averages``: see :func:`write_parts`)."""
        content = self.postings.finish()
        occurrence = np.frombuffer(self.threads, dtype=np.int32)
        stored = {
            "thread_id": CodeColumn(occurrence, self.thread_ids),
            "title": CodeColumn(occurrence, self.thread_titles),
            "kind": CodeColumn(np.frombuffer(self.kinds, dtype=np.uint8).astype(np.int32),
                               [POST, COMMENT]),
            "position": IntColumn(np.frombuffer(self.positions, dtype=np.int64)),
            "author": CodeColumn(np.frombuffer(self.spellings, dtype=np.int32),
                                 list(self.author_codes)),
            "date": self.dates,
            "content": self.texts,
        }
        # after the passages: title words met in them are analysed already
        titles = [TERM_SEP.join(dict.fromkeys(self.postings.terms_of(title)))
                  for title in self.thread_titles]
        parts = SegmentParts(
            content=content, stored=stored,
            kind=np.frombuffer(self.kinds, dtype=np.uint8),
            stamp=np.frombuffer(self.stamps, dtype=np.int64),
            author=np.frombuffer(self.authors, dtype=np.int32), thread=occurrence,
            author_names=self.author_names, author_keys=list(self.author_keys),
            thread_ids=self.thread_ids, thread_records=self.thread_records,
            thread_first=np.frombuffer(self.thread_first, dtype=np.int32),
            thread_count=np.frombuffer(self.thread_count, dtype=np.int32),
            thread_hash=np.frombuffer(bytes(self.hashes), dtype=np.uint8),
            thread_titles=titles)
        return write_parts(self.folder, parts, averages)


# -- reading -----------------------------------------------------------------------------

THREAD_CODE_CACHE = 200_000  # thread ids whose local code a segment remembers


class SegmentReader:
    """An opened segment (arrays memory-mapped); immutable, shared by every reader."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.name = folder.name
        info = json.loads((folder / INFO).read_text(encoding="utf-8"))
        if info.get("format") != SEGMENT_FORMAT:
            raise ValueError(f"{folder.name}: not a {SEGMENT_FORMAT} segment")
        self.info = SegmentInfo(info["docs"], info["threads"], info["total_length"],
                                info["avgdl"], info["stem"], info["avgdl_threads"])
        tocs = sorted(p.name for p in folder.glob(f"_{PASSAGES}_*.toc"))
        if not tocs or tocs[-1] != f"_{PASSAGES}_1.toc":  # Whoosh's writer commits _2, _3…
            raise ValueError(f"{folder.name}: changed by Whoosh's writer (table of contents "
                             f"{', '.join(tocs) or 'missing'}): rebuild the index")
        self.store = SegmentStore(str(folder), self.info.stem)
        self.field = self.store.fields[FIELD]
        self.docs = self.info.docs
        self.impact = load_array(folder, "col.impact")
        self.kind = load_array(folder, "col.kind")
        self.stamp = load_array(folder, "col.stamp")
        self.author = load_array(folder, "col.author")
        self.thread = load_array(folder, "col.thread")
        self.lengths = self.field.lengths
        self.thread_ids = Texts(folder, "thread.id")
        self._codes: dict[str, int | None] = {}  # thread id -> local code, as looked up
        self.thread_records = Texts(folder, "thread.record")
        self.thread_titles = Texts(folder, "thread.title")
        self.thread_first = load_array(folder, "thread.first")
        self.thread_count = load_array(folder, "thread.count")
        self.thread_hash = load_array(folder, "thread.hash")
        self.thread_order = load_array(folder, "thread.order")
        self.thread_length = load_array(folder, "thread.length")
        self.tpost_ids = load_array(folder, "tpost.ids")
        self.tpost_freq = load_array(folder, "tpost.freq")
        self.tpost_tstart = load_array(folder, "tpost.tstart")
        self.tpost_impact = load_array(folder, "tpost.impact")
        authors = json.loads((folder / "authors.json").read_text(encoding="utf-8"))
        self.author_names: list[str] = authors["names"]
        self.author_keys: list[str] = authors["keys"]
        for arr, size, what in ((self.impact, len(self.field.ids), "col.impact"),
                                (self.kind, self.docs, "col.kind"),
                                (self.stamp, self.docs, "col.stamp"),
                                (self.author, self.docs, "col.author"),
                                (self.thread, self.docs, "col.thread"),
                                (self.lengths, self.docs, "lengths"),
                                (self.thread_first, self.info.threads, "thread.first"),
                                (self.thread_count, self.info.threads, "thread.count"),
                                (self.thread_order, self.info.threads, "thread.order"),
                                (self.thread_length, self.info.threads, "thread.length"),
                                (self.tpost_tstart, len(self.field.terms) + 1, "tpost.tstart"),
                                (self.tpost_impact, len(self.tpost_ids), "tpost.impact"),
                                (self.tpost_freq, len(self.tpost_ids), "tpost.freq")):
            if len(arr) != size:
                raise ValueError(f"{folder.name}: {what} holds {len(arr)} values, not {size}")
        # a truncated blob would give cut or empty texts without any error: check its size
        texts = [(t.off, t.blob, n, f"{name}.blob") for t, n, name in (
            (self.thread_ids, self.info.threads, "thread.id"),
            (self.thread_records, self.info.threads, "thread.record"),
            (self.thread_titles, self.info.threads, "thread.title"))]
        for name, col in self.store.stored.items():
            if isinstance(col, StoredText):
                texts.append((np.asarray(col.off), col.blob, self.docs, f"{name} texts"))
        for off, blob, count, what in texts:
            if len(off) != count + 1 or (count and int(off[-1]) != len(blob)):
                raise ValueError(f"{folder.name}: {what} holds {len(blob)} bytes, its offsets "
                                 f"say {int(off[-1]) if len(off) else 0}")

    def thread_code(self, thread_id: str) -> int | None:
        """The local code of a thread id, or None (binary search over the sorted ids, each
        answer remembered: a segment never changes, and searches ask for the same
        threads again and again)."""
        try:
            return self._codes[thread_id]
        except KeyError:
            pass
        order, ids = self.thread_order, self.thread_ids
        i = bisect_left(range(len(order)), thread_id, key=lambda k: ids[int(order[k])])
        code = int(order[i]) if i < len(order) and ids[int(order[i])] == thread_id else None
        if len(self._codes) < THREAD_CODE_CACHE:
            self._codes[thread_id] = code
        return code

    def read_thread(self, code: int) -> Thread:
        """The whole thread with this local code (texts read back from its passages)."""
        first = int(self.thread_first[code])
        return thread_from_record(self.thread_records[code],
                                  lambda i: str(self.store.text(FIELD, first + i) or ""))

    def title_terms(self, code: int) -> frozenset[str]:
        """Analysed terms of a thread's title."""
        text = self.thread_titles[code]
        return frozenset(text.split(TERM_SEP)) if text else frozenset()

    def stored_fields(self, docnum: int) -> dict[str, object]:
        """What one passage stores (thread id, title, kind, position, author, date, text)."""
        return self.store.stored_fields(docnum)
