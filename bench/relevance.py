"""PIAF relevance: MRR@10 and Recall@10 of the search core on French questions.

Data: ``/work/shared/eval/piaf/threads.jsonl`` (480 single-post threads; each paragraph
is a passage of kind "post" whose ``position`` is the paragraph number) and
``queries.jsonl`` (7,569 questions, each with the ``thread_id`` and ``position`` of the
paragraph holding its answer).

The threads go through the project's own path (``read_sources`` + ``build_index`` into a
temporary directory); every question goes unchanged to ``engine.search(q, per_page=10)``.
Nothing here knows the eval set beyond its file format.

* passage level: a hit is right when thread_id, kind "post" and position all match;
* thread level: a hit is right when its thread_id matches (first such hit counts).

MRR@10 is the mean of 1/rank of the first right hit (0 if none in the top 10);
Recall@10 the share of questions with a right hit in the top 10. The same figures are
computed for SQLite FTS5 (unicode61 remove_diacritics 2, OR of the question's tokens,
bm25) as a check of this harness against the published reference.

Run::

    python bench/relevance.py            # all 7,569 questions
    python bench/relevance.py --limit 500
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import fil_adapter  # noqa: E402
import fts5  # noqa: E402

PIAF = Path(__file__).resolve().parent.parent.parent / "shared" / "eval" / "piaf"
REFERENCES = (
    ("reference: BM25 (k1 0.9, b 0.4), elision+stop+unidecode+Snowball FR", 0.752, 0.877),
    ("reference: SQLite FTS5 unicode61 remove_diacritics 2, OR query", 0.735, 0.864),
)

#: (thread_id, kind, position) of one ranked hit.
HitKey = tuple[str, str, int]


@dataclass(frozen=True, slots=True)
class Question:
    """One PIAF question and where its answer is."""

    query: str
    thread_id: str
    position: int


@dataclass(slots=True)
class Scores:
    """Running MRR@10 / Recall@10 at passage and thread level."""

    n: int = 0
    passage_rr: float = 0.0
    passage_hits: int = 0
    thread_rr: float = 0.0
    thread_hits: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, q: Question, hits: list[HitKey]) -> None:
        """Score one question's top-10 list."""
        self.n += 1
        for rank, (tid, kind, pos) in enumerate(hits[:10], start=1):
            if tid == q.thread_id and kind == "post" and pos == q.position:
                self.passage_rr += 1 / rank
                self.passage_hits += 1
                break
        for rank, (tid, _, _) in enumerate(hits[:10], start=1):
            if tid == q.thread_id:
                self.thread_rr += 1 / rank
                self.thread_hits += 1
                break

    def timing(self) -> str:
        """Total and per-question time."""
        return f"{self.seconds:.1f}s ({1000 * self.seconds / max(1, self.n):.1f} ms/q)"

    def row(self) -> tuple[float, float, float, float]:
        """(passage MRR@10, passage R@10, thread MRR@10, thread R@10)."""
        n = max(1, self.n)
        return (self.passage_rr / n, self.passage_hits / n,
                self.thread_rr / n, self.thread_hits / n)


def load_questions(path: Path, limit: int | None = None) -> list[Question]:
    """The questions of a queries.jsonl file (the first ``limit`` if given)."""
    out = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                d = json.loads(line)
                out.append(Question(d["query"], d["thread_id"], int(d["position"])))
            if limit is not None and len(out) >= limit:
                break
    return out


def evaluate(questions: Iterable[Question],
             search: Callable[[str], list[HitKey]]) -> Scores:
    """Run every question through ``search`` and score it (errors count as no hits)."""
    scores = Scores()
    started = time.perf_counter()
    for q in questions:
        try:
            hits = search(q.query)
        except Exception as exc:  # an engine error is a miss, and is reported
            scores.errors.append(f"{q.query!r}: {type(exc).__name__}: {exc}")
            hits = []
        scores.add(q, hits)
    scores.seconds = time.perf_counter() - started
    return scores


class Project:
    """The project's search core over one index of the threads, for every configuration."""

    def __init__(self, threads_path: Path, workdir: Path) -> None:
        read = fil_adapter.read_threads([threads_path])
        if read.rejected:
            print(f"warning: {len(read.rejected)} thread(s) rejected, e.g. {read.rejected[0]}",
                  file=sys.stderr)
        fil_adapter.build_index(read.threads, workdir / "index")
        self.engine = fil_adapter.Engine(workdir / "index")

    def scores(self, questions: list[Question], config: dict | None = None) -> Scores:
        return evaluate(questions, lambda q: self.engine.search(q, config=config))

    def close(self) -> None:
        self.engine.close()


