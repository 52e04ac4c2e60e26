"""Latency of the ranking with and without this branch's additions, at 300k passages.

The 300k corpus of ``bench/corpus.py`` is indexed once (``bench/out/relevance-300k``,
reused while the corpus and the analysis are unchanged); then each configuration runs
the same queries through the search pipeline (``per_page=10``, snippets included),
after an untimed warm-up, interleaved query by query (so that load from other work on
the machine hits every configuration alike), each query's time the minimum of
``--repeats`` runs. Queries: the benchmark's 10+ word questions (``bench/queries.py``)
and the PIAF questions of 10+ words (real questions, many of whose words the corpus
lacks).

Run::

    PYTHONPATH=$PWD python bench/relevance_latency.py [--n 300] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import queries  # noqa: E402
from relevance import PIAF  # noqa: E402
from tune_relevance import engine_for  # noqa: E402

from indexer.search.pipeline import search  # noqa: E402
from indexer.search.ranking import DEFAULT  # noqa: E402

CORPUS = Path(__file__).resolve().parent / "corpora" / "300k.jsonl"

#: (name, ranking settings): before this branch's additions, and now.
CONFIGS = (
    ("thread-first, before the push",
     DEFAULT.but(title_inherit=False, proper_boost=1.0, per_thread=3)),
    ("with title inheritance and capitalised words", DEFAULT),
)


def piaf_long_questions(n: int) -> list[str]:
    out = []
    with (PIAF / "queries.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            q = json.loads(line)["query"]
            if len(re.findall(r"\w+", q)) >= 10:
                out.append(q)
    return out[:n]


def percentile(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    if not CORPUS.exists():
        print("make the corpus first: python bench/corpus.py --sizes 300k", file=sys.stderr)
        return 1
    engine = engine_for(CORPUS)
    store = engine._engine.store
    sets = {"bench 10+ word questions": queries.make_queries(CORPUS, args.n)["question"],
            "PIAF questions of 10+ words": piaf_long_questions(args.n)}
    print("| queries | configuration | p50 ms | p95 ms | mean ms |")
    print("|---|---|---:|---:|---:|")
    for set_name, qs in sets.items():
        for _, config in CONFIGS:  # warm-up
            for q in qs:
                search(store, q, per_page=10, config=config)
        times: dict[str, list[float]] = {name: [] for name, _ in CONFIGS}
        for q in qs:
            for name, config in CONFIGS:
                best = float("inf")
                for _ in range(args.repeats):
                    t0 = time.perf_counter()
                    search(store, q, per_page=10, config=config)
                    best = min(best, time.perf_counter() - t0)
                times[name].append(1000 * best)
        for name, _ in CONFIGS:
            ts = times[name]
            print(f"| {set_name} | {name} | {percentile(ts, 50):.2f} | "
                  f"{percentile(ts, 95):.2f} | {sum(ts) / len(ts):.2f} |", flush=True)
    engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
