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
    from indexer.parsing import read_sources

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
