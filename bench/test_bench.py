"""Checks of the benchmark harness itself (no timing assertions). Run: ``pytest bench/``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import corpus  # noqa: E402
import fts5  # noqa: E402
import queries  # noqa: E402
import report  # noqa: E402
from latency import percentile  # noqa: E402
from relevance import Question, Scores  # noqa: E402

PARAS = [
    corpus.Paragraph("pkg", f"f{i % 7}", f"Le serveur numéro {i} démarre vite. Il écoute "
                     f"le réseau local. Configurez la sécurité du port {i} avant usage.")
    for i in range(300)
]


def test_parse_size() -> None:
    assert corpus.parse_size("10k") == 10_000
    assert corpus.parse_size("1.5m") == 1_500_000
    assert corpus.parse_size("2500") == 2500


@pytest.mark.parametrize("target", [50, 700])
def test_generate_is_deterministic_and_exact(target: int) -> None:
    first = list(corpus.generate(target, PARAS))
    again = list(corpus.generate(target, PARAS))
    assert first == again
    passages = sum(len(t["post"]["paragraphs"]) + len(t["comments"]) for t in first)
    assert passages == target
    assert len({t["id"] for t in first}) == len(first)


def test_generated_threads_read_back_with_the_project_parser(tmp_path: Path) -> None:
    from indexer.ingest.parsing import read_sources

    path = corpus.write_corpus("700", PARAS, tmp_path / "c.jsonl")
    read = read_sources([path])
    assert not read.rejected
    assert sum(len(t.passages()) for t in read.threads) == 700
    dates = [c.date for t in read.threads for c in t.comments]
    assert all(d and "2005" <= d[:4] <= "2025" for d in dates)


def test_queries_have_the_promised_shapes(tmp_path: Path) -> None:
    path = corpus.write_corpus("300", PARAS, tmp_path / "c.jsonl")
    qs = queries.make_queries(path, 20)
    assert qs == queries.make_queries(path, 20)
    assert all(1 <= len(q.split()) <= 3 for q in qs["words"])
    assert all(q.startswith('"') and q.endswith('"') and 2 <= len(q.split()) <= 3
               for q in qs["phrase"])
    assert all(len(queries.WORD_RE.findall(q)) >= 10 for q in qs["question"])


def test_to_match_quotes_tokens_and_picks_and_or() -> None:
    assert fts5.to_match('réseau "mise à jour" l\'option') == (
        '"mise à jour" "réseau" "l" "option"')
    long = "Comment peut-on configurer le serveur web pour que le pare-feu accepte ?"
    assert " OR " in (fts5.to_match(long) or "")
    assert fts5.to_match("NEAR( * ^ -") == '"NEAR"'
    assert fts5.to_match('" ? "') is None


def test_fts5_roundtrip(tmp_path: Path) -> None:
    rows = [("t1", "post", 1, "Le réseau local est lent."),
            ("t1", "comment", 1, "Vérifiez la sécurité du pare-feu.")]
    b = fts5.build(rows, tmp_path / "x.db")
    assert b.passages == 2
    idx = fts5.Fts5Index(tmp_path / "x.db")
    hits = idx.search("securite")
    idx.close()
    assert [(h.thread_id, h.kind, h.position) for h in hits] == [("t1", "comment", 1)]
    assert "<mark>sécurité</mark>" in hits[0].snippet


def test_percentile() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0
    assert percentile([1.0, 2.0], 50) == 1.5
    assert percentile([7.0], 99) == 7.0


def test_scores_mrr_and_recall() -> None:
    s = Scores()
    q = Question("x", "t1", 2)
    s.add(q, [("t1", "post", 1), ("t1", "post", 2)])
    s.add(q, [("t9", "post", 2)])
    assert s.row() == (0.25, 0.5, 0.5, 0.5)


def test_queries_cli_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = corpus.write_corpus("300", PARAS, tmp_path / "c.jsonl")
    assert queries.main([str(path), "--n", "2", "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == set(queries.KINDS)


FIL_BUILD = {"threads": 2, "passages": 10, "rejected": 0, "read_seconds": 0.5,
             "build_seconds": 1.5, "seconds": 2.0, "peak_rss_bytes": 100 * 2**20,
             "main_rss_bytes": 100 * 2**20, "per_second": 5.0}


def _size_result(**rebuild_keys: object) -> dict[str, object]:
    """A minimal ``run_size`` result (one corpus size) for the report."""
    lat = {"p50_ms": 1.0, "p95_ms": 2.0, "p99_ms": 3.0, "zero_hits": 0, "errors": 0}
    fts = FIL_BUILD | {"threads": 0, "read_seconds": 0.0, "seconds": 1.0,
                       "peak_rss_bytes": 50 * 2**20, "per_second": 10.0}
    return {"size": "10", "passages": 10, "threads": 2, "queries_per_kind": 1,
            "index_bytes": 2**20, "fts5_bytes": 2**20, "fts5_build": fts, "postgres": None,
            "engine": dict.fromkeys(report.KIND_NAMES, lat), "http": {}, "notes": [],
            "fts5": dict.fromkeys(report.KIND_NAMES, lat), "wall_seconds": 1.0,
            "load_average_1m_at_end": 0.1, **rebuild_keys}


def test_report_rows_name_one_rebuild() -> None:
    rows = {row[0]: row[1:] for row in report.size_rows(_size_result(rebuild=FIL_BUILD))}
    assert rows["rebuild"][:3] == ("2.0 s (5 passages/s)", "1.0 s (10 passages/s)", "2.0×")
    assert rows["rebuild peak RSS (MiB)"][:3] == ("100", "50", "2.0×")
    assert not any("procs" in name for name in rows)


def test_report_renders_an_old_latest_json() -> None:
    """Files written when build_index took procs/limitmb still render (first rebuild)."""
    old_run = FIL_BUILD | {"procs": 1, "limitmb": 256, "workers_rss_bytes": 0}
    s = _size_result(rebuilds=[old_run, old_run | {"procs": 2, "seconds": 1.0}])
    results = {"machine": {"cpu": "x", "cores": 1, "usable_cores": 1, "memory_gib": 1,
                           "os": "Linux", "python": "3.11", "sqlite": "3", "whoosh": "2",
                           "pystemmer": "3", "load_average_1m_at_start": 0.0},
               "settings": {"procs": [1, 2], "limitmb": 256, "queries_per_kind": 1,
                            "warmup_per_kind": 1, "fts5_tokenize": "unicode61"},
               "sizes": [s]}
    text = report.markdown(results)
    assert "| 10 | rebuild | 2.0 s (5 passages/s) |" in text
    assert "| 10 | rebuild peak RSS (MiB) | 100 |" in text
    assert "procs" not in text and "limitmb" not in text
    assert "Fil rebuild = `read_sources` + `build_index` in a child process" in text
