"""The embedded index on disk: atomic changes through manifests, the write lock, statistics.

Every test builds real indexes in a temporary directory and searches them through the
real store; failures are provoked with real exceptions and a real killed process.
"""

from __future__ import annotations

import random
import re
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import (
    GENEROUS_SECONDS,
    SEED_FILE,
    build_index,
    embedded,
    segment_dirs,
    stuck_rebuild,
    whoosh_index,
)

from indexer.analysis import analyzer
from indexer.cli import EXIT_LOCKED, cli
from indexer.errors import IndexDamagedError, IndexMissingError, RebuildLockedError
from indexer.ingest.model import Comment, Thread
from indexer.ingest.parsing import read_sources
from indexer.store.whoosh.manifest import CURRENT, WRITE_LOCK, read_current, writer_lock


@pytest.fixture(scope="module")
def seed() -> Thread:
    [t] = read_sources([SEED_FILE]).threads
    return t


def thread(tid: str, *paragraphs: str, comments: Iterable[Comment] = ()) -> Thread:
    return Thread(id=tid, title=f"Fil {tid}", paragraphs=paragraphs, comments=tuple(comments))


A = [thread("a1", "Les abeilles butinent la lavande du jardin."),
     thread("a2", "Le rucher compte douze colonies d'abeilles.",
            comments=[Comment(1, "Hugo", "2017-04-23T08:30", ("Bravo aux apiculteurs !",))])]
B = [thread(f"b{i}", f"Le tramway numéro {i} traverse la vallée.") for i in range(1, 6)]


def hits(index_dir: Path, query: str) -> set[tuple[str, str, int]]:
    """(thread, kind, position) of every hit of a query on the current generation."""
    backend = embedded(index_dir)
    try:
        res = backend.search(query, per_page=100)
        return {(h.thread_id, h.kind, h.position) for h in res.hits}
    finally:
        backend.close()


def segments(index_dir: Path) -> list[str]:
    """Segment folders on disk (live or not yet cleaned)."""
    return sorted(p.name for p in index_dir.iterdir() if p.name.startswith("seg-"))


def manifests(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir() if p.name.startswith("manifest-"))


def leftovers(index_dir: Path) -> list[str]:
    """Temporary files and folders a rebuild must not leave behind."""
    return sorted(p.name for p in index_dir.iterdir() if p.name.endswith(".tmp"))


def gives_up_at_once(call: Callable[[], object]) -> BaseException:
    """What ``call`` raised; it must return or raise instead of waiting (for a lock).

    Run in a thread so that a call that blocks fails the test after GENEROUS_SECONDS
    instead of hanging the run.
    """
    raised: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            raised.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(GENEROUS_SECONDS)
    assert not worker.is_alive(), "the call waited instead of giving up"
    assert len(raised) == 1, "the call did not raise"
    return raised[0]


def failing(threads: Iterable[Thread], after: int,
            exc: BaseException | None = None) -> Iterator[Thread]:
    """Yield ``after`` threads, then raise (a rebuild that fails midway)."""
    for n, t in enumerate(threads):
        if n == after:
            raise exc or RuntimeError("disque plein")
        yield t


# -- atomic changes ---------------------------------------------------------------------


def test_build_creates_a_segment_a_manifest_and_current(tmp_path: Path) -> None:
    idx = tmp_path / "index"
    report = build_index(A, idx)
    assert (report.threads, report.passages) == (2, 3)
    assert report.location == str(idx) and report.seconds > 0
    name, manifest = read_current(idx)
    assert (idx / CURRENT).read_text(encoding="utf-8") == name + "\n"
    assert [s.live_docs for s in manifest.segments] == [3]
    assert segments(idx) == [s.name for s in manifest.segments]
    assert (idx / WRITE_LOCK).exists()
    assert leftovers(idx) == []
    assert hits(idx, "abeilles") == {("a1", "post", 1), ("a2", "post", 1)}


@pytest.mark.parametrize("after", [0, 1])
def test_failed_rebuild_keeps_the_old_index(tmp_path: Path, after: int) -> None:
    idx = tmp_path / "index"
    build_index(A, idx)
    current = (idx / CURRENT).read_text(encoding="utf-8")
    segs = segments(idx)
    with pytest.raises(RuntimeError, match="disque plein"):
        build_index(failing(B, after), idx)
    assert (idx / CURRENT).read_text(encoding="utf-8") == current
    assert segments(idx) == segs
    assert leftovers(idx) == []
    assert hits(idx, "abeilles") == {("a1", "post", 1), ("a2", "post", 1)}
    assert hits(idx, "tramway") == set()
    assert whoosh_index(idx).doc_count() == 3
    # and the next rebuild works
    build_index(B, idx)
    assert len(hits(idx, "tramway")) == 5 and hits(idx, "abeilles") == set()


