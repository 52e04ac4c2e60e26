"""Posting lists kept in PostgreSQL, read whole and evaluated in Python with the embedded
store's arithmetic.

Why lists, and not SQL over the passages: scoring in SQL costs a row visit, a ``tsvector``
check and ``jsonb`` lookups per matching passage, and a question ORed over ten words
matches half the passages (measured at 300k passages: p50 0.7-1.1 s, up to 12 of 100
questions at the 2 s limit). Here every term of the index has its postings packed as arrays in one
row (per *part*, below); a search reads the rows of its terms (a few hundred kilobytes
to a few megabytes, one index lookup each) and evaluates the plan with numpy, with the
functions the embedded store uses (:mod:`..scoring`): same float32 arithmetic, same
tie-breaks, so the same scores to the bit and exact totals, in the embedded store's
speed class. Pruning (MaxScore, WAND, impact-ordered early termination) was simulated
on the benchmark questions first: with ORed questions whose words are common, an exact
top 100 still needed about half of every list read and thousands of candidates checked
one by one, so the lists are read whole, which also keeps totals exact.

Tables (on the coordinator, whatever the number of shards)::

    fil_postings        (term text COLLATE "C", part bigint, a0 float8, n integer,
                         ords bytea, codes bytea, impacts bytea, tfs bytea, dls bytea)
                         PRIMARY KEY (term, part)
    fil_thread_postings (term text COLLATE "C", part bigint, n integer,
                         codes bytea, tfs bytea, lengths bytea)   PRIMARY KEY (term, part)
    fil_columns         (part bigint PRIMARY KEY, written bigint, first_ord bigint,
                         n integer, kinds bytea, stamps bytea, authors bytea, codes bytea)

Each ``bytea`` is a little-endian array of ``n`` values (int32, impacts float32), one value
per posting, ordered by passage ``ord`` (by thread code in ``fil_thread_postings``):
the passage's ord, its thread's code (``fil_threads.code``: threads numbered in index
order), the BM25 weight without idf computed with the average passage length ``a0``,
the term frequency and the passage length. Thread postings hold one posting per thread
holding the term: its code, the summed term frequency and the thread's length (the sum
of its passages' lengths), from which whole-thread BM25 is computed for any k1 and b.
``fil_columns`` holds, for the ``n`` passages numbered from ``first_ord`` on, what field
filters, facets and the newest-first listing read (the embedded store's per-passage
columns): kind (int8, 1 for a comment), date key (int64 YYYYMMDDhhmmss, 0 without a
date), author (int32 ``fil_authors.code``, -1 without one) and thread code (int32, -1
once ``optimize`` has found the thread removed). A part is identified by ``(part,
written)``: ``written`` changes whenever its row is rewritten, so a process keeps the
parts it has read, as its searches' snapshots see them (:class:`ColumnCache`).

Part 0 holds what the rebuild (or, for the lists, the last ``optimize``) wrote; part V
what update V added (its new passages; replaced threads get new codes; an update merges
a term's parts once it has 16). Threads an update removed keep their postings until
``optimize`` folds the parts (and marks them in the columns), but their codes are listed
in ``fil_meta.dead``, and readers drop them. Impacts written with another average length
than the index's current one are recomputed from ``tfs`` and ``dls`` (as the embedded
store recomputes old segments' impacts). All of it is read in the search's snapshot
(one REPEATABLE READ transaction on the coordinator), so a search sees an update whole.
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ...search.deadline import Deadline
from ...search.plan import And, AndNot, Coord, Or, Plan
from ...search.ranking import idf as bm25_idf
from ..scoring import (
    PhraseCheck,
    PlanEvaluator,
    Result,
    bm25_weights,
    length_norm,
)

POSTINGS = "fil_postings"
THREAD_POSTINGS = "fil_thread_postings"
POSTING_NAMES = ("term", "part", "a0", "n", "ords", "codes", "impacts", "tfs", "dls")
POSTING_TYPES = ("text", "int8", "float8", "int4", "bytea", "bytea", "bytea", "bytea", "bytea")
THREAD_POSTING_NAMES = ("term", "part", "n", "codes", "tfs", "lengths")
THREAD_POSTING_TYPES = ("text", "int8", "int4", "bytea", "bytea", "bytea")
COLUMNS = "fil_columns"
COLUMN_NAMES = ("part", "written", "first_ord", "n", "kinds", "stamps", "authors", "codes")
COLUMN_TYPES = ("int8", "int8", "int8", "int4", "bytea", "bytea", "bytea", "bytea")
I64 = np.dtype("<i8")
I8 = np.dtype("i1")
I32 = np.dtype("<i4")
F32 = np.dtype("<f4")
MAX_ORD = 2**31 - 1  # ords and codes are packed as int32

_EMPTY_IDS = np.empty(0, dtype=np.int32)
_EMPTY_W = np.empty(0, dtype=np.float32)
_EMPTY: Result = (_EMPTY_IDS, _EMPTY_W)


def create_statements(suffix: str = "") -> list[str]:
    """CREATE TABLE statements of the list tables (``suffix``: ``_new`` in a rebuild).

    The arrays are stored out of line without compression (``EXTERNAL``): packed numbers
    barely compress, and reading them back should cost no decompression.
    """
    out = [
        f'CREATE TABLE {POSTINGS}{suffix} (term text COLLATE "C" NOT NULL, part bigint NOT NULL, '
        "a0 float8 NOT NULL, n integer NOT NULL, ords bytea NOT NULL, codes bytea NOT NULL, "
        "impacts bytea NOT NULL, tfs bytea NOT NULL, dls bytea NOT NULL)",
        f'CREATE TABLE {THREAD_POSTINGS}{suffix} (term text COLLATE "C" NOT NULL, '
        "part bigint NOT NULL, n integer NOT NULL, codes bytea NOT NULL, tfs bytea NOT NULL, "
        "lengths bytea NOT NULL)",
        f"CREATE TABLE {COLUMNS}{suffix} (part bigint NOT NULL, written bigint NOT NULL, "
        "first_ord bigint NOT NULL, n integer NOT NULL, kinds bytea NOT NULL, "
        "stamps bytea NOT NULL, authors bytea NOT NULL, codes bytea NOT NULL)"]
    for table, cols in ((POSTINGS, ("ords", "codes", "impacts", "tfs", "dls")),
                        (THREAD_POSTINGS, ("codes", "tfs", "lengths")),
                        (COLUMNS, ("kinds", "stamps", "authors", "codes"))):
        out.append(f"ALTER TABLE {table}{suffix} " + ", ".join(
            f"ALTER COLUMN {c} SET STORAGE EXTERNAL" for c in cols))
    return out


def pack(values: np.ndarray, dtype: np.dtype = I32) -> bytes:
    """An array as little-endian bytes."""
    return np.ascontiguousarray(values, dtype=dtype).tobytes()


def unpack(data: bytes | memoryview | None, dtype: np.dtype = I32) -> np.ndarray:
    """Bytes written by :func:`pack` as an array (no copy)."""
    if not data:
        return np.empty(0, dtype=dtype)
    return np.frombuffer(data, dtype=dtype)


# -- writing ---------------------------------------------------------------------------------
class ListsBuilder:
    """Collects the terms of every passage made (see :func:`.build.passage_rows`), then
    turns them into the rows of ``fil_postings`` and ``fil_thread_postings``."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}  # term -> number, in order of first appearance
        self.terms = array("i")  # term number of each posting, passage by passage
        self.tfs = array("i")
        self.ords = array("q")  # per passage
        self.counts = array("i")  # postings of each passage
        self.dls = array("i")
        self.codes = array("i")
        self.kinds = array("b")
        self.stamps = array("q")
        self.authors = array("i")  # author codes of the rows' Stats (-1: none)
        self.thread_codes = array("i")  # per thread
        self.thread_lengths = array("q")

    def passage(self, ord_: int, code: int, dl: int, postings: int, comment: bool = False,
                stamp: int = 0, author: int = -1) -> None:
        """One passage's row was made: its ``postings`` terms were appended."""
        if ord_ > MAX_ORD:
            raise ValueError(f"passage number {ord_} does not fit the posting lists")
        self.ords.append(ord_)
        self.counts.append(postings)
        self.dls.append(dl)
        self.codes.append(code)
        self.kinds.append(1 if comment else 0)
        self.stamps.append(stamp)
        self.authors.append(author)

    def columns_row(self, part: int, written: int, authors: np.ndarray | None = None
                    ) -> tuple[object, ...] | None:
        """The ``fil_columns`` row of the passages collected (their ords are consecutive);
        ``authors`` maps the collected author codes to the index's (None: the same)."""
        if not len(self.ords):
            return None
        codes = np.frombuffer(self.authors, dtype=np.int32)
        if authors is not None and len(authors) and len(codes):
            codes = np.where(codes >= 0, authors[np.maximum(codes, 0)], -1)
        return (part, written, int(self.ords[0]), len(self.ords),
                np.frombuffer(self.kinds, dtype=np.int8).tobytes(),
                pack(np.frombuffer(self.stamps, dtype=np.int64), I64), pack(codes),
                pack(np.frombuffer(self.codes, dtype=np.int32)))

    def thread(self, code: int, length: int) -> None:
        """One thread's passages were made: its code and length (sum of passage lengths)."""
        self.thread_codes.append(code)
        self.thread_lengths.append(length)

    def df(self) -> dict[str, int]:
        """How many of the passages collected hold each term."""
        counts = np.bincount(np.frombuffer(self.terms, dtype=np.int32),
                             minlength=len(self.ids)).tolist()
        return dict(zip(self.ids, counts, strict=True))

    def rows(self, avg: float, part: int) -> ListRows:
        """The list rows of the passages collected, part ``part``, impacts computed with
        the average passage length ``avg`` (see :class:`ListRows`)."""
        return ListRows(self, avg, part)


