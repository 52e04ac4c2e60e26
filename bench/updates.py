"""Incremental updates of the embedded index, measured on a real corpus.

1. **Visible**: one 50-passage thread added by ``fil update`` (a new process, as cron or a
   blog's hook would run it) until a search in a long-running reader finds it: p50/p95
   over ``--visible`` runs (each run a new thread).
2. **Many updates**: ``--updates`` single-thread updates in a row (changed versions of
   existing threads, merges as the tiered policy decides), then query latency (1–3 words,
   questions) against the freshly built index, before and after ``fil optimize``.
3. **1 % update vs rebuild**: updating 1 % of the threads (changed content) with
   ``fil update`` against a full ``fil rebuild`` of the same corpus (wall time).

    python bench/updates.py CORPUS [--visible 20] [--updates 1000] [--queries 100]

Writes ``bench/results/updates.md``. All calls into Fil go through ``fil_adapter``.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import fil_adapter  # noqa: E402
import queries  # noqa: E402
from run import commit, load1, machine  # noqa: E402

OUT = BENCH / "out" / "updates"


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of some values, nearest rank."""
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def cli(*args: str) -> float:
    """Run ``python -m indexer ARGS`` and return its wall time (raises on failure)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "indexer", *args], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - started


def write_threads(records: list[dict], path: Path) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    return path


def latency(index: Path, qs: dict[str, list[str]],
            repeats: int = 3) -> dict[str, tuple[float, float, float, float]]:
    """Per query kind: wall p50, wall p95, CPU p50, CPU p95 in ms, in this process.

    One warm-up pass, then each query ``repeats`` times, keeping its fastest run (wall and
    CPU apart): on a shared machine a query's slowest run measures the neighbours.
    """
    engine = fil_adapter.Engine(index)
    try:
        out = {}
        for kind in ("words", "question"):
            for q in qs[kind]:
                engine.count(q)
            walls, cpus = [], []
            for q in qs[kind]:
                best_wall = best_cpu = float("inf")
                for _ in range(repeats):
                    t, c = time.perf_counter(), time.process_time()
                    engine.count(q)
                    best_cpu = min(best_cpu, (time.process_time() - c) * 1000)
                    best_wall = min(best_wall, (time.perf_counter() - t) * 1000)
                walls.append(best_wall)
                cpus.append(best_cpu)
            out[kind] = (statistics.median(walls), pct(walls, 0.95),
                         statistics.median(cpus), pct(cpus, 0.95))
        return out
    finally:
        engine.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--visible", type=int, default=20)
    ap.add_argument("--updates", type=int, default=1000)
    ap.add_argument("--queries", type=int, default=100)
    args = ap.parse_args(argv)
    fil_adapter.use_stemmer()
    records = [json.loads(line) for line in args.corpus.read_text(encoding="utf-8").splitlines()
               if line.strip()]
    passages = sum(len(r["post"]["paragraphs"]) + len(r.get("comments", [])) for r in records)
    rng = random.Random(17)
    OUT.mkdir(parents=True, exist_ok=True)
    index = OUT / "index"
    shutil.rmtree(index, ignore_errors=True)
    lines = [f"# Updates on {args.corpus.name}: {len(records):,} threads, {passages:,} passages",
             "", f"{machine()['cpu']}, {machine()['usable_cores']} cores; commit {commit()}; "
             f"load average at start {load1():.2f}", ""]

    rebuild_s = cli("rebuild", "--source", str(args.corpus), "--index", str(index), "--quiet")
    lines.append(f"- full rebuild (`fil rebuild`, one process): {rebuild_s:.1f} s")
    qs = queries.make_queries(args.corpus, args.queries)
    fresh = latency(index, qs)

    # 1. one 50-passage thread: from the command to a search that finds it
    work = Path(tempfile.mkdtemp(prefix="fil-upd-"))
    reader = fil_adapter.Engine(index)
    visible = []
    try:
        for n in range(args.visible):
            word = f"zqvisible{n}x"
            rec = {"id": f"bench-visible-{n}", "title": f"Nouveau fil {n}",
                   "post": {"paragraphs": [f"Paragraphe {i} : {word} et la suite."
                                           for i in range(50)]}}
            src = write_threads([rec], work / f"v{n}.jsonl")
            started = time.perf_counter()
            cli("update", "--source", str(src), "--index", str(index), "--quiet")
            while not reader.search(word):
                time.sleep(0.001)
            visible.append(time.perf_counter() - started)
    finally:
        reader.close()
    lines.append(f"- one 50-passage thread, `fil update` to visible in a running reader: "
                 f"p50 {statistics.median(visible) * 1000:.0f} ms, "
                 f"p95 {pct(visible, 0.95) * 1000:.0f} ms (n={len(visible)})")

    # 2. many single-thread updates in a row
    started = time.perf_counter()
    chosen = rng.sample(range(len(records)), min(args.updates, len(records)))
    for k, i in enumerate(chosen):
        rec = dict(records[i])
        rec["post"] = dict(rec["post"])
        rec["post"]["paragraphs"] = [*rec["post"]["paragraphs"], f"Mise à jour {k}."]
        fil_adapter.update_threads(index, [rec], work / "one.jsonl")
    many_s = time.perf_counter() - started
    segments = fil_adapter.index_segments(index)
    before = latency(index, qs)
    opt_s = cli("optimize", "--index", str(index))
    after = latency(index, qs)
    lines += [f"- {len(chosen)} single-thread updates in a row (library calls, merges "
              f"included): {many_s:.1f} s, {many_s / max(1, len(chosen)) * 1000:.0f} ms each; "
              f"{segments} segments before optimize; `fil optimize` {opt_s:.1f} s", "",
              "Query latency: each query's fastest of 3 runs, then p50 / p95 over the "
              "queries, wall and CPU time (ms) in one process; ratios are of p95.", "",
              "| queries | time | fresh index p50 / p95 | after the updates | ratio | "
              "after optimize | ratio |", "|---|---|---|---|---:|---|---:|"]
    for kind in ("words", "question"):
        f, b, a = fresh[kind], before[kind], after[kind]
        for label, lo in (("wall", 0), ("CPU", 2)):
            lines.append(f"| {kind} | {label} | {f[lo]:.2f} / {f[lo + 1]:.2f} | "
                         f"{b[lo]:.2f} / {b[lo + 1]:.2f} | {b[lo + 1] / f[lo + 1]:.2f}× | "
                         f"{a[lo]:.2f} / {a[lo + 1]:.2f} | {a[lo + 1] / f[lo + 1]:.2f}× |")

    # 3. 1 % of the threads changed: update vs rebuild
    picked = rng.sample(range(len(records)), max(1, len(records) // 100))
    changed = []
    for i in picked:
        rec = dict(records[i])
        rec["post"] = dict(rec["post"])
        rec["post"]["paragraphs"] = [*rec["post"]["paragraphs"], "Une correction."]
        changed.append(rec)
    src = write_threads(changed, work / "one-percent.jsonl")
    update_s = cli("update", "--source", str(src), "--index", str(index), "--quiet")
    unchanged_s = cli("update", "--source", str(src), "--index", str(index), "--quiet")
    rebuild2_s = cli("rebuild", "--source", str(args.corpus), "--index", str(index), "--quiet")
    lines += ["", f"- 1 % of the threads ({len(changed)}) changed: `fil update` {update_s:.2f} s "
              f"against `fil rebuild` {rebuild2_s:.1f} s: {rebuild2_s / update_s:.0f}× faster; "
              f"the same file again (nothing changed): {unchanged_s:.2f} s",
              f"- load average at the end {load1():.2f}"]
    shutil.rmtree(work, ignore_errors=True)
    text = "\n".join(lines) + "\n"
    (BENCH / "results" / "updates.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