def test_interrupted_rebuild_keeps_the_old_index(tmp_path: Path) -> None:
    idx = tmp_path / "index"
    build_index(A, idx)
    current = (idx / CURRENT).read_text(encoding="utf-8")
    with pytest.raises(KeyboardInterrupt):
        build_index(failing(B, 3, KeyboardInterrupt()), idx)
    assert (idx / CURRENT).read_text(encoding="utf-8") == current
    assert leftovers(idx) == []
    assert hits(idx, "lavande") == {("a1", "post", 1)}


def test_failing_progress_callback_keeps_the_old_index(tmp_path: Path) -> None:
    idx = tmp_path / "index"
    build_index(A, idx)
    current = (idx / CURRENT).read_text(encoding="utf-8")

    def progress(n: int) -> None:
        raise OSError("plus de place")

    with pytest.raises(OSError, match="plus de place"):
        build_index(B, idx, progress=progress)
    assert (idx / CURRENT).read_text(encoding="utf-8") == current
    assert leftovers(idx) == []


def test_progress_counts_passages(tmp_path: Path, seed: Thread) -> None:
    idx = tmp_path / "index"
    counts: list[int] = []
    report = build_index([seed, *A], idx, progress=counts.append)
    assert counts == [29, 1, 2] and sum(counts) == report.passages == 32


def test_first_failed_build_leaves_no_index(tmp_path: Path) -> None:
    idx = tmp_path / "index"
    with pytest.raises(RuntimeError):
        build_index(failing(A, 1), idx)
    assert not (idx / CURRENT).exists()
    assert segments(idx) == [] and leftovers(idx) == []
    with pytest.raises(IndexMissingError):
        read_current(idx)
    with pytest.raises(IndexMissingError):
        embedded(idx).search("abeilles")


def test_leftover_tmp_files_are_cleaned(tmp_path: Path) -> None:
    idx = tmp_path / "index"
    build_index(A, idx)
    stale = idx / "seg-20000101T000000000000-deadbeef.tmp"
    (stale / "sub").mkdir(parents=True)
    (stale / "_passages_0.toc").write_bytes(b"\x00garbage")
    (stale / "sub" / "x.seg").write_bytes(b"\x00" * 100)
    (idx / "manifest-000000099.json.123.tmp").write_text("{", encoding="utf-8")
    build_index(B, idx)
    assert not stale.exists() and leftovers(idx) == []
    assert len(hits(idx, "tramway")) == 5


def test_killed_rebuild_is_cleaned_by_the_next_one(tmp_path: Path) -> None:
    """A child process starts a rebuild, is killed mid-way; the next rebuild recovers."""
    idx = tmp_path / "index"
    build_index(A, idx)
    current = (idx / CURRENT).read_text(encoding="utf-8")
    with stuck_rebuild(idx, "kiosque") as child:
        assert len(leftovers(idx)) == 1 and leftovers(idx)[0].startswith("seg-")
        # while the child holds the lock, another writer gives up at once
        refused = gives_up_at_once(lambda: build_index(B, idx))
        assert isinstance(refused, RebuildLockedError) and "another change" in str(refused)
        # readers still see the old index
        assert hits(idx, "lavande") == {("a1", "post", 1)}
        child.kill()
    assert child.returncode == -signal.SIGKILL
    assert (idx / CURRENT).read_text(encoding="utf-8") == current
    assert len(leftovers(idx)) == 1  # what the killed build left
    build_index(B, idx)
    assert leftovers(idx) == []
    assert len(hits(idx, "tramway")) == 5 and hits(idx, "kiosque") == set()


def test_old_segments_go_once_no_reader_holds_them(tmp_path: Path) -> None:
    idx = tmp_path / "index"
    build_index([thread("v0", "Version 0 du texte : mot0.")], idx)
    reader = embedded(idx)
    try:
        assert reader.search("mot0").total == 1  # holds a lease on the first manifest
        first = segments(idx)
        for i in range(1, 4):
            build_index([thread(f"v{i}", f"Version {i} du texte : mot{i}.")], idx)
            live = [s.name for s in read_current(idx)[1].segments]
            assert set(first) <= set(segments(idx))  # the reader's segment stays
            assert set(live) <= set(segments(idx))
            assert len(segments(idx)) == 2  # and nothing else: unread ones are removed
        assert reader.search("mot0").total == 0 and reader.search("mot3").total == 1
        held = [s.name for s in read_current(idx)[1].segments]  # the reader is on v3 now
        build_index([thread("v4", "Version 4 du texte : mot4.")], idx)
        live = [s.name for s in read_current(idx)[1].segments]
        assert sorted(segments(idx)) == sorted({*held, *live}) and len(segments(idx)) == 2
        assert len(manifests(idx)) == 2  # the reader's current one, and the new one
    finally:
        reader.close()
    build_index([thread("v5", "Version 5.")], idx)
    assert len(manifests(idx)) == 1 and len(segments(idx)) == 1