class ListRows:
    """The rows of ``fil_postings`` (``postings``: made block by block of terms as they
    are consumed) and of ``fil_thread_postings`` (``thread_postings``), with how many
    threads hold each term (``tdf``); the last two are complete once ``postings`` has
    been consumed."""

    BLOCK = 1 << 20  # postings gathered at a time

    def __init__(self, lists: ListsBuilder, avg: float, part: int) -> None:
        self.lists = lists
        self.avg = avg
        self.part = part
        self.thread_postings: list[tuple[object, ...]] = []
        self.tdf: dict[str, int] = {}
        self.postings = self._postings()

    def _postings(self) -> Iterator[tuple[object, ...]]:
        lists, part, avg = self.lists, self.part, self.avg
        # (native int32 arrays: written with tobytes, read back as little-endian "<i4")
        if not np.little_endian:  # pragma: no cover - no such machine in sight
            raise ValueError("the posting lists are written on little-endian machines")
        terms = np.frombuffer(lists.terms, dtype=np.int32)
        if not len(terms):
            return
        names = list(lists.ids)
        counts = np.frombuffer(lists.counts, dtype=np.int32)
        passage = np.repeat(np.arange(len(counts), dtype=np.int32), counts)  # of each posting
        p_ords = np.frombuffer(lists.ords, dtype=np.int64).astype(np.int32)
        p_codes = np.frombuffer(lists.codes, dtype=np.int32)
        p_dls = np.frombuffer(lists.dls, dtype=np.int32)
        tfs_all = np.frombuffer(lists.tfs, dtype=np.int32)
        first = np.frombuffer(lists.thread_codes, dtype=np.int32)
        base = int(first[0]) if len(first) else 0
        by_code = np.zeros(int(first[-1]) - base + 1 if len(first) else 0, dtype=np.int64)
        by_code[first - base] = np.frombuffer(lists.thread_lengths, dtype=np.int64)
        order = np.argsort(terms, kind="stable")  # by term, passages in ord order
        starts = np.zeros(len(names) + 1, dtype=np.int64)
        np.cumsum(np.bincount(terms, minlength=len(names)), out=starts[1:])
        a = 0
        while a < len(names):  # a block of whole terms, about BLOCK postings
            b = int(np.searchsorted(starts, starts[a] + self.BLOCK, side="right")) - 1
            b = min(max(b, a + 1), len(names))
            s0, e0 = int(starts[a]), int(starts[b])
            idx = order[s0:e0]
            pidx = passage[idx]
            ords, codes, dls, tfs = p_ords[pidx], p_codes[pidx], p_dls[pidx], tfs_all[idx]
            impacts = bm25_weights(tfs, length_norm(dls, avg)).astype(F32)
            term_of = terms[idx]
            head = np.ones(len(idx), dtype=bool)
            head[1:] = (term_of[1:] != term_of[:-1]) | (codes[1:] != codes[:-1])
            heads = np.flatnonzero(head)
            t_codes = codes[heads]
            t_tfs = np.add.reduceat(tfs, heads).astype(np.int32)
            t_lengths = by_code[t_codes - base].astype(np.int32)
            t_starts = np.searchsorted(term_of[heads], np.arange(a, b + 1)).tolist()
            local = (starts[a:b + 1] - s0).tolist()
            for i, tid in enumerate(range(a, b)):
                term = names[tid]
                s, e = local[i], local[i + 1]
                yield (term, part, avg, e - s, ords[s:e].tobytes(), codes[s:e].tobytes(),
                       impacts[s:e].tobytes(), tfs[s:e].tobytes(), dls[s:e].tobytes())
                ts, te = t_starts[i], t_starts[i + 1]
                self.thread_postings.append((term, part, te - ts, t_codes[ts:te].tobytes(),
                                             t_tfs[ts:te].tobytes(),
                                             t_lengths[ts:te].tobytes()))
                self.tdf[term] = te - ts
            a = b


