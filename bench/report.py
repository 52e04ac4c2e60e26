"""Formatting for ``bench/run.py``: the corpus description and one markdown table per corpus
(Fil vs SQLite FTS5 vs tantivy, and PostgreSQL when measured), and progress lines."""

from __future__ import annotations

import sys
from typing import Any

MIB = 2**20
KIND_NAMES = {"words": "1-3 words", "phrase": "phrase", "question": "10+ word question"}
#: Table columns: (key in a size's "systems", header).
SYSTEMS = (("fil", "Fil (default install)"), ("fts5", "SQLite FTS5"), ("tantivy", "tantivy"))


def log(message: str) -> None:
    """A progress line on stderr (the table goes to stdout)."""
    print(message, file=sys.stderr, flush=True)


def _ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "—"
    r = a / b
    return f"{r:.1f}×" if r >= 0.95 else f"{r:.2f}×"


def _pcts(lat: dict[str, float] | None) -> str:
    if not lat:
        return ""
    return f"{lat['p50_ms']:.1f} / {lat['p95_ms']:.1f} / {lat['p99_ms']:.1f}"


def _pct_ratios(a: dict[str, float] | None, b: dict[str, float] | None) -> str:
    if not a or not b:
        return ""
    return " / ".join(_ratio(a[k], b[k]) for k in ("p50_ms", "p95_ms", "p99_ms"))


def _rebuild_cell(r: dict[str, Any] | None, text_mb: float | None = None) -> str:
    if not r:
        return ""
    mbs = f", {text_mb / r['seconds']:.1f} MB/s" if text_mb and r["seconds"] else ""
    return f"{r['seconds']:.1f} s ({r['per_second']:,.0f} passages/s{mbs})"


def _cpu_cell(r: dict[str, Any] | None) -> str:
    if not r or not r.get("cpu_seconds"):
        return ""
    return f"{r['cpu_seconds']:.1f} s ({r['cpu_seconds'] / r['seconds']:.2f} cores)"


def corpus_line(s: dict[str, Any]) -> str:
    """One paragraph describing a corpus: how it was made and what it holds."""
    c = s.get("corpus") or {}
    if not c:
        return f"**{s['size']}**: {s['passages']:,} passages."
    reused = (f"; {c['reused_passages']:,} passages of reused text (recombined sentences) "
              f"after {c['real_passages']:,} real ones" if c.get("reused_passages") else "")
    return (f"**{s['size']}** ({c['description']}): {c['passages']:,} passages in "
            f"{c['threads']:,} threads{reused}; {c['distinct_paragraphs']:,} distinct "
            f"paragraphs, {c['distinct_chunks']:,} distinct whitespace chunks, "
            f"{c['distinct_words']:,} distinct words (lowercased letter runs), "
            f"{c['distinct_terms']:,} distinct analysed terms (Fil's analyser); "
            f"{c['text_mb']} MB of text ({c['file_mb']} MB JSONL).")


Row = tuple[str, ...]


def _pg_cpu(d: dict[str, Any] | None, client: str, server: str, unit: str,
            digits: int) -> str:
    """PostgreSQL CPU: the client process's, plus the server's when it was measured."""
    if not d or d.get(client) is None:
        return ""
    text = f"{d[client]:.{digits}f}{' ' + unit if unit else ''}"
    if d.get(server) is not None:
        text += f" + server {d[server]:.{digits}f}{' ' + unit if unit else ''}"
    return text


