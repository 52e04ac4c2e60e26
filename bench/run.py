"""The benchmark: Fil (Whoosh) against an SQLite FTS5 yardstick, at several corpus sizes.

For each size (passage count) it:

1. builds the corpus if missing (``bench/corpus.py``) and draws the query sets
   (``bench/queries.py``: 1-3 words, quoted phrases, 10+ word questions);
2. rebuilds the Fil index through ``read_sources`` + ``build_index`` in a child process
   and reads the child's peak RSS from the kernel (``os.wait4`` rusage);
3. measures index size on disk (current generation of that index, the one queried)
   and query latency p50/p95/p99 through ``engine.search(q, per_page=10)``
   (snippets included), after a warm-up on queries that are not timed; each latency
   measurement runs in a fresh process, so no cache warmed by another one helps it;
4. does the same over HTTP (``search_app.create_app`` served by waitress in a thread,
   ``GET /api/search?q=...``), or prints why it was skipped;
5. builds the FTS5 yardstick on the same passages (also in a child) and times the same
   queries (top 10 by bm25 with snippet());
6. with ``--postgres`` (the default when PostgreSQL binaries are found or ``DATABASE_URL``
   is set), rebuilds the PostgreSQL backend on the same corpus and times the same
   queries through ``backend.search(q, per_page=10)``, in a fresh process, on a private
   throwaway cluster (``pg_cluster.TempCluster``) or ``DATABASE_URL``
   (``bench/postgres.py``).

Prints one markdown table (Fil vs FTS5 and Fil/FTS5 ratios, plus PostgreSQL and
PostgreSQL/FTS5 when measured) with the machine description,
and writes it to ``bench/results/latest.md`` and the raw numbers to ``latest.json``.
Indexes are written under ``bench/out/<size>/`` (git-ignored; Fil's in ``fil-p1/``).

Run::

    python bench/run.py                               # 10k,100k,300k, 200 queries per kind
    python bench/run.py --sizes 10k --queries 50      # smoke run
    python bench/run.py --sizes 10k --no-postgres     # without the PostgreSQL column
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
import fts5  # noqa: E402
import postgres  # noqa: E402
import queries  # noqa: E402
import report  # noqa: E402
from measure import engine_latency, fresh_process, fts5_latency, http_latency  # noqa: E402
from rebuild import run_child  # noqa: E402

OUT = BENCH / "out"
FIL_DIR = "fil-p1"  # Fil's index in OUT/<size>/; the README's load example points at it
RESULTS = BENCH / "results"


def machine() -> dict[str, Any]:
    """CPU model, cores, memory, Python/SQLite/Whoosh versions."""
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

    def version(pkg: str) -> str:
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return "absent"

    return {
        "cpu": cpu, "cores": os.cpu_count(), "usable_cores": len(os.sched_getaffinity(0)),
        "memory_gib": round(mem / 2**30, 1), "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}", "sqlite": sqlite3.sqlite_version,
        "whoosh": version("Whoosh"), "pystemmer": version("PyStemmer"),
        "load_average_1m_at_start": round(os.getloadavg()[0], 2),
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


def dir_size(path: Path) -> int:
    """Bytes of all files under ``path``."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def index_size(index_dir: Path) -> int:
    """Bytes of the generation that answers queries."""
    from indexer.store.whoosh.generations import current_generation

    gen = current_generation(index_dir)
    return dir_size(gen) if gen else 0


def query_sets(corpus_path: Path, n: int, warm: int) -> tuple[dict[str, list[str]],
                                                             dict[str, list[str]]]:
    """Measured queries (``n`` per kind) and separate warm-up queries (``warm`` per kind)."""
    maker = queries.QueryMaker(queries.read_passages(corpus_path))
    every = maker.all(n + warm)
    return ({k: v[:n] for k, v in every.items()}, {k: v[n:] for k, v in every.items()})


