"""Incremental updates of the embedded index: the same hits as a full rebuild, crash safety.

- Any sequence of updates and deletes gives the same hits as a full rebuild over the
  final threads: the same passages for every query with the same scores (the live
  statistics are exact), before and after an optimize.
- An update or a merge killed (SIGKILL) at any point leaves a consistent index, holding
  either the threads before that change or after it.
- Searches running while updates commit never fail.
"""

from __future__ import annotations

import dataclasses
import os
import random
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable
from pathlib import Path

import pytest
from helpers import GENEROUS_SECONDS, SEED_FILE, build_index, child_env, embedded, wait_until
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.ingest.model import Comment, Thread
from indexer.ingest.parsing import read_sources
from indexer.service import Service
from indexer.store.whoosh import codec, writer
from indexer.store.whoosh.manifest import read_current

QUERIES = ["tres haut debit", "entreprise", "lippi", "internet web", '"haut debit"',
           "entrep*", "kind:comment debit", "author:philrig", "obama OR sarkozy",
           "termites -internet", "abeilles", "tramway vallee", "village"]


def seed_threads() -> list[Thread]:
    """The seed thread, and threads made of its sentences (ids t00..)."""
    [seed] = read_sources([SEED_FILE]).threads
    sentences = [s for p in seed.paragraphs for s in p.split(". ") if len(s) > 20]
    rng = random.Random(7)
    out = [seed]
    for i in range(24):
        paras = tuple(" ".join(rng.sample(sentences, 2)) for _ in range(rng.randint(1, 4)))
        comments = tuple(Comment(j, rng.choice(["philrig", "Thierry", "Xavier"]),
                                 f"2009-02-{j + 4:02d}T10:00", (rng.choice(sentences),))
                         for j in range(1, rng.randint(1, 4)))
        out.append(Thread(id=f"t{i:02d}", title=rng.choice(sentences)[:50],
                          paragraphs=paras, comments=comments))
    out.append(Thread(id="abeilles", title="Rucher", paragraphs=(
        "Les abeilles du village butinent.", "Le tramway traverse la vallée.")))
    return out


def changed(t: Thread, n: int) -> Thread:
    """A new version of a thread (one paragraph added)."""
    return dataclasses.replace(t, paragraphs=(*t.paragraphs,
                                              f"Mise à jour {n} : le village et l'internet."))


def hit_map(service: Service, query: str) -> dict[tuple[str, str, int], float]:
    """Every hit of a query: (thread, kind, position) -> score."""
    out: dict[tuple[str, str, int], float] = {}
    page = 1
    while True:
        res = service.search(query, page=page, per_page=100)
        out.update({(h.thread_id, h.kind, h.position): h.score for h in res.hits})
        if page * 100 >= res.total:
            return out
        page += 1


def assert_same_hits(updated: Service, rebuilt: Service) -> None:
    for q in QUERIES:
        a, b = hit_map(updated, q), hit_map(rebuilt, q)
        assert a == b, q


Op = tuple[str, int]  # ("update" | "change" | "delete", thread index)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(start=st.integers(0, 26), ops=st.lists(
    st.tuples(st.sampled_from(["update", "change", "delete"]), st.integers(0, 25)),
    min_size=1, max_size=12))
def test_updates_give_the_hits_of_a_full_rebuild(tmp_path_factory: pytest.TempPathFactory,
                                                 start: int, ops: list[Op]) -> None:
    threads = seed_threads()
    base = tmp_path_factory.mktemp("upd")
    current = {t.id: t for t in threads[:start]}
    order = [t.id for t in threads[:start]]
    build_index(threads[:start] or threads[:1], base / "a")
    if not start:
        current, order = {threads[0].id: threads[0]}, [threads[0].id]
    store = embedded(base / "a")
    try:
        for n, (op, i) in enumerate(ops):
            t = threads[i]
            if op == "delete":
                report = store.delete([t.id])
                assert report.deleted == (t.id in current)
                if current.pop(t.id, None) is not None:
                    order.remove(t.id)
                continue
            new = changed(current.get(t.id, t), n) if op == "change" else t
            report = store.update([new])
            if t.id in current and current[t.id] == new:
                assert report.unchanged == 1
            else:
                assert report.added + report.replaced == 1
            if t.id not in current:
                order.append(t.id)
            current[t.id] = new
        final = [current[tid] for tid in order if tid in current]
        if not final:
            assert store.stats().passages == 0
            return
        build_index(final, base / "b")
        rebuilt = embedded(base / "b")
        try:
            stats = store.stats()
            assert (stats.threads, stats.passages) == (len(final),
                                                       sum(len(t.passages()) for t in final))
            assert_same_hits(store, rebuilt)
            for t in final:
                assert store.get_thread(t.id) == dataclasses.replace(t, source="")
            store.optimize()
            assert store.stats().segments == 1 and store.stats().deleted == 0
            assert_same_hits(store, rebuilt)
        finally:
            rebuilt.close()
    finally:
        store.close()


