"""One name per setting everywhere: the README's table, the environment, ``fil`` and
``fil-serve`` options, and the web app's config keys all come from indexer.settings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import ROOT, SEED_FILE

from indexer.cli import cli
from indexer.settings import SETTINGS, Settings
from search_app.__main__ import parse_args

README = (ROOT / "README.md").read_text(encoding="utf-8")
SERVER_ONLY = {"host", "port", "threads", "write_token"}


def readme_table() -> list[tuple[str, str]]:
    """(environment variable, option) rows of the README's configuration table."""
    section = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(FIL_\w+)` \| (`--[\w-]+`|—) \|", section, re.M)
    return [(env, opt.strip("`")) for env, opt in rows]


def test_readme_table_is_the_settings() -> None:
    assert readme_table() == [(s.env, s.option or "—") for s in SETTINGS]


def test_no_other_setting_names_in_the_docs() -> None:
    for old in ("SEARCH_BACKEND", "FIL_SOURCE_DIR", "`DATABASE_URL`", "INDEX_DIR`"):
        assert old not in README.replace("FIL_INDEX_DIR`", ""), old


@pytest.mark.parametrize("command", ["rebuild", "update", "delete", "optimize", "stats",
                                     "search"])
def test_cli_options_are_the_settings(command: str) -> None:
    help_text = CliRunner().invoke(cli, [command, "--help"], terminal_width=200).output
    for s in SETTINGS:
        if s.field in SERVER_ONLY or (s.field == "sources" and command not in ("rebuild",
                                                                                "update")):
            continue
        assert s.option in help_text, (command, s.option)
        assert f"env {s.env}" in help_text, (command, s.env)


def test_server_options_are_the_settings(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--help"])
    help_text = re.sub(r"\s+", " ", capsys.readouterr().out)
    for s in SETTINGS:
        if s.option:
            assert s.option in help_text and f"env {s.env}" in help_text, s


def test_server_reads_each_setting_from_the_environment_and_options(
        monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"FIL_INDEX_DIR": "idx-env", "FIL_SOURCES": "a:b", "FIL_BACKEND": "postgres",
           "FIL_DATABASE_URL": "postgresql://env/db", "FIL_PG_SHARDS": "postgresql://s1 "
           "postgresql://s2", "FIL_HOST": "0.0.0.0", "FIL_PORT": "8123", "FIL_THREADS": "3",
           "FIL_WRITE_TOKEN": "jeton"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    _, settings = parse_args([])
    assert settings == Settings(index_dir=Path("idx-env"), sources=("a", "b"),
                                backend="postgres", database_url="postgresql://env/db",
                                shards=("postgresql://s1", "postgresql://s2"), host="0.0.0.0",
                                port=8123, threads=3, write_token="jeton")
    _, settings = parse_args(["--index", "idx", "--source", "c", "--source", "d", "--backend",
                              "whoosh", "--database-url", "postgresql://opt/db", "--shard",
                              "postgresql://s3", "--host", "::1", "--port", "0",
                              "--threads", "1"])
    assert (settings.index_dir, settings.sources, settings.backend, settings.database_url,
            settings.shards, settings.host, settings.port, settings.threads) == (
        Path("idx"), ("c", "d"), "whoosh", "postgresql://opt/db", ("postgresql://s3",),
        "::1", 0, 1)


def test_app_config_takes_the_environment_names(make_index, tmp_path: Path) -> None:
    from search_app import create_app

    index = make_index([SEED_FILE])
    app = create_app({"TESTING": True, "FIL_INDEX_DIR": str(index), "FIL_WRITE_TOKEN": "j"},
                     settings=Settings(index_dir=tmp_path / "ignored"))
    try:
        assert app.extensions["fil"].store.index_dir == index.resolve()
        client = app.test_client()
        assert client.get("/api/search?q=lippi").get_json()["total"] > 0
        assert client.post("/api/threads", data=b"x").status_code == 401  # the token is on
    finally:
        app.extensions["fil"].close()
