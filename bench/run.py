"""The benchmark: Fil against SQLite FTS5 and tantivy yardsticks, on the same corpus and queries.

For each corpus (a label: ``real-100k``, ``real-max``, ``reused-1m`` from
``bench/realcorpus.py``, or a legacy ``10k``/``100k``/``300k`` from ``bench/corpus.py``) it:

1. builds the corpus if missing, reads its statistics (``bench/corpusstats.py``: passages,
   threads, distinct paragraphs, chunks, words, analysed terms, MB of text, real or
   reused) and draws the query sets (``bench/queries.py``: 1-3 words, quoted phrases,
   10+ word questions);
2. rebuilds Fil's index as the default install has it (PyStemmer's Snowball stemmer),
   in a child process, reading its wall time, CPU time (user + system, all threads) and
   peak RSS from the kernel (``os.wait4`` rusage); then once more with snowballstemmer's
   pure-Python stemmer (the fallback when PyStemmer is missing) into another directory,
   rebuild figures only;
3. builds the FTS5 and tantivy yardsticks the same way (children, same figures);
4. measures index sizes on disk, and the cold-open cost of each system: a fresh process
   imports, opens the index and runs its first query (``bench/measure.py:cold_open``);
5. (full sizes only) query latency p50/p95/p99 and CPU time per query of Fil's search
   core (``engine.search(q, per_page=10)``, snippets included), of ``GET /api/search``
   (Flask app served by waitress in a thread), of FTS5 (top 10 by bm25 with snippet())
   and of tantivy (top 10 by BM25 with snippets, total count), each in a fresh process
   after an untimed warm-up on other queries;
6. with ``--postgres`` (the default when PostgreSQL binaries are found or ``FIL_DATABASE_URL``
   is set), rebuilds the PostgreSQL backend on the same corpus and times the same
   queries (``bench/postgres.py``), on a private throwaway cluster or ``FIL_DATABASE_URL``.

``--build-only`` sizes get steps 1-4 only (rebuilds, sizes, cold open), for corpora too
large for the latency loops to be worth their time.

Prints one markdown table per corpus and writes the whole report to
``bench/results/latest.md`` and the raw numbers to ``latest.json``. Indexes go under
``bench/out/<label>/`` (git-ignored; Fil's queried index in ``fil-p1/``). Every call into
Fil goes through ``bench/fil_adapter.py``.

Run::

    python bench/run.py                                   # real-100k, 200 queries per kind
    python bench/run.py --sizes real-100k,real-max --build-only reused-1m
    python bench/run.py --sizes 10k --queries 50 --no-postgres   # quick smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import corpus  # noqa: E402
import corpusstats  # noqa: E402
import fts5  # noqa: E402
import postgres  # noqa: E402
import queries  # noqa: E402
import report  # noqa: E402
import tantivy_engine  # noqa: E402
from measure import (  # noqa: E402
    cold_open,
    engine_latency,
    fresh_process,
    fts5_latency,
    http_latency,
    tantivy_latency,
)
from rebuild import RebuildRun, run_child  # noqa: E402

OUT = BENCH / "out"
FIL_DIR = "fil-p1"  # Fil's index in OUT/<size>/; the README's load example points at it
FIL_FAST_DIR = "fil-purepython"
RESULTS = BENCH / "results"


def version(pkg: str) -> str:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return "absent"


def machine() -> dict[str, Any]:
    """CPU model, cores, memory, Python/SQLite/Whoosh/tantivy versions."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    return {
        "cpu": cpu, "cores": os.cpu_count(), "usable_cores": len(os.sched_getaffinity(0)),
        "memory_gib": round(mem / 2**30, 1), "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}", "sqlite": sqlite3.sqlite_version,
        "whoosh": version("Whoosh"), "pystemmer": version("PyStemmer"),
        "snowballstemmer": version("snowballstemmer"), "tantivy": version("tantivy"),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "commit": commit(),
    }


def commit() -> str:
    """The repository's HEAD commit, with "+changes" when the work tree differs from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                              capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, text=True, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+changes" if dirty.strip() else "")


def load1() -> float:
    return round(os.getloadavg()[0], 2)


def dir_size(path: Path) -> int:
    """Bytes of all files under ``path``."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def fil_index_size(index_dir: Path) -> int:
    """Bytes of the index that answers queries (measured in a child: no Fil import in
    this process, so that children choose their own stemmer)."""
    return fresh_process(_fil_index_size, index_dir)


def _fil_index_size(index_dir: Path) -> int:
    import fil_adapter

    return fil_adapter.index_size(index_dir)


