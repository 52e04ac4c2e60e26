"""Merge segments into one, dropping deleted passages, without analysing any text again.

Like Lucene's segment merge: the postings of the inputs are renumbered (their live
passages one after the other, in segment order), concatenated and sorted by term with
numpy; stored fields, columns and thread tables are concatenated; the impacts are
computed again with the index's current average passage length.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from whoosh.filedb.filestore import FileStorage

from .codec import (
    CodeColumn,
    FieldData,
    IntColumn,
    StoredCodes,
    StoredInts,
    StoredText,
    TextColumnWriter,
)
from .segment import Averages, SegmentInfo, SegmentParts, SegmentReader, write_parts

Input = tuple[SegmentReader, np.ndarray | None]  # a segment and its live mask (None: all)


def _ints(seg: SegmentReader, name: str) -> np.ndarray:
    """A segment's stored integer column."""
    col = seg.store.stored[name]
    assert isinstance(col, StoredInts)
    return col.values


def _live(seg: SegmentReader, live: np.ndarray | None) -> np.ndarray:
    return np.ones(seg.docs, dtype=bool) if live is None else np.asarray(live, dtype=bool)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Maximal ranges [a, b) where ``mask`` is True."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.view(np.int8), [0]))))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _merge_postings(inputs: Sequence[Input], new_ids: list[np.ndarray]) -> FieldData:
    """The merged content postings (documents renumbered by ``new_ids``, -1: dropped)."""
    terms = sorted(set().union(*(seg.field.terms for seg, _ in inputs)))
    index = {t: i for i, t in enumerate(terms)}
    all_terms, all_docs, all_freqs, all_pos = [], [], [], []
    for (seg, _), renum in zip(inputs, new_ids, strict=True):
        fd = seg.field
        if not len(fd.ids):
            continue
        counts = np.diff(np.asarray(fd.tstart))
        gterm = np.repeat(np.fromiter((index[t] for t in fd.terms), dtype=np.int32,
                                      count=len(fd.terms)), counts)
        docs = renum[fd.ids]
        keep = docs >= 0
        freqs = np.asarray(fd.freqs)
        assert fd.positions is not None
        all_terms.append(gterm[keep])
        all_docs.append(docs[keep])
        all_freqs.append(freqs[keep])
        all_pos.append(np.asarray(fd.positions)[np.repeat(keep, freqs)])
    if all_terms:
        gterm = np.concatenate(all_terms)
        docs = np.concatenate(all_docs).astype(np.int32)
        freqs = np.concatenate(all_freqs).astype(np.uint32)
        positions = np.concatenate(all_pos).astype(np.uint32)
    else:
        gterm = np.empty(0, np.int32)
        docs = np.empty(0, np.int32)
        freqs = np.empty(0, np.uint32)
        positions = np.empty(0, np.uint32)
    # stable: segments in order, and each segment's documents ascend within a term
    order = np.argsort(gterm, kind="stable")
    pstart_old = np.concatenate(([0], np.cumsum(freqs, dtype=np.int64)))
    f_sorted = freqs[order].astype(np.int64)
    first = np.cumsum(f_sorted) - f_sorted
    idx = np.repeat(pstart_old[:-1][order] - first, f_sorted) + np.arange(
        int(f_sorted.sum()), dtype=np.int64)
    gterm, docs, freqs = gterm[order], docs[order], freqs[order]
    positions = positions[idx]
    # terms left without any live posting are dropped
    used = np.unique(gterm)
    rank = np.full(len(terms), -1, dtype=np.int32)
    rank[used] = np.arange(len(used), dtype=np.int32)
    gterm = rank[gterm]
    wanted = np.arange(len(used) + 1, dtype=np.int32)
    tstart = np.searchsorted(gterm, wanted).astype(np.int64)
    pcum = np.concatenate(([0], np.cumsum(freqs, dtype=np.int64)))
    pstart = pcum[tstart]
    lengths = np.concatenate([np.asarray(seg.lengths)[_live(seg, live)]
                              for seg, live in inputs]).astype(np.uint32)
    return FieldData(terms=[terms[i] for i in used.tolist()], tstart=tstart, ids=docs,
                     freqs=freqs, lengths=lengths, positions=positions, pstart=pstart)


def _code_table(inputs: Sequence[Input], name: str,
                masks: list[np.ndarray]) -> tuple[np.ndarray, list[str | None]]:
    """A stored code column of the live passages, over the union of the inputs' tables."""
    table: list[str | None] = []
    where: dict[str | None, int] = {}
    codes = []
    for (seg, _), mask in zip(inputs, masks, strict=True):
        col = seg.store.stored[name]
        assert isinstance(col, StoredCodes)
        col_codes, col_table = col.codes, col.table
        remap = np.empty(len(col_table) + 1, dtype=np.int32)
        remap[-1] = -1
        for i, value in enumerate(col_table):
            if value not in where:
                where[value] = len(table)
                table.append(value)
            remap[i] = where[value]
        codes.append(remap[np.asarray(col_codes)[mask]])
    return np.concatenate(codes) if codes else np.empty(0, np.int32), table