def fold(parts: Sequence[tuple[float, bytes, bytes, bytes, bytes, bytes]],
         dead: np.ndarray, avg: float) -> tuple[int, list[bytes]] | None:
    """One term's posting parts (a0, ords, codes, impacts, tfs, dls) as one part: dead
    threads' postings dropped, impacts recomputed with ``avg``; None when none is left."""
    ords = np.concatenate([unpack(p[1]) for p in parts])
    codes = np.concatenate([unpack(p[2]) for p in parts])
    tfs = np.concatenate([unpack(p[4]) for p in parts])
    dls = np.concatenate([unpack(p[5]) for p in parts])
    keep = ~np.isin(codes, dead) if len(dead) else np.ones(len(ords), dtype=bool)
    if not keep.any():
        return None
    order = np.argsort(ords[keep], kind="stable")
    ords, codes, tfs, dls = (a[keep][order] for a in (ords, codes, tfs, dls))
    impacts = bm25_weights(tfs, length_norm(dls, avg))
    return len(ords), [pack(ords), pack(codes), pack(impacts, F32), pack(tfs), pack(dls)]


def fold_threads(parts: Sequence[tuple[bytes, bytes, bytes]],
                 dead: np.ndarray) -> tuple[int, list[bytes]] | None:
    """One term's thread posting parts (codes, tfs, lengths) as one part, dead ones dropped."""
    codes = np.concatenate([unpack(p[0]) for p in parts])
    tfs = np.concatenate([unpack(p[1]) for p in parts])
    lengths = np.concatenate([unpack(p[2]) for p in parts])
    keep = ~np.isin(codes, dead) if len(dead) else np.ones(len(codes), dtype=bool)
    if not keep.any():
        return None
    order = np.argsort(codes[keep], kind="stable")
    return int(keep.sum()), [pack(a[keep][order]) for a in (codes, tfs, lengths)]