def query_sets(corpus_path: Path, n: int, warm: int, sample: int | None = None
               ) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Measured queries (``n`` per kind) and separate warm-up queries (``warm`` per kind).

    ``sample``: draw from every k-th passage only, at most ``sample`` of them (build-only
    sizes need a few cold-open queries, not document frequencies over a million passages).
    """
    passages = queries.read_passages(corpus_path)
    if sample and len(passages) > sample:
        passages = passages[::-(-len(passages) // sample)]
    maker = queries.QueryMaker(passages)
    every = maker.all(n + warm)
    return ({k: v[:n] for k, v in every.items()}, {k: v[n:] for k, v in every.items()})


def rebuild_entry(run: RebuildRun, load_before: float, index_bytes: int) -> dict[str, Any]:
    return asdict(run) | {"per_second": run.per_second, "load_1m_before": load_before,
                          "index_bytes": index_bytes}


def run_size(label: str, n_queries: int, warm: int, skip_http: bool,
             with_postgres: bool = False, build_only: bool = False,
             with_tantivy: bool = True, with_fast: bool = True) -> dict[str, Any]:
    """Every measurement for one corpus."""
    started = time.perf_counter()
    log = report.log
    load_start = load1()
    corpus_path = corpus.ensure_corpus(label)
    log(f"[{label}] corpus statistics ...")
    stats = fresh_process(corpusstats.ensure_stats, corpus_path, label)
    log(f"[{label}] query sets ...")
    measured, warmup = query_sets(corpus_path, 1 if build_only else n_queries,
                                  0 if build_only else warm,
                                  sample=200_000 if build_only else None)
    out = OUT / label
    out.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    systems: dict[str, dict[str, Any]] = {}

    def fil_rebuild(folder: Path, stemmer: str, what: str) -> dict[str, Any]:
        """One Fil rebuild into a fresh ``folder``, logged, as a report entry."""
        shutil.rmtree(folder, ignore_errors=True)
        log(f"[{label}] Fil rebuild {what} ...")
        before = load1()
        run = run_child(corpus_path, folder, stemmer=stemmer)
        log(f"[{label}]   {run.seconds:.1f}s wall, {run.cpu_seconds:.1f}s CPU")
        return {"rebuild": rebuild_entry(run, before, fil_index_size(folder))}

    queried = out / FIL_DIR
    systems["fil"] = fil_rebuild(queried, "pystemmer", "(default install, PyStemmer)")
    if with_fast:
        fast_dir = out / FIL_FAST_DIR
        systems["fil_purepython"] = fil_rebuild(fast_dir, "python",
                                                "with the pure-Python stemmer fallback")
        shutil.rmtree(fast_dir, ignore_errors=True)  # not queried: do not keep the disk
    log(f"[{label}] FTS5 build ...")
    db = out / "fts5.db"
    before = load1()
    fts_build = run_child(corpus_path, db, engine="fts5")
    systems["fts5"] = {"rebuild": rebuild_entry(fts_build, before, db.stat().st_size)}
    tdir = out / "tantivy"
    if with_tantivy:
        log(f"[{label}] tantivy build ...")
        before = load1()
        tan_build = run_child(corpus_path, tdir, engine="tantivy")
        systems["tantivy"] = {"rebuild": rebuild_entry(tan_build, before, dir_size(tdir))}

    cold_queries = [measured[k][0] for k in queries.KINDS]
    log(f"[{label}] cold open ...")
    systems["fil"]["cold"] = fresh_process(cold_open, "fil", queried, cold_queries, "pystemmer")
    systems["fts5"]["cold"] = fresh_process(cold_open, "fts5", db, cold_queries)
    if with_tantivy:
        systems["tantivy"]["cold"] = fresh_process(cold_open, "tantivy", tdir, cold_queries)

    if not build_only:
        log(f"[{label}] Fil latency ...")
        eng = fresh_process(engine_latency, queried, measured, warmup, "pystemmer")
        systems["fil"]["latency"] = {k: v.as_dict() for k, v in eng.items()}
        if skip_http:
            http, http_note = {}, "HTTP API skipped (--skip-http)"
        else:
            log(f"[{label}] HTTP latency ...")
            http, http_note = fresh_process(http_latency, queried, measured, warmup, "pystemmer")
        if http and any(v.errors for v in http.values()):
            http_note = "HTTP API: some requests failed (see the errors counts in latest.json)"
        if http_note:
            notes.append(http_note)
            log(f"[{label}] {http_note}")
        systems["fil"]["http"] = {k: v.as_dict() for k, v in http.items()}
        log(f"[{label}] FTS5 latency ...")
        fts = fresh_process(fts5_latency, db, measured, warmup)
        systems["fts5"]["latency"] = {k: v.as_dict() for k, v in fts.items()}
        if with_tantivy:
            log(f"[{label}] tantivy latency ...")
            tan = fresh_process(tantivy_latency, tdir, measured, warmup)
            systems["tantivy"]["latency"] = {k: v.as_dict() for k, v in tan.items()}
        if with_postgres:
            log(f"[{label}] PostgreSQL rebuild + latency ...")
            try:
                pg = fresh_process(postgres.measure_postgres, corpus_path, measured, warmup,
                                   os.environ.get("FIL_DATABASE_URL"))
                systems["postgres"] = pg
                log(f"[{label}]   rebuild {pg['rebuild']['seconds']:.1f}s")
            except Exception as exc:  # the rest of the benchmark still stands
                notes.append(f"PostgreSQL skipped: {type(exc).__name__}: "
                             f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}")
                log(f"[{label}] {notes[-1]}")
    return {
        "size": label, "mode": "build-only" if build_only else "full", "corpus": stats,
        "corpus_file": str(corpus_path.relative_to(ROOT)),
        "passages": systems["fil"]["rebuild"]["passages"],
        "threads": systems["fil"]["rebuild"]["threads"],
        "queries_per_kind": 0 if build_only else n_queries,
        "warmup_per_kind": 0 if build_only else warm,
        "systems": systems, "notes": notes,
        "queried_index": str(queried.relative_to(ROOT)),
        "query_examples": {k: v[:3] for k, v in measured.items()},
        "wall_seconds": time.perf_counter() - started,
        "load_average_1m_at_start": load_start, "load_average_1m_at_end": load1(),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="real-100k",
                    help="comma-separated corpus labels measured in full "
                         "(real-<N>, real-max, reused-<N>, or legacy 10k/100k/300k)")
    ap.add_argument("--build-only", default="",
                    help="comma-separated corpus labels measured without latency loops "
                         "(rebuilds, sizes, cold open), e.g. reused-1m")
    ap.add_argument("--queries", type=int, default=200, help="measured queries per kind")
    ap.add_argument("--warmup", type=int, default=20, help="untimed warm-up queries per kind")
    ap.add_argument("--skip-http", action="store_true", help="do not measure the HTTP API")
    ap.add_argument("--no-tantivy", action="store_true", help="leave tantivy out")
    ap.add_argument("--no-purepython", action="store_true",
                    help="skip the extra Fil rebuild with the pure-Python stemmer")
    ap.add_argument("--postgres", action=argparse.BooleanOptionalAction, default=None,
                    help="also measure the PostgreSQL backend (default: when its binaries "
                    "are found or FIL_DATABASE_URL is set)")
    ap.add_argument("--out", type=Path, default=RESULTS, help="where latest.md/json go")
    ap.add_argument("--render", type=Path, metavar="JSON",
                    help="only print the report of an earlier run's latest.json")
    args = ap.parse_args(argv)
    if args.render:
        print(report.markdown(json.loads(args.render.read_text(encoding="utf-8"))))
        return 0
    with_postgres = postgres.available() if args.postgres is None else args.postgres
    with_tantivy = not args.no_tantivy and tantivy_engine.available()
    full = [s.strip() for s in args.sizes.split(",") if s.strip()]
    light = [s.strip() for s in args.build_only.split(",") if s.strip()]
    command = "python bench/run.py" + ("" if argv is None and len(sys.argv) == 1
                                       else " " + " ".join(argv or sys.argv[1:]))
    results = {
        "machine": machine(),
        "command": command,
        "settings": {"queries_per_kind": args.queries, "warmup_per_kind": args.warmup,
                     "fts5_tokenize": fts5.TOKENIZE, "postgres": with_postgres,
                     "tantivy": with_tantivy,
                     "tantivy_analyser": tantivy_engine.ANALYSER_DESCRIPTION,
                     "tantivy_writer": f"writer(heap_size={tantivy_engine.HEAP_BYTES}, "
                                       f"num_threads={tantivy_engine.WRITER_THREADS})"},
        "sizes": [run_size(label, args.queries, args.warmup, args.skip_http, with_postgres,
                           build_only=label in light and label not in full,
                           with_tantivy=with_tantivy, with_fast=not args.no_purepython)
                  for label in full + [x for x in light if x not in full]],
    }
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    text = report.markdown(results)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.md").write_text(text + "\n", encoding="utf-8")
    (args.out / "latest.json").write_text(json.dumps(results, indent=1, ensure_ascii=False)
                                          + "\n", encoding="utf-8")
    report.log(f"wrote {args.out / 'latest.md'} and latest.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
