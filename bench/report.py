"""Formatting for ``bench/run.py``: one markdown table of Fil vs FTS5 (and PostgreSQL when
measured), and progress lines."""

from __future__ import annotations

import sys
from typing import Any

MIB = 2**20
KIND_NAMES = {"words": "1-3 words", "phrase": "phrase", "question": "10+ word question"}


def log(message: str) -> None:
    """A progress line on stderr (the table goes to stdout)."""
    print(message, file=sys.stderr, flush=True)


def _ratio(a: float, b: float) -> str:
    if not b:
        return "—"
    r = a / b
    return f"{r:.1f}×" if r >= 0.95 else f"{r:.2f}×"


def _pcts(lat: dict[str, float]) -> str:
    return f"{lat['p50_ms']:.1f} / {lat['p95_ms']:.1f} / {lat['p99_ms']:.1f}"


def _pct_ratios(a: dict[str, float], b: dict[str, float]) -> str:
    return " / ".join(_ratio(a[k], b[k]) for k in ("p50_ms", "p95_ms", "p99_ms"))


def _rebuild_cell(r: dict[str, Any]) -> str:
    return f"{r['seconds']:.1f} s ({r['per_second']:,.0f} passages/s)"


Row = tuple[str, str, str, str, str, str]


def size_rows(s: dict[str, Any]) -> list[Row]:
    """(metric, Fil, FTS5, Fil/FTS5, PostgreSQL, PostgreSQL/FTS5) rows of one corpus size.

    The PostgreSQL cells are empty when it was not measured (``s["postgres"]`` None).
    """
    fb = s["fts5_build"]
    pg = s.get("postgres")
    rows: list[Row] = [("passages (threads)", f"{s['passages']:,} ({s['threads']:,} threads)",
                        f"{fb['passages']:,}", "",
                        f"{pg['passages']:,} ({pg['threads']:,} threads)" if pg else "", "")]
    # latest.json files written before build_index lost its procs setting hold a
    # "rebuilds" list (procs=1 first, the index that was queried): show that one.
    r = s["rebuild"] if "rebuild" in s else s["rebuilds"][0]
    rows.append(("rebuild", _rebuild_cell(r), _rebuild_cell(fb),
                 _ratio(r["seconds"], fb["seconds"]),
                 _rebuild_cell(pg["rebuild"]) if pg else "",
                 _ratio(pg["rebuild"]["seconds"], fb["seconds"]) if pg else ""))
    rows.append(("… of which read_sources (parsing)", f"{r['read_seconds']:.1f} s",
                 "(in build time)", "",
                 f"{pg['rebuild']['read_seconds']:.1f} s" if pg else "", ""))
    rows.append(("index size on disk (MiB)", f"{s['index_bytes'] / MIB:.1f}",
                 f"{s['fts5_bytes'] / MIB:.1f}", _ratio(s["index_bytes"], s["fts5_bytes"]),
                 f"{pg['index_bytes'] / MIB:.1f}" if pg else "",
                 _ratio(pg["index_bytes"], s["fts5_bytes"]) if pg else ""))
    rows.append(("rebuild peak RSS (MiB)", f"{r['peak_rss_bytes'] / MIB:.0f}",
                 f"{fb['peak_rss_bytes'] / MIB:.0f}",
                 _ratio(r["peak_rss_bytes"], fb["peak_rss_bytes"]), "", ""))
    for kind, name in KIND_NAMES.items():
        fts = s["fts5"][kind]
        eng = s["engine"][kind]
        pgl = pg["latency"][kind] if pg else None
        rows.append((f"search core, {name}: p50/p95/p99 ms", _pcts(eng), _pcts(fts),
                     _pct_ratios(eng, fts), _pcts(pgl) if pgl else "",
                     _pct_ratios(pgl, fts) if pgl else ""))
        if kind in s["http"]:
            rows.append((f"HTTP /api/search, {name}: p50/p95/p99 ms", _pcts(s["http"][kind]),
                         _pcts(fts), _pct_ratios(s["http"][kind], fts), "", ""))
    zero = ", ".join(f"{s['engine'][k]['zero_hits']}" for k in KIND_NAMES)
    zero_fts = ", ".join(f"{s['fts5'][k]['zero_hits']}" for k in KIND_NAMES)
    zero_pg = ", ".join(f"{pg['latency'][k]['zero_hits']}" for k in KIND_NAMES) if pg else ""
    rows.append((f"queries with no hit (words, phrase, question; of {s['queries_per_kind']})",
                 zero, zero_fts, "", zero_pg, ""))
    errors = sum(s["engine"][k]["errors"] for k in KIND_NAMES)
    http_errors = sum(v["errors"] for v in s["http"].values())
    fts_errors = sum(s["fts5"][k]["errors"] for k in KIND_NAMES)
    pg_errors = sum(pg["latency"][k]["errors"] for k in KIND_NAMES) if pg else 0
    if errors or http_errors or fts_errors or pg_errors:
        rows.append(("queries that failed (search core / HTTP)", f"{errors} / {http_errors}",
                     str(fts_errors), "", str(pg_errors) if pg else "", ""))
    return rows