# -- reading ---------------------------------------------------------------------------------
@dataclass(slots=True)
class TermPostings:
    """One term's live postings: passage ords ascending, thread codes, BM25 weights
    without idf (float32, for the index's current average length)."""

    ords: np.ndarray
    codes: np.ndarray
    weights: np.ndarray


@dataclass(slots=True)
class ThreadPostings:
    """One term's live thread postings: codes ascending, summed tfs, thread lengths."""

    codes: np.ndarray
    tfs: np.ndarray
    lengths: np.ndarray


NO_POSTINGS = TermPostings(_EMPTY_IDS, _EMPTY_IDS, _EMPTY_W)

Fetch = Callable[[str, Sequence[object]], list[tuple[object, ...]]]


def read_postings(fetch: Fetch, terms: Sequence[str], avg: float,
                  dead: np.ndarray) -> dict[str, TermPostings]:
    """The live postings of some terms (absent terms: empty lists).

    Only the columns needed are read: impacts when written with the current average
    length ``avg``, else term frequencies and lengths to recompute them.
    """
    out: dict[str, list[tuple[object, ...]]] = {t: [] for t in terms}
    if terms:
        for row in fetch(
                f"SELECT term, a0, ords, codes, CASE WHEN a0 = %s THEN impacts END, "
                f"CASE WHEN a0 <> %s THEN tfs END, CASE WHEN a0 <> %s THEN dls END "
                f"FROM {POSTINGS} WHERE term = ANY(%s) ORDER BY term, part",
                (avg, avg, avg, list(terms))):
            out[str(row[0])].append(row)
    found: dict[str, TermPostings] = {}
    for term, rows in out.items():
        parts_o, parts_c, parts_w = [], [], []
        for _, _a0, ords, codes, impacts, tfs, dls in rows:
            o, c = unpack(ords), unpack(codes)  # type: ignore[arg-type]
            if impacts is not None:
                w = unpack(impacts, F32)  # type: ignore[arg-type]
            else:
                d = unpack(dls)  # type: ignore[arg-type]
                w = bm25_weights(unpack(tfs), length_norm(d, avg))  # type: ignore[arg-type]
            parts_o.append(o)
            parts_c.append(c)
            parts_w.append(w)
        if not parts_o:
            found[term] = NO_POSTINGS
            continue
        ords_a = parts_o[0] if len(parts_o) == 1 else np.concatenate(parts_o)
        codes_a = parts_c[0] if len(parts_c) == 1 else np.concatenate(parts_c)
        ws = parts_w[0] if len(parts_w) == 1 else np.concatenate(parts_w)
        if len(dead):
            keep = ~np.isin(codes_a, dead)
            ords_a, codes_a, ws = ords_a[keep], codes_a[keep], ws[keep]
        found[term] = TermPostings(ords_a.astype(np.int32, copy=False),
                                   codes_a.astype(np.int32, copy=False),
                                   ws.astype(np.float32, copy=False))
    return found


