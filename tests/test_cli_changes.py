"""Incremental changes from the command line: ``fil update``, ``fil delete``, ``fil optimize``,
and what a failed write leaves (nothing but the previous index).

Real thread files, real indexes, the real click group (``CliRunner``) or a real process.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from helpers import SEED_FILE, SEED_ID, current_manifest

from indexer.cli import EXIT_NOT_FOUND, cli
from indexer.store.whoosh.manifest import CURRENT

UPDATE_RE = re.compile(r"^Updated: (\d+) added, (\d+) replaced, (\d+) unchanged "
                       r"\((\d+) rejected, (\d+) skipped\); (\d+) passages? written, "
                       r"(\d+) segments? merged, in [\d.]+ s, reading included -> (.+)$")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for var in ("FIL_INDEX_DIR", "FIL_SOURCES", "FIL_BACKEND", "FIL_DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, prog_name="fil")


def record(tid: str, *paragraphs: str, comments: tuple[str, ...] = ()) -> str:
    return json.dumps({"id": tid, "title": f"Fil {tid}", "post": {"paragraphs": list(paragraphs)},
                       "comments": [{"author": "Lecteur", "paragraphs": [c]} for c in comments]},
                      ensure_ascii=False)


def write(path: Path, *lines: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(ln + "\n" for ln in lines), encoding="utf-8")
    return path


def ids(query: str, index: str = "idx") -> list[str]:
    result = run("search", query, "--index", index, "--json", "--per-page", "100")
    assert result.exit_code == 0, result.stderr
    return sorted({h["thread_id"] for h in json.loads(result.stdout)["results"]})


def stats(index: str = "idx") -> dict[str, str]:
    result = run("stats", "--index", index)
    assert result.exit_code == 0, result.stderr
    return {k: v for k, v in (re.match(r"^(\w+):\s+(.*)$", ln).groups()  # type: ignore[union-attr]
                              for ln in result.stdout.splitlines())}


def update_summary(result: Result) -> tuple[int, ...]:
    assert result.exit_code == 0, result.stderr
    [line] = result.stdout.splitlines()
    m = UPDATE_RE.match(line)
    assert m, line
    return tuple(int(g) for g in m.groups()[:7])


def test_update_adds_replaces_and_skips_unchanged(clean_env: Path) -> None:
    write(clean_env / "v1" / "fils.jsonl", record("abeilles", "Les abeilles butinent."),
          record("ruches", "Les ruches sont pleines."),
          record("guepes", "Les guêpes piquent.", "Surtout en août."),
          record("papillons", "Les papillons volent.", "Les chenilles mangent."))
    assert run("rebuild", "--source", "v1", "--index", "idx").exit_code == 0
    write(clean_env / "v2" / "fils.jsonl",
          record("abeilles", "Les abeilles butinent."),  # unchanged
          record("ruches", "Les ruches débordent de miel.", comments=("Quel miel !",)),
          record("frelons", "Les frelons asiatiques arrivent."))  # new
    counts = update_summary(run("update", "--source", "v2", "--index", "idx"))
    # added, replaced, unchanged, rejected, skipped, passages written, segments merged
    assert counts == (1, 1, 1, 0, 0, 3, 0)
    assert ids("frelons") == ["frelons"]
    assert ids("miel") == ["ruches"]
    assert ids("pleines") == []  # the old text of the replaced thread is gone
    assert ids("abeilles") == ["abeilles"] and ids("chenilles") == ["papillons"]
    st = stats()
    assert st["threads"] == "5" and st["passages"] == "8" and st["segments"] == "2"
    assert st["deleted"].startswith("1 ")  # the replaced thread's one old passage
    again = update_summary(run("update", "--source", "v2", "--index", "idx"))
    assert again == (0, 0, 3, 0, 0, 0, 0)


def test_update_singular_and_rejects(clean_env: Path) -> None:
    write(clean_env / "v1" / "a.jsonl", record("a", "Un seul paragraphe."))
    result = run("rebuild", "--source", "v1", "--index", "idx")
    assert result.stdout.startswith("Indexed 1 thread, 1 passage (0 rejected, 0 skipped) in ")
    write(clean_env / "v2" / "b.jsonl", record("b", "Un autre."), "{cassé")
    result = run("update", "--source", "v2", "--index", "idx")
    assert update_summary(result) == (1, 0, 0, 1, 0, 1, 0)
    assert "1 passage written, 0 segments merged" in result.stdout
    assert result.stderr.startswith(f"rejected: {Path('v2') / 'b.jsonl'}:2: invalid JSON")
    strict = run("update", "--source", "v2", "--index", "idx", "--strict")
    assert strict.exit_code == 3


def test_delete_reports_missing_ids_with_its_own_status(clean_env: Path) -> None:
    write(clean_env / "src" / "fils.jsonl", record("un", "Premier fil."),
          record("deux", "Second fil."), record("trois", "Troisième fil."))
    assert run("rebuild", "--source", "src", "--index", "idx").exit_code == 0
    ok = run("delete", "un", "--index", "idx")
    assert ok.exit_code == 0, ok.stderr
    assert re.match(r"^Deleted 1 thread \(0 not found\), 0 segments merged, in [\d.]+ s -> idx$",
                    ok.stdout.strip())
    assert ids("fil") == ["deux", "trois"]
    partial = run("delete", "deux", "nulle-part", "ailleurs", "--index", "idx")
    assert partial.exit_code == EXIT_NOT_FOUND == 6
    assert partial.stderr.splitlines() == ["not found: nulle-part", "not found: ailleurs"]
    assert partial.stdout.startswith("Deleted 1 thread (2 not found)")
    assert ids("fil") == ["trois"]
    usage = run("delete", "--index", "idx")
    assert usage.exit_code == 2  # no id at all: a usage error


def test_optimize_merges_segments_and_drops_deleted_passages(clean_env: Path) -> None:
    write(clean_env / "v1" / "a.jsonl", record("a", "Alpha un.", "Alpha deux."),
          record("c", "Gamma un.", "Gamma deux.", "Gamma trois.", "Gamma quatre."))
    assert run("rebuild", "--source", "v1", "--index", "idx").exit_code == 0
    write(clean_env / "v2" / "b.jsonl", record("b", "Beta."))
    assert run("update", "--source", "v2", "--index", "idx").exit_code == 0
    assert run("delete", "a", "--index", "idx").exit_code == 0
    before = stats()
    assert before["segments"] == "2" and before["deleted"].startswith("2 ")
    result = run("optimize", "--index", "idx")
    assert result.exit_code == 0, result.stderr
    assert re.match(r"^Optimized: merged 2 segments into one, in [\d.]+ s -> idx$",
                    result.stdout.strip())
    after = stats()
    assert after["segments"] == "1" and after["deleted"].startswith("0 ")
    assert after["threads"] == "2" and ids("beta") == ["b"] and ids("gamma") == ["c"]
    again = run("optimize", "--index", "idx")
    assert "nothing to merge" in again.stdout


def test_changes_on_a_missing_index(clean_env: Path) -> None:
    for args in (("delete", "x"), ("optimize",)):
        result = run(*args, "--index", "rien")
        assert result.exit_code == 1
        [line] = result.stderr.splitlines()
        assert line.startswith("Error: no index at rien; build it with: fil rebuild --index "
                               "rien --source index_data/threads")


# -- failed writes ----------------------------------------------------------------------------


def seed_index(base: Path) -> tuple[Path, str]:
    result = run("rebuild", "--source", str(SEED_FILE), "--index", str(base / "idx"))
    assert result.exit_code == 0, result.stderr
    return base / "idx", (base / "idx" / CURRENT).read_text(encoding="utf-8")


def assert_previous_answers(index: Path, current: str) -> None:
    assert (index / CURRENT).read_text(encoding="utf-8") == current
    assert sorted(p.name for p in index.rglob("*.tmp")) == []
    assert ids("Sarkozy", str(index)) == [SEED_ID]


def test_index_below_a_file_is_one_line(clean_env: Path) -> None:
    (clean_env / "fichier").write_text("pas un dossier\n", encoding="utf-8")
    result = run("rebuild", "--source", str(SEED_FILE), "--index", "fichier/index")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "Error: cannot write the index at fichier/index: part of the path is a file, not a "
        "folder; the index was left as it was"]


@contextlib.contextmanager
def mounted_tmpfs(where: Path, options: str) -> Iterator[Path]:
    """A small tmpfs mounted at ``where`` for the test (root only), unmounted after."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root and mount(8)")
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_read_only_index_folder_is_one_line(clean_env: Path) -> None:
    with mounted_tmpfs(clean_env / "ro", "size=4m") as mnt:
        index, current = seed_index(mnt)
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        result = run("rebuild", "--source", str(SEED_FILE), "--index", str(index))
        assert result.exit_code == 1 and result.stdout == ""
        [line] = result.stderr.splitlines()
        assert line == (f"Error: cannot write the index at {index}: Read-only file system; "
                        "the index was left as it was")
        assert_previous_answers(index, current)
        for args in (("update", "--source", str(SEED_FILE)), ("delete", SEED_ID), ("optimize",)):
            refused = run(*args, "--index", str(index))  # each needs the write lock
            assert refused.exit_code == 1 and refused.stdout == ""
            assert refused.stderr.splitlines() == [line], args
        assert_previous_answers(index, current)