def run_size(label: str, n_queries: int, warm: int, skip_http: bool,
             with_postgres: bool = False) -> dict[str, Any]:
    """Every measurement for one corpus size."""
    started = time.perf_counter()
    log = report.log
    corpus_path = corpus.ensure_corpus(label)
    measured, warmup = query_sets(corpus_path, n_queries, warm)
    out = OUT / label
    out.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    queried = out / FIL_DIR
    shutil.rmtree(queried, ignore_errors=True)
    log(f"[{label}] Fil rebuild ...")
    fil_build = run_child(corpus_path, queried)
    log(f"[{label}]   {fil_build.seconds:.1f}s")
    log(f"[{label}] FTS5 build ...")
    db = out / "fts5.db"
    fts_build = run_child(corpus_path, db, engine="fts5")
    log(f"[{label}] engine latency ...")
    eng = fresh_process(engine_latency, queried, measured, warmup)
    log(f"[{label}] HTTP latency ...")
    http, http_note = ({}, "HTTP API skipped (--skip-http)") if skip_http else (
        fresh_process(http_latency, queried, measured, warmup))
    if http and any(v.errors for v in http.values()):
        http_note = "HTTP API: some requests failed (see the errors counts in latest.json)"
    if http_note:
        notes.append(http_note)
        log(f"[{label}] {http_note}")
    log(f"[{label}] FTS5 latency ...")
    fts = fresh_process(fts5_latency, db, measured, warmup)
    pg: dict[str, Any] | None = None
    if with_postgres:
        log(f"[{label}] PostgreSQL rebuild + latency ...")
        try:
            pg = fresh_process(postgres.measure_postgres, corpus_path, measured, warmup,
                               os.environ.get("DATABASE_URL"))
            log(f"[{label}]   rebuild {pg['rebuild']['seconds']:.1f}s")
        except Exception as exc:  # the rest of the benchmark still stands
            notes.append(f"PostgreSQL skipped: {type(exc).__name__}: "
                         f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}")
            log(f"[{label}] {notes[-1]}")
    return {
        "size": label, "passages": fil_build.passages, "threads": fil_build.threads,
        "corpus_bytes": corpus_path.stat().st_size,
        "queries_per_kind": n_queries, "warmup_per_kind": warm,
        "rebuild": asdict(fil_build) | {"per_second": fil_build.per_second},
        "index_bytes": index_size(queried), "queried_index": str(queried.relative_to(ROOT)),
        "fts5_build": asdict(fts_build) | {"per_second": fts_build.per_second},
        "fts5_bytes": db.stat().st_size,
        "engine": {k: v.as_dict() for k, v in eng.items()},
        "http": {k: v.as_dict() for k, v in http.items()}, "notes": notes,
        "fts5": {k: v.as_dict() for k, v in fts.items()},
        "postgres": pg,
        "query_examples": {k: v[:3] for k, v in measured.items()},
        "wall_seconds": time.perf_counter() - started,
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10k,100k,300k", help="comma-separated passage counts")
    ap.add_argument("--queries", type=int, default=200, help="measured queries per kind")
    ap.add_argument("--warmup", type=int, default=20, help="untimed warm-up queries per kind")
    ap.add_argument("--skip-http", action="store_true", help="do not measure the HTTP API")
    ap.add_argument("--postgres", action=argparse.BooleanOptionalAction, default=None,
                    help="also measure the PostgreSQL backend (default: when its binaries "
                    "are found or DATABASE_URL is set)")
    ap.add_argument("--out", type=Path, default=RESULTS, help="where latest.md/json go")
    ap.add_argument("--render", type=Path, metavar="JSON",
                    help="only print the table of an earlier run's latest.json")
    args = ap.parse_args(argv)
    if args.render:
        print(report.markdown(json.loads(args.render.read_text(encoding="utf-8"))))
        return 0
    with_postgres = postgres.available() if args.postgres is None else args.postgres
    results = {
        "machine": machine(),
        "settings": {"queries_per_kind": args.queries, "warmup_per_kind": args.warmup,
                     "fts5_tokenize": fts5.TOKENIZE, "postgres": with_postgres},
        "sizes": [run_size(label.strip(), args.queries, args.warmup, args.skip_http,
                           with_postgres)
                  for label in args.sizes.split(",")],
    }
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