#: Ablation rows: each capability removed from the final design (RankingConfig switches).
#: (The analysis rules — inverted subjects, ordinals — have no switch: they change the
#: index; their effect was measured in the research branch, see the README.)
ABLATIONS: list[tuple[str, dict]] = [
    ("thread-first as ported (before the relevance push)",
     {"title_inherit": False, "proper_boost": 1.0, "per_thread": 3}),
    ("final − title inheritance", {"title_inherit": False}),
    ("final − capitalised words weighted (proper_boost 1)", {"proper_boost": 1.0}),
    ("final − deeper thread pool (per_thread 3)", {"per_thread": 3}),
    ("final − questions (AND first, interrogatives searched)", {"questions": False}),
    ("final − whole-thread score", {"thread": False}),
    ("final − coordination", {"coordination": False}),
    ("final − proximity", {"proximity": False}),
    ("final − title share (inheritance kept)", {"titles": False}),
    ("final − unknown-word rescue", {"rescue": False}),
    ("final − all of them (BM25 + any-word fallback)",
     {"questions": False, "thread": False, "coordination": False, "proximity": False,
      "titles": False, "rescue": False, "title_inherit": False, "proper_boost": 1.0}),
]


def split(questions: list[Question], which: str) -> list[Question]:
    """Even (0-based line index: the only ones tuned on) or odd (held out) questions."""
    return [q for i, q in enumerate(questions) if i % 2 == (0 if which == "even" else 1)]


def fts5_scores(threads_path: Path, questions: list[Question], workdir: Path) -> Scores:
    """Index the same passages in FTS5 and score its OR query (bm25, top 10)."""
    db = workdir / "piaf.db"
    fts5.build(fts5.corpus_rows(threads_path), db)
    index = fts5.Fts5Index(db)
    try:
        def search(q: str) -> list[HitKey]:
            return [(h.thread_id, h.kind, h.position)
                    for h in index.search(q, mode="or", snippets=False)]
        return evaluate(questions, search)
    finally:
        index.close()


def table(rows: list[tuple[str, tuple[float, ...], str]]) -> str:
    """A markdown table of the scores (``—`` where a level was not measured)."""
    lines = ["| system | passage MRR@10 | passage R@10 | thread MRR@10 | thread R@10 | time |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, vals, secs in rows:
        cells = [f"{v:.3f}" for v in vals] + ["—"] * (4 - len(vals))
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {secs} |")
    return "\n".join(lines)


def split_table(rows: list[tuple[str, Scores, Scores]]) -> str:
    """Even and odd figures side by side."""
    lines = ["| configuration | even P-MRR@10 | even P-R@10 | even T-MRR@10 | odd P-MRR@10 "
             "| odd P-R@10 | odd T-MRR@10 | odd T-R@10 |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, even, odd in rows:
        e, o = even.row(), odd.row()
        lines.append(f"| {name} | {e[0]:.4f} | {e[1]:.4f} | {e[2]:.4f} | {o[0]:.4f} | "
                     f"{o[1]:.4f} | {o[2]:.4f} | {o[3]:.4f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=None, help="run only the first N questions")
    ap.add_argument("--data", type=Path, default=PIAF, help="folder with threads/queries.jsonl")
    ap.add_argument("--threads", type=Path, default=None,
                    help="index these threads instead of the data folder's (a sanity set)")
    ap.add_argument("--ablation", action="store_true", help="every ablation row too")
    ap.add_argument("--no-fts5", action="store_true", help="skip the FTS5 check")
    args = ap.parse_args(argv)
    threads_path = args.threads or args.data / "threads.jsonl"
    questions = load_questions(args.data / "queries.jsonl", args.limit)
    even, odd = split(questions, "even"), split(questions, "odd")
    rows: list[tuple[str, tuple[float, ...], str]] = []
    split_rows: list[tuple[str, Scores, Scores]] = []
    with tempfile.TemporaryDirectory(prefix="fil-piaf-") as tmp:
        project = Project(threads_path, Path(tmp))
        try:
            ours = project.scores(questions)
            split_rows.append(("final (the product)", project.scores(even),
                               project.scores(odd)))
            if args.ablation:
                for name, config in ABLATIONS:
                    split_rows.append((name, project.scores(even, config),
                                       project.scores(odd, config)))
        finally:
            project.close()
        rows.append(("Fil search core", ours.row(), ours.timing()))
        if not args.no_fts5:
            check = fts5_scores(threads_path, questions, Path(tmp))
            rows.append(("SQLite FTS5 OR query (this harness)", check.row(), check.timing()))
    rows.extend((name, (mrr, rec), "") for name, mrr, rec in REFERENCES)
    print(f"PIAF: {len(questions)} questions, threads {threads_path}")
    print(table(rows))
    print()
    print("Even questions (the only ones tuned on) and odd ones (held out):")
    print(split_table(split_rows))
    if ours.errors:
        print(f"\n{len(ours.errors)} question(s) raised errors, e.g.:")
        for e in ours.errors[:5]:
            print(f"  {e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