def test_disk_full_rebuild_leaves_the_previous_index(clean_env: Path) -> None:
    """A rebuild that fills its disk: one line, status 1, no temporary file, old index kept."""
    with mounted_tmpfs(clean_env / "petit", "size=2m") as mnt:
        index, current = seed_index(mnt)
        big = write(clean_env / "gros" / "fils.jsonl", *(
            record(f"fil-{i}", *(f"Paragraphe {i}-{j} : le numéro {i * 31 + j} parle de "
                                 f"sujet{i}x{j} et de mot{j}y{i} sans fin." for j in range(20)))
            for i in range(1200)))
        assert big.stat().st_size > 2 * 2**20  # more than the whole disk
        result = run("rebuild", "--source", str(big.parent), "--index", str(index))
        assert result.exit_code == 1 and result.stdout == ""
        [line] = result.stderr.splitlines()
        assert line == (f"Error: cannot write the index at {index}: No space left on device; "
                        "the index was left as it was")
        assert_previous_answers(index, current)
        pushed = run("update", "--source", str(big.parent), "--index", str(index))
        assert pushed.exit_code == 1 and "No space left on device" in pushed.stderr
        assert_previous_answers(index, current)
        assert current_manifest(index) == current.strip()
    gc.collect()  # a file the failed writes left open would warn now, in this test


@pytest.mark.postgres
def test_postgres_rebuild_from_nothing_keeps_the_index(clean_env: Path, pg_server) -> None:
    """Sources with no thread fail the rebuild on PostgreSQL too; the index still answers."""
    url = pg_server.new_database("fil_empty_rebuild")
    opts = ("--backend", "postgres", "--database-url", url)
    assert run("rebuild", "--source", str(SEED_FILE), *opts).exit_code == 0
    (clean_env / "vide").mkdir()
    result = run("rebuild", "--source", "vide", *opts)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "Error: no thread could be read from vide; the index was left as it was"]
    found = run("search", "Sarkozy", "--json", *opts)
    assert found.exit_code == 0 and SEED_ID in found.stdout
