"""One manifest's segments seen as one index: global passage numbers, live statistics.

Passages are numbered across the segments in manifest order (segment ``i`` starts at
``bases[i]``); deleted passages keep their numbers but never match. Statistics are
those of the live passages: the passage count, their average length, the document
frequency of a term (counted over its live postings) and so its idf, so that scores
are exactly those of a full rebuild of the same threads. A posting's BM25 weight is
its segment's stored impact when the segment was written with the index's current
average length (after a rebuild or an optimize: every segment), and is otherwise
computed from its term frequency and passage length at query time, with the same
formula in the same float32 arithmetic. Opened segments and deletion masks are
shared by every view of a process.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from pathlib import Path

import numpy as np
from whoosh.codec.base import Automata

from ...errors import IndexDamagedError
from ...ingest.model import Thread
from ...search.ranking import THREAD_B, THREAD_K1
from ...search.ranking import idf as bm25_idf
from .codec import FilFieldCursor
from .manifest import Manifest
from .segment import SegmentReader, bm25_weights, length_norm

Result = tuple[np.ndarray, np.ndarray]  # (passage numbers ascending, values)
_EMPTY_IDS = np.empty(0, dtype=np.int32)
_EMPTY_W = np.empty(0, dtype=np.float32)

_SEGMENTS: dict[Path, SegmentReader] = {}
_DELETIONS: dict[Path, np.ndarray] = {}
_CACHE_LOCK = threading.Lock()


def open_segment(folder: Path) -> SegmentReader:
    """A segment, opened once per process (segments never change once written)."""
    with _CACHE_LOCK:
        seg = _SEGMENTS.get(folder)
    if seg is None:
        try:
            seg = SegmentReader(folder)
        except (OSError, ValueError, KeyError) as exc:
            raise IndexDamagedError(f"segment {folder} cannot be read ({exc})") from None
        with _CACHE_LOCK:
            for old in [p for p in _SEGMENTS if not p.exists()]:
                del _SEGMENTS[old]
            _SEGMENTS[folder] = seg
    return seg


def save_deletions(path: Path, deleted: np.ndarray) -> None:
    """Write a deletion mask (True: deleted), bit-packed."""
    with open(path, "wb") as fh:
        np.save(fh, np.packbits(deleted.astype(bool)))


def open_deletions(path: Path, docs: int) -> np.ndarray:
    """A segment's deletion mask (True: deleted), read once per process."""
    with _CACHE_LOCK:
        mask = _DELETIONS.get(path)
    if mask is None:
        try:
            mask = np.unpackbits(np.load(path), count=docs).astype(bool)
        except (OSError, ValueError) as exc:
            raise IndexDamagedError(f"deletion file {path} cannot be read ({exc})") from None
        with _CACHE_LOCK:
            for old in [p for p in _DELETIONS if not p.exists()]:
                del _DELETIONS[old]
            _DELETIONS[path] = mask
    return mask


#: Terms whose frequencies a view remembers at most (then it starts over).
DF_CACHE_TERMS = 100_000


def _remember(cache: dict[str, int], term: str, value: int) -> int:
    """Store a count in a bounded cache (cleared when full: a view lives one generation)."""
    if len(cache) >= DF_CACHE_TERMS:
        cache.clear()
    cache[term] = value
    return value


