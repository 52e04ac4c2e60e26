"""Checks of the benchmark harness itself (no timing assertions). Run: ``pytest bench/``."""

from __future__ import annotations

import json
import re
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
    import fil_adapter

    path = corpus.write_corpus("700", PARAS, tmp_path / "c.jsonl")
    read = fil_adapter.read_threads([path])
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
             "main_rss_bytes": 100 * 2**20, "per_second": 5.0, "cpu_seconds": 3.0,
             "load_1m_before": 0.5, "index_bytes": 2**20}


def _size_result(mode: str = "full") -> dict[str, object]:
    """A minimal ``run_size`` result (one corpus) for the report."""
    lat = {"p50_ms": 1.0, "p95_ms": 2.0, "p99_ms": 3.0, "cpu_mean_ms": 0.5, "zero_hits": 0,
           "errors": 0}
    fts = FIL_BUILD | {"threads": 0, "read_seconds": 0.0, "seconds": 1.0, "cpu_seconds": 1.0,
                       "peak_rss_bytes": 50 * 2**20, "per_second": 10.0}
    cold = {"import_ms": 100.0, "open_ms": 20.0, "first_query_ms": 30.0, "total_ms": 150.0,
            "cpu_ms": 140.0, "same_query_again_ms": 2.0}
    kinds = dict.fromkeys(report.KIND_NAMES, lat)
    systems = {"fil": {"rebuild": FIL_BUILD, "cold": cold},
               "fts5": {"rebuild": fts, "cold": cold}, "tantivy": {"rebuild": fts}}
    if mode == "full":
        systems["fil"] |= {"latency": kinds, "http": {}}
        systems["fts5"]["latency"] = kinds
        systems["tantivy"]["latency"] = kinds
    stats = {"description": "real", "passages": 10, "threads": 2, "real_passages": 10,
             "reused_passages": 0, "distinct_paragraphs": 9, "distinct_chunks": 50,
             "distinct_words": 40, "distinct_terms": 30, "text_mb": 0.2, "file_mb": 0.3}
    return {"size": "real-10", "mode": mode, "corpus": stats, "passages": 10, "threads": 2,
            "queries_per_kind": 1, "systems": systems, "notes": [], "wall_seconds": 1.0,
            "load_average_1m_at_start": 0.1, "load_average_1m_at_end": 0.1}


def test_report_rows_compare_fil_with_both_yardsticks() -> None:
    rows = {row[0]: row[1:] for row in report.size_rows(_size_result(), with_pg=False)}
    assert rows["rebuild, wall time"] == (
        "2.0 s (5 passages/s, 0.1 MB/s)", "1.0 s (10 passages/s, 0.2 MB/s)",
        "1.0 s (10 passages/s, 0.2 MB/s)", "2.0×", "2.0×")
    assert rows["rebuild, CPU time (user+sys)"][0] == "3.0 s (1.50 cores)"
    assert rows["rebuild peak RSS (MiB)"] == ("100", "50", "50", "2.0×", "2.0×")
    assert rows["search core, 1-3 words: p50/p95/p99 ms"][3] == "1.0× / 1.0× / 1.0×"
    assert any(name.startswith("cold open") for name in rows)


def test_report_renders_a_build_only_size() -> None:
    results = {"machine": {"cpu": "x", "cores": 1, "usable_cores": 1, "memory_gib": 1,
                           "os": "Linux", "python": "3.11", "sqlite": "3", "whoosh": "2",
                           "pystemmer": "3", "snowballstemmer": "3", "tantivy": "0",
                           "load_average_at_start": [0.0, 0.0, 0.0],
                           "load_average_at_end": [0.0, 0.0, 0.0]},
               "settings": {"queries_per_kind": 1, "warmup_per_kind": 1,
                            "fts5_tokenize": "unicode61"},
               "sizes": [_size_result("full"), _size_result("build-only")]}
    text = report.markdown(results)
    assert "## real-10 (build-only: no latency loops)" in text
    assert "| rebuild, wall time | 2.0 s (5 passages/s, 0.1 MB/s) |" in text
    assert text.count("search core, phrase") == 1  # only the full size has latency rows
    assert "9 distinct paragraphs" in text


# -- real corpora, extraction, tantivy, adapter ------------------------------------------------


def test_html_paragraphs_skip_code_navigation_and_hidden_text() -> None:
    import extract

    html = """<html><head><title>T</title></head><body>
    <div class="navheader">Précédent Suivant</div>
    <p>Pour ouvrir un fichier, choisissez <span class="guimenu">Fichier</span> puis
    <code>Ouvrir</code> dans le menu.</p>
    <pre>ls -l /etc</pre><div class="programlisting">x = 1</div>
    <p>Appuyez sur <span hidden="true" id="MAC1">Commande</span><span hidden="true"
    id="default1">Ctrl</span>+O.</p>
    <ul><li>Premier élément de la liste</li><li>Second</li></ul></body></html>"""
    assert extract.html_paragraphs(html) == [
        "Pour ouvrir un fichier, choisissez Fichier puis Ouvrir dans le menu.",
        "Appuyez sur Ctrl+O.", "Premier élément de la liste", "Second"]


def test_mallard_and_docbook_sequences() -> None:
    import extract

    page = ('<page><info><credit>Jean</credit></info><p>Appuyez sur <keyseq><key>Ctrl</key>'
            '<key>S</key></keyseq> ou choisissez <guiseq><gui>Fichier</gui><gui>Enregistrer'
            '</gui></guiseq>.</p></page>')
    assert extract.html_paragraphs(page) == [
        "Appuyez sur Ctrl+S ou choisissez Fichier ▸ Enregistrer."]
    docbook = ('<!DOCTYPE book [<!ENTITY app "<application>Okular</application>">]>'
               '<book><para>Lancez &app; depuis &kde;.</para></book>')
    assert extract.html_paragraphs(docbook) == ["Lancez Okular depuis kde."]