def size_rows(s: dict[str, Any], with_pg: bool) -> list[Row]:
    """(metric, Fil, FTS5, tantivy, Fil/FTS5, Fil/tantivy[, PostgreSQL, PostgreSQL/FTS5])."""
    sy = s["systems"]
    fil, fts, tan = sy.get("fil", {}), sy.get("fts5", {}), sy.get("tantivy", {})
    fast = sy.get("fil_purepython") or sy.get("fil_pystemmer")
    pg = sy.get("postgres") if with_pg else None
    rows: list[Row] = []

    def add(metric: str, cells: tuple[str, str, str], ratios: tuple[str, str],
            pg_cells: tuple[str, str] = ("", "")) -> None:
        rows.append((metric, *cells, *ratios, *(pg_cells if with_pg else ())))

    fr, br, tr = fil.get("rebuild"), fts.get("rebuild"), tan.get("rebuild")
    pgr = pg["rebuild"] if pg else None
    mb = (s.get("corpus") or {}).get("text_mb")
    add("passages (threads)", (f"{s['passages']:,} ({s['threads']:,} threads)",
                               f"{br['passages']:,}" if br else "",
                               f"{tr['passages']:,}" if tr else ""), ("", ""),
        (f"{pg['passages']:,} ({pg['threads']:,} threads)" if pg else "", ""))
    add("rebuild, wall time", (_rebuild_cell(fr, mb), _rebuild_cell(br, mb),
                               _rebuild_cell(tr, mb)),
        (_ratio(fr and fr["seconds"], br and br["seconds"]),
         _ratio(fr and fr["seconds"], tr and tr["seconds"])),
        (_rebuild_cell(pgr, mb), _ratio(pgr and pgr["seconds"], br and br["seconds"])))
    add("rebuild, CPU time (user+sys)", (_cpu_cell(fr), _cpu_cell(br), _cpu_cell(tr)),
        (_ratio(fr and fr.get("cpu_seconds"), br and br.get("cpu_seconds")),
         _ratio(fr and fr.get("cpu_seconds"), tr and tr.get("cpu_seconds"))),
        (_pg_cpu(pgr, "cpu_seconds", "server_cpu_seconds", "s", 1), ""))
    if fast:
        f2 = fast["rebuild"]
        add("Fil rebuild with the pure-Python stemmer (fallback): wall / CPU",
            (f"{_rebuild_cell(f2, mb)}; CPU {f2['cpu_seconds']:.1f} s", "", ""),
            (_ratio(f2["seconds"], br and br["seconds"]),
             _ratio(f2["seconds"], tr and tr["seconds"])))
    if fr:
        add("… of which reading the threads (parsing)", (f"{fr['read_seconds']:.1f} s",
                                                  "(in build time)", "(in build time)"),
            ("", ""), (f"{pgr['read_seconds']:.1f} s" if pgr else "", ""))
    add("load average (1 min) before the rebuild",
        tuple(f"{x['rebuild']['load_1m_before']}" if x.get("rebuild") else ""
              for x in (fil, fts, tan)), ("", ""))  # type: ignore[arg-type]
    size = {k: (sy[k]["rebuild"]["index_bytes"] if sy.get(k) else None)
            for k in ("fil", "fts5", "tantivy")}
    add("index size on disk (MiB)",
        tuple(f"{size[k] / MIB:.1f}" if size[k] else "" for k in ("fil", "fts5", "tantivy")),
        (_ratio(size["fil"], size["fts5"]), _ratio(size["fil"], size["tantivy"])),  # type: ignore[arg-type]
        (f"{pg['index_bytes'] / MIB:.1f}" if pg else "",
         _ratio(pg and pg["index_bytes"], size["fts5"])))
    rss = {k: (sy[k]["rebuild"]["peak_rss_bytes"] if sy.get(k) else None)
           for k in ("fil", "fts5", "tantivy")}
    add("rebuild peak RSS (MiB)",
        tuple(f"{rss[k] / MIB:.0f}" if rss[k] else "" for k in ("fil", "fts5", "tantivy")),
        (_ratio(rss["fil"], rss["fts5"]), _ratio(rss["fil"], rss["tantivy"])))  # type: ignore[arg-type]
    cold = {k: sy[k].get("cold") if sy.get(k) else None for k in ("fil", "fts5", "tantivy")}
    if any(cold.values()):
        def cold_cell(c: dict[str, Any] | None) -> str:
            if not c:
                return ""
            return (f"{c['total_ms']:.0f} ms = import {c['import_ms']:.0f} + open "
                    f"{c['open_ms']:.0f} + query {c['first_query_ms']:.0f} "
                    f"(again: {c['same_query_again_ms']:.1f})")
        add("cold open: new process, import + open + first query (same query again)",
            tuple(cold_cell(cold[k]) for k in ("fil", "fts5", "tantivy")),  # type: ignore[arg-type]
            (_ratio(cold["fil"] and cold["fil"]["total_ms"],
                    cold["fts5"] and cold["fts5"]["total_ms"]),
             _ratio(cold["fil"] and cold["fil"]["total_ms"],
                    cold["tantivy"] and cold["tantivy"]["total_ms"])))
        add("cold open: CPU ms (import + open + first query)",
            tuple(f"{cold[k]['cpu_ms']:.0f}" if cold[k] else ""  # type: ignore[index]
                  for k in ("fil", "fts5", "tantivy")), ("", ""))
    lat = {k: sy[k].get("latency") if sy.get(k) else None for k in ("fil", "fts5", "tantivy")}
    if lat["fil"]:
        for kind, name in KIND_NAMES.items():
            f, b, t = (lat[k][kind] if lat[k] else None  # type: ignore[index]
                       for k in ("fil", "fts5", "tantivy"))
            p = pg["latency"][kind] if pg else None
            add(f"search core, {name}: p50/p95/p99 ms", (_pcts(f), _pcts(b), _pcts(t)),
                (_pct_ratios(f, b), _pct_ratios(f, t)), (_pcts(p), _pct_ratios(p, b)))
            add(f"… {name}: CPU ms per query (mean)",
                tuple(f"{x['cpu_mean_ms']:.1f}" if x and "cpu_mean_ms" in x else ""
                      for x in (f, b, t)),  # type: ignore[arg-type]
                (_ratio(f and f.get("cpu_mean_ms"), b and b.get("cpu_mean_ms")),
                 _ratio(f and f.get("cpu_mean_ms"), t and t.get("cpu_mean_ms"))),
                (_pg_cpu(p, "cpu_mean_ms", "server_cpu_mean_ms", "", 1), ""))
            http = fil.get("http", {}).get(kind)
            if http:
                add(f"HTTP /api/search, {name}: p50/p95/p99 ms", (_pcts(http), "", ""),
                    (_pct_ratios(http, b), _pct_ratios(http, t)))
        zero = {k: ", ".join(str(lat[k][x]["zero_hits"]) for x in KIND_NAMES)  # type: ignore[index]
                if lat[k] else "" for k in ("fil", "fts5", "tantivy")}
        add(f"queries with no hit (words, phrase, question; of {s['queries_per_kind']})",
            (zero["fil"], zero["fts5"], zero["tantivy"]), ("", ""),
            (", ".join(str(pg["latency"][x]["zero_hits"]) for x in KIND_NAMES) if pg else "",
             ""))
        if pg and all("timed_out" in pg["latency"][x] for x in KIND_NAMES):
            add("queries cut short by the 2 s search time limit (words, phrase, question)",
                ("", "", ""), ("", ""),
                (", ".join(str(pg["latency"][x]["timed_out"]) for x in KIND_NAMES), ""))
        errors = {k: sum(lat[k][x]["errors"] for x in KIND_NAMES)  # type: ignore[index]
                  if lat[k] else 0 for k in ("fil", "fts5", "tantivy")}
        http_errors = sum(v["errors"] for v in fil.get("http", {}).values())
        if any(errors.values()) or http_errors:
            add("queries that failed (Fil: search core / HTTP)",
                (f"{errors['fil']} / {http_errors}", str(errors["fts5"]),
                 str(errors["tantivy"])), ("", ""))
    return rows


