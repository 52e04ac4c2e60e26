"""A Whoosh codec whose segments are written in bulk as numpy arrays ("fil1").

Whoosh's own writer adds postings one at a time in Python (a sorting pool, then a
pickled and zlib-compressed block per 128 postings): about 60 % of a rebuild, and the
reason its rebuilds top out near 1,000-3,000 passages a second. This codec keeps
Whoosh's index model — schema, TOC, segments, readers, searchers, queries, matchers,
the Levenshtein automata — and changes only how one segment is laid out on disk, so
that :mod:`indexer.postings` can produce a whole segment with a few numpy sorts:

    <index>_<segid>.fil.json          manifest: doc count, fields, stored columns
    <index>_<segid>.<field>.terms.blob / .terms.off.npy   the sorted terms (UTF-8, offsets)
    <index>_<segid>.<field>.ids.npy   int32 doc numbers, term after term (ascending per term)
    <index>_<segid>.<field>.freq.npy  uint32 occurrences of the term in each posting
    <index>_<segid>.<field>.pos.npy   uint32 positions, posting after posting (phrase fields)
    <index>_<segid>.<field>.len.npy   uint32 field length of each document (scoring)
    <index>_<segid>.<field>.tstart.npy / .pstart.npy   int64 offsets of each term
    <index>_<segid>.<column>.*        stored fields (text blobs + offsets, ints, codes)

Segments are immutable: Fil rebuilds write a new index generation instead of adding to
one (:mod:`indexer.index`), so :meth:`FilCodec.per_document_writer` and
:meth:`FilCodec.field_writer` refuse, with a message that says so. Arrays are
memory-mapped and shared by every reader of a process.
"""

from __future__ import annotations

import json
import os
import threading
from array import array
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from whoosh.codec.base import (
    Automata,
    Codec,
    FieldCursor,
    PerDocumentReader,
    Segment,
    TermsReader,
)
from whoosh.index import TOC
from whoosh.matching import ListMatcher, NullMatcher, ReadTooFar
from whoosh.reading import TermInfo, TermNotFound

FORMAT = "fil3"  # segment layout version (code tables as blobs since fil3)
MANIFEST = ".fil.json"


@dataclass
class FieldData:
    """One indexed field of a segment: sorted terms and their postings, ready to write."""

    terms: list[str]  # sorted by code point, which is Whoosh's (UTF-8 byte) order
    tstart: np.ndarray  # int64 [T+1]: term i's postings are ids[tstart[i]:tstart[i+1]]
    ids: np.ndarray  # int32 doc numbers
    freqs: np.ndarray  # uint32 occurrences per posting
    lengths: np.ndarray  # uint32 field length of each document
    positions: np.ndarray | None = None  # uint32, posting after posting
    pstart: np.ndarray | None = None  # int64 [T+1]: term i's positions start here


@dataclass
class TextColumn:
    """A stored column of strings (None allowed), kept as one UTF-8 blob and offsets."""

    values: Sequence[str | None]


class TextColumnWriter:
    """Streams a stored text column to disk, one value per document (None allowed).

    Nothing is kept in memory but the lengths: a rebuild need not hold every passage
    twice. :func:`write_segment` moves the file into its segment.
    """

    def __init__(self, storage: object, name: str) -> None:
        self.path = os.path.join(_folder(storage), f".{name}-{os.getpid()}-"
                                 f"{Segment._random_id(8)}.partial")
        self._fh = open(self.path, "wb", buffering=1 << 20)  # noqa: SIM115 - closed in close()
        self.lengths = array("q")
        self.nones: list[int] = []

    def add(self, value: str | None) -> None:
        """Append the next document's value."""
        if value is None:
            self.nones.append(len(self.lengths))
            self.lengths.append(0)
            return
        data = value.encode("utf-8")
        self._fh.write(data)
        self.lengths.append(len(data))

    def add_many(self, values: list[str]) -> None:
        """Append several documents' values (no None)."""
        data = [v.encode("utf-8") for v in values]
        self._fh.write(b"".join(data))
        self.lengths.extend(map(len, data))

    def add_raw(self, data: bytes | np.ndarray, lengths: np.ndarray,
                nones: Sequence[int] = ()) -> None:
        """Append documents given as their concatenated UTF-8 bytes and byte lengths.

        ``nones`` are the positions (among these documents) of None values (length 0).
        """
        base = len(self.lengths)
        self.nones.extend(base + int(i) for i in nones)
        self._fh.write(data if isinstance(data, bytes) else data.tobytes())
        self.lengths.extend(np.asarray(lengths, dtype=np.int64).tolist())

    def close(self) -> None:
        """Flush the file (idempotent)."""
        if not self._fh.closed:
            self._fh.close()