def test_roff_paragraphs() -> None:
    import extract

    man = """.\\" comment
.TH LS 1
.SH NOM
ls \\- lister
.SH DESCRIPTION
.PP
Afficher les informations des \\fIFICHIER\\fPs (du
répertoire courant par défaut).
.nf
code ignoré
.fi
.TP
\\fB\\-a\\fP, \\fB\\-\\-all\\fP
inclure les entrées débutant par «\\ .\\ »
.BR ls (1)
"""
    assert extract.roff_paragraphs(man) == [
        "ls - lister",
        "Afficher les informations des FICHIERs (du répertoire courant par défaut).",
        "-a, --all inclure les entrées débutant par « . » ls(1)"]


def test_lyx_paragraphs() -> None:
    import extract

    lyx = """\\begin_layout Standard
Le texte de \n\\SpecialChar LyX
 est simple
\\begin_inset Formula $x^2$
\\end_inset

 et clair.
\\end_layout
"""
    assert extract.lyx_paragraphs(lyx) == ["Le texte de LyX est simple et clair."]


def test_is_prose_keeps_french_sentences_only() -> None:
    import extract

    assert extract.is_prose("Sélectionnez la couleur de ligne souhaitée dans la liste.")
    assert not extract.is_prose("Select the line colour you want in the list below.")
    assert not extract.is_prose("svc.SetFormula(targetrange: str, formula: any): str")
    assert not extract.is_prose("Style de ligne")


def test_real_corpus_labels_and_generation() -> None:
    import realcorpus

    assert realcorpus.parse_label("real-100k") == ("real", 100_000)
    assert realcorpus.parse_label("real-max") == ("real", None)
    assert realcorpus.parse_label("reused-1m") == ("reused", 1_000_000)
    assert not realcorpus.is_label("100k")
    every = list(realcorpus.generate("real-max", PARAS))
    assert sum(realcorpus.passages_of(t) for t in every) <= len(PARAS)
    assert all(t["id"].startswith("r") for t in every)
    prefix = list(realcorpus.generate("real-120", PARAS))
    assert sum(realcorpus.passages_of(t) for t in prefix) == 120
    assert [t["id"] for t in prefix] == [t["id"] for t in every[:len(prefix)]]
    reused = list(realcorpus.generate("reused-1000", PARAS))
    assert sum(realcorpus.passages_of(t) for t in reused) == 1000
    assert any(t["id"].startswith("u") for t in reused)
    assert reused == list(realcorpus.generate("reused-1000", PARAS))


def test_large_corpora_are_split_and_read_whole(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import fil_adapter
    import fts5
    import realcorpus

    monkeypatch.setattr(realcorpus, "PART_BYTES", 20_000)
    path = realcorpus.write_corpus("reused-600", PARAS, root=tmp_path)
    assert path.is_dir() and len(corpus.corpus_files(path)) > 1
    assert sum(1 for _ in fts5.corpus_rows(path)) == 600
    assert len(queries.read_passages(path)) == 600
    read = fil_adapter.read_threads([path])
    assert not read.rejected and sum(len(t.passages()) for t in read.threads) == 600
    again = realcorpus.write_corpus("reused-600", PARAS, root=tmp_path)
    assert again == path


def test_corpus_stats(tmp_path: Path) -> None:
    import corpusstats
    import realcorpus

    path = tmp_path / "real-50.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for t in realcorpus.generate("real-50", PARAS):
            fh.write(json.dumps(t, ensure_ascii=False) + "\n")
    st = corpusstats.ensure_stats(path, "real-50")
    assert st["passages"] == 50 and st["real_passages"] == 50 and st["reused_passages"] == 0
    assert 0 < st["distinct_terms"] <= st["distinct_chunks"]
    assert corpusstats.stats_path(path).exists()
    assert corpusstats.ensure_stats(path, "real-50") == st


def test_tantivy_query_text() -> None:
    import tantivy_engine

    assert tantivy_engine.to_query('réseau "mise à jour"') == '+"mise à jour" +"réseau"'
    long = "Comment peut-on configurer le serveur web pour que le pare-feu accepte ?"
    assert "+" not in (tantivy_engine.to_query(long) or "+")
    assert tantivy_engine.to_query('" ? "') is None


def test_tantivy_roundtrip(tmp_path: Path) -> None:
    pytest.importorskip("tantivy")
    import realcorpus
    import tantivy_engine

    path = tmp_path / "c.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for t in realcorpus.generate("real-40", PARAS):
            fh.write(json.dumps(t, ensure_ascii=False) + "\n")
    b = tantivy_engine.build_from_corpus(path, tmp_path / "idx")
    assert b.passages == 40
    idx = tantivy_engine.TantivyIndex(tmp_path / "idx")
    hits = idx.search("securite reseau")  # folded and stemmed like the text
    assert hits and "<b>" in hits[0].snippet
    assert idx.search('"écoute le réseau"')


def test_only_the_adapter_calls_fil() -> None:
    """Every import of Fil's packages in bench/ is in fil_adapter.py."""
    bench = Path(__file__).resolve().parent
    pattern = re.compile(r"^\s*(from|import)\s+(indexer|search_app)\b", re.MULTILINE)
    offenders = [p.name for p in bench.glob("*.py")
                 if p.name != "fil_adapter.py" and pattern.search(p.read_text("utf-8"))]
    assert offenders == []
