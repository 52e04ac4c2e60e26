"""A compact copy of the postings for fast ranking: per term, doc numbers and BM25 impacts.

Whoosh keeps the postings with positions (phrases, proximity) and the stored passages;
decoding its blocks costs about 4 µs a posting in Python, too slow to score a common
word over 300k passages. So each rebuild also writes, beside the Whoosh segment, the
same postings as numpy arrays with the BM25 term weight precomputed ("impact"):

    impact = tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))

and a query's passage score is the sum of ``idf(term) * impact`` over its terms, computed
with numpy over whole posting lists. Files (in the generation directory)::

    impact-terms.json   {term: [start, end, df]}
    impact-ids.npy      int32 doc numbers, term after term
    impact-w.npy        float32 impacts, aligned with the ids
    impact-docs.npz     per-doc columns: kind (0 post, 1 comment), day (YYYYMMDD),
                        author and thread codes (their names are in impact-terms.json)
"""

from __future__ import annotations

import json
import math
from array import array
from pathlib import Path

import numpy as np

BM25_K1 = 0.9
BM25_B = 0.4
TERMS = "impact-terms.json"
IDS = "impact-ids.npy"
WEIGHTS = "impact-w.npy"
DOCS = "impact-docs.npz"


class ImpactWriter:
    """Collects postings while passages are added (doc numbers in add order)."""

    def __init__(self) -> None:
        self.ids: dict[str, array] = {}
        self.tfs: dict[str, array] = {}
        self.lengths = array("I")
        self.kinds = array("B")
        self.days = array("I")
        self.authors = array("i")
        self.threads = array("I")
        self.author_codes: dict[str, int] = {}
        self.author_names: list[str] = []
        self.thread_codes: dict[str, int] = {}
        self.thread_list: list[tuple[str, str]] = []

    def add(self, positions: dict[str, list[int]], kind_is_comment: bool, day: int,
            author_key: str, author: str | None, thread_id: str, title: str) -> None:
        """Record one passage's terms (from FrenchAnalyzer.positions) and columns."""
        docnum = len(self.lengths)
        if author_key:
            code = self.author_codes.get(author_key)
            if code is None:
                code = self.author_codes[author_key] = len(self.author_names)
                self.author_names.append(author or author_key)
            self.authors.append(code)
        else:
            self.authors.append(-1)
        tcode = self.thread_codes.get(thread_id)
        if tcode is None:
            tcode = self.thread_codes[thread_id] = len(self.thread_list)
            self.thread_list.append((thread_id, title))
        self.threads.append(tcode)
        length = 0
        ids, tfs = self.ids, self.tfs
        for term, poses in positions.items():
            n = len(poses)
            length += n
            a = ids.get(term)
            if a is None:
                a = ids[term] = array("I")
                tfs[term] = array("H")
            a.append(docnum)
            tfs[term].append(min(n, 65535))
        self.lengths.append(length)
        self.kinds.append(1 if kind_is_comment else 0)
        self.days.append(day)

    def write(self, directory: Path) -> None:
        """Compute impacts and write the arrays next to the Whoosh index."""
        lengths = np.frombuffer(self.lengths, dtype=np.uint32).astype(np.float32)
        avgdl = float(lengths.mean()) if len(lengths) else 1.0
        norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths / max(avgdl, 1e-9))
        terms = sorted(self.ids)
        total = sum(len(self.ids[t]) for t in terms)
        all_ids = np.empty(total, dtype=np.int32)
        all_w = np.empty(total, dtype=np.float32)
        table: dict[str, list[int]] = {}
        pos = 0
        for t in terms:
            ids = np.frombuffer(self.ids[t], dtype=np.uint32)
            tf = np.frombuffer(self.tfs[t], dtype=np.uint16).astype(np.float32)
            n = len(ids)
            all_ids[pos:pos + n] = ids
            all_w[pos:pos + n] = tf * (BM25_K1 + 1) / (tf + norm[ids])
            table[t] = [pos, pos + n]
            pos += n
        np.save(directory / IDS, all_ids)
        np.save(directory / WEIGHTS, all_w)
        np.savez(directory / DOCS, kind=np.frombuffer(self.kinds, dtype=np.uint8),
                 day=np.frombuffer(self.days, dtype=np.uint32),
                 author=np.frombuffer(self.authors, dtype=np.int32),
                 thread=np.frombuffer(self.threads, dtype=np.uint32))
        meta = {"terms": table, "authors": self.author_names, "threads": self.thread_list,
                "author_keys": list(self.author_codes)}
        (directory / TERMS).write_text(json.dumps(meta, ensure_ascii=False,
                                                  separators=(",", ":")), encoding="utf-8")


class ImpactIndex:
    """Read side: posting arrays by term, idf, and per-doc columns (memory-mapped)."""

    def __init__(self, directory: Path) -> None:
        meta = json.loads((directory / TERMS).read_text(encoding="utf-8"))
        self.table: dict[str, list[int]] = meta["terms"]
        self.author_names: list[str] = meta["authors"]
        self.author_codes = {k: i for i, k in enumerate(meta["author_keys"])}
        self.threads: list[tuple[str, str]] = [tuple(t) for t in meta["threads"]]
        self.thread_codes = {t[0]: i for i, t in enumerate(self.threads)}
        self.ids = np.load(directory / IDS, mmap_mode="r")
        self.weights = np.load(directory / WEIGHTS, mmap_mode="r")
        docs = np.load(directory / DOCS)
        self.kind = docs["kind"]
        self.day = docs["day"]
        self.author = docs["author"]
        self.thread = docs["thread"]
        self.n_docs = len(self.kind)

    @staticmethod
    def exists(directory: Path) -> bool:
        """True when the generation has impact files (built by this version)."""
        return (directory / TERMS).exists()

    def df(self, term: str) -> int:
        """Number of passages containing the term."""
        span = self.table.get(term)
        return span[1] - span[0] if span else 0

    def idf(self, term: str) -> float:
        """BM25 idf (always positive)."""
        df = self.df(term)
        return math.log(1 + (self.n_docs - df + 0.5) / (df + 0.5))

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(doc numbers ascending, idf-weighted scores) of one term."""
        span = self.table.get(term)
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
