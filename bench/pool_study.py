"""Offline study of the re-ranked pool, on EVEN PIAF questions only (diagnostics).

``capture`` runs every even question through the pipeline with some ranking settings and
keeps, for each, the pool the final score re-ranks (each candidate's passage score P,
thread score T, title terms and query-term positions, and which one is the answer);
``metric`` then scores any linear re-ranking of features computed from those pools in a
fraction of a second, so that candidate features and weights can be compared without
re-running searches. Pool changes (what enters the pool) still need the real pipeline
(``bench/tune_relevance.py``).

Run::

    PYTHONPATH=$PWD python bench/pool_study.py [--distractors] [--try JSON]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tune_relevance import DISTRACTORS, PIAF, engine_for, load_questions, split  # noqa: E402

import indexer.search.pipeline as pipeline  # noqa: E402
from indexer.search.ranking import DEFAULT, proximity, title_share  # noqa: E402

#: The final score's weights, as features of :func:`features`.
FINAL = {"p": 1.0, "t": DEFAULT.w_thread, "prox": DEFAULT.w_proximity, "title": DEFAULT.w_title}


def capture(threads: Path, config: dict) -> list[dict]:
    """Each even question's pool: (key, thread, P, T, title terms, positions), answer index."""
    engine = engine_for(threads)
    store = engine._engine.store
    seen: dict = {}
    original = pipeline.rerank

    def keep(cands, terms, idf_of, max_thread, conf=DEFAULT):  # type: ignore[no-untyped-def]
        seen["pool"] = (list(terms), dict(idf_of), max_thread,
                        [(int(c.key), c.thread_id, c.score, c.thread_score, c.title_terms,
                          dict(c.positions)) for c in cands])
        return original(cands, terms, idf_of, max_thread, conf)

    pipeline.rerank = keep
    out = []
    try:
        with store._view() as view:
            position = {d: int(view.stored_fields(d)["position"]) for d in range(view.n_total)}
        for q in split(load_questions(PIAF / "queries.jsonl"), "even"):
            seen.clear()
            engine.search(q.query, config=config or None)
            terms, idf_of, max_thread, cands = seen.get("pool", ([], {}, 0.0, []))
            right = next((i for i, c in enumerate(cands)
                          if c[1] == q.thread_id and position[c[0]] == q.position), -1)
            out.append({"terms": terms, "idf": idf_of, "max_thread": max_thread,
                        "cands": cands, "right": right, "thread": q.thread_id})
    finally:
        pipeline.rerank = original
        engine.close()
    return out


def features(pool: dict) -> dict[str, np.ndarray]:
    """The final score's features of each candidate (add new ones here to study them)."""
    cands, terms, idf_of = pool["cands"], pool["terms"], pool["idf"]
    top = max((c[2] for c in cands), default=1.0) or 1.0
    mt = pool["max_thread"]
    return {
        "p": np.array([c[2] / top for c in cands]),
        "t": np.array([c[3] / mt if mt > 0 else 0.0 for c in cands]),
        "prox": np.array([proximity(c[5], terms, DEFAULT.proximity_window) for c in cands]),
        "title": np.array([title_share(c[4], terms, idf_of) for c in cands]),
    }


def metric(pools: list[dict], weights: dict[str, float]) -> tuple[float, float, float]:
    """(passage MRR@10, passage R@10, thread MRR@10) of a linear re-ranking of the pools."""
    p_rr = t_rr = 0.0
    p_hit = 0
    for pool in pools:
        if not pool["cands"]:
            continue
        f = features(pool)
        score = sum(w * f[k] for k, w in weights.items())
        order = np.lexsort((np.arange(len(score)), -score))[:10].tolist()
        if pool["right"] in order:
            p_rr += 1 / (order.index(pool["right"]) + 1)
            p_hit += 1
        ranks = [i for i, o in enumerate(order) if pool["cands"][o][1] == pool["thread"]]
        t_rr += 1 / (ranks[0] + 1) if ranks else 0.0
    n = max(1, len(pools))
    return p_rr / n, p_hit / n, t_rr / n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--distractors", action="store_true")
    ap.add_argument("--config", default="{}", help="JSON ranking changes for the capture")
    ap.add_argument("--try", dest="tries", action="append", default=[],
                    help="JSON weight changes to the final score")
    args = ap.parse_args(argv)
    pools = capture(DISTRACTORS if args.distractors else PIAF / "threads.jsonl",
                    json.loads(args.config))
    for name, w in [("final", FINAL)] + [(t, dict(FINAL, **json.loads(t))) for t in args.tries]:
        pm, pr, tm = metric(pools, w)
        print(f"{name}: P-MRR {pm:.4f} P-R@10 {pr:.4f} T-MRR {tm:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
