"""A damaged index is reported, never replaced: the cause in one line, 503 pages, status 5.

Each case damages a real index the way disks and people do (a file removed, an array
or a text blob cut short, a segment folder gone, a manifest overwritten, ``CURRENT``
naming nothing), then checks every edge: the web app answers 503 and logs a line
naming the cause, ``fil stats`` prints ``damaged: …`` and exits with status 5,
``fil search`` says so in one line, and nothing on disk changed.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from helpers import SEED_FILE, SEED_ID, segment_dirs

from indexer.cli import EXIT_DAMAGED, cli
from indexer.store.whoosh.manifest import CURRENT


def remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()


def cut(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def blob(seg: Path) -> Path:
    [found] = seg.glob("passages_*.content.blob")
    return found


#: (name, damage(index, segment) -> the file or folder the cause must name)
DAMAGES: list[tuple[str, Callable[[Path, Path], str]]] = [
    ("missing array", lambda idx, seg: (remove(seg / "col.kind.npy"), "col.kind.npy")[1]),
    ("truncated array", lambda idx, seg: (cut(seg / "col.impact.npy"), seg.name)[1]),
    ("truncated text blob", lambda idx, seg: (cut(blob(seg)), "content texts")[1]),
    ("truncated thread table", lambda idx, seg: (cut(seg / "thread.id.blob"), "thread.id")[1]),
    ("segment folder gone", lambda idx, seg: (remove(seg), seg.name)[1]),
    ("manifest overwritten", lambda idx, seg: (
        (idx / (idx / CURRENT).read_text().strip()).write_text("{pas du json"),
        "unreadable manifest")[1]),
    ("CURRENT names nothing", lambda idx, seg: (
        (idx / CURRENT).write_text("manifest-000000042.json\n"), "manifest-000000042.json")[1]),
]


def snapshot(index: Path) -> dict[str, bytes]:
    return {str(p.relative_to(index)): p.read_bytes() for p in sorted(index.rglob("*"))
            if p.is_file()}


@pytest.fixture
def damaged(request: pytest.FixtureRequest, make_index: Callable[..., Path]
            ) -> tuple[Path, str]:
    """A fresh seed index damaged as the case says, and the name the cause must mention."""
    index = make_index([SEED_FILE])
    [seg] = segment_dirs(index)
    damage = dict(DAMAGES)[request.param]
    return index, damage(index, seg)


@pytest.mark.parametrize("damaged", [name for name, _ in DAMAGES], indirect=True)
def test_app_answers_503_and_logs_the_cause(damaged: tuple[Path, str],
                                            make_app: Callable[..., Flask],
                                            caplog: pytest.LogCaptureFixture) -> None:
    index, named = damaged
    before = snapshot(index)
    client = make_app(index).test_client()
    for url in ("/?q=debit", "/api/search?q=debit", f"/thread/{SEED_ID}",
                f"/api/thread/{SEED_ID}"):
        caplog.clear()
        with caplog.at_level(logging.ERROR):
            resp = client.get(url)
        assert resp.status_code == 503, url
        assert resp.headers["Retry-After"] == "60"
        text = resp.get_data(as_text=True)
        assert "Traceback" not in text and str(index) not in text
        if url.startswith("/api/"):
            assert "endommagé" in resp.get_json()["error"]
        else:
            assert "Index endommagé" in text
        [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert record.getMessage().startswith("index damaged: ") and named in \
            record.getMessage(), record.getMessage()
        assert record.exc_info is None  # a line, not a traceback
    assert snapshot(index) == before


@pytest.mark.parametrize("damaged", [name for name, _ in DAMAGES], indirect=True)
def test_cli_says_damaged_with_status_5(damaged: tuple[Path, str]) -> None:
    index, named = damaged
    before = snapshot(index)
    runner = CliRunner()
    stats = runner.invoke(cli, ["stats", "--index", str(index)], prog_name="fil")
    assert stats.exit_code == EXIT_DAMAGED == 5
    out = stats.stdout.splitlines()
    assert out[0] == f"index:    {index}" and out[1].startswith("damaged:  ")
    assert named in out[1]
    assert stats.stderr.splitlines() == [
        f"Error: the index is damaged; rebuild it with: fil rebuild --index {index} "
        "--source index_data/threads"]
    found = runner.invoke(cli, ["search", "debit", "--index", str(index)], prog_name="fil")
    assert found.exit_code == EXIT_DAMAGED and found.stdout == ""
    [line] = found.stderr.splitlines()
    assert line.startswith(f"Error: the index at {index} is damaged: ") and named in line
    assert snapshot(index) == before


def test_an_older_format_is_damaged_not_missing(tmp_path: Path, make_app) -> None:
    """An index from another version is never taken for "no index" (nothing built over it)."""
    index = tmp_path / "index"
    (index / "gen-000001").mkdir(parents=True)
    (index / CURRENT).write_text("gen-000001\n")
    resp = make_app(index).test_client().get("/api/search?q=x")
    assert resp.status_code == 503 and "endommagé" in resp.get_json()["error"]
    result = CliRunner().invoke(cli, ["stats", "--index", str(index)], prog_name="fil")
    assert result.exit_code == EXIT_DAMAGED
    assert "older version of Fil" in result.stdout