def test_an_old_format_index_is_reported_not_replaced(tmp_path: Path) -> None:
    idx = tmp_path / "index"
    (idx / "gen-20260101T000000000000-1").mkdir(parents=True)
    (idx / CURRENT).write_text("gen-20260101T000000000000-1\n", encoding="utf-8")
    with pytest.raises(IndexDamagedError, match="older version"):
        embedded(idx).search("x")
    assert (idx / "gen-20260101T000000000000-1").is_dir()
    build_index(A, idx)  # an explicit rebuild replaces it
    assert not (idx / "gen-20260101T000000000000-1").exists()
    assert hits(idx, "lavande") == {("a1", "post", 1)}


# -- the write lock -----------------------------------------------------------------------


def test_write_lock_refuses_a_second_writer(tmp_path: Path) -> None:
    idx = tmp_path / "index"
    build_index(A, idx)
    current = (idx / CURRENT).read_text(encoding="utf-8")
    with writer_lock(idx):
        with pytest.raises(RebuildLockedError, match=f"another change to {idx}"):
            build_index(B, idx)
        with pytest.raises(RebuildLockedError), writer_lock(idx):
            pass  # pragma: no cover - never entered
        result = CliRunner().invoke(cli, ["rebuild", "--source", str(SEED_FILE),
                                          "--index", str(idx)])
        assert result.exit_code == EXIT_LOCKED == 4
        assert result.stderr.count("\n") == 1 and "another change" in result.stderr
        assert "Traceback" not in result.output
    assert (idx / CURRENT).read_text(encoding="utf-8") == current
    assert leftovers(idx) == []
    build_index(B, idx)  # released
    assert len(hits(idx, "tramway")) == 5


def test_lock_is_released_after_a_failure(tmp_path: Path) -> None:
    idx = tmp_path / "index"
    with pytest.raises(RuntimeError):
        build_index(failing(A, 1), idx)
    with writer_lock(idx):
        pass
    build_index(A, idx)


# -- stats --------------------------------------------------------------------------------


def test_index_stats_counts(tmp_path: Path, seed: Thread) -> None:
    idx = tmp_path / "index"
    build_index([seed, *A, *B], idx)
    st = embedded(idx).stats()
    assert (st.threads, st.passages, st.segments, st.deleted) == (1 + 2 + 5, 29 + 3 + 5, 1, 0)
    ana = analyzer()
    expected_terms = {term for t in [seed, *A, *B] for p in t.passages()
                      for term in ana.terms(p.text)}
    assert st.terms == len(expected_terms)
    assert st.location == str(idx)
    files = [f for d in segment_dirs(idx) for f in d.rglob("*") if f.is_file()]
    assert st.size_bytes == sum(f.stat().st_size for f in files)
    assert st.built_at is not None and re.match(r"\d{4}-\d{2}-\d{2}T", st.built_at)


def test_index_stats_without_index(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError, match="no index at"):
        embedded(tmp_path / "nothing").stats()
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / CURRENT).write_text("../../etc\n", encoding="utf-8")
    with pytest.raises(IndexDamagedError):
        embedded(tmp_path / "broken").stats()


# -- the multi-process writer ----------------------------------------------------------


def synthetic_threads(seed: Thread, n: int = 60) -> list[Thread]:
    """Threads recombining the seed's sentences: a few hundred passages, reproducibly."""
    texts = list(seed.paragraphs) + [p for c in seed.comments for p in c.paragraphs]
    sentences = [s for text in texts for s in re.split(r"(?<=[.!?])\s+", text) if len(s) > 15]
    authors = sorted({c.author for c in seed.comments if c.author})
    rng = random.Random(20090205)
    out = []
    for i in range(n):
        paras = tuple(" ".join(rng.sample(sentences, 3)) for _ in range(rng.randint(2, 6)))
        comments = tuple(
            Comment(j, rng.choice(authors), f"2009-03-{j:02d}T12:00",
                    tuple(" ".join(rng.sample(sentences, 2)) for _ in range(rng.randint(1, 2))))
            for j in range(1, rng.randint(1, 5)))
        out.append(Thread(id=f"synth-{i:03d}", title=" ".join(rng.sample(sentences, 1))[:60],
                          paragraphs=paras, comments=comments))
    return out


WORD_QUERIES = ["tres haut debit", "Lippi", "entreprise clients", "Obama", "webschool formation",
                "termites", "internet"]