def read_thread_postings(fetch: Fetch, terms: Sequence[str],
                         dead: np.ndarray) -> dict[str, ThreadPostings]:
    """The live thread postings of some terms (codes ascending: parts come in code order)."""
    rows: dict[str, list[tuple[object, ...]]] = {t: [] for t in terms}
    if terms:
        for row in fetch(f"SELECT term, codes, tfs, lengths FROM {THREAD_POSTINGS} "
                         "WHERE term = ANY(%s) ORDER BY term, part", (list(terms),)):
            rows[str(row[0])].append(row)
    out: dict[str, ThreadPostings] = {}
    for term, found in rows.items():
        if not found:
            out[term] = ThreadPostings(_EMPTY_IDS, _EMPTY_IDS, _EMPTY_IDS)
            continue
        codes = np.concatenate([unpack(r[1]) for r in found])  # type: ignore[arg-type]
        tfs = np.concatenate([unpack(r[2]) for r in found])  # type: ignore[arg-type]
        lengths = np.concatenate([unpack(r[3]) for r in found])  # type: ignore[arg-type]
        if len(dead):
            keep = ~np.isin(codes, dead)
            codes, tfs, lengths = codes[keep], tfs[keep], lengths[keep]
        out[term] = ThreadPostings(codes, tfs, lengths)
    return out