def _text_column(inputs: Sequence[Input], name: str, masks: list[np.ndarray],
                 storage: FileStorage) -> TextColumnWriter:
    """A stored text column of the live passages, copied by runs of bytes."""
    out = TextColumnWriter(storage, name)
    try:
        for (seg, _), mask in zip(inputs, masks, strict=True):
            col = seg.store.stored[name]
            assert isinstance(col, StoredText)
            blob, off, nones = col.blob, np.asarray(col.off), col.nones
            for a, b in _runs(mask):
                lengths = np.diff(off[a:b + 1])
                none_at = (nones.between(a, b) - a).tolist()
                out.add_raw(np.asarray(blob[int(off[a]):int(off[b])]), lengths, none_at)
    except BaseException:
        _close(out)
        raise
    return out


def _close(col: object) -> None:
    """Close a streamed text column after a failure (a full disk fails its flush again)."""
    if isinstance(col, TextColumnWriter):
        with contextlib.suppress(OSError):
            col.close()


def merge_segments(inputs: Sequence[Input], folder: Path,
                   averages: Averages) -> SegmentInfo | None:
    """Write the live passages of ``inputs`` as one segment in ``folder`` (None: none live)."""
    masks = [_live(seg, live) for seg, live in inputs]
    if not any(m.any() for m in masks):
        return None
    new_ids, base = [], 0
    for m in masks:
        renum = np.full(len(m), -1, dtype=np.int32)
        n = int(m.sum())
        renum[m] = np.arange(base, base + n, dtype=np.int32)
        new_ids.append(renum)
        base += n
    storage = FileStorage(str(folder))
    content = _merge_postings(inputs, new_ids)

    # threads: the live ones (a thread is deleted whole), renumbered
    thread_ids: list[str] = []
    records: list[str] = []
    titles: list[str] = []
    shown_titles: list[str] = []
    firsts: list[np.ndarray] = []
    counts: list[np.ndarray] = []
    hashes: list[np.ndarray] = []
    thread_remaps: list[np.ndarray] = []
    for (seg, _), mask, renum in zip(inputs, masks, new_ids, strict=True):
        first = np.asarray(seg.thread_first)
        live_threads = mask[first] if len(first) else np.zeros(0, dtype=bool)
        remap = np.full(len(first), -1, dtype=np.int32)
        keep = np.flatnonzero(live_threads)
        remap[keep] = np.arange(len(thread_ids), len(thread_ids) + len(keep), dtype=np.int32)
        thread_remaps.append(remap)
        title_col = seg.store.stored["title"]
        assert isinstance(title_col, StoredCodes)
        title_table = title_col.table
        for code in keep.tolist():
            thread_ids.append(seg.thread_ids[code])
            records.append(seg.thread_records[code])
            titles.append(seg.thread_titles[code])
            shown_titles.append(title_table[code] or "")
        firsts.append(renum[first[keep]])
        counts.append(np.asarray(seg.thread_count)[keep])
        hashes.append(np.asarray(seg.thread_hash)[keep])
    thread_col = np.concatenate([remap[np.asarray(seg.thread)[m]] for (seg, _), m, remap
                                 in zip(inputs, masks, thread_remaps, strict=True)])

    # authors by folded key, in order of first appearance
    author_names: list[str] = []
    author_keys: list[str] = []
    key_code: dict[str, int] = {}
    author_cols = []
    for (seg, _), m in zip(inputs, masks, strict=True):
        remap = np.empty(len(seg.author_keys) + 1, dtype=np.int32)
        remap[-1] = -1
        for i, (key, name) in enumerate(zip(seg.author_keys, seg.author_names, strict=True)):
            if key not in key_code:
                key_code[key] = len(author_keys)
                author_keys.append(key)
                author_names.append(name)
            remap[i] = key_code[key]
        author_cols.append(remap[np.asarray(seg.author)[m]])

    kinds, kind_table = _code_table(inputs, "kind", masks)
    spellings, spelling_table = _code_table(inputs, "author", masks)
    stored: dict[str, object] = {
        "thread_id": CodeColumn(thread_col, thread_ids),
        "title": CodeColumn(thread_col, shown_titles),
        "kind": CodeColumn(kinds, kind_table),
        "position": IntColumn(np.concatenate([
            np.asarray(_ints(seg, "position"))[m]
            for (seg, _), m in zip(inputs, masks, strict=True)])),
        "author": CodeColumn(spellings, spelling_table),
    }
    try:
        stored["date"] = _text_column(inputs, "date", masks, storage)
        stored["content"] = _text_column(inputs, "content", masks, storage)
        parts = SegmentParts(
            content=content, stored=stored,
            kind=np.concatenate([np.asarray(seg.kind)[m] for (seg, _), m
                                 in zip(inputs, masks, strict=True)]),
            stamp=np.concatenate([np.asarray(seg.stamp)[m] for (seg, _), m
                                  in zip(inputs, masks, strict=True)]),
            author=np.concatenate(author_cols), thread=thread_col,
            author_names=author_names, author_keys=author_keys,
            thread_ids=thread_ids, thread_records=records,
            thread_first=np.concatenate(firsts), thread_count=np.concatenate(counts),
            thread_hash=np.concatenate(hashes).reshape(-1), thread_titles=titles)
        return write_parts(folder, parts, averages)
    except BaseException:
        for col in stored.values():
            _close(col)
        raise