class IndexView:
    """The live passages of one manifest, across its segments."""

    def __init__(self, index_dir: Path, manifest: Manifest, name: str) -> None:
        self.index_dir = index_dir
        self.manifest = manifest
        self.name = name
        self.segments: list[SegmentReader] = []
        self.deleted: list[np.ndarray | None] = []
        bases, thread_bases = [0], [0]
        for entry in manifest.segments:
            seg = open_segment(index_dir / entry.name)
            if seg.docs != entry.docs:
                raise IndexDamagedError(f"segment {entry.name} holds {seg.docs} passages, "
                                        f"the manifest says {entry.docs}")
            self.segments.append(seg)
            self.deleted.append(open_deletions(index_dir / entry.deleted, seg.docs)
                                if entry.deleted else None)
            bases.append(bases[-1] + seg.docs)
            thread_bases.append(thread_bases[-1] + seg.info.threads)
        self.bases = bases
        self.thread_bases = thread_bases
        #: per segment, its live passages (None: all live), the complement of ``deleted``
        self.live: list[np.ndarray | None] = [None if d is None else ~d for d in self.deleted]
        self.n_total = bases[-1]
        self.n_live = manifest.live_docs
        self.n_threads_total = thread_bases[-1]
        self.avgdl = manifest.avgdl()
        self._columns: dict[str, np.ndarray] = {}
        self._norms: dict[int, np.ndarray] = {}
        self._thread_norms: dict[tuple[int, float, float], np.ndarray] = {}
        self._thread_live: dict[int, np.ndarray | None] = {}
        # document frequencies met while searching (a view never changes; bounded)
        self._df: dict[str, int] = {}
        self._thread_df: dict[str, int] = {}
        # thread ids met while searching, both ways (a live thread's code never changes
        # within a view; ids of replaced threads resolve to their live code only)
        self._code_id: dict[int, str] = {}
        self._id_code: dict[str, int] = {}
        self.n_threads_live = manifest.live_threads
        self.avgdl_threads = (manifest.live_length / manifest.live_threads
                              if manifest.live_threads else 1.0)
        self._authors: tuple[dict[str, int], list[str], list[np.ndarray]] | None = None
        self._lock = threading.Lock()

    # -- locating ------------------------------------------------------------------------
    def locate(self, doc: int) -> tuple[int, int]:
        """(segment index, local passage number) of a global passage number."""
        i = bisect_right(self.bases, doc) - 1
        return i, doc - self.bases[i]

    def _split(self, docs: np.ndarray) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """(segment index, positions in ``docs``, local numbers) for sorted global ``docs``."""
        out = []
        cuts = np.searchsorted(docs, self.bases)
        for i in range(len(self.segments)):
            a, b = int(cuts[i]), int(cuts[i + 1])
            if a < b:
                out.append((i, np.arange(a, b), docs[a:b] - self.bases[i]))
        return out

    # -- terms and postings --------------------------------------------------------------
    def postings(self, term: str) -> Result:
        """(live passages holding ``term``, ascending; their impacts, without idf)."""
        parts_ids, parts_w = [], []
        for i, seg in enumerate(self.segments):
            t = seg.field.find(term)
            if t < 0:
                continue
            s, e = seg.field.span(t)
            ids = seg.field.ids[s:e]
            w = seg.impact[s:e] if self._current_impacts(i) else \
                bm25_weights(seg.field.freqs[s:e], self._norm(i)[ids])
            live = self.live[i]
            if live is not None:
                keep = live[ids]
                ids, w = ids[keep], w[keep]
            parts_ids.append(ids + self.bases[i] if self.bases[i] else ids)
            parts_w.append(w)
        if not parts_ids:
            return _EMPTY_IDS, _EMPTY_W
        if len(parts_ids) == 1:
            return parts_ids[0], parts_w[0]
        return (np.concatenate(parts_ids).astype(np.int32, copy=False),
                np.concatenate(parts_w))

    def _current_impacts(self, i: int) -> bool:
        """True when segment i's stored impacts used the index's current average length."""
        return self.segments[i].info.avgdl == self.avgdl

    def _norm(self, i: int) -> np.ndarray:
        """Segment i's length normalisation for the current average length (computed once)."""
        found = self._norms.get(i)
        if found is None:
            found = self._norms[i] = length_norm(self.segments[i].lengths, self.avgdl)
        return found

    def df(self, term: str) -> int:
        """Number of live passages holding ``term`` (counted once per view)."""
        n = self._df.get(term)
        if n is None:
            n = _remember(self._df, term, self._count_df(term))
        return n

    def _count_df(self, term: str) -> int:
        n = 0
        for i, seg in enumerate(self.segments):
            t = seg.field.find(term)
            if t < 0:
                continue
            s, e = seg.field.span(t)
            live = self.live[i]
            n += (e - s) if live is None else int(np.count_nonzero(live[seg.field.ids[s:e]]))
        return n

    def idf(self, term: str) -> float:
        """BM25 idf of a term over the live passages."""
        return bm25_idf(self.n_live, self.df(term))

    def scored(self, term: str) -> Result:
        """(live passages holding ``term``, their BM25 weight for it)."""
        ids, w = self.postings(term)
        if not len(ids):
            return ids, w
        return ids, w * np.float32(bm25_idf(self.n_live, len(ids)))

    def expand_prefix(self, prefix: str, limit: int) -> list[tuple[str, int]]:
        """The ``limit`` most frequent terms starting with ``prefix``, with their live df.

        Candidates are ranked by postings on disk (deleted passages included, which a
        merge removes), then counted exactly over the live passages.
        """
        on_disk: dict[str, int] = {}
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1) if prefix else None
        for seg in self.segments:
            terms = seg.field.terms
            a = bisect_left(terms, prefix)
            b = bisect_left(terms, end) if end is not None else len(terms)
            if a >= b:
                continue
            counts = np.diff(np.asarray(seg.field.tstart[a:b + 1])).tolist()
            for t, n in zip(terms[a:b], counts, strict=True):
                on_disk[t] = on_disk.get(t, 0) + n
        best = sorted(on_disk.items(), key=lambda td: (-td[1], td[0]))[:limit]
        return [(t, self.df(t)) for t, _ in best]

    def near_terms(self, term: str, prefix: int, max_dist: int) -> list[str]:
        """Terms within ``max_dist`` edits of ``term`` sharing its first ``prefix`` letters."""
        automata = Automata()
        dfa = automata.levenshtein_dfa(term, max_dist, prefix)  # built once, walked per segment
        found: set[str] = set()
        for seg in self.segments:
            found.update(automata.find_matches(dfa, FilFieldCursor(seg.field, None)))
        return sorted(found)

    # -- positions -----------------------------------------------------------------------
    def positions_of(self, term: str, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions of ``term`` in sorted global ``docs``: (index into docs, position)."""
        owners, positions = [], []
        for i, where, local in self._split(docs):
            field = self.segments[i].field
            t = field.find(term)
            if t < 0:
                continue
            owner, pos = field.positions_of(t, local.astype(np.int32))
            owners.append(where[owner])
            positions.append(pos)
        if not owners:
            return np.empty(0, np.int64), np.empty(0, np.uint32)
        return np.concatenate(owners), np.concatenate(positions)

    # -- per-passage columns -------------------------------------------------------------
    def column(self, name: str) -> np.ndarray:
        """A per-passage column over all passages: kind, stamp, author, thread, live."""
        col = self._columns.get(name)
        if col is None:
            with self._lock:
                col = self._columns.get(name)
                if col is None:
                    col = self._columns[name] = self._build_column(name)
        return col

    def _build_column(self, name: str) -> np.ndarray:
        if name == "live":
            return np.concatenate([live if live is not None else np.ones(s.docs, dtype=bool)
                                   for s, live in zip(self.segments, self.live, strict=True)]
                                  or [np.zeros(0, dtype=bool)])
        if name == "author":
            _, _, remaps = self.authors()
            parts = [remap[np.asarray(s.author)] for s, remap
                     in zip(self.segments, remaps, strict=True)]
        elif name == "thread":
            parts = [np.asarray(s.thread) + base for s, base
                     in zip(self.segments, self.thread_bases, strict=False)]
        else:
            parts = [np.asarray(getattr(s, name)) for s in self.segments]
        if len(parts) == 1:
            return parts[0]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def has_deletions(self) -> bool:
        return any(d is not None for d in self.deleted)

    def authors(self) -> tuple[dict[str, int], list[str], list[np.ndarray]]:
        """Global author codes: key -> code, names by code, and each segment's remapping."""
        if self._authors is None:
            codes: dict[str, int] = {}
            names: list[str] = []
            remaps = []
            for seg in self.segments:
                remap = np.empty(len(seg.author_keys) + 1, dtype=np.int32)
                remap[-1] = -1
                for i, (key, name) in enumerate(zip(seg.author_keys, seg.author_names,
                                                    strict=True)):
                    if key not in codes:
                        codes[key] = len(names)
                        names.append(name)
                    remap[i] = codes[key]
                remaps.append(remap)
            self._authors = (codes, names, remaps)
        return self._authors

    # -- whole threads as documents ----------------------------------------------------
    def thread_alive(self, i: int) -> np.ndarray | None:
        """Segment i's live threads (None: all), a thread being deleted whole."""
        if i not in self._thread_live:
            live = self.live[i]
            seg = self.segments[i]
            self._thread_live[i] = (None if live is None
                                    else live[np.asarray(seg.thread_first)])
        return self._thread_live[i]

    def thread_df(self, term: str) -> int:
        """Number of live threads holding ``term`` (counted once per view)."""
        n = self._thread_df.get(term)
        if n is None:
            n = _remember(self._thread_df, term, self._count_thread_df(term))
        return n

    def _count_thread_df(self, term: str) -> int:
        n = 0
        for i, seg in enumerate(self.segments):
            t = seg.field.find(term)
            if t < 0:
                continue
            s, e = int(seg.tpost_tstart[t]), int(seg.tpost_tstart[t + 1])
            alive = self.thread_alive(i)
            n += (e - s) if alive is None else int(alive[seg.tpost_ids[s:e]].sum())
        return n

    def thread_scored(self, term: str, k1: float, b: float) -> Result:
        """(global codes of the live threads holding ``term``, their BM25 weight without idf),
        each thread being one document (k1 and b of the thread score)."""
        parts_ids, parts_w = [], []
        for i, seg in enumerate(self.segments):
            t = seg.field.find(term)
            if t < 0:
                continue
            s, e = int(seg.tpost_tstart[t]), int(seg.tpost_tstart[t + 1])
            ids = seg.tpost_ids[s:e]
            if (k1, b) == (THREAD_K1, THREAD_B) and \
                    seg.info.avgdl_threads == self.avgdl_threads:
                w = seg.tpost_impact[s:e]
            else:
                key = (i, k1, b)
                norm = self._thread_norms.get(key)
                if norm is None:
                    norm = self._thread_norms[key] = length_norm(
                        seg.thread_length, self.avgdl_threads, k1, b)
                w = bm25_weights(seg.tpost_freq[s:e], norm[ids], k1)
            alive = self.thread_alive(i)
            if alive is not None:
                keep = alive[ids]
                ids, w = ids[keep], w[keep]
            parts_ids.append(ids + self.thread_bases[i])
            parts_w.append(w)
        if not parts_ids:
            return _EMPTY_IDS, _EMPTY_W
        return (np.concatenate(parts_ids).astype(np.int32, copy=False),
                np.concatenate(parts_w))

    # -- threads -------------------------------------------------------------------------
    def thread_locate(self, code: int) -> tuple[int, int]:
        """(segment index, local thread code) of a global thread code."""
        i = bisect_right(self.thread_bases, code) - 1
        return i, code - self.thread_bases[i]

    def thread_id(self, code: int) -> str:
        """The id of a global thread code (remembered both ways for later lookups)."""
        tid = self._code_id.get(code)
        if tid is None:
            i, local = self.thread_locate(code)
            tid = self._code_id[code] = self.segments[i].thread_ids[local]
            self._id_code[tid] = code
        return tid

    def title_terms(self, code: int) -> frozenset[str]:
        i, local = self.thread_locate(code)
        return self.segments[i].title_terms(local)

    def find_thread(self, thread_id: str) -> int | None:
        """The global code of the live thread with this id, or None."""
        known = self._id_code.get(thread_id)
        if known is not None:
            return known
        for i in range(len(self.segments) - 1, -1, -1):  # the newest segments first
            seg = self.segments[i]
            local = seg.thread_code(thread_id)
            if local is None:
                continue
            dead = self.deleted[i]
            if dead is None or not dead[int(seg.thread_first[local])]:
                code = self.thread_bases[i] + local
                self._id_code[thread_id] = code
                return code
        return None

    def thread(self, code: int) -> Thread:
        i, local = self.thread_locate(code)
        return self.segments[i].read_thread(local)

    # -- stored passages -----------------------------------------------------------------
    def stored_fields(self, doc: int) -> dict[str, object]:
        i, local = self.locate(doc)
        return self.segments[i].stored_fields(local)

    def first_docs(self, term: str, n: int) -> list[int]:
        """The first ``n`` live passages (in passage order) holding ``term``."""
        return self.postings(term)[0][:n].tolist()