@dataclass
class IntColumn:
    """A stored column of integers."""

    values: np.ndarray


@dataclass
class CodeColumn:
    """A stored column of repeated strings: a code per document into a table (-1 = None)."""

    codes: np.ndarray
    table: Sequence[str | None]


Column = TextColumn | TextColumnWriter | IntColumn | CodeColumn


@dataclass
class SegmentData:
    """Everything one segment holds."""

    doc_count: int
    fields: dict[str, FieldData] = field(default_factory=dict)
    stored: dict[str, Column] = field(default_factory=dict)


# -- writing -----------------------------------------------------------------------------

def _folder(storage: object) -> str:
    folder = getattr(storage, "folder", None)
    if not folder:
        raise TypeError("the fil1 codec needs a FileStorage (files on disk)")
    return str(folder)


def _save(folder: str, name: str, array: np.ndarray) -> None:
    with open(os.path.join(folder, name), "wb") as fh:
        np.save(fh, np.ascontiguousarray(array))


def write_segment(storage: object, indexname: str, data: SegmentData) -> FilSegment:
    """Write ``data`` as the one segment of index ``indexname`` and commit its TOC.

    The index must have been created (``storage.create_index``) and hold no segment.
    """
    folder = _folder(storage)
    segment = FilSegment(FilCodec(), indexname, data.doc_count)
    stem = segment.make_filename("")
    fields_meta: dict[str, object] = {}
    for name, fd in data.fields.items():
        _save(folder, f"{stem}.{name}.ids.npy", fd.ids.astype(np.int32, copy=False))
        _save(folder, f"{stem}.{name}.freq.npy", fd.freqs.astype(np.uint32, copy=False))
        _save(folder, f"{stem}.{name}.len.npy", fd.lengths.astype(np.uint32, copy=False))
        _save(folder, f"{stem}.{name}.tstart.npy", fd.tstart.astype(np.int64, copy=False))
        has_pos = fd.positions is not None and fd.pstart is not None
        if fd.positions is not None and fd.pstart is not None:
            _save(folder, f"{stem}.{name}.pos.npy", fd.positions.astype(np.uint32, copy=False))
            _save(folder, f"{stem}.{name}.pstart.npy", fd.pstart.astype(np.int64, copy=False))
        _save_terms(folder, f"{stem}.{name}.terms", fd.terms)
        fields_meta[name] = {"terms": len(fd.terms), "positions": has_pos}
    stored_meta: dict[str, object] = {}
    for name, col in data.stored.items():
        if isinstance(col, TextColumn):
            values, col = col.values, TextColumnWriter(storage, name)
            for v in values:
                col.add(v)
        if isinstance(col, TextColumnWriter):
            col.close()
            os.replace(col.path, os.path.join(folder, f"{stem}.{name}.blob"))
            offsets = np.zeros(len(col.lengths) + 1, dtype=np.int64)
            np.cumsum(np.frombuffer(col.lengths, dtype=np.int64), out=offsets[1:])
            _save(folder, f"{stem}.{name}.off.npy", offsets)
            _save(folder, f"{stem}.{name}.none.npy", np.array(col.nones, dtype=np.int64))
            stored_meta[name] = {"kind": "text"}
        elif isinstance(col, IntColumn):
            _save(folder, f"{stem}.{name}.int.npy", col.values.astype(np.int64, copy=False))
            stored_meta[name] = {"kind": "int"}
        else:
            _save(folder, f"{stem}.{name}.code.npy", col.codes.astype(np.int32, copy=False))
            _save_table(folder, f"{stem}.{name}.table", col.table)
            stored_meta[name] = {"kind": "code", "table": len(col.table)}
    manifest = {"format": FORMAT, "doc_count": data.doc_count, "fields": fields_meta,
                "stored": stored_meta}
    with open(os.path.join(folder, stem + MANIFEST), "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, ensure_ascii=False, separators=(",", ":"))
    toc = TOC.read(storage, indexname)
    if toc.segments:
        raise ValueError(f"index {indexname!r} already has segments: fil1 writes new indexes")
    TOC(toc.schema, [segment], toc.generation + 1).write(storage, indexname)
    return segment


# -- reading -----------------------------------------------------------------------------

#: Files smaller than this are read into memory instead of mapped: each mapping keeps a
#: file descriptor open (Python duplicates it), and a segment has dozens of small files.
SMALL_FILE_BYTES = 256 * 1024


def load_mapped(path: str | os.PathLike[str]) -> np.ndarray:
    """A saved ``.npy`` array: read when small, else memory-mapped, as a plain ndarray.

    numpy's memmap subclass adds Python-level work to every slice taken from it.
    """
    if os.path.getsize(path) < SMALL_FILE_BYTES:
        return np.load(path)
    return np.asarray(np.load(path, mmap_mode="r"))


def load_raw(path: str | os.PathLike[str], dtype: type) -> np.ndarray:
    """A raw file of ``dtype`` values: read when small, else memory-mapped."""
    size = os.path.getsize(path)
    if not size:
        return np.empty(0, dtype=dtype)
    if size < SMALL_FILE_BYTES:
        return np.fromfile(path, dtype=dtype)
    return np.asarray(np.memmap(path, dtype=dtype, mode="r"))


def _save_terms(folder: str, stem: str, terms: Sequence[str]) -> None:
    """Write sorted terms as one UTF-8 blob and their offsets (opened without parsing)."""
    data = [t.encode("utf-8") for t in terms]
    with open(os.path.join(folder, stem + ".blob"), "wb") as fh:
        fh.write(b"".join(data))
    offsets = np.zeros(len(data) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, data), dtype=np.int64, count=len(data)), out=offsets[1:])
    _save(folder, stem + ".off.npy", offsets)


