"""HTTP load test of the production server: requests/s and latency for 1, 2 and 4 workers.

What it does:

1. builds (or reuses) the benchmark corpus ``bench/corpora/<size>.jsonl`` (bench/corpus.py,
   or bench/realcorpus.py for ``real-*``/``reused-*`` labels);
2. indexes it once with ``python -m indexer rebuild`` into a temporary index (or ``--index``,
   kept and reused when it already holds an index);
3. draws a realistic query mix from the corpus (bench/queries.py): 1-3 bare words,
   quoted phrases, 10+ word questions, and the same kinds narrowed by ``author:``,
   ``kind:``, ``after:``/``before:`` filters, plus some second pages;
4. for each worker count W (default 1, 2, 4) starts W independent production servers,
   ``python -m search_app --host 127.0.0.1 --port P --threads T --index DIR`` (waitress,
   one process each, on W ports), warms them up, then drives every one of them at the
   same time with its own ``wrk`` instance (``-c`` connections, ``-t`` threads, ``-d``
   seconds, a Lua script cycling through the URL-encoded ``/api/search?q=...`` paths);
5. sums requests/s over the W instances, merges their latency distributions (each
   wrk prints 1001 quantiles; the merged percentile is the request-weighted quantile of
   the pooled points), counts non-2xx responses and socket errors (there must be none),
   and prints a markdown table, also written to ``bench/results/load.md``.

Why W processes on W ports: waitress runs one process with a thread pool and cannot fork
workers, and the search core is CPU-bound Python (the GIL serialises a process's
threads), so extra processes are the only way to use more cores. A real deployment would
put W such processes behind a reverse proxy; here each gets its own wrk, which is the
same load without the proxy's overhead. Only 127.0.0.1 is ever contacted.

Run::

    python bench/load.py                           # 100k passages, 20 s per worker count
    python bench/load.py --size 10k --duration 5   # quick smoke run
    python bench/load.py --index /tmp/load-100k    # keep the index for the next run
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import corpus as corpus_mod  # noqa: E402  (bench/ is not a package)
import fil_adapter  # noqa: E402
import queries as queries_mod  # noqa: E402

RESULTS = BENCH / "results" / "load.md"
HOST = "127.0.0.1"
QUANTILES = 1000  # wrk prints the latency at 0, 0.1, ..., 100 percent

LUA = r"""
-- Cycle through the request paths; each wrk thread starts at its own offset.
local paths = {}
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end

local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

local i = 0
function init(args)
  i = (tid or 0) * 7919
end

function request()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end