def test_unchanged_update_writes_nothing(tmp_path: Path) -> None:
    threads = seed_threads()
    build_index(threads, tmp_path / "ix")
    before = read_current(tmp_path / "ix")
    report = writer.update(tmp_path / "ix", threads)
    assert (report.unchanged, report.added, report.replaced, report.passages) == (
        len(threads), 0, 0, 0)
    assert read_current(tmp_path / "ix") == before


def test_merge_policy_keeps_segments_few(tmp_path: Path) -> None:
    threads = seed_threads()
    build_index(threads[:1], tmp_path / "ix")
    for t in threads[1:]:
        writer.update(tmp_path / "ix", [t])
    _, manifest = read_current(tmp_path / "ix")
    assert len(threads) - 1 >= writer.SEGMENTS_PER_TIER  # the policy had to merge
    assert len(manifest.segments) < writer.SEGMENTS_PER_TIER
    assert manifest.live_threads == len(threads)


def open_descriptors() -> int:
    """How many file descriptors this process holds."""
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("small_file_bytes", [codec.SMALL_FILE_BYTES, 0])
def test_descriptors_stay_bounded_over_many_updates(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    small_file_bytes: int) -> None:
    """A long-lived server sees every update; the segments merged away release their files.

    With 0, every file is memory-mapped (as big segments are): each costs a descriptor
    for as long as a reader holds the segment.
    """
    monkeypatch.setattr(codec, "SMALL_FILE_BYTES", small_file_bytes)
    threads = seed_threads()
    build_index(threads[:1], tmp_path / "ix")
    service = embedded(tmp_path / "ix")
    try:
        assert service.search("internet").total
        after_first = open_descriptors()
        for n, t in enumerate(threads[1:] * 2):
            writer.update(tmp_path / "ix", [changed(t, n)])
            assert service.search("village").total  # sees the new generation
        live = read_current(tmp_path / "ix")[1].segments
        # all mapped: at most one descriptor per file of each live segment
        per_segment = max(sum(1 for f in (tmp_path / "ix" / s.name).rglob("*") if f.is_file())
                          for s in live) if small_file_bytes == 0 else 0
        assert open_descriptors() - after_first <= 4 + per_segment * len(live)
    finally:
        service.close()


