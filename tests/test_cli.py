"""The command line (``python -m indexer`` / ``fil``): rebuild, stats, search, exit codes.

Runs the real click group through ``CliRunner`` in a tmp working directory, and the real
module in a subprocess, over real thread files and real indexes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from helpers import (
    GENEROUS_SECONDS,
    ROOT,
    SEED_FILE,
    SEED_ID,
    SEED_TITLE,
    current_manifest,
    segment_dirs,
)

from indexer import about
from indexer.cli import EXIT_LOCKED, EXIT_REJECTED, cli
from indexer.store.whoosh.manifest import CURRENT, writer_lock

SUMMARY_RE = re.compile(r"^Indexed ([\d,]+) threads?, ([\d,]+) passages? \(([\d,]+) rejected, "
                        r"([\d,]+) skipped\) in [\d.]+ s, reading included "
                        r"\([\d,]+ passages/s\) -> (.+)$")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Run every test in an empty tmp cwd, without the CLI's environment variables."""
    for var in ("FIL_INDEX_DIR", "FIL_SOURCES", "FIL_BACKEND", "FIL_DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    """Invoke the CLI in-process (stdout and stderr kept apart)."""
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def jsonl_line(tid: str, text: str) -> str:
    return json.dumps({"id": tid, "title": tid, "post": {"paragraphs": [text]}},
                      ensure_ascii=False)


def seed_tree(base: Path) -> Path:
    """``base/index_data/threads/`` holding a copy of the seed thread."""
    threads = base / "index_data" / "threads"
    threads.mkdir(parents=True)
    shutil.copy(SEED_FILE, threads)
    return threads


def summary(result: Result) -> tuple[int, int, int, str]:
    """Parse the one-line summary of a rebuild: threads, passages, rejected, location."""
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    m = SUMMARY_RE.match(lines[0])
    assert m, lines[0]
    return int(m[1]), int(m[2]), int(m[3]), m[5]


def stderr_lines(result: Result) -> list[str]:
    return [ln for ln in result.stderr.splitlines() if ln.strip()]


def search_ids(index: Path, query: str) -> list[tuple[str, str, int]]:
    """(thread, kind, position) of every hit, through the CLI's --json output."""
    result = run("search", query, "--index", str(index), "--json", "--per-page", "100")
    assert result.exit_code == 0, result.stderr
    return [(h["thread_id"], h["kind"], h["position"])
            for h in json.loads(result.stdout)["results"]]


# -- rebuild -------------------------------------------------------------------------


def test_rebuild_defaults(clean_env: Path) -> None:
    seed_tree(clean_env)
    result = run("rebuild")
    assert result.exit_code == 0, result.stderr
    assert summary(result) == (1, 29, 0, "index_data/index")
    assert result.stdout.startswith("Indexed 1 thread, 29 passages (0 rejected, 0 skipped) in ")
    assert result.stderr == ""
    assert current_manifest(clean_env / "index_data" / "index") is not None
    assert (SEED_ID, "post", 15) in search_ids(
        clean_env / "index_data" / "index", "Sarkozy")


def test_rebuild_repeated_sources(clean_env: Path) -> None:
    seed_tree(clean_env)
    extra = clean_env / "plus"
    extra.mkdir()
    (extra / "velo.jsonl").write_text(
        jsonl_line("velo", "Les pistes cyclables du centre-ville.") + "\n"
        + jsonl_line("bus", "Le bus de nuit passe toutes les heures.") + "\n", encoding="utf-8")
    (clean_env / "seul.txt").write_text("Le marché couvert rouvre samedi.\n", encoding="utf-8")
    result = run("rebuild", "--source", "index_data/threads", "--source", "plus",
                 "--source", "seul.txt", "--index", "idx", "--quiet")
    assert result.exit_code == 0, result.stderr
    assert summary(result)[:3] == (4, 32, 0)
    assert search_ids(clean_env / "idx", "cyclables") == [("velo", "post", 1)]
    assert search_ids(clean_env / "idx", "marché couvert") == [("seul", "post", 1)]


def build_seed_index(base: Path) -> Path:
    seed_tree(base)
    result = run("rebuild")
    assert result.exit_code == 0, result.stderr
    return base / "index_data" / "index"


def assert_untouched(index: Path, current_before: str) -> None:
    """CURRENT still names the same generation, which still answers searches."""
    assert (index / CURRENT).read_text(encoding="utf-8") == current_before
    assert (SEED_ID, "post", 15) in search_ids(index, "Sarkozy")


def test_missing_source_is_one_clear_line(clean_env: Path) -> None:
    index = build_seed_index(clean_env)
    before = (index / CURRENT).read_text(encoding="utf-8")
    result = run("rebuild", "--source", "index_data/threads", "--source", "nulle/part")
    assert result.exit_code != 0
    assert result.stdout == ""
    lines = stderr_lines(result)
    assert len(lines) == 1, result.stderr
    assert "nulle/part" in lines[0] and "not found" in lines[0]
    assert "Traceback" not in result.output
    assert_untouched(index, before)


def test_malformed_jsonl_line_is_reported_and_others_indexed(clean_env: Path) -> None:
    src = clean_env / "src"
    src.mkdir()
    f = src / "fils.jsonl"
    f.write_text(jsonl_line("un", "Premier fil sur les abeilles.") + "\n{cassé\n"
                 + jsonl_line("deux", "Second fil sur les ruches.") + "\n", encoding="utf-8")
    result = run("rebuild", "--source", "src", "--index", "idx")
    assert result.exit_code == 0, result.stderr
    assert summary(result)[:3] == (2, 2, 1)
    lines = stderr_lines(result)
    assert len(lines) == 1
    assert lines[0].startswith(f"rejected: {Path('src') / 'fils.jsonl'}:2: invalid JSON")
    assert search_ids(clean_env / "idx", "ruches") == [("deux", "post", 1)]


def test_strict_exits_3_when_something_was_rejected(clean_env: Path) -> None:
    src = clean_env / "src"
    src.mkdir()
    (src / "fils.jsonl").write_text(jsonl_line("un", "Un fil.") + "\n[]\n", encoding="utf-8")
    result = run("rebuild", "--source", "src", "--index", "idx", "--strict")
    assert result.exit_code == EXIT_REJECTED == 3
    assert summary(result)[:3] == (1, 1, 1)  # the good thread is still indexed
    assert "fils.jsonl:2: a thread must be a JSON object" in result.stderr
    assert current_manifest(clean_env / "idx") is not None
    ok = run("rebuild", "--source", str(SEED_FILE), "--index", "idx", "--strict")
    assert ok.exit_code == 0


def test_warning_for_cp1252_file(clean_env: Path) -> None:
    (clean_env / "ancien.txt").write_bytes("Un été à Noël.\n".encode("cp1252"))
    result = run("rebuild", "--source", "ancien.txt", "--index", "idx", "--strict")
    assert result.exit_code == 0
    assert stderr_lines(result) == ["warning: ancien.txt:1: 1 line(s) not valid UTF-8: their "
                                    "invalid bytes were read as Windows-1252"]


def test_strict_exits_3_for_a_file_that_is_not_read(clean_env: Path) -> None:
    src = clean_env / "src"
    src.mkdir()
    (src / "fils.jsonl").write_text(jsonl_line("un", "Un fil.") + "\n", encoding="utf-8")
    (src / "notes.md").write_text("# pas un fil\n", encoding="utf-8")
    result = run("rebuild", "--source", "src", "--index", "idx", "--strict")
    assert result.exit_code == EXIT_REJECTED
    assert f"skipped: {Path('src') / 'notes.md'}: unknown file type" in result.stderr
    assert summary(result)[:3] == (1, 1, 0) and "(0 rejected, 1 skipped)" in result.stdout


def test_no_good_thread_leaves_index_untouched(clean_env: Path) -> None:
    index = build_seed_index(clean_env)
    before = (index / CURRENT).read_text(encoding="utf-8")
    bad = clean_env / "mauvais"
    bad.mkdir()
    (bad / "a.jsonl").write_text("{cassé\n", encoding="utf-8")
    (bad / "b.txt").write_bytes(b"\x00\x01binaire")
    result = run("rebuild", "--source", "mauvais")
    assert result.exit_code != 0
    assert "no thread could be read from mauvais; the index was left as it was" in result.stderr
    assert "rejected: " in result.stderr and "Traceback" not in result.output
    assert_untouched(index, before)
    empty = clean_env / "vide"
    empty.mkdir()
    result = run("rebuild", "--source", "vide")
    assert result.exit_code != 0 and "no thread could be read" in result.stderr
    assert_untouched(index, before)


def test_rebuild_while_locked_exits_4(clean_env: Path) -> None:
    index = build_seed_index(clean_env)
    before = (index / CURRENT).read_text(encoding="utf-8")
    with writer_lock(index):
        result = run("rebuild")
    assert result.exit_code == EXIT_LOCKED == 4
    lines = stderr_lines(result)
    assert len(lines) == 1 and "another change to index_data/index" in lines[0]
    assert "Traceback" not in result.output
    assert_untouched(index, before)
    assert run("rebuild").exit_code == 0  # the lock is free again


# -- stats and search ----------------------------------------------------------------


def stats_fields(result: Result) -> dict[str, str]:
    return dict(re.match(r"^(\w+):\s+(.*)$", ln).groups()  # type: ignore[union-attr]
                for ln in result.stdout.splitlines())


def test_stats(clean_env: Path) -> None:
    index = build_seed_index(clean_env)
    result = run("stats")
    assert result.exit_code == 0, result.stderr
    fields = stats_fields(result)
    assert fields.keys() == {"index", "built", "updated", "threads", "passages", "deleted",
                             "segments", "terms", "size", "stemmer"}
    assert fields["threads"] == "1" and fields["passages"] == "29"
    assert fields["segments"] == "1" and fields["deleted"].startswith("0 ")
    assert int(fields["terms"]) > 300
    size = int(re.search(r"\((\d+) bytes\)", fields["size"])[1])  # type: ignore[index]
    on_disk = sum(f.stat().st_size for d in segment_dirs(index) for f in d.rglob("*")
                  if f.is_file())
    assert size == on_disk > 0
    assert fields["index"] == "index_data/index"
    assert re.match(r"\d{4}-\d{2}-\d{2}T", fields["built"])
    assert fields["updated"] == fields["built"]
    assert fields["stemmer"] == about.stemmer()


def test_search_prints_results(clean_env: Path) -> None:
    build_seed_index(clean_env)
    result = run("search", "tres haut debit")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    m = re.match(r"^(\d+) results \([\d.]+ ms\)$", lines[0])
    assert m and int(m[1]) == 5
    heads = [i for i, ln in enumerate(lines) if re.match(r"^\s+\d+\. ", ln)]
    assert len(heads) == 5 and len(lines) == 1 + 3 * 5  # title line, link, snippet
    first, link, snippet = lines[heads[0]:heads[0] + 3]
    assert re.match(rf"^  1\. {re.escape(SEED_TITLE)} — post ¶14  \[[\d.]+\]$", first)
    assert link.strip() == f"/thread/{SEED_ID}?q=tres+haut+debit#p14"
    assert "**TRES** **haut** **débit**" in snippet and "<mark>" not in result.stdout
    assert "&#x27;" not in result.stdout and "qu'une" in result.stdout  # plain text
    assert (f"{SEED_TITLE} — comment 1 ¶2 — Christophe Humbert, 2009-02-05 14:51"
            in result.stdout)


def test_search_labels_and_base_url(clean_env: Path) -> None:
    build_seed_index(clean_env)
    result = run("search", "tres haut debit author:philrig", "--base-url",
                 "https://fil.example.org/")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("1 result (")  # singular
    assert re.match(rf"^  1\. {re.escape(SEED_TITLE)} — comment 13 ¶2 — philrig, "
                    r"2009-02-08 19:00  \[[\d.]+\]$", lines[1])
    assert lines[2].strip() == ("https://fil.example.org/thread/lippi-billautshow-2009-02"
                                "?q=tres+haut+debit+author:philrig#c13")


def test_search_json(clean_env: Path) -> None:
    build_seed_index(clean_env)
    result = run("search", "très haut débit", "--json", "--per-page", "3")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["query"] == "très haut débit"
    assert data["page"] == 1 and data["per_page"] == 3 and data["total"] >= 5
    assert len(data["results"]) == 3
    for hit in data["results"]:
        assert hit["thread_id"] == SEED_ID
        assert hit["kind"] in ("post", "comment") and isinstance(hit["position"], int)
        assert "<mark>" in hit["snippet"]


@pytest.mark.parametrize("query", ["tres haut debit", "lippi author:billaut", "en* debit",
                                   "sarkosy"])
def test_search_json_is_the_apis(clean_env: Path, make_app, query: str) -> None:
    """``--json`` gives the API's objects (links included); only notices change language."""
    index = build_seed_index(clean_env)
    cli_out = json.loads(run("search", query, "--json", "--per-page", "3").stdout)
    api = make_app(index).test_client().get(
        "/api/search", query_string={"q": query, "per_page": 3}).get_json()
    for out in (cli_out, api):
        del out["elapsed_ms"]
    cli_notices, api_notices = cli_out.pop("notices"), api.pop("notices")
    assert cli_out == api
    assert len(cli_notices) == len(api_notices)
    if query == "en* debit":
        assert cli_notices == ["en*: a prefix needs at least 3 letters; searched as a word"]


def test_search_paging_errors_name_the_options(clean_env: Path) -> None:
    build_seed_index(clean_env)
    for args, message in ((("--per-page", "0"), "--per-page must be between 1 and 100"),
                          (("--page", "101"), "--page must be between 1 and 100")):
        result = run("search", "debit", *args)
        assert result.exit_code == 1 and result.stdout == ""
        assert result.stderr.splitlines() == [f"Error: {message}"]
    bad = run("search", "author:")
    assert bad.exit_code == 1
    assert bad.stderr.splitlines() == [
        "Error: author: missing value (for example author:philrig)"]


def test_search_without_matches(clean_env: Path) -> None:
    build_seed_index(clean_env)
    result = run("search", "zzzqqq", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["total"] == 0


@pytest.mark.parametrize("args", [("search", "debit"), ("stats",)])
def test_missing_index_is_a_clear_error(clean_env: Path, args: tuple[str, ...]) -> None:
    result = run(*args, "--index", "pas-d-index")
    assert result.exit_code != 0
    lines = stderr_lines(result)
    assert len(lines) == 1 and "no index at pas-d-index" in lines[0]
    assert "Traceback" not in result.output and result.stdout == ""


def test_bad_paging_is_a_clear_error(clean_env: Path) -> None:
    build_seed_index(clean_env)
    result = run("search", "debit", "--page", "0")
    assert result.exit_code != 0 and result.stdout == ""
    lines = stderr_lines(result)
    assert len(lines) == 1 and "page" in lines[0] and "100" in lines[0]
    assert "Traceback" not in result.output


# -- environment ---------------------------------------------------------------------


def test_env_fallbacks(clean_env: Path) -> None:
    a, b = clean_env / "a", clean_env / "b"
    a.mkdir()
    b.mkdir()
    (a / "un.txt").write_text("Les abeilles butinent la lavande.\n", encoding="utf-8")
    (b / "deux.txt").write_text("Les ruches sont pleines de miel.\n", encoding="utf-8")
    env = {"FIL_INDEX_DIR": str(clean_env / "ailleurs"), "FIL_SOURCES": f"{a}:{b}"}
    result = run("rebuild", env=env)
    assert result.exit_code == 0, result.stderr
    assert summary(result) == (2, 2, 0, str(clean_env / "ailleurs"))
    assert not (clean_env / "index_data").exists()
    found = run("search", "miel", "--json", env=env)
    assert [h["thread_id"] for h in json.loads(found.stdout)["results"]] == ["deux"]
    stats = run("stats", env=env)
    assert "threads:  2" in stats.stdout
    # an explicit option wins over the environment
    seed_tree(clean_env)
    result = run("rebuild", "--source", "index_data/threads", "--index", "idx", env=env)
    assert summary(result)[:2] == (1, 29)


def test_stray_colon_in_fil_sources_never_reads_the_cwd(clean_env: Path) -> None:
    seed_tree(clean_env)  # a thread the empty entry must not pick up through "."
    a = clean_env / "a"
    a.mkdir()
    (a / "un.txt").write_text("Les abeilles butinent la lavande.\n", encoding="utf-8")
    result = run("rebuild", "--index", "idx", env={"FIL_SOURCES": "a:"})
    assert result.exit_code == 0, result.stderr  # the empty entry is skipped
    assert summary(result)[:2] == (1, 1)
    assert search_ids(clean_env / "idx", "abeilles") == [("un", "post", 1)]
    assert search_ids(clean_env / "idx", "lippi") == []


def test_cli_does_not_import_the_web_framework() -> None:
    """The command line shapes its JSON with the library (indexer.search.present), not Flask."""
    code = ("import sys, indexer.cli; from indexer.cli import main; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'werkzeug', "
            "'search_app', 'jinja2')))")
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=GENEROUS_SECONDS, check=True)
    assert done.stdout.strip() == "[]"


def test_console_script_is_declared() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    target = project["project"]["scripts"]["fil"]
    assert target == "indexer.cli:main"
    module, _, attr = target.partition(":")
    main = getattr(__import__(module, fromlist=[attr]), attr)
    assert callable(main)


# -- a real process ------------------------------------------------------------------


def python_m_indexer(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m indexer ...`` as a separate process (the repo on PYTHONPATH)."""
    full_env = {k: v for k, v in os.environ.items()
                if k not in ("FIL_INDEX_DIR", "FIL_SOURCES", "FIL_BACKEND")}
    full_env.update(PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
                    PYTHONWARNINGS="ignore::SyntaxWarning", **env)
    return subprocess.run([sys.executable, "-m", "indexer", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=GENEROUS_SECONDS,
                          check=False)


def test_subprocess_rebuild_stats_search(clean_env: Path) -> None:
    seed_tree(clean_env)
    done = python_m_indexer("rebuild", cwd=clean_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Indexed 1 thread, 29 passages (0 rejected, 0 skipped) in ")
    assert "Traceback" not in done.stderr
    stats = python_m_indexer("stats", cwd=clean_env)
    assert stats.returncode == 0 and "passages: 29" in stats.stdout
    found = python_m_indexer("search", "Sarkozy", "--json", cwd=clean_env)
    assert found.returncode == 0
    assert {"thread_id": SEED_ID, "kind": "post", "position": 15}.items() <= \
        json.loads(found.stdout)["results"][0].items()


def test_subprocess_errors_and_lock(clean_env: Path) -> None:
    index = build_seed_index(clean_env)
    missing = python_m_indexer("rebuild", "--source", "absent", cwd=clean_env)
    assert missing.returncode == 1
    assert missing.stderr.strip().count("\n") == 0 and "absent" in missing.stderr
    assert "Traceback" not in missing.stderr
    with writer_lock(index):  # held by this process: the child must give up at once
        locked = python_m_indexer("rebuild", cwd=clean_env)
    assert locked.returncode == EXIT_LOCKED, locked.stderr
    assert "another change" in locked.stderr and "Traceback" not in locked.stderr
    no_index = python_m_indexer("search", "x", cwd=clean_env, FIL_INDEX_DIR="rien")
    assert no_index.returncode == 1 and "no index at rien" in no_index.stderr