def markdown(results: dict[str, Any]) -> str:
    """The whole report: machine, corpora, one table per corpus, settings and notes."""
    m = results["machine"]
    st = results["settings"]
    with_pg = any(s["systems"].get("postgres") for s in results["sizes"])
    load = m["load_average_at_start"]
    lines = [
        "# Fil benchmark",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), "
        f"{m['memory_gib']} GiB RAM, {m['os']}; Python {m['python']}, SQLite {m['sqlite']}, "
        f"Whoosh {m['whoosh']}, snowballstemmer {m['snowballstemmer']}, PyStemmer "
        f"{m['pystemmer']}, tantivy {m['tantivy']}; code at {m.get('commit', '?')}. "
        f"Load average (1/5/15 min) {' / '.join(map(str, load))} at start, "
        f"{' / '.join(map(str, m.get('load_average_at_end', [])))} at the end"
        + (" — other work was running: timings are noisy."
           if load[0] > 0.5 * (m["usable_cores"] or 1) else "."),
        "",
        f"Command: `{results.get('command', 'python bench/run.py')}`",
        "",
        "## Corpora",
        "",
        *[f"* {corpus_line(s)}" for s in results["sizes"]],
        "",
    ]
    header = ("| metric | " + " | ".join(h for _, h in SYSTEMS) + " | Fil/FTS5 | Fil/tantivy |"
              + (" PostgreSQL | PostgreSQL/FTS5 |" if with_pg else ""))
    sep = "|---|" + "---:|" * (5 + (2 if with_pg else 0))
    for s in results["sizes"]:
        mode = "" if s.get("mode", "full") == "full" else " (build-only: no latency loops)"
        lines += [f"## {s['size']}{mode}", "", header, sep]
        lines += ["| " + " | ".join(row) + " |" for row in size_rows(s, with_pg)]
        lines.append("")
        lines.extend(f"{note}." for note in s.get("notes", []))
        lines.append(f"Measured in {s['wall_seconds']:.0f} s wall time; load average (1 min) "
                     f"{s['load_average_1m_at_start']} at the start of this corpus, "
                     f"{s['load_average_1m_at_end']} at its end.")
        lines.append("")
    lines += [
        "## How",
        "",
        "Rebuilds run in a child process each; wall time from inside the child, CPU time "
        "(user + system of all its threads) from the kernel (`os.wait4` rusage), peak RSS "
        "= the child's `VmHWM` (/proc/self/status; not `ru_maxrss`, which on Linux starts "
        "from the parent's RSS at fork and so made small children look as large as the "
        "benchmark process: FTS5's figures in reports before this one were that). "
        "Fil = reading the threads + a full rebuild as the default install has it "
        "(snowballstemmer over PyStemmer's C stemmer), threads streamed from the files "
        "into the index as `python -m indexer rebuild` does (never all held at once; "
        "the reading row is the time spent producing them); the pure-Python row is a second "
        "rebuild with PyStemmer blocked in the child (the fallback), not queried.",
        f"FTS5: `tokenize=\"{st['fts5_tokenize']}\"`, passage text only, one transaction + "
        "optimize, build time includes reading the JSONL; words ANDed, phrases as FTS5 "
        "phrases, 10+ words ORed; top 10 by bm25() with snippet(); no total count.",
        f"tantivy: `{st.get('tantivy_writer', '')}` (one indexing thread; merges on "
        f"tantivy's own background thread, counted in CPU time), analyser "
        f"`{st.get('tantivy_analyser', '')}`, positions indexed, passage text stored; build "
        "time includes reading the JSONL. Same queries as FTS5: `+\"word\"` ANDed for short "
        "queries, `\"...\"` phrases, 10+ words ORed; top 10 by BM25 with the total count "
        "(`searcher.search(q, 10)`, `count=True`), stored documents fetched and a "
        "`SnippetGenerator` snippet (150 characters) each.",
        "Fil's search core (`engine.search(q, per_page=10)`) also returns a total count, "
        "re-ranks its top and may add a spelling suggestion, with snippets.",
        f"Latency: {st['queries_per_kind']} timed queries per kind after "
        f"{st['warmup_per_kind']} untimed warm-up queries per kind (different queries), "
        "each system in a fresh process; one run each, `time.perf_counter`, percentiles "
        "interpolated; CPU ms per query = `time.process_time` over the timed loop / "
        "queries (for HTTP the server thread is in the same process, so it is included).",
        "Cold open: a fresh process imports the system's modules, opens the index and runs "
        "the first 1-3 word query of the set (then the same query again); the OS page "
        "cache is not dropped (the index files were just written), so this is a cold "
        "process, not a cold disk.",
    ]
    if with_pg:
        lines.append(
            "PostgreSQL: `read_sources` + `PostgresBackend.rebuild` (analysis, COPY, indexes, "
            "ANALYZE, swap), one run, then `backend.search(q, per_page=10)` (snippets "
            "included) on the same queries and warm-up, all in one fresh child process "
            "talking to a private throwaway cluster (fsync off) or `FIL_DATABASE_URL`; index "
            "size = the backend's `stats().size_bytes` (tables, indexes and posting lists); "
            "CPU = the child process's (`time.process_time`) + the private cluster's server "
            "(postmaster, backends and workers, from /proc; not measured over "
            "`FIL_DATABASE_URL`); server memory is not counted.")
    return "\n".join(lines)
