"""Shared fixtures: real Whoosh indexes built from real thread files, and the real Flask app.

- ``build_test_index(sources, index_dir)``: index threads given as Thread values, JSON
  Lines records (dicts), or paths to .txt/.jsonl files and folders.
- ``seed_index``: session-wide index of the seed thread (read-only: don't rebuild it).
- ``make_index``: factory for a fresh index in a tmp dir from any sources.
- ``make_app``: factory for an app over any index dir (backends closed at teardown).
- ``app`` / ``client``: the app and its test client over ``seed_index``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from indexer.index import build_index
from indexer.model import Thread
from indexer.parsing import read_sources

ROOT = Path(__file__).resolve().parent.parent
SEED_DIR = ROOT / "index_data" / "threads"
SEED_FILE = SEED_DIR / "lippi-billautshow-2009-02.txt"
SEED_ID = "lippi-billautshow-2009-02"

Source = Thread | dict[str, Any] | str | Path


def write_jsonl(records: Iterable[dict[str, Any]], path: Path) -> Path:
    """Write thread records as JSON Lines (UTF-8) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return path


def build_test_index(sources: Iterable[Source], index_dir: Path) -> Path:
    """Build an index at ``index_dir`` from Threads, JSONL records (dicts) and/or paths.

    Fails the test if any source is rejected by the parser, so fixtures can't silently
    index less than they claim.
    """
    index_dir = Path(index_dir)
    threads: list[Thread] = []
    records: list[dict[str, Any]] = []
    paths: list[Path] = []
    for src in sources:
        if isinstance(src, Thread):
            threads.append(src)
        elif isinstance(src, dict):
            records.append(src)
        else:
            paths.append(Path(src))
    if records:
        paths.append(write_jsonl(records, index_dir.parent / f"{index_dir.name}-src.jsonl"))
    if paths:
        read = read_sources(paths)
        assert not read.rejected, read.rejected
        threads.extend(read.threads)
    build_index(threads, index_dir)
    return index_dir


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the seed thread (15 post paragraphs, 14 comments), shared by the session."""
    return build_test_index([SEED_FILE], tmp_path_factory.mktemp("seed") / "index")


@pytest.fixture(scope="session")
def make_index(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Iterable[Source]], Path]:
    """Factory: ``make_index([thread_or_record_or_path, ...])`` -> a fresh index dir."""

    def make(sources: Iterable[Source]) -> Path:
        return build_test_index(sources, tmp_path_factory.mktemp("idx") / "index")

    return make


@pytest.fixture
def make_app() -> Iterator[Callable[..., Flask]]:
    """Factory: ``make_app(index_dir, **config)`` -> a testing app on the Whoosh backend."""
    from search_app import create_app

    apps: list[Flask] = []

    def make(index_dir: Path, **config: Any) -> Flask:
        app = create_app({"INDEX_DIR": str(index_dir), "SEARCH_BACKEND": "whoosh",
                          "TESTING": True, **config})
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["fil"].close()


@pytest.fixture
def app(make_app: Callable[..., Flask], seed_index: Path) -> Flask:
    """The app over the seed index."""
    return make_app(seed_index)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client for the app over the seed index."""
    return app.test_client()