def test_replacing_most_of_a_segment_rewrites_it(tmp_path: Path) -> None:
    threads = seed_threads()
    build_index(threads, tmp_path / "ix")
    writer.update(tmp_path / "ix", [changed(t, 1) for t in threads[: len(threads) // 2 + 1]])
    _, manifest = read_current(tmp_path / "ix")
    assert all(s.deleted is None for s in manifest.segments)  # expunged by the policy
    assert manifest.live_threads == len(threads)


# -- crashes --------------------------------------------------------------------------

def op_for(n: int, threads: list[Thread]) -> tuple[str, str]:
    """The n-th change the crash test's child makes: (kind, thread id)."""
    t = threads[n % len(threads)]
    if n % 7 == 3:
        return "delete", t.id
    if n % 11 == 5:
        return "optimize", ""
    return "update", t.id


_CHILD = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from test_update import changed, op_for, seed_threads
from indexer.store.whoosh import codec, writer

index_dir, log, start = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[4])
threads = seed_threads()
by_id = {t.id: t for t in threads}
for n in range(start, start + 10_000):
    kind, tid = op_for(n, threads)
    if kind == "delete":
        writer.delete(index_dir, [tid])
    elif kind == "optimize":
        writer.optimize(index_dir)
    else:
        writer.update(index_dir, [changed(by_id[tid], n)])
    with open(log, "a") as fh:
        fh.write(f"{n}\\n")
"""

State = dict[str, int | None]  # thread id -> version (None: the original)


def after(state: State, n: int, threads: list[Thread]) -> State:
    """The state after the child's n-th change."""
    kind, tid = op_for(n, threads)
    out = dict(state)
    if kind == "delete":
        out.pop(tid, None)
    elif kind == "update":
        out[tid] = n
    return out


def index_state(service: Service, threads: Iterable[Thread]) -> State:
    """What the index holds now."""
    out: State = {}
    for t in threads:
        found = service.get_thread(t.id)
        if found is not None:
            last = found.paragraphs[-1]
            out[t.id] = int(last.split()[3]) if last.startswith("Mise à jour") else None
    return out


def kill_child_mid_change(target: str, log: Path, done: int, rng: random.Random,
                          most: int, pause: float, script: str = _CHILD) -> None:
    """Start the changing child on ``target``, let it log 1 to ``most`` more changes past
    ``done``, then kill -9 it up to ``pause`` seconds later (inside the next change)."""
    tests_dir = str(Path(__file__).resolve().parent)
    child = subprocess.Popen(
        [sys.executable, "-c", script, target, str(log), tests_dir, str(done)],
        env={**child_env(), "PYTHONWARNINGS": "ignore"}, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE)
    wanted = done + rng.randint(1, most)
    try:
        wait_until(lambda: len(log.read_text().split()) >= wanted or child.poll() is not None,
                   "the child made no change")
        assert child.poll() is None, child.communicate()[1].decode(errors="replace")
        threading.Event().wait(rng.random() * pause)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.communicate(timeout=GENEROUS_SECONDS)


def reconcile(service: Service, state: State, log: Path, done: int,
              threads: list[Thread]) -> tuple[State, int, State]:
    """After a killed child: the state its logged changes lead to, and the index's own,
    which may be one change ahead (killed after its commit, before its log line; then it
    is logged here). Returns (state, changes done, the index's state)."""
    logged = [int(n) for n in log.read_text().split()]
    for n in logged[done:]:
        state = after(state, n, threads)
    done = len(logged)
    now = index_state(service, threads)
    ahead = after(state, done, threads)
    assert now in (state, ahead), (now, state)
    if now != state:
        state, done = ahead, done + 1
        with open(log, "a") as fh:
            fh.write(f"{done - 1}\n")
    return state, done, now


@pytest.mark.slow
def test_killed_updates_and_merges_leave_a_consistent_index(tmp_path: Path) -> None:
    threads = seed_threads()
    idx = tmp_path / "ix"
    build_index(threads, idx)
    rng = random.Random(11)
    log = tmp_path / "log"
    log.write_text("")
    state: State = {t.id: None for t in threads}
    done = 0  # changes known committed
    for _round in range(8):
        kill_child_mid_change(str(idx), log, done, rng, most=6, pause=0.05)
        service = embedded(idx)
        try:
            state, done, now = reconcile(service, state, log, done, threads)
            assert service.stats().threads == len(now)
            assert service.search("village").total >= 1
        finally:
            service.close()
        writer.update(idx, [])  # the next writer cleans what the killed one left
        assert not list(idx.glob("*.tmp"))


# -- concurrency ----------------------------------------------------------------------

def test_searches_during_updates_never_fail(tmp_path: Path) -> None:
    threads = seed_threads()
    idx = tmp_path / "ix"
    build_index(threads, idx)
    reader = embedded(idx)
    errors: list[BaseException] = []
    searches = [0]
    stop = threading.Event()

    def search() -> None:
        while not stop.is_set():
            try:
                res = reader.search("village", per_page=5)
                assert res.total >= 1 and res.hits
                searches[0] += 1
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
                return

    workers = [threading.Thread(target=search) for _ in range(3)]
    for w in workers:
        w.start()
    try:
        for n in range(12):
            writer.update(idx, [changed(threads[n % len(threads)], n)])
            if n % 6 == 5:
                writer.optimize(idx)
    finally:
        stop.set()
        for w in workers:
            w.join(GENEROUS_SECONDS)
    reader.close()
    assert not errors, errors[:3]
    assert searches[0] >= 12
    assert embedded(idx).search('"mise a jour 11"').total == 1