def markdown(results: dict[str, Any]) -> str:
    """The whole report: machine, one table for all sizes, settings and notes."""
    m = results["machine"]
    st = results["settings"]
    with_pg = any(s.get("postgres") for s in results["sizes"])
    lines = [
        "# Fil benchmark",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), "
        f"{m['memory_gib']} GiB RAM, {m['os']}; Python {m['python']}, SQLite {m['sqlite']}, "
        f"Whoosh {m['whoosh']}, PyStemmer {m['pystemmer']}; code at {m.get('commit', '?')}; "
        f"load average "
        f"{m['load_average_1m_at_start']} at start"
        + (" (other work was running: timings are noisy)."
           if m["load_average_1m_at_start"] > 0.5 * (m["usable_cores"] or 1) else "."),
        "",
        "| size | metric | Fil | SQLite FTS5 | Fil/FTS5 |"
        + (" PostgreSQL | PostgreSQL/FTS5 |" if with_pg else ""),
        "|---|---|---:|---:|---:|" + ("---:|---:|" if with_pg else ""),
    ]
    for s in results["sizes"]:
        for metric, ours, theirs, ratio, pg_cell, pg_ratio in size_rows(s):
            lines.append(f"| {s['size']} | {metric} | {ours} | {theirs} | {ratio} |"
                         + (f" {pg_cell} | {pg_ratio} |" if with_pg else ""))
    lines += [
        "",
        "Settings: Fil rebuild = `read_sources` + `build_index` in a child process. "
        f"{st['queries_per_kind']} timed queries per kind after {st['warmup_per_kind']} "
        "untimed warm-up queries per kind (different queries); one run each, "
        "`time.perf_counter`, percentiles interpolated.",
        f"FTS5: `tokenize=\"{st['fts5_tokenize']}\"`, passage text only, one transaction + "
        "optimize, build time includes reading the JSONL; words ANDed, phrases as FTS5 "
        "phrases, 10+ words ORed; top 10 by bm25() with snippet(). Fil's search core also "
        "returns a total count, re-ranks its top and may add a spelling suggestion; FTS5 "
        "returns the top 10 only.",
        "Peak RSS: maximum resident set size of the rebuild child, from the kernel "
        "(`os.wait4` rusage).",
    ]
    if with_pg:
        lines.append(
            "PostgreSQL: `read_sources` + `PostgresBackend.rebuild` (analysis, COPY, indexes, "
            "ANALYZE, swap), one run, then `backend.search(q, per_page=10)` (snippets "
            "included) on the same queries and warm-up, all in one fresh child process "
            "talking to a private throwaway cluster (`pg_cluster.TempCluster`, "
            "fsync off) or `DATABASE_URL`; index size = the backend's "
            "`stats().size_bytes`; server memory is not counted.")
    for s in results["sizes"]:
        lines.extend(f"{s['size']}: {note}." for note in s.get("notes", []))
        lines.append(f"{s['size']}: whole size measured in {s['wall_seconds']:.0f} s wall time "
                     f"(load average {s['load_average_1m_at_end']} at the end).")
    return "\n".join(lines)