def thread_scores(lists: Mapping[str, ThreadPostings], weights: Mapping[str, float],
                  k1: float, b: float, coord_power: float, avg_thread: float,
                  n_codes: int) -> np.ndarray | None:
    """Every thread's whole-thread score, by code (None when no thread holds a term):
    the embedded store's computation (:meth:`..whoosh.store.EmbeddedSnapshot.thread_scores`)
    in the same arithmetic."""
    ids_l, ws_l, cw_l = [], [], []
    total = 0.0
    for term, w in weights.items():
        total += w
        tp = lists.get(term)
        if tp is None or not len(tp.codes):
            continue
        tw = bm25_weights(tp.tfs, length_norm(tp.lengths, avg_thread, k1, b), k1)
        ids_l.append(tp.codes)
        ws_l.append(tw * np.float32(w))
        cw_l.append(np.full(len(tp.codes), w, dtype=np.float64))
    if not ids_l or total <= 0:
        return None
    ids = np.concatenate(ids_l)
    n = max(n_codes, int(ids.max()) + 1)
    score: np.ndarray = np.bincount(ids, weights=np.concatenate(ws_l), minlength=n)
    if coord_power:
        share = np.bincount(ids, weights=np.concatenate(cw_l), minlength=n) / total
        score = score * share ** coord_power
    return score


@dataclass(slots=True)
class ColumnPart:
    """One row of ``fil_columns``: the columns of passages ``first_ord`` onwards."""

    first_ord: int
    kinds: np.ndarray
    stamps: np.ndarray
    authors: np.ndarray
    codes: np.ndarray


class ColumnCache:
    """The ``fil_columns`` parts a process has read, by index generation and ``(part,
    written)`` (what a given row holds never changes; a rewrite changes ``written``; a
    rebuild makes a new generation), and the last columns assembled from them.
    Thread-safe."""

    def __init__(self, generations: int = 2, assembled: int = 2) -> None:
        self.generations = generations
        self.keep_assembled = assembled
        self._parts: dict[str, dict[tuple[int, int], ColumnPart]] = {}
        self._assembled: dict[tuple[object, ...], Columns] = {}
        self._lock = threading.Lock()

    def columns(self, fetch: Fetch, generation: str) -> Columns:
        """Every passage's columns as the caller's snapshot sees them: one query, which
        reads only the parts this process does not hold yet."""
        with self._lock:
            known = dict(self._parts.get(generation, {}))
        keys = list(known)
        rows = fetch(
            f"SELECT c.part, c.written, c.first_ord, "
            f"CASE WHEN k.part IS NULL THEN c.kinds END, "
            f"CASE WHEN k.part IS NULL THEN c.stamps END, "
            f"CASE WHEN k.part IS NULL THEN c.authors END, "
            f"CASE WHEN k.part IS NULL THEN c.codes END FROM {COLUMNS} c "
            "LEFT JOIN unnest(%s::bigint[], %s::bigint[]) AS k(part, written) "
            "ON k.part = c.part AND k.written = c.written ORDER BY c.part",
            ([k[0] for k in keys], [k[1] for k in keys]))
        mine: list[tuple[int, int]] = []
        for part, written, first, kinds, stamps, authors, codes in rows:
            key = (int(part), int(written))  # type: ignore[call-overload]
            mine.append(key)
            if key not in known:
                known[key] = ColumnPart(int(first), unpack(kinds, I8),  # type: ignore[call-overload,arg-type]
                                        unpack(stamps, I64), unpack(authors),  # type: ignore[arg-type]
                                        unpack(codes))  # type: ignore[arg-type]
        assembled_key = (generation, *mine)
        with self._lock:
            parts = self._parts.setdefault(generation, {})
            parts.update(known)
            for key in [k for k in parts if k[0] in {m[0] for m in mine} and k not in mine]:
                del parts[key]  # an older version of a part this snapshot saw anew
            while len(self._parts) > self.generations:
                del self._parts[next(iter(self._parts))]
            found = self._assembled.get(assembled_key)
        if found is None:
            found = Columns([known[k] for k in mine])
            with self._lock:
                self._assembled[assembled_key] = found
                while len(self._assembled) > self.keep_assembled:
                    del self._assembled[next(iter(self._assembled))]
        return found


