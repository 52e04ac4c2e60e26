"""Set operations on (passage numbers, scores) pairs: OR, AND, NOT and the best k."""

from __future__ import annotations

import numpy as np

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


def best_positions(ids: np.ndarray, ws: np.ndarray, k: int) -> np.ndarray:
    """Positions (into ``ids``) of the k best by score, ties broken by doc number, best first.

    Every doc tied with the k-th score is considered before cutting, so which of
    several equal scores are kept never depends on numpy's partition order.
    """
    if len(ids) > k:
        kth = np.partition(-ws, k - 1)[k - 1]
        part = np.flatnonzero(-ws <= kth)
    else:
        part = np.arange(len(ids))
    return part[np.lexsort((ids[part], -ws[part]))][:k]


def top_k(ids: np.ndarray, ws: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The k best (docnum, score), best first; ties broken by doc number (stable)."""
    if not len(ids):
        return []
    order = best_positions(ids, ws, k)
    return [(int(ids[i]), float(ws[i])) for i in order]
