"""The embedded store: answers the search pipeline's questions from the segments of an index.

Matching and BM25 scoring run over the segments' postings and impacts (numpy over whole
posting lists, live passages only: see :mod:`.view`); phrase checks and word positions
read the position arrays directly (vectorised over all candidates). Changes go through
:mod:`.writer` (rebuild, update, delete, optimize) and become visible with the next
snapshot: each snapshot checks (one ``stat`` of ``CURRENT``) whether the manifest
changed. A process keeps one view per index directory and a lease on its manifest.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from ...errors import IndexDamagedError, IndexMissingError
from ...ingest.model import Thread, day_bounds
from ...search.deadline import Deadline
from ...search.plan import Filters, Plan
from ...search.store import Facets, Key, Matches, PassageRecord, ThreadScores
from ...search.suggest import levenshtein
from ..base import BuildReport, IndexStats, UpdateReport
from ..scoring import (
    PHRASE_CHECK_LIMIT,
    PlanEvaluator,
    exclude,
    facet_counts,
    top_k,
)
from . import writer
from .manifest import CURRENT, Lease
from .view import IndexView

Result = tuple[np.ndarray, np.ndarray]  # (doc numbers ascending, scores)
_EMPTY: Result = (np.empty(0, dtype=np.int32), np.empty(0, dtype=np.float32))
_NO_CODE = np.iinfo(np.int32).min  # a code no passage has (unknown author or thread)


class _Current:
    """The view a process reads an index through, with its lease and its users."""

    def __init__(self, view: IndexView, lease: Lease, pointer: object) -> None:
        self.view = view
        self.lease = lease
        self.pointer = pointer
        self.users = 0
        self.retired = False

    def release(self) -> None:
        """Called when a user is done: a retired view with no user lets its lease go."""
        self.users -= 1
        if self.retired and self.users == 0:
            self.lease.close()


class EmbeddedStore:
    """The embedded index directory as a store (thread-safe)."""

    name = "whoosh"

    def __init__(self, index_dir: str | os.PathLike[str]) -> None:
        self.index_dir = Path(index_dir)
        self._lock = threading.Lock()
        self._current: _Current | None = None

    # -- changes ---------------------------------------------------------------------
    def rebuild(self, threads: Iterable[Thread],
                progress: Callable[[int], None] | None = None) -> BuildReport:
        """Replace the whole index with these threads, atomically (see :mod:`.writer`)."""
        return writer.rebuild(self.index_dir, threads, progress)

    def update(self, threads: Iterable[Thread],
               progress: Callable[[int], None] | None = None) -> UpdateReport:
        """Add new threads and replace changed ones, by id (see :mod:`.writer`)."""
        return writer.update(self.index_dir, threads, progress)

    def delete(self, thread_ids: Iterable[str]) -> UpdateReport:
        """Remove threads by id."""
        return writer.delete(self.index_dir, thread_ids)

    def optimize(self) -> UpdateReport:
        """Merge all segments into one (exact statistics, fastest searches)."""
        return writer.optimize(self.index_dir)

    def check_writable(self) -> None:
        """Raise RebuildLockedError if another change holds the write lock (nothing read)."""
        writer.probe_lock(self.index_dir)

    def stats(self) -> IndexStats:
        """Counts and size of the current index."""
        with self._view() as view:
            m = view.manifest
            terms = len(set().union(*(s.field.terms for s in view.segments))) \
                if len(view.segments) > 1 else sum(len(s.field.terms) for s in view.segments)
            size = sum(f.stat().st_size for name in m.files()
                       for f in ([self.index_dir / name] if name.startswith("del-")
                                 else (self.index_dir / name).rglob("*")) if f.is_file())
            return IndexStats(str(self.index_dir), m.live_threads, m.live_docs, terms, size,
                              m.rebuilt_at or m.created_at, segments=len(m.segments),
                              deleted=view.n_total - m.live_docs, updated_at=m.created_at)

    def close(self) -> None:
        """Let go of the current view (the store reopens one if used again)."""
        with self._lock:
            cur, self._current = self._current, None
            if cur is not None:
                cur.retired = True
                if cur.users == 0:
                    cur.lease.close()

    # -- reading ---------------------------------------------------------------------
    @contextlib.contextmanager
    def _view(self) -> Iterator[IndexView]:
        """The current manifest's view, held for the length of one use."""
        try:
            st = os.stat(self.index_dir / CURRENT)
            pointer: object = (st.st_ino, st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            pointer = None
        except OSError as exc:
            raise IndexDamagedError(f"{self.index_dir}: {exc.strerror}") from None
        with self._lock:
            cur = self._current
            if cur is None or cur.pointer != pointer:
                if pointer is None:
                    raise IndexMissingError(f"no index at {self.index_dir}")
                lease = Lease(self.index_dir)
                try:
                    view = IndexView(self.index_dir, lease.read(), lease.name)
                except BaseException:
                    lease.close()
                    raise
                fresh = _Current(view, lease, pointer)
                if cur is not None:
                    cur.retired = True
                    if cur.users == 0:
                        cur.lease.close()
                cur = self._current = fresh
            cur.users += 1
        try:
            yield cur.view
        finally:
            with self._lock:
                cur.release()

    @contextlib.contextmanager
    def snapshot(self, deadline: Deadline) -> Iterator[EmbeddedSnapshot]:
        """The current manifest, held for one search."""
        with self._view() as view:
            yield EmbeddedSnapshot(view)

    def thread(self, thread_id: str) -> Thread | None:
        """The whole thread with this id, or None (ids are looked up, never used as paths)."""
        if not isinstance(thread_id, str) or not thread_id or len(thread_id) > 500:
            return None
        with self._view() as view:
            code = view.find_thread(thread_id)
            return view.thread(code) if code is not None else None


class EmbeddedSnapshot:
    """One manifest's answers to the pipeline (see :class:`indexer.search.store.Snapshot`)."""

    def __init__(self, view: IndexView) -> None:
        self.view = view
        self._found: dict[tuple[object, ...], Result] = {}

    # -- statistics and terms ------------------------------------------------------------
    def doc_count(self) -> int:
        return self.view.n_live

    def doc_freqs(self, terms: Sequence[str]) -> dict[str, int]:
        return {t: self.view.df(t) for t in terms}

    def expand_prefix(self, prefix: str, limit: int) -> list[tuple[str, int]]:
        return self.view.expand_prefix(prefix, limit)

    def near_terms(self, term: str, prefix: int, max_dist: int) -> list[tuple[str, int, int]]:
        return [(t, df, levenshtein(t, term, max_dist))
                for t in self.view.near_terms(term, prefix, max_dist)
                if (df := self.view.df(t))]

    # -- matching ------------------------------------------------------------------------
    def match(self, plan: Plan | None, exclude_plan: Plan | None, filters: Filters, k: int,
              deadline: Deadline, newest: bool = False) -> Matches:
        ev = _evaluator(self.view, deadline)
        found = self._matching(ev, plan, exclude_plan, filters)
        view = self.view
        out = Matches(total=int(len(found[0])), exact=ev.exact and not ev.timed_out,
                      timed_out=ev.timed_out, total_threads=0)
        if len(found[0]):
            threads = view.column("thread")[found[0]]
            out.total_threads = int(np.count_nonzero(
                np.bincount(threads, minlength=view.n_threads_total)))
        if plan is None or newest:  # newest first (undated last), then index order
            order = np.lexsort((found[0], -view.column("stamp")[found[0]]))[:k]
            best = [(int(found[0][i]), float(found[1][i])) for i in order]
        else:
            best = top_k(found[0], found[1], k)
        thread = view.column("thread")
        for docnum, score in best:
            out.keys.append(docnum)
            out.scores.append(score)
            out.threads.append(view.thread_id(int(thread[docnum])))
        return out

    def _matching(self, ev: PlanEvaluator, plan: Plan | None, exclude_plan: Plan | None,
                  filters: Filters) -> Result:
        """Every live passage matching, with its score (kept for the same search's facets)."""
        key = (plan, exclude_plan, filters)
        found = self._found.get(key)
        if found is not None:
            return found
        allowed = self._filter_mask(filters)
        if plan is None:
            mask = allowed if allowed is not None else self.view.column("live")
            ids = np.flatnonzero(mask).astype(np.int32)
            found = (ids, np.zeros(len(ids), dtype=np.float32))
        else:
            found = ev.eval(plan)
        if exclude_plan is not None:
            found = exclude(found, ev.eval(exclude_plan)[0])
        if allowed is not None and plan is not None:
            keep = allowed[found[0]]
            found = (found[0][keep], found[1][keep])
        self._found[key] = found
        return found

    def _filter_mask(self, f: Filters) -> np.ndarray | None:
        """Boolean mask over passages for the field filters (live ones only), or None."""
        if not f:
            return None
        view = self.view
        mask = view.column("live").copy() if view.has_deletions() \
            else np.ones(view.n_total, dtype=bool)
        if f.kind:
            mask &= view.column("kind") == (1 if f.kind == "comment" else 0)
        low, high = day_bounds(f.after, f.before)
        if low is not None:
            mask &= view.column("stamp") >= low
        if high is not None:
            stamp = view.column("stamp")
            mask &= (stamp <= high) & (stamp > 0)
        if f.author is not None or f.not_authors:
            codes, _, _ = view.authors()
            author = view.column("author")
            if f.author is not None:
                mask &= author == codes.get(f.author, _NO_CODE)
            for key in f.not_authors:
                if key in codes:
                    mask &= author != codes[key]
        if f.thread is not None:
            code = view.find_thread(f.thread)
            mask &= (view.column("thread") == code) if code is not None else False
        for tid in f.not_threads:
            code = view.find_thread(tid)
            if code is not None:
                mask &= view.column("thread") != code
        return mask

    def best_in_threads(self, plan: Plan, exclude_plan: Plan | None, filters: Filters,
                        threads: Sequence[str], per_thread: int,
                        deadline: Deadline) -> Matches:
        view = self.view
        codes = [c for c in (view.find_thread(t) for t in threads) if c is not None]
        out = Matches()
        if not codes:
            return out
        ev = _evaluator(view, deadline)
        ids, ws = self._matching(ev, plan, exclude_plan, filters)
        th = view.column("thread")[ids]
        inside = np.flatnonzero(np.isin(th, np.array(codes, dtype=th.dtype)))
        if not len(inside):
            return out
        order = inside[np.lexsort((ids[inside], -ws[inside], th[inside]))]
        tho = th[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = tho[1:] != tho[:-1]
        starts = np.flatnonzero(first)
        rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.append(starts, len(order))))
        for i in order[rank < per_thread].tolist():
            out.keys.append(int(ids[i]))
            out.scores.append(float(ws[i]))
            out.threads.append(view.thread_id(int(th[i])))
        out.total = len(out.keys)
        return out

    def thread_match_counts(self, plan: Plan | None, exclude_plan: Plan | None,
                            filters: Filters, threads: Sequence[str]) -> dict[str, int]:
        view = self.view
        ids = self._matching(_evaluator(view, None), plan, exclude_plan, filters)[0]
        counts = np.bincount(view.column("thread")[ids], minlength=view.n_threads_total)
        out = {}
        for tid in threads:
            code = view.find_thread(tid)
            out[tid] = int(counts[code]) if code is not None else 0
        return out

    # -- whole threads -------------------------------------------------------------------
    def thread_stats(self, terms: Sequence[str]) -> tuple[int, dict[str, int]]:
        return self.view.n_threads_live, {t: self.view.thread_df(t) for t in terms}

    def thread_scores(self, weights: Mapping[str, float], k1: float, b: float,
                      coord_power: float, top: int, include: Sequence[str]) -> ThreadScores:
        view = self.view
        out = ThreadScores()
        ids_l, ws_l, cw_l = [], [], []
        total = 0.0
        for term, w in weights.items():
            total += w
            tids, tw = view.thread_scored(term, k1, b)
            if len(tids):
                ids_l.append(tids)
                ws_l.append(tw * np.float32(w))
                cw_l.append(np.full(len(tids), w, dtype=np.float64))
        if not ids_l or total <= 0:
            return out
        ids = np.concatenate(ids_l)
        n = view.n_threads_total
        score: np.ndarray = np.bincount(ids, weights=np.concatenate(ws_l), minlength=n)
        if coord_power:
            share = np.bincount(ids, weights=np.concatenate(cw_l), minlength=n) / total
            score = score * share ** coord_power
        out.max = float(score.max())
        k = min(top, n)
        if k > 0:
            best = np.argpartition(-score, k - 1)[:k]
            best = best[np.lexsort((best, -score[best]))]
            for code in best.tolist():
                if score[code] > 0:
                    tid = view.thread_id(code)
                    out.best.append((tid, float(score[code])))
                    out.scores[tid] = float(score[code])
        for tid in include:
            if tid not in out.scores:
                code = view.find_thread(tid)
                out.scores[tid] = float(score[code]) if code is not None else 0.0
        return out

    # -- what results show ---------------------------------------------------------------
    def positions(self, keys: Sequence[Key],
                  terms: Sequence[str]) -> dict[Key, dict[str, list[int]]]:
        out: dict[Key, dict[str, list[int]]] = {k: {} for k in keys}
        if not keys:
            return out
        docs = np.array(sorted({int(k) for k in keys}), dtype=np.int32)  # type: ignore[call-overload]
        for term in dict.fromkeys(terms):
            owner, positions = self.view.positions_of(term, docs)
            if not len(owner):
                continue
            cuts = np.flatnonzero(owner[1:] != owner[:-1]) + 1  # owners ascend
            starts = np.concatenate(([0], cuts)).tolist()
            ends = np.concatenate((cuts, [len(owner)])).tolist()
            pos = positions.tolist()
            for a, b in zip(starts, ends, strict=True):
                out[int(docs[owner[a]])][term] = pos[a:b]
        return out

    def title_terms(self, thread_ids: Sequence[str]) -> dict[str, frozenset[str]]:
        out = {}
        for tid in thread_ids:
            code = self.view.find_thread(tid)
            if code is not None:
                out[tid] = self.view.title_terms(code)
        return out

    def passages(self, keys: Sequence[Key]) -> dict[Key, PassageRecord]:
        out: dict[Key, PassageRecord] = {}
        for k in keys:
            f = self.view.stored_fields(int(k))  # type: ignore[call-overload]
            out[k] = PassageRecord(str(f["thread_id"]), str(f["title"]), str(f["kind"]),
                                   int(f["position"]),  # type: ignore[call-overload]
                                   _opt_str(f.get("author")), _opt_str(f.get("date")),
                                   str(f["content"]))
        return out

    def facets(self, plan: Plan | None, exclude_plan: Plan | None, filters: Filters,
               limit: int) -> Facets:
        ev = _evaluator(self.view, None)
        ids = self._matching(ev, plan, exclude_plan, filters)[0]
        view = self.view
        names = view.authors()[1]
        return facet_counts(view.column("kind")[ids], view.column("author")[ids],
                            view.column("stamp")[ids], limit,
                            lambda codes: {c: names[c] for c in codes})

    def sample_texts(self, term: str, n: int) -> list[str]:
        return [str(self.view.stored_fields(d)["content"])
                for d in self.view.first_docs(term, n)]




def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def phrase_match(view: IndexView, terms: Sequence[str], docs: np.ndarray) -> np.ndarray:
    """Which of ``docs`` (sorted, each holding every term) hold the terms consecutively.

    Vectorised over all documents: the positions of term k, minus k, keyed by document,
    must meet in every term's set.
    """
    common: np.ndarray | None = None
    for k, term in enumerate(terms):
        owner, positions = view.positions_of(term, docs)
        keys = (owner.astype(np.int64) << 32) | (positions.astype(np.int64) - k + len(terms))
        common = np.unique(keys) if common is None else np.intersect1d(common, keys)
        if not len(common):
            break
    ok = np.zeros(len(docs), dtype=bool)
    if common is not None and len(common):
        ok[np.unique(common >> 32)] = True
    return ok


def _evaluator(view: IndexView, deadline: Deadline | None) -> PlanEvaluator:
    """The shared plan evaluator over a view's segments (positions for phrases)."""
    return PlanEvaluator(view.scored, lambda terms, docs: phrase_match(view, terms, docs),
                         view.n_total, deadline)


__all__ = ["EmbeddedStore", "EmbeddedSnapshot", "PHRASE_CHECK_LIMIT"]