class Columns:
    """Per-passage columns over every ord: ``kinds``, ``stamps``, ``authors`` and thread
    ``codes`` (-1 where no passage is known), for filters, facets and listings."""

    def __init__(self, parts: Iterable[ColumnPart]) -> None:
        parts = list(parts)
        n = max((p.first_ord + len(p.kinds) for p in parts), default=0)
        self.kinds = np.zeros(n, dtype=np.int8)
        self.stamps = np.zeros(n, dtype=np.int64)
        self.authors = np.full(n, -1, dtype=np.int32)
        self.codes = np.full(n, -1, dtype=np.int32)
        for p in parts:
            end = p.first_ord + len(p.kinds)
            self.kinds[p.first_ord:end] = p.kinds
            self.stamps[p.first_ord:end] = p.stamps
            self.authors[p.first_ord:end] = p.authors
            self.codes[p.first_ord:end] = p.codes

    def __len__(self) -> int:
        return len(self.codes)


# -- evaluating ------------------------------------------------------------------------------
def list_evaluator(lists: Mapping[str, TermPostings], n_live: int, n_docs: int,
                   check: PhraseCheck, deadline: Deadline | None) -> PlanEvaluator:
    """The shared plan evaluator over posting lists read from PostgreSQL: terms scored
    ``weight · idf`` (float32) as the embedded store scores them; ``check`` asks
    PostgreSQL for phrase candidates' positions."""

    def scored(term: str) -> tuple[np.ndarray, np.ndarray]:
        tp = lists.get(term)
        if tp is None or not len(tp.ords):
            return _EMPTY
        return tp.ords, tp.weights * np.float32(bm25_idf(n_live, len(tp.ords)))

    return PlanEvaluator(scored, check, n_docs, deadline)


def codes_of(lists: Mapping[str, TermPostings], ids: np.ndarray, n_docs: int) -> np.ndarray:
    """The thread code of each of ``ids`` (passages found in ``lists``; ``n_docs`` is one
    more than the highest ord): scattered into an array over every ord when that is not
    much bigger than the lists, else looked up in the shortest lists first."""
    if not len(ids):
        return _EMPTY_IDS
    postings = sum(len(tp.ords) for tp in lists.values())
    if n_docs <= 16 * postings + (1 << 20):
        dense = np.empty(n_docs, dtype=np.int32)
        for tp in lists.values():
            dense[tp.ords] = tp.codes
        return dense[ids]
    out = np.full(len(ids), -1, dtype=np.int32)
    missing = np.arange(len(ids))
    for tp in sorted(lists.values(), key=lambda tp: len(tp.ords)):
        if not len(missing):
            break
        if not len(tp.ords):
            continue
        want = ids[missing]
        pos = np.minimum(np.searchsorted(tp.ords, want), len(tp.ords) - 1)
        hit = tp.ords[pos] == want
        out[missing[hit]] = tp.codes[pos[hit]]
        missing = missing[~hit]
    return out


def count_distinct(codes: np.ndarray) -> int:
    """How many distinct codes, for the codes of ascending passages (non-decreasing: a
    thread's passages have consecutive ords, threads are numbered in ord order)."""
    if not len(codes):
        return 0
    steps = np.diff(codes)
    if (steps < 0).any():  # not in order after all: count the slow way
        return int(len(np.unique(codes)))
    return int(np.count_nonzero(steps)) + 1


def plan_leaves(plan: Plan | None) -> Iterator[Plan]:
    """Every node of a plan, depth first."""
    if plan is None:
        return
    yield plan
    if isinstance(plan, Or | Coord | And):
        for c in plan.children:
            yield from plan_leaves(c)
    elif isinstance(plan, AndNot):
        yield from plan_leaves(plan.positive)
        yield from plan_leaves(plan.negative)
