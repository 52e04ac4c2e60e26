"""The index on disk: atomic generations, failed and killed rebuilds, the rebuild lock,
pruning, stats, the multi-process writer, and readers following a swap.

Real Whoosh indexes in tmp dirs; a real child process for the killed rebuild.
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
from helpers import GENEROUS_SECONDS, SEED_FILE, embedded, stuck_rebuild

from indexer.analysis import analyzer
from indexer.cli import EXIT_LOCKED, cli
from indexer.errors import IndexMissingError, RebuildLockedError
from indexer.ingest.model import Comment, Thread
from indexer.ingest.parsing import read_sources
from indexer.store.whoosh.generations import (
    CURRENT,
    KEEP_GENERATIONS,
    LOCK,
    build_index,
    current_generation,
    index_stats,
    open_generation,
    rebuild_lock,
)


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


def generations(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir() if p.name.startswith("gen-"))


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


# -- atomic generations ----------------------------------------------------------------


def test_build_creates_a_generation_and_current(tmp_path: Path) -> None:
    idx = tmp_path / "index"
    report = build_index(A, idx)
    assert (report.threads, report.passages) == (2, 3)
    assert report.location == str(idx) and report.seconds > 0
    gen = current_generation(idx)
    assert gen is not None and gen.name.startswith("gen-")
    assert (idx / CURRENT).read_text(encoding="utf-8") == gen.name + "\n"
    assert (idx / LOCK).exists()
    assert leftovers(idx) == []
    assert hits(idx, "abeilles") == {("a1", "post", 1), ("a2", "post", 1)}


@pytest.mark.parametrize("after", [0, 1])
def test_failed_rebuild_keeps_the_old_index(tmp_path: Path, after: int) -> None:
    idx = tmp_path / "index"
    build_index(A, idx)
    current = (idx / CURRENT).read_text(encoding="utf-8")
    gens = generations(idx)
    with pytest.raises(RuntimeError, match="disque plein"):
        build_index(failing(B, after), idx)
    assert (idx / CURRENT).read_text(encoding="utf-8") == current
    assert generations(idx) == gens
    assert leftovers(idx) == []
    assert hits(idx, "abeilles") == {("a1", "post", 1), ("a2", "post", 1)}
    assert hits(idx, "tramway") == set()
    _, pix, tix = open_generation(idx)
    assert pix.doc_count() == 3 and tix.doc_count() == 2
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


def test_progress_and_on_swap(tmp_path: Path, seed: Thread) -> None:
    idx = tmp_path / "index"
    counts: list[int] = []
    swapped: list[Path] = []

    def on_swap(gen: Path) -> None:
        assert current_generation(idx) == gen  # CURRENT already names it
        swapped.append(gen)

    report = build_index([seed, *A], idx, progress=counts.append, on_swap=on_swap)
    assert counts == [29, 1, 2] and sum(counts) == report.passages == 32
    assert swapped == [current_generation(idx)]


def test_first_failed_build_leaves_no_index(tmp_path: Path) -> None:
    idx = tmp_path / "index"
    with pytest.raises(RuntimeError):
        build_index(failing(A, 1), idx)
    assert current_generation(idx) is None
    assert generations(idx) == []
    with pytest.raises(IndexMissingError):
        open_generation(idx)


def test_leftover_tmp_generation_is_cleaned(tmp_path: Path) -> None:
    idx = tmp_path / "index"
    build_index(A, idx)
    stale = idx / "gen-20000101T000000000000-1.tmp"
    (stale / "sub").mkdir(parents=True)
    (stale / "_passages_0.toc").write_bytes(b"\x00garbage")
    (stale / "sub" / "x.seg").write_bytes(b"\x00" * 100)
    build_index(B, idx)
    assert not stale.exists() and leftovers(idx) == []
    assert len(hits(idx, "tramway")) == 5


def test_killed_rebuild_is_cleaned_by_the_next_one(tmp_path: Path) -> None:
    """A child process starts a rebuild, is killed mid-way; the next rebuild recovers."""
    idx = tmp_path / "index"
    build_index(A, idx)
    current = (idx / CURRENT).read_text(encoding="utf-8")
    with stuck_rebuild(idx, "kiosque") as child:
        assert len(leftovers(idx)) == 1 and leftovers(idx)[0].startswith("gen-")
        # while the child holds the lock, another rebuild gives up at once
        refused = gives_up_at_once(lambda: build_index(B, idx))
        assert isinstance(refused, RebuildLockedError) and "another rebuild" in str(refused)
        # readers still see the old index
        assert hits(idx, "lavande") == {("a1", "post", 1)}
        child.kill()
    assert child.returncode == -signal.SIGKILL
    assert (idx / CURRENT).read_text(encoding="utf-8") == current
    assert len(leftovers(idx)) == 1  # what the killed build left
    build_index(B, idx)
    assert leftovers(idx) == []
    assert len(hits(idx, "tramway")) == 5 and hits(idx, "kiosque") == set()


def test_old_generations_are_pruned(tmp_path: Path) -> None:
    idx = tmp_path / "index"
    names = []
    for i in range(5):
        build_index([thread(f"v{i}", f"Version {i} du texte : mot{i}.")], idx)
        names.append(current_generation(idx).name)  # type: ignore[union-attr]
        # the current one, and the previous one for readers still on it
        assert generations(idx) == sorted(names[-KEEP_GENERATIONS:])
    assert KEEP_GENERATIONS == 2 and generations(idx) == sorted(names[-2:])
    assert len(set(names)) == 5


# -- the rebuild lock ---------------------------------------------------------------------


def test_rebuild_lock_refuses_a_second_rebuild(tmp_path: Path) -> None:
    idx = tmp_path / "index"
    build_index(A, idx)
    current = (idx / CURRENT).read_text(encoding="utf-8")
    with rebuild_lock(idx):
        refused = gives_up_at_once(lambda: build_index(B, idx))
        assert isinstance(refused, RebuildLockedError)
        assert f"another rebuild of {idx}" in str(refused)
        with pytest.raises(RebuildLockedError), rebuild_lock(idx):
            pass  # pragma: no cover - never entered
        result = CliRunner().invoke(cli, ["rebuild", "--source", str(SEED_FILE),
                                          "--index", str(idx)])
        assert result.exit_code == EXIT_LOCKED == 4
        assert result.stderr.count("\n") == 1 and "another rebuild" in result.stderr
        assert "Traceback" not in result.output
    assert (idx / CURRENT).read_text(encoding="utf-8") == current
    assert leftovers(idx) == []
    build_index(B, idx)  # released
    assert len(hits(idx, "tramway")) == 5


def test_lock_is_released_after_a_failure(tmp_path: Path) -> None:
    idx = tmp_path / "index"
    with pytest.raises(RuntimeError):
        build_index(failing(A, 1), idx)
    with rebuild_lock(idx):
        pass
    build_index(A, idx)


# -- stats --------------------------------------------------------------------------------


def test_index_stats_counts(tmp_path: Path, seed: Thread) -> None:
    idx = tmp_path / "index"
    build_index([seed, *A, *B], idx)
    st = index_stats(idx)
    assert (st.threads, st.passages) == (1 + 2 + 5, 29 + 3 + 5)
    ana = analyzer()
    expected_terms = {term for t in [seed, *A, *B] for p in t.passages()
                      for term in ana.terms(p.text)}
    assert st.terms == len(expected_terms)
    gen = current_generation(idx)
    assert gen is not None and st.location == str(gen)
    assert st.size_bytes == sum(f.stat().st_size for f in gen.rglob("*") if f.is_file())
    assert st.built_at is not None and re.match(r"\d{4}-\d{2}-\d{2}T", st.built_at)


def test_index_stats_without_index(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError, match="no index at"):
        index_stats(tmp_path / "nothing")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / CURRENT).write_text("../../etc\n", encoding="utf-8")
    with pytest.raises(IndexMissingError):
        index_stats(tmp_path / "broken")


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
    gen = backend.store._generation()
    try:
        for q in WORD_QUERIES:
            terms = analyzer().terms(q)
            whoosh_q = wq.And([wq.Term("content", t) for t in terms])
            expected = set()
            for docnum in gen.passages.docs_for_query(whoosh_q):
                f = gen.passages.stored_fields(docnum)
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
        # and a second swap is seen too (the first generation is pruned meanwhile)
        build_index(A[:1], idx)
        assert {h.thread_id for h in backend.search("abeilles lavande").hits} == {"a1"}
    finally:
        backend.close()


def test_phrase_total_is_a_lower_bound_past_the_check_limit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past PHRASE_CHECK_LIMIT candidates the total is marked inexact, here and on the page."""
    from indexer.settings import Settings
    from indexer.store.whoosh import store as engine
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


@pytest.mark.xfail(strict=True, reason="library bug: past PHRASE_CHECK_LIMIT the embedded store "
                   "checks the candidates numpy's argpartition happens to put first among equal "
                   "scores (here passages 968-991 of 1000), not the first in index order, so "
                   "the page breaks the store contract (best first, then index order) and "
                   "differs from PostgreSQL's, which checks every candidate")
def test_phrase_check_limit_keeps_index_order_among_equal_scores(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from indexer.store.whoosh import store as engine

    build_index([thread(f"t{i:04d}", "le chat noir") for i in range(1000)], tmp_path / "ix")
    monkeypatch.setattr(engine, "PHRASE_CHECK_LIMIT", 20)
    backend = embedded(tmp_path / "ix")
    try:
        res = backend.search('"chat noir"', per_page=5)
        assert (res.total, res.total_exact) == (20, False)
        assert [h.thread_id for h in res.hits] == [f"t{i:04d}" for i in range(5)]
    finally:
        backend.close()