def test_impact_ranking_matches_whoosh_boolean_search(tmp_path: Path, seed: Thread) -> None:
    """The numpy evaluator finds exactly the passages Whoosh's own AND query finds."""
    from whoosh import query as wq

    threads = [seed, *synthetic_threads(seed)]
    build_index(threads, tmp_path / "ix")
    backend = embedded(tmp_path / "ix")
    searcher = whoosh_index(tmp_path / "ix").searcher()
    try:
        for q in WORD_QUERIES:
            terms = analyzer().terms(q)
            whoosh_q = wq.And([wq.Term("content", t) for t in terms])
            expected = set()
            for docnum in searcher.docs_for_query(whoosh_q):
                f = searcher.stored_fields(docnum)
                expected.add((f["thread_id"], f["kind"], f["position"]))
            assert expected, q
            got = set()
            page = 1
            while True:
                res = backend.search(q, page=page, per_page=100)
                got |= {(h.thread_id, h.kind, h.position) for h in res.hits}
                if page * 100 >= res.total:
                    break
                page += 1
            assert res.total == len(expected), q
            assert got == expected, q
    finally:
        searcher.close()
        backend.close()


def test_reader_opened_before_a_rebuild_sees_the_new_content(tmp_path: Path) -> None:
    idx = tmp_path / "index"
    build_index(A, idx)
    backend = embedded(idx)
    try:
        before = backend.search("abeilles")
        assert {h.thread_id for h in before.hits} == {"a1", "a2"}
        assert backend.get_thread("a1") is not None and backend.get_thread("b1") is None
        build_index(B, idx)
        after = backend.search("tramway", per_page=10)
        assert after.total == 5 and {h.thread_id for h in after.hits} == {
            f"b{i}" for i in range(1, 6)}
        assert backend.search("abeilles").total == 0
        assert backend.get_thread("a1") is None and backend.get_thread("b3") is not None
        assert backend.stats().threads == 5
        # a failed rebuild changes nothing for that reader
        with pytest.raises(RuntimeError):
            build_index(failing(A, 1), idx)
        assert backend.search("tramway").total == 5
        # and a second swap is seen too
        build_index(A[:1], idx)
        assert {h.thread_id for h in backend.search("abeilles lavande").hits} == {"a1"}
    finally:
        backend.close()


def test_phrase_total_is_a_lower_bound_past_the_check_limit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past PHRASE_CHECK_LIMIT candidates the total is marked inexact, here and on the page."""
    from indexer.settings import Settings
    from indexer.store import scoring as engine
    from search_app import create_app

    # The phrase in five passages, shortest (best BM25) first; the words apart, in five
    # longer ones. With 4 candidates checked, the 4 shortest phrase passages are found.
    fill = ["dort", "bien", "ici", "souvent"]
    phrase = [thread(f"p{n}", " ".join(["chat noir", *fill[:n]])) for n in range(5)]
    apart = [thread(f"a{n}", " ".join(["noir comme le chat", *fill, *fill[:n]]))
             for n in range(5)]
    build_index(apart[:3] + phrase + apart[3:], tmp_path / "ix")
    backend = embedded(tmp_path / "ix")
    try:
        full = backend.search('"chat noir"')
        assert (full.total, full.total_exact) == (5, True)
        assert [h.thread_id for h in full.hits] == ["p0", "p1", "p2", "p3", "p4"]
        monkeypatch.setattr(engine, "PHRASE_CHECK_LIMIT", 4)
        part = backend.search('"chat noir"')
        assert (part.total, part.total_exact) == (4, False)
        assert [h.thread_id for h in part.hits] == ["p0", "p1", "p2", "p3"]
    finally:
        backend.close()
    app = create_app({"TESTING": True}, settings=Settings(index_dir=tmp_path / "ix"))
    try:
        client = app.test_client()
        data = client.get("/api/search", query_string={"q": '"chat noir"'}).json
        assert (data["total"], data["total_exact"]) == (4, False)
        assert "au moins" in client.get("/", query_string={"q": '"chat noir"'}).text
    finally:
        app.extensions["fil"].close()


def test_phrase_check_limit_keeps_index_order_among_equal_scores(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from indexer.store import scoring as engine

    build_index([thread(f"t{i:04d}", "le chat noir") for i in range(1000)], tmp_path / "ix")
    monkeypatch.setattr(engine, "PHRASE_CHECK_LIMIT", 20)
    backend = embedded(tmp_path / "ix")
    try:
        res = backend.search('"chat noir"', per_page=5)
        assert (res.total, res.total_exact) == (20, False)
        assert [h.thread_id for h in res.hits] == [f"t{i:04d}" for i in range(5)]
    finally:
        backend.close()
