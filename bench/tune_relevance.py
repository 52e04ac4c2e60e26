"""Even-only experiments on the thread-first ranking (odd questions are never read here).

Builds each thread file's index once (kept under ``bench/out/tune-<name>`` and reused
while the file and the analysis are unchanged), then scores the EVEN PIAF questions
(0-based line index even) for each configuration: the defaults, then every ``--try``
(a JSON object of :class:`indexer.search.ranking.RankingConfig` changes) or every value
of every ``--set name=v1,v2``.

Run::

    PYTHONPATH=$PWD python bench/tune_relevance.py --distractors --set w_phrase=0.2,0.4
    PYTHONPATH=$PWD python bench/tune_relevance.py --try '{"prf": true}'
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import fil_adapter  # noqa: E402
from relevance import PIAF, Question, Scores, load_questions, split  # noqa: E402

BENCH = Path(__file__).resolve().parent
DISTRACTORS = BENCH / "corpora" / "piaf-distractors.jsonl"
TITLED = BENCH / "corpora" / "piaf-distractors-titled.jsonl"


def _stamp(threads: Path) -> str:
    """What the index depends on: the thread file and the analysis code."""
    h = hashlib.sha1()
    st = threads.stat()
    h.update(f"{threads.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode())
    for p in sorted((BENCH.parent / "indexer" / "analysis").rglob("*")):
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def engine_for(threads: Path) -> fil_adapter.Engine:
    """An engine on this thread file's index (built when missing or stale)."""
    folder = BENCH / "out" / f"tune-{threads.stem}"
    stamp = folder / "stamp"
    if not (stamp.exists() and stamp.read_text() == _stamp(threads)):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        read = fil_adapter.read_threads([threads])
        fil_adapter.build_index(read.threads, folder / "index")
        stamp.write_text(_stamp(threads))
    return fil_adapter.Engine(folder / "index")


def run(engine: fil_adapter.Engine, questions: list[Question], config: dict,
        ranks: list[int] | None = None) -> Scores:
    """Score the questions under one configuration (``ranks``: each one's passage rank)."""
    s = Scores()
    t0 = time.perf_counter()
    for q in questions:
        hits = engine.search(q.query, config=config or None)
        s.add(q, hits)
        if ranks is not None:
            r = next((i for i, (tid, kind, pos) in enumerate(hits[:10], 1)
                      if tid == q.thread_id and kind == "post" and pos == q.position), 0)
            ranks.append(r)
    s.seconds = time.perf_counter() - t0
    return s


def parse_value(v: str) -> object:
    try:
        return json.loads(v)
    except json.JSONDecodeError:
        return v


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", action="append", default=[], help="name=v1,v2,...")
    ap.add_argument("--try", dest="tries", action="append", default=[],
                    help="JSON object of config changes")
    ap.add_argument("--base", default="{}", help="JSON changes applied to every row")
    ap.add_argument("--distractors", action="store_true",
                    help="also the PIAF + distractors set (bench/longset.py)")
    ap.add_argument("--only-distractors", action="store_true")
    ap.add_argument("--titled", action="store_true",
                    help="also the distractor set with heading-like distractor titles")
    ap.add_argument("--limit", type=int, default=None, help="first N even questions")
    ap.add_argument("--long", type=int, default=None,
                    help="only questions whose PIAF thread has at least N paragraphs")
    ap.add_argument("--no-base", action="store_true", help="skip the base row")
    ap.add_argument("--ranks", type=Path, default=None,
                    help="write each row's per-question passage ranks (JSON) here")
    args = ap.parse_args(argv)
    questions = split(load_questions(PIAF / "queries.jsonl"), "even")[:args.limit]
    if args.long:
        sizes = {}
        with (PIAF / "threads.jsonl").open(encoding="utf-8") as fh:
            for line in fh:
                t = json.loads(line)
                sizes[t["id"]] = len(t["post"]["paragraphs"]) + len(t.get("comments", []))
        questions = [q for q in questions if sizes.get(q.thread_id, 0) >= args.long]
    base = json.loads(args.base)
    rows: list[tuple[str, dict]] = [] if args.no_base else [("base", dict(base))]
    for t in args.tries:
        rows.append((t, dict(base, **json.loads(t))))
    for s in args.set:
        name, values = s.split("=", 1)
        for v in values.split(","):
            rows.append((f"{name}={v}", dict(base, **{name: parse_value(v)})))
    sets = [] if args.only_distractors else [PIAF / "threads.jsonl"]
    if args.distractors or args.only_distractors:
        sets.append(DISTRACTORS)
    if args.titled:
        sets.append(TITLED)
    engines = [(t.stem, engine_for(t)) for t in sets]
    allranks: dict[str, dict[str, list[int]]] = {}
    print(f"{len(questions)} even questions; base {base}")
    print("| row | set | P-MRR | P-R@10 | T-MRR | T-R@10 | ms/q |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, config in rows:
        for set_name, engine in engines:
            ranks: list[int] = []
            sc = run(engine, questions, config, ranks)
            allranks.setdefault(name, {})[set_name] = ranks
            pm, pr, tm, tr = sc.row()
            print(f"| {name} | {set_name} | {pm:.4f} | {pr:.4f} | {tm:.4f} | {tr:.4f} | "
                  f"{1000 * sc.seconds / max(1, sc.n):.2f} |", flush=True)
    if args.ranks:
        args.ranks.write_text(json.dumps(allranks))
    for _, e in engines:
        e.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