def _save_table(folder: str, stem: str, table: Sequence[str | None]) -> None:
    """Write a code table like terms, with the places of its None values apart."""
    _save_terms(folder, stem, [v or "" for v in table])
    _save(folder, stem + ".none.npy",
          np.array([i for i, v in enumerate(table) if v is None], dtype=np.int64))


class StringList(Sequence[str]):
    """Strings written by :func:`_save_terms`, memory-mapped: opening costs nothing and a
    string is decoded when read."""

    def __init__(self, stem: str, count: int) -> None:
        self._off = load_mapped(stem + ".off.npy")
        self._blob = load_raw(stem + ".blob", np.uint8)
        if len(self._off) != count + 1:
            raise ValueError(f"{os.path.basename(stem)}: {len(self._off) - 1} strings, "
                             f"the manifest says {count}")

    def __len__(self) -> int:
        return len(self._off) - 1

    def _one(self, i: int) -> str:
        return bytes(self._blob[int(self._off[i]):int(self._off[i + 1])]).decode("utf-8")

    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            return [self._one(k) for k in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._one(i)

    def __iter__(self) -> Iterator[str]:
        data = bytes(self._blob).decode("utf-8")
        # offsets count bytes; decode once and cut by characters when the text is ASCII
        if len(data) == len(self._blob):
            off = self._off.tolist()
            return iter([data[off[k]:off[k + 1]] for k in range(len(off) - 1)])
        return iter([self._one(k) for k in range(len(self))])


class SortedInts:
    """A sorted array of document or table positions, asked for membership and ranges."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = values

    def __len__(self) -> int:
        return len(self.values)

    def __contains__(self, i: object) -> bool:
        if not len(self.values) or not isinstance(i, int | np.integer):
            return False
        k = int(np.searchsorted(self.values, i))
        return k < len(self.values) and int(self.values[k]) == i

    def between(self, a: int, b: int) -> np.ndarray:
        """The values v with a <= v < b."""
        lo, hi = np.searchsorted(self.values, [a, b])
        return self.values[lo:hi]


class StringTable(Sequence[str | None]):
    """A stored code column's table, memory-mapped (a segment opens without parsing it)."""

    def __init__(self, stem: str, count: int) -> None:
        self._strings = StringList(stem, count)
        self._nones = SortedInts(load_mapped(stem + ".none.npy"))

    def __len__(self) -> int:
        return len(self._strings)

    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        return None if i in self._nones else self._strings[i]

    def __iter__(self) -> Iterator[str | None]:
        values: list[str | None] = list(self._strings)
        for i in self._nones.values.tolist():
            values[i] = None
        return iter(values)


class TermList(StringList):
    """A field's sorted terms, memory-mapped: opening costs nothing, a term is decoded when
    read, and lookups (binary search) remember what they found."""

    FOUND_CACHE = 100_000  # lookups remembered before the memory is cleared

    def __init__(self, stem: str, count: int) -> None:
        super().__init__(stem, count)
        self._found: dict[str, int] = {}

    def find(self, text: str) -> int:
        """Index of a term, or -1."""
        i = self._found.get(text)
        if i is None:
            i = bisect_left(self, text)
            if not (i < len(self) and self._one(i) == text):
                i = -1
            if len(self._found) >= self.FOUND_CACHE:
                self._found.clear()
            self._found[text] = i
        return i


class FieldPostings:
    """Read side of one indexed field (memory-mapped arrays)."""

    def __init__(self, folder: str, stem: str, name: str, meta: dict) -> None:
        def load(ext: str) -> np.ndarray:
            return load_mapped(os.path.join(folder, f"{stem}.{name}.{ext}.npy"))

        self.name = name
        self.terms: Sequence[str] = TermList(os.path.join(folder, f"{stem}.{name}.terms"),
                                             meta["terms"])
        self.ids = load("ids")
        self.freqs = load("freq")
        self.lengths = load("len")
        self.tstart = load("tstart")
        self.positions = load("pos") if meta["positions"] else None
        self.pstart = load("pstart") if meta["positions"] else None
        self.total_length = int(np.sum(self.lengths, dtype=np.int64))

    def find(self, text: str) -> int:
        """Index of a term, or -1."""
        return self.terms.find(text)  # type: ignore[attr-defined]

    def span(self, i: int) -> tuple[int, int]:
        return int(self.tstart[i]), int(self.tstart[i + 1])

    def term_info(self, i: int) -> TermInfo:
        s, e = self.span(i)
        ids = self.ids[s:e]
        freqs = self.freqs[s:e]
        lengths = self.lengths[ids]
        return TermInfo(weight=float(freqs.sum()), df=e - s,
                        minlength=int(lengths.min()), maxlength=int(lengths.max()),
                        maxweight=float(freqs.max()), minid=int(ids[0]), maxid=int(ids[-1]))

    def posting_positions(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Positions of term i and, per posting, where its positions start (len df + 1)."""
        assert self.positions is not None and self.pstart is not None
        s, e = self.span(i)
        offs = np.empty(e - s + 1, dtype=np.int64)
        offs[0] = 0
        np.cumsum(self.freqs[s:e], out=offs[1:])
        ps = int(self.pstart[i])
        return self.positions[ps:ps + int(offs[-1])], offs

    def positions_of(self, i: int, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions of term i in each of ``docs`` (ascending; a doc without it has none).

        Returns (owner, positions): ``owner[k]`` is the index in ``docs`` of the document
        that ``positions[k]`` belongs to; vectorised, no Python loop over documents.
        """
        s, e = self.span(i)
        ids = self.ids[s:e]
        j = np.minimum(np.searchsorted(ids, docs), len(ids) - 1)
        held = ids[j] == docs
        positions, offs = self.posting_positions(i)
        starts, counts = offs[j], np.where(held, offs[j + 1] - offs[j], 0)
        first = np.cumsum(counts) - counts
        idx = np.repeat(starts - first, counts) + np.arange(int(counts.sum()), dtype=np.int64)
        owner = np.repeat(np.arange(len(docs), dtype=np.int64), counts)
        return owner, positions[idx]


@dataclass(frozen=True, slots=True)
class StoredText:
    """A stored text column: one UTF-8 blob, offsets, and the documents holding None."""

    blob: np.ndarray
    off: np.ndarray
    nones: SortedInts


@dataclass(frozen=True, slots=True)
class StoredInts:
    """A stored integer column."""

    values: np.ndarray


@dataclass(frozen=True, slots=True)
class StoredCodes:
    """A stored column of codes into a table of strings (-1: None)."""

    codes: np.ndarray
    table: Sequence[str | None]


Stored = StoredText | StoredInts | StoredCodes


class SegmentStore:
    """One written segment, opened (arrays memory-mapped); shared by all readers."""

    def __init__(self, folder: str, stem: str) -> None:
        with open(os.path.join(folder, stem + MANIFEST), encoding="utf-8") as fh:
            meta = json.load(fh)
        if meta.get("format") != FORMAT:
            raise ValueError(f"{stem}: not a {FORMAT} segment")
        self.doc_count: int = meta["doc_count"]
        self.fields = {n: FieldPostings(folder, stem, n, m) for n, m in meta["fields"].items()}
        self.field_names = sorted(self.fields)
        self.stored: dict[str, Stored] = {}
        for name, m in meta["stored"].items():
            path = os.path.join(folder, f"{stem}.{name}")
            if m["kind"] == "text":
                self.stored[name] = StoredText(load_raw(path + ".blob", np.uint8),
                                               load_mapped(path + ".off.npy"),
                                               SortedInts(load_mapped(path + ".none.npy")))
            elif m["kind"] == "int":
                self.stored[name] = StoredInts(load_mapped(path + ".int.npy"))
            else:
                self.stored[name] = StoredCodes(load_mapped(path + ".code.npy"),
                                                StringTable(path + ".table", m["table"]))

    def text(self, name: str, docnum: int) -> str | None:
        """One document's value of a text column."""
        col = self.stored[name]
        assert isinstance(col, StoredText)
        blob, off, nones = col.blob, col.off, col.nones
        if docnum in nones:
            return None
        return bytes(blob[int(off[docnum]):int(off[docnum + 1])]).decode("utf-8")

    def stored_fields(self, docnum: int) -> dict[str, object]:
        out: dict[str, object] = {}
        for name, col in self.stored.items():
            value: object
            if isinstance(col, StoredText):
                value = self.text(name, docnum)
            elif isinstance(col, StoredInts):
                value = int(col.values[docnum])
            else:
                code = int(col.codes[docnum])
                value = col.table[code] if code >= 0 else None
            if value is not None:
                out[name] = value
        return out


_STORES: dict[tuple[str, int, int], SegmentStore] = {}
_STORES_LOCK = threading.Lock()


def open_store(storage: object, segment: Segment) -> SegmentStore:
    """The segment's store, opened once per process (files never change once written)."""
    folder = _folder(storage)
    stem = segment.make_filename("")
    st = os.stat(os.path.join(folder, stem + MANIFEST))
    key = (os.path.join(folder, stem), st.st_ino, st.st_mtime_ns)
    with _STORES_LOCK:
        store = _STORES.get(key)
        if store is None:
            for old in [k for k in _STORES if not os.path.exists(k[0] + MANIFEST)]:
                del _STORES[old]
            store = _STORES[key] = SegmentStore(folder, stem)
        return store


class FilMatcher(ListMatcher):
    """Postings of one term from the arrays; positions decoded only when asked for."""

    def __init__(self, fd: FieldPostings, i: int, format_: object, scorer: object = None,
                 term: tuple[str, bytes] | None = None, position: int = 0) -> None:
        s, e = fd.span(i)
        self._fd, self._ti = fd, i
        self._i: int = position
        self._offs: np.ndarray | None = None
        self._pos: np.ndarray | None = None
        super().__init__(fd.ids[s:e].tolist(), fd.freqs[s:e].astype(float).tolist(),
                         None, format_, scorer, position, None, term, fd.term_info(i))

    def copy(self) -> FilMatcher:
        return FilMatcher(self._fd, self._ti, self._format, self._scorer, self._term, self._i)

    def skip_to(self, id: int) -> None:  # noqa: A002 - Whoosh's signature
        if not self.is_active():
            raise ReadTooFar
        if id > self._ids[self._i]:
            self._i = bisect_left(self._ids, id, self._i)

    def _positions(self) -> list[int]:
        if self._fd.positions is None:
            return []
        if self._pos is None:
            self._pos, self._offs = self._fd.posting_positions(self._ti)
        assert self._offs is not None
        return self._pos[int(self._offs[self._i]):int(self._offs[self._i + 1])].tolist()

    def value(self) -> bytes:
        fmt = self._format
        if fmt.supports("positions") and self._fd.positions is not None:
            return fmt.encode(self._positions())
        if fmt.supports("frequency"):
            return fmt.encode(int(self._weights[self._i]))
        return fmt.encode(None)

    def value_as(self, astype: str) -> object:
        if astype == "positions" and self._fd.positions is not None:
            return self._positions()
        if astype in ("frequency", "weight"):
            return int(self._weights[self._i])
        return super().value_as(astype)

    def all_items(self) -> Iterator[tuple[int, bytes]]:
        for n in range(self._i, len(self._ids)):
            self._i = n
            yield self._ids[n], self.value()


class FilFieldCursor(FieldCursor):
    """Walks one field's sorted terms (used by Whoosh's Levenshtein automata)."""

    def __init__(self, fd: FieldPostings | None, fieldobj: object) -> None:
        self._terms = fd.terms if fd is not None else []
        self._fd = fd
        self._fieldobj = fieldobj
        self._i = 0

    def first(self) -> str | None:
        self._i = 0
        return self.text()

    def find(self, term: str | bytes) -> str | None:
        if isinstance(term, bytes):
            term = term.decode("utf-8")
        self._i = bisect_left(self._terms, term)
        return self.text()

    def next(self) -> str | None:
        self._i += 1
        return self.text()

    def text(self) -> str | None:
        return self._terms[self._i] if self._i < len(self._terms) else None

    def term_info(self) -> TermInfo | None:
        return self._fd.term_info(self._i) if self.is_valid() and self._fd else None

    def is_valid(self) -> bool:
        return self._i < len(self._terms)


class FilTermsReader(TermsReader):
    """Term dictionary and postings of a fil1 segment."""

    def __init__(self, store: SegmentStore) -> None:
        self._store = store

    def _lookup(self, fieldname: str, tbytes: bytes) -> tuple[FieldPostings, int] | None:
        fd = self._store.fields.get(fieldname)
        if fd is None:
            return None
        i = fd.find(tbytes.decode("utf-8") if isinstance(tbytes, bytes) else tbytes)
        return (fd, i) if i >= 0 else None

    def _get(self, fieldname: str, tbytes: bytes) -> tuple[FieldPostings, int]:
        found = self._lookup(fieldname, tbytes)
        if found is None:
            raise TermNotFound(f"No term {fieldname}:{tbytes!r}")
        return found

    def __contains__(self, term: tuple[str, bytes]) -> bool:
        return self._lookup(*term) is not None

    def cursor(self, fieldname: str, fieldobj: object) -> FilFieldCursor:
        return FilFieldCursor(self._store.fields.get(fieldname), fieldobj)

    def indexed_field_names(self) -> list[str]:
        return list(self._store.field_names)

    def _walk(self, fieldname: str | None = None,
              prefix: bytes = b"") -> Iterator[tuple[str, int]]:
        names = self._store.field_names
        start = bisect_left(names, fieldname) if fieldname is not None else 0
        first = True
        for name in names[start:]:
            fd = self._store.fields[name]
            i = bisect_left(fd.terms, prefix.decode("utf-8")) if first and prefix else 0
            first = False
            for n in range(i, len(fd.terms)):
                yield name, n

    def terms(self) -> Iterator[tuple[str, bytes]]:
        for name, n in self._walk():
            yield name, self._store.fields[name].terms[n].encode("utf-8")

    def terms_from(self, fieldname: str, prefix: bytes) -> Iterator[tuple[str, bytes]]:
        for name, n in self._walk(fieldname, prefix):
            yield name, self._store.fields[name].terms[n].encode("utf-8")

    def items(self) -> Iterator[tuple[tuple[str, bytes], TermInfo]]:
        for name, n in self._walk():
            fd = self._store.fields[name]
            yield (name, fd.terms[n].encode("utf-8")), fd.term_info(n)

    def items_from(self, fieldname: str,
                   prefix: bytes) -> Iterator[tuple[tuple[str, bytes], TermInfo]]:
        for name, n in self._walk(fieldname, prefix):
            fd = self._store.fields[name]
            yield (name, fd.terms[n].encode("utf-8")), fd.term_info(n)

    def term_info(self, fieldname: str, tbytes: bytes) -> TermInfo:
        fd, i = self._get(fieldname, tbytes)
        return fd.term_info(i)

    def frequency(self, fieldname: str, tbytes: bytes) -> float:
        found = self._lookup(fieldname, tbytes)
        if found is None:
            return 0
        fd, i = found
        s, e = fd.span(i)
        return float(fd.freqs[s:e].sum())

    def doc_frequency(self, fieldname: str, tbytes: bytes) -> int:
        found = self._lookup(fieldname, tbytes)
        if found is None:
            return 0
        s, e = found[0].span(found[1])
        return e - s

    def matcher(self, fieldname: str, tbytes: bytes, format_: object,
                scorer: object = None) -> FilMatcher | NullMatcher:
        fd, i = self._get(fieldname, tbytes)
        return FilMatcher(fd, i, format_, scorer, (fieldname, tbytes))

    def close(self) -> None:
        """Nothing to close: the arrays are shared, memory-mapped and read-only."""


class FilPerDocReader(PerDocumentReader):
    """Stored fields and field lengths of a fil1 segment (no deletions, no columns)."""

    def __init__(self, store: SegmentStore) -> None:
        self._store = store

    def close(self) -> None:
        """Nothing to close (see FilTermsReader.close)."""

    def doc_count(self) -> int:
        return self._store.doc_count

    def doc_count_all(self) -> int:
        return self._store.doc_count

    def has_deletions(self) -> bool:
        return False

    def is_deleted(self, docnum: int) -> bool:
        return False

    def deleted_docs(self) -> frozenset[int]:
        return frozenset()

    def supports_columns(self) -> bool:
        return False

    def has_column(self, fieldname: str) -> bool:
        return False

    def doc_field_length(self, docnum: int, fieldname: str, default: int = 0) -> int:
        fd = self._store.fields.get(fieldname)
        return int(fd.lengths[docnum]) if fd is not None else default

    def field_length(self, fieldname: str) -> int:
        fd = self._store.fields.get(fieldname)
        return fd.total_length if fd is not None else 0

    def min_field_length(self, fieldname: str) -> int:
        fd = self._store.fields.get(fieldname)
        return int(fd.lengths.min()) if fd is not None and len(fd.lengths) else 0

    def max_field_length(self, fieldname: str) -> int:
        fd = self._store.fields.get(fieldname)
        return int(fd.lengths.max()) if fd is not None and len(fd.lengths) else 0

    def has_vector(self, docnum: int, fieldname: str) -> bool:
        return False

    def stored_fields(self, docnum: int) -> dict[str, object]:
        return self._store.stored_fields(docnum)


class FilCodec(Codec):
    """Read fil1 segments; they are written by :func:`write_segment`, never incrementally."""

    length_stats = False

    def per_document_writer(self, storage: object, segment: Segment) -> None:
        raise NotImplementedError("fil1 segments are immutable: rebuild the index "
                                  "(indexer.index.build_index) instead of adding to it")

    field_writer = per_document_writer

    def automata(self, storage: object, segment: Segment) -> Automata:
        return Automata()

    def terms_reader(self, storage: object, segment: Segment) -> FilTermsReader:
        return FilTermsReader(open_store(storage, segment))

    def per_document_reader(self, storage: object, segment: Segment) -> FilPerDocReader:
        return FilPerDocReader(open_store(storage, segment))

    def new_segment(self, storage: object, indexname: str) -> FilSegment:
        return FilSegment(self, indexname)


class FilSegment(Segment):
    """A fil1 segment: a name, a document count, no deletions."""

    def __init__(self, codec: FilCodec, indexname: str, doccount: int = 0) -> None:
        self.indexname = indexname
        self.segid = self._random_id()
        self.compound = False
        self._codec = codec
        self._doccount = doccount

    def codec(self, **kwargs: object) -> FilCodec:
        return self._codec

    def doc_count_all(self) -> int:
        return self._doccount

    def set_doc_count(self, doccount: int) -> None:
        self._doccount = doccount

    def deleted_count(self) -> int:
        return 0

    def deleted_docs(self) -> tuple[()]:
        return ()

    def is_deleted(self, docnum: int) -> bool:
        return False

    def delete_document(self, docnum: int, delete: bool = True) -> None:
        raise NotImplementedError("fil1 segments are immutable: rebuild the index instead")
