"""BM25 impacts over the postings, and per-passage columns, for ranking with numpy.

The passages' postings live in the Whoosh segment (:mod:`indexer.codec`, memory-mapped
arrays). Each rebuild also writes, beside it, the BM25 term weight of every posting
precomputed ("impact"):

    impact = tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))

and a query's passage score is the sum of ``idf(term) * impact`` over its terms, computed
with numpy over whole posting lists. Files (in the generation directory)::

    impact-w.npy        float32 impacts, aligned with the segment's content postings
    impact-docs.npz     per-doc columns: kind (0 post, 1 comment), stamp (date key),
                        author and thread codes
    impact-meta.json    author names and keys, threads (id, title, title terms) by code
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...search.ranking import BM25_B, BM25_K1
from ...search.ranking import idf as bm25_idf
from .codec import FieldData, SegmentStore

WEIGHTS = "impact-w.npy"
DOCS = "impact-docs.npz"
META = "impact-meta.json"
FIELD = "content"


@dataclass
class DocColumns:
    """Per-passage columns used by filters, facets and thread grouping."""

    kind: np.ndarray  # uint8: 0 post paragraph, 1 comment
    stamp: np.ndarray  # int64 date key (YYYYMMDDhhmmss, 0 without a date)
    author: np.ndarray  # int32 author code, -1 without an author
    thread: np.ndarray  # uint32 thread code
    author_names: list[str]  # display name by author code (first spelling seen)
    author_keys: list[str]  # folded key by author code
    threads: list[tuple[str, str]]  # (thread id, title) by thread code
    title_terms: list[list[str]]  # analysed title terms by thread code (ranking evidence)


def impacts(fd: FieldData) -> np.ndarray:
    """BM25 impact of every posting of a field (aligned with ``fd.ids``)."""
    lengths = fd.lengths.astype(np.float32)
    avgdl = float(lengths.mean()) if len(lengths) else 1.0
    norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths / max(avgdl, 1e-9))
    tf = fd.freqs.astype(np.float32)
    return (tf * np.float32(BM25_K1 + 1) / (tf + norm[fd.ids])).astype(np.float32)


def write_impacts(directory: Path, fd: FieldData, cols: DocColumns) -> None:
    """Write the impacts and the columns next to the Whoosh index."""
    np.save(directory / WEIGHTS, impacts(fd))
    np.savez(directory / DOCS, kind=cols.kind.astype(np.uint8), stamp=cols.stamp.astype(np.int64),
             author=cols.author.astype(np.int32), thread=cols.thread.astype(np.uint32))
    meta = {"authors": cols.author_names, "author_keys": cols.author_keys,
            "threads": cols.threads, "title_terms": cols.title_terms}
    (directory / META).write_text(json.dumps(meta, ensure_ascii=False,
                                             separators=(",", ":")), encoding="utf-8")


class ImpactIndex:
    """Read side: posting arrays by term, idf, and per-doc columns (memory-mapped)."""

    def __init__(self, directory: Path, store: SegmentStore) -> None:
        meta = json.loads((directory / META).read_text(encoding="utf-8"))
        self.author_names: list[str] = meta["authors"]
        self.author_codes = {k: i for i, k in enumerate(meta["author_keys"])}
        self.threads: list[tuple[str, str]] = [tuple(t) for t in meta["threads"]]
        self.thread_codes = {t[0]: i for i, t in enumerate(self.threads)}
        self._title_terms: list[list[str]] = meta["title_terms"]
        self._title_sets: dict[int, frozenset[str]] = {}
        self.field = store.fields[FIELD]
        self.ids = self.field.ids
        self.weights = np.asarray(np.load(directory / WEIGHTS, mmap_mode="r"))
        docs = np.load(directory / DOCS)
        self.kind = docs["kind"]
        self.stamp = docs["stamp"]
        self.author = docs["author"]
        self.thread = docs["thread"]
        self.n_docs = len(self.kind)

    @staticmethod
    def exists(directory: Path) -> bool:
        """True when the generation has impact files (built by this version)."""
        return (directory / META).exists()

    def title_terms(self, code: int) -> frozenset[str]:
        """Analysed terms of a thread's title (computed at rebuild time)."""
        found = self._title_sets.get(code)
        if found is None:
            found = self._title_sets[code] = frozenset(self._title_terms[code])
        return found

    def span(self, term: str) -> tuple[int, int] | None:
        """Where the term's postings are, or None."""
        i = self.field.find(term)
        return self.field.span(i) if i >= 0 else None

    def df(self, term: str) -> int:
        """Number of passages containing the term."""
        span = self.span(term)
        return span[1] - span[0] if span else 0

    def idf(self, term: str) -> float:
        """BM25 idf (always positive)."""
        return bm25_idf(self.n_docs, self.df(term))

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(doc numbers ascending, idf-weighted scores) of one term."""
        span = self.span(term)
        if not span:
            return _EMPTY_IDS, _EMPTY_W
        s, e = span
        return self.ids[s:e], self.weights[s:e] * np.float32(self.idf(term))


_EMPTY_IDS = np.empty(0, dtype=np.int32)
_EMPTY_W = np.empty(0, dtype=np.float32)


def union(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """OR: every doc in any part, scores summed."""
    parts = [p for p in parts if len(p[0])]
    if not parts:
        return _EMPTY_IDS, _EMPTY_W
    if len(parts) == 1:
        return parts[0]
    ids = np.concatenate([p[0] for p in parts])
    ws = np.concatenate([p[1] for p in parts])
    uniq, inv = np.unique(ids, return_inverse=True)
    return uniq.astype(np.int32), np.bincount(inv, weights=ws).astype(np.float32)


def intersect(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """AND: docs present in every part, scores summed (smallest list first)."""
    if not parts:
        return _EMPTY_IDS, _EMPTY_W
    parts = sorted(parts, key=lambda p: len(p[0]))
    ids, ws = parts[0]
    ids, ws = np.asarray(ids), np.asarray(ws)
    for other_ids, other_ws in parts[1:]:
        if not len(ids):
            break
        common, ia, ib = np.intersect1d(ids, other_ids, assume_unique=True,
                                        return_indices=True)
        ids, ws = common, ws[ia] + other_ws[ib]
    return ids.astype(np.int32), ws.astype(np.float32)


def exclude(base: tuple[np.ndarray, np.ndarray], ids: np.ndarray) -> tuple[np.ndarray,
                                                                             np.ndarray]:
    """NOT: drop the docs in ``ids`` from ``base``."""
    if not len(ids) or not len(base[0]):
        return base
    keep = ~np.isin(base[0], ids, assume_unique=True)
    return base[0][keep], base[1][keep]


def top_k(ids: np.ndarray, ws: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The k best (docnum, score), best first; ties broken by doc number (stable).

    Every doc tied with the k-th score is considered before cutting, so which of
    several equal scores make the page never depends on numpy's partition order.
    """
    if not len(ids):
        return []
    if len(ids) > k:
        kth = np.partition(-ws, k - 1)[k - 1]
        part = np.flatnonzero(-ws <= kth)
    else:
        part = np.arange(len(ids))
    order = part[np.lexsort((ids[part], -ws[part]))][:k]
    return [(int(ids[i]), float(ws[i])) for i in order]