function done(summary, latency, requests)
  local q = {}
  for k = 0, %(n)d do q[#q + 1] = latency:percentile(k * 100.0 / %(n)d) end
  local e = summary.errors
  io.write("WRK-JSON ")
  io.write(string.format(
    '{"requests": %%d, "duration_us": %%d, "bytes": %%d, "connect": %%d, "read": %%d, ' ..
    '"write": %%d, "status": %%d, "timeout": %%d, "mean_us": %%f, "max_us": %%d, ' ..
    '"quantiles_us": [%%s]}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency.mean, latency.max, table.concat(q, ", ")))
end
"""


# -- corpus, index and queries ------------------------------------------------------------


def python_env() -> dict[str, str]:
    """The environment for child processes: the repo importable, no stray Fil settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("FIL_") and k != "SEARCH_BACKEND"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def ensure_index(corpus: Path, index_dir: Path) -> float | None:
    """Index ``corpus`` into ``index_dir`` unless it already holds an index; build seconds."""
    if (index_dir / "CURRENT").exists():
        print(f"reusing the index in {index_dir}", file=sys.stderr)
        return None
    print(f"indexing {corpus} into {index_dir} …", file=sys.stderr)
    started = time.perf_counter()
    subprocess.run(fil_adapter.rebuild_command(corpus, index_dir),
                   check=True, env=python_env(), cwd=ROOT)
    return time.perf_counter() - started


def corpus_signatures(corpus: Path, limit: int = 2000) -> tuple[list[str], list[str]]:
    """Author names and dates (YYYY-MM-DD) seen in the first ``limit`` threads."""
    authors: dict[str, None] = {}
    dates: list[str] = []
    with corpus_mod.corpus_files(corpus)[0].open(encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            if n >= limit:
                break
            t = json.loads(line)
            for part in [t.get("post", {}), *t.get("comments", [])]:
                if part.get("author"):
                    authors.setdefault(part["author"], None)
                if part.get("date"):
                    dates.append(part["date"][:10])
    return list(authors), dates


@dataclass(frozen=True)
class QueryMix:
    """Request paths (URL-encoded) and how many of each kind."""

    paths: list[str]
    counts: dict[str, int]


def make_mix(corpus: Path, per_kind: int, seed: str = "fil-load-v1") -> QueryMix:
    """Words, phrases, questions, filtered variants and second pages, shuffled."""
    qs = queries_mod.make_queries(corpus, per_kind)
    authors, dates = corpus_signatures(corpus)
    rng = random.Random(seed)
    by_kind: dict[str, list[str]] = {k: list(v) for k, v in qs.items()}
    filtered = []
    for _ in range(per_kind):
        base = rng.choice(qs["words"] + qs["phrase"])
        year = rng.choice(dates)[:4]
        form = rng.randrange(4)
        if form == 0:
            author = rng.choice(authors[:50])  # active authors: filters that match
            filtered.append(f'{base} author:"{author}"')
        elif form == 1:
            filtered.append(f"{base} after:{year}")
        elif form == 2:
            filtered.append(f"{base} before:{rng.choice(dates)[:7]} kind:comment")
        else:
            filtered.append(f"{base} kind:post after:{year}-01 before:{int(year) + 3}")
    by_kind["filtered"] = filtered
    paths = []
    for kind, items in by_kind.items():
        for q in items:
            params = {"q": q}
            if kind == "words" and rng.random() < 0.1:
                params["page"] = "2"
            paths.append("/api/search?" + urllib.parse.urlencode(params))
    rng.shuffle(paths)
    return QueryMix(paths, {k: len(v) for k, v in by_kind.items()})


# -- servers and wrk ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def servers(count: int, index_dir: Path, threads: int, log_dir: Path) -> Iterator[list[int]]:
    """Start ``count`` production servers on free ports; yield the ports; stop them."""
    procs: list[subprocess.Popen[bytes]] = []
    ports: list[int] = []
    try:
        for n in range(count):
            port = free_port()
            log = (log_dir / f"server-{count}-{n}.log").open("wb")
            procs.append(subprocess.Popen(
                fil_adapter.serve_command(HOST, port, threads, index_dir,
                                          log_dir / "no-sources"),
                env=python_env(), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
            log.close()
            ports.append(port)
        for proc, port in zip(procs, ports, strict=True):
            wait_ready(proc, port)
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_ready(proc: subprocess.Popen[bytes], port: int, timeout: float = 60) -> None:
    """Poll the server until it answers a search."""
    url = f"http://{HOST}:{port}/api/search?q=documentation"
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"server on port {port} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"server on port {port} did not answer in {timeout:.0f}s")
        time.sleep(0.2)


def warm_up(ports: list[int], paths: list[str], threads: int) -> None:
    """Make every server thread open its searchers (first request per thread) before timing."""
    from concurrent.futures import ThreadPoolExecutor

    def fetch(url: str) -> None:
        with urllib.request.urlopen(url, timeout=120) as resp:
            resp.read()

    urls = [f"http://{HOST}:{port}{path}" for port in ports for path in paths[:threads * 2]]
    with ThreadPoolExecutor(max_workers=threads * len(ports)) as pool:
        list(pool.map(fetch, urls))


def run_wrk(ports: list[int], script: Path, duration: float, connections: int,
            wrk_threads: int, timeout: float) -> list[dict[str, object]]:
    """One wrk per port, all at once; their parsed summaries."""
    procs = [subprocess.Popen(
        ["wrk", "-t", str(wrk_threads), "-c", str(connections), "-d", f"{duration:g}s",
         "--timeout", f"{timeout:g}s", "-s", str(script), f"http://{HOST}:{port}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for port in ports]
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=duration + timeout + 120)
        if proc.returncode != 0:
            raise SystemExit(f"wrk failed ({proc.returncode}): {stderr}{stdout}")
        line = next((ln for ln in stdout.splitlines() if ln.startswith("WRK-JSON ")), None)
        if line is None:
            raise SystemExit(f"no summary from wrk:\n{stdout}\n{stderr}")
        out.append(json.loads(line.removeprefix("WRK-JSON ")))
    return out


def merged_percentile(runs: list[dict[str, object]], pct: float) -> float:
    """Request-weighted percentile (ms) of the pooled wrk quantile points."""
    points: list[tuple[float, float]] = []
    for r in runs:
        qs = r["quantiles_us"]
        assert isinstance(qs, list)
        weight = float(r["requests"]) / len(qs)  # type: ignore[arg-type]
        points.extend((float(v), weight) for v in qs)
    points.sort()
    total = sum(w for _, w in points)
    if not total:
        return float("nan")
    target, acc = pct / 100 * total, 0.0
    for value, w in points:
        acc += w
        if acc >= target:
            return value / 1000
    return points[-1][0] / 1000


@dataclass
class Row:
    workers: int
    connections: int
    requests: int
    seconds: float
    rps: float
    p50: float
    p90: float
    p99: float
    max_ms: float
    non_2xx: int
    socket_errors: int

    def markdown(self, threads: int) -> str:
        return (f"| {self.workers} | {self.workers} × {threads} | {self.connections} | "
                f"{self.requests:,} | {self.rps:,.1f} | {self.p50:,.1f} | {self.p90:,.1f} | "
                f"{self.p99:,.1f} | {self.max_ms:,.1f} | {self.non_2xx} | {self.socket_errors} |")


def summarise(workers: int, connections: int, runs: list[dict[str, object]]) -> Row:
    requests = sum(int(r["requests"]) for r in runs)  # type: ignore[call-overload]
    seconds = max(int(r["duration_us"]) for r in runs) / 1e6  # type: ignore[call-overload]
    rps = sum(int(r["requests"]) / (int(r["duration_us"]) / 1e6)  # type: ignore[call-overload]
              for r in runs)
    errors = sum(int(r[k]) for r in runs  # type: ignore[call-overload]
                 for k in ("connect", "read", "write", "timeout"))
    return Row(workers, connections * len(runs), requests, seconds, rps,
               merged_percentile(runs, 50), merged_percentile(runs, 90),
               merged_percentile(runs, 99),
               max(int(r["max_us"]) for r in runs) / 1000,  # type: ignore[call-overload]
               sum(int(r["status"]) for r in runs), errors)  # type: ignore[call-overload]


# -- report ----------------------------------------------------------------------------------


HEADER = ("| workers | processes × threads | connections | requests | req/s | p50 ms | "
          "p90 ms | p99 ms | max ms | non-2xx | socket errors |\n"
          "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")


def machine() -> str:
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    return (f"{platform.processor() or platform.machine()}, {cores} cores ({usable} usable), "
            f"Linux {platform.release()}, Python {platform.python_version()}")


def report(args: argparse.Namespace, rows: list[Row], mix: QueryMix, passages: str,
           build_s: float | None, load: tuple[float, float], command: str) -> str:
    kinds = ", ".join(f"{n} {k}" for k, n in mix.counts.items())
    built = f"built in {build_s:.0f} s" if build_s is not None else "reused"
    lines = [
        "# Fil HTTP load test",
        "",
        f"Command: `{command}`  ",
        f"Date: {datetime.now(UTC).isoformat(timespec='seconds')}; machine: {machine()}; "
        f"load average {load[0]:.2f} before, {load[1]:.2f} after.",
        "",
        f"Corpus `{args.size}` ({passages} passages), index {built}. Query mix: "
        f"{len(mix.paths)} distinct requests ({kinds}; ~10% of word queries ask for page 2), "
        "cycled by each wrk thread from its own offset.",
        "",
        f"Each worker is one `python -m search_app --threads {args.threads}` process "
        f"(waitress) on its own port, driven by its own `wrk -t {args.wrk_threads} "
        f"-c {args.connections} -d {args.duration:g}s --timeout {args.timeout:g}s` after a "
        f"warm-up ({args.threads * 2} concurrent requests per server, then {args.warmup:g} s "
        "of unrecorded wrk load); all wrk instances run at once; req/s is their sum, latency "
        "percentiles are merged (request-weighted quantiles of each wrk's 1001-point "
        "distribution). Errors: non-2xx responses and socket errors "
        "(connect/read/write/timeout), summed. wrk only counts requests that complete "
        "within the run, so when latencies approach the duration the request counts are "
        "small and the figures noisy: use a longer --duration then.",
        "",
        HEADER,
        *(r.markdown(args.threads) for r in rows),
        "",
    ]
    if any(r.non_2xx or r.socket_errors for r in rows):
        lines.append("**Errors were recorded: the run is not clean.**\n")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="100k",
                    help="corpus label (real-100k, real-max, reused-1m, legacy 10k/100k...)")
    ap.add_argument("--duration", type=float, default=20, help="seconds of load per run")
    ap.add_argument("--workers", default="1,2,4", help="comma-separated worker counts")
    ap.add_argument("--threads", type=int, default=4, help="waitress threads per worker")
    ap.add_argument("--connections", type=int, default=8, help="wrk connections per worker")
    ap.add_argument("--wrk-threads", type=int, default=2, help="wrk threads per worker")
    ap.add_argument("--timeout", type=float, default=30,
                    help="wrk request timeout, seconds (slower counts as an error)")
    ap.add_argument("--queries", type=int, default=100, help="queries of each kind")
    ap.add_argument("--warmup", type=float, default=3, help="seconds of unrecorded load")
    ap.add_argument("--index", type=Path, default=None,
                    help="index directory to use (built if empty, kept afterwards)")
    ap.add_argument("--out", type=Path, default=RESULTS, help="markdown report path")
    args = ap.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    command = "python bench/load.py" + ("" if argv is None and len(sys.argv) == 1
                                        else " " + " ".join(argv or sys.argv[1:]))
    workers = [int(w) for w in args.workers.split(",")]

    corpus = corpus_mod.ensure_corpus(args.size)
    import corpusstats

    passages = f"{corpusstats.ensure_stats(corpus, args.size)['passages']:,}"
    work = Path(tempfile.mkdtemp(prefix="fil-load-"))
    index_dir = args.index.resolve() if args.index else work / "index"
    try:
        build_s = ensure_index(corpus, index_dir)
        started = time.perf_counter()
        mix = make_mix(corpus, args.queries)
        print(f"{len(mix.paths)} request paths ({mix.counts}) in "
              f"{time.perf_counter() - started:.1f}s", file=sys.stderr)
        paths_file = work / "paths.txt"
        paths_file.write_text("\n".join(mix.paths) + "\n", encoding="utf-8")
        script = work / "mix.lua"
        script.write_text(LUA % {"paths": paths_file, "n": QUANTILES}, encoding="utf-8")

        load_before = os.getloadavg()[0]
        rows = []
        print(HEADER, file=sys.stderr)
        for w in workers:
            with servers(w, index_dir, args.threads, work) as ports:
                warm_up(ports, mix.paths, args.threads)
                if args.warmup > 0:
                    run_wrk(ports, script, args.warmup, args.connections, args.wrk_threads,
                            args.timeout)
                runs = run_wrk(ports, script, args.duration, args.connections,
                               args.wrk_threads, args.timeout)
            row = summarise(w, args.connections, runs)
            rows.append(row)
            print(row.markdown(args.threads), file=sys.stderr)
        text = report(args, rows, mix, passages, build_s, (load_before, os.getloadavg()[0]),
                      command)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"written to {args.out}", file=sys.stderr)
    return 1 if any(r.non_2xx or r.socket_errors for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
