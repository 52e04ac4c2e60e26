"""One rebuild (Fil's threads streamed into ``build_index``, or a yardstick), in its own process.

``bench/run.py`` starts this script as a child so that the rebuild's peak memory and
CPU time can be read from the kernel (``os.wait4`` rusage of this one child: user +
system time of all its threads). The script prints one JSON object: read and build
seconds, counts and its own peak RSS (``VmHWM``, see :func:`self_rss`).

Fil's stemmer: ``--stemmer pystemmer`` (the default install: snowballstemmer over
PyStemmer's C stemmer) or ``python`` (the pure-Python fallback); see ``bench/fil_adapter.py``.

Run alone::

    python bench/rebuild.py bench/corpora/10k.jsonl /tmp/fil-index
    python bench/rebuild.py bench/corpora/10k.jsonl /tmp/fil-index --stemmer python
    python bench/rebuild.py bench/corpora/10k.jsonl /tmp/fil-index --profile  # pyinstrument
    python bench/rebuild.py bench/corpora/10k.jsonl /tmp/fts5.db --engine fts5
    python bench/rebuild.py bench/corpora/10k.jsonl /tmp/tantivy --engine tantivy
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))


@dataclass(frozen=True, slots=True)
class RebuildRun:
    """Outcome of one rebuild child."""

    threads: int
    passages: int
    rejected: int
    read_seconds: float
    build_seconds: float
    seconds: float
    peak_rss_bytes: int  # the child's peak RSS: its VmHWM (see self_rss)
    main_rss_bytes: int  # the same, as the child prints it when run alone
    cpu_seconds: float = 0.0  # user + system CPU of the whole child (os.wait4 rusage)
    wait4_maxrss_bytes: int = 0  # os.wait4's ru_maxrss: at least the parent's RSS at fork
    engine: str = "fil"
    stemmer: str = ""  # Fil only: python or pystemmer, as resolved in the child

    @property
    def per_second(self) -> float:
        return self.passages / self.seconds if self.seconds else 0.0


def self_rss() -> int:
    """Peak RSS of this process's own memory in bytes: ``VmHWM`` of /proc/self/status.

    Not ``ru_maxrss``: on Linux a child's ``ru_maxrss`` starts from its parent's RSS at
    fork (exec keeps the larger value), so a small child of a large benchmark process
    would report the parent's size. ``VmHWM`` belongs to the address space, which exec
    replaces. Falls back to ``ru_maxrss`` where /proc is missing.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def rebuild(corpus: Path, index_dir: Path, stemmer: str = "pystemmer") -> dict[str, object]:
    """Read the corpus and build Fil's index as the CLI does (threads streamed, never all
    held at once); return timings and counts, the time spent reading measured apart."""
    import fil_adapter

    fil_adapter.use_stemmer(stemmer)
    reading = [0.0]

    def timed(threads: Iterator[object]) -> Iterator[object]:
        """The threads, with the time spent producing them added to ``reading``."""
        while True:
            t0 = time.perf_counter()
            try:
                t = next(threads)
            except StopIteration:
                reading[0] += time.perf_counter() - t0
                return
            reading[0] += time.perf_counter() - t0
            yield t

    started = time.perf_counter()
    threads, read = fil_adapter.stream_threads([corpus])
    report = fil_adapter.build_index(timed(threads), index_dir)
    done = time.perf_counter()
    return {
        "threads": report.threads, "passages": report.passages,
        "rejected": len(read.rejected),
        "read_seconds": reading[0], "build_seconds": done - started - reading[0],
        "seconds": done - started, "main_rss_bytes": self_rss(),
        "engine": "fil", "stemmer": fil_adapter.stemmer_in_use(),
    }


def _yardstick_entry(built: Any, engine: str) -> dict[str, object]:
    """A yardstick's build as a result (it reads the JSONL itself, inside its time)."""
    return {
        "threads": 0, "passages": built.passages, "rejected": 0,
        "read_seconds": 0.0, "build_seconds": built.seconds, "seconds": built.seconds,
        "main_rss_bytes": self_rss(), "engine": engine,
    }


def rebuild_fts5(corpus: Path, db_path: Path) -> dict[str, object]:
    """Build the FTS5 yardstick database from the corpus (reading included in the time)."""
    import fts5

    return _yardstick_entry(fts5.build_from_corpus(corpus, db_path), "fts5")


def rebuild_tantivy(corpus: Path, index_dir: Path) -> dict[str, object]:
    """Build the tantivy yardstick index from the corpus (reading included in the time)."""
    import tantivy_engine

    return _yardstick_entry(tantivy_engine.build_from_corpus(corpus, index_dir), "tantivy")


def run_child(corpus: Path, index_dir: Path, engine: str = "fil",
              stemmer: str = "python") -> RebuildRun:
    """Run one rebuild in a child process; read its peak RSS and CPU time from the kernel.

    ``engine`` "fts5" builds the SQLite yardstick instead (``index_dir`` is the db file),
    "tantivy" the tantivy one. ``stemmer`` is Fil's (python or pystemmer).
    """
    cmd = [sys.executable, str(Path(__file__).resolve()), str(corpus), str(index_dir),
           "--engine", engine, "--stemmer", stemmer]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, cwd=ROOT)
    assert proc.stdout is not None
    out = proc.stdout.read()
    proc.stdout.close()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"rebuild child failed with exit code {proc.returncode}: {cmd}")
    data = json.loads(out)
    return RebuildRun(peak_rss_bytes=data["main_rss_bytes"],
                      cpu_seconds=usage.ru_utime + usage.ru_stime,
                      wait4_maxrss_bytes=usage.ru_maxrss * 1024, **data)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("index_dir", type=Path)
    ap.add_argument("--engine", choices=("fil", "fts5", "tantivy"), default="fil")
    ap.add_argument("--stemmer", choices=("python", "pystemmer"), default="pystemmer",
                    help="Fil's stemmer: the default install's (pystemmer) or the fallback")
    ap.add_argument("--profile", action="store_true", help="profile with pyinstrument")
    args = ap.parse_args(argv)
    if args.engine == "fts5":
        result = rebuild_fts5(args.corpus, args.index_dir)
    elif args.engine == "tantivy":
        result = rebuild_tantivy(args.corpus, args.index_dir)
    elif args.profile:
        from pyinstrument import Profiler

        with Profiler() as prof:
            result = rebuild(args.corpus, args.index_dir, args.stemmer)
        print(prof.output_text(unicode=True, color=False, show_all=False), file=sys.stderr)
    else:
        result = rebuild(args.corpus, args.index_dir, args.stemmer)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
