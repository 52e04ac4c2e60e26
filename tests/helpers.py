"""Constants and small helpers shared by the tests (paths, the seed thread, opening stores)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from whoosh.filedb.filestore import FileStorage
from whoosh.index import Index

from indexer.ingest.model import Thread
from indexer.service import Service
from indexer.store.base import BuildReport
from indexer.store.whoosh import writer
from indexer.store.whoosh.manifest import read_current
from indexer.store.whoosh.segment import PASSAGES
from indexer.store.whoosh.store import EmbeddedStore

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SEED_DIR = ROOT / "index_data" / "threads"
SEED_ID = "lippi-billautshow-2009-02"
SEED_FILE = SEED_DIR / f"{SEED_ID}.txt"
SEED_TITLE = "Connaissez-vous les gens de Lippi ?"
PIAF_THREADS = SHARED / "eval" / "piaf" / "threads.jsonl"
PIAF_QUERIES = PIAF_THREADS.with_name("queries.jsonl")
FIXTURES = Path(__file__).resolve().parent / "data"


def embedded(index_dir: str | os.PathLike[str]) -> Service:
    """A search service over an embedded index directory."""
    return Service(EmbeddedStore(index_dir))


def postgres(url: str, shards: Sequence[str] = ()) -> Service:
    """A search service over a PostgreSQL database (and its shards)."""
    from indexer.store.postgres.store import PostgresStore

    return Service(PostgresStore(url, shards=shards))


def build_index(threads: Iterable[Thread], index_dir: str | os.PathLike[str],
                progress: Callable[[int], None] | None = None) -> BuildReport:
    """Rebuild an embedded index from threads (the writer's rebuild, argument order of old)."""
    return writer.rebuild(Path(index_dir), threads, progress)


def segment_dirs(index_dir: str | os.PathLike[str]) -> list[Path]:
    """The folders of the current manifest's segments."""
    _, manifest = read_current(Path(index_dir))
    return [Path(index_dir) / s.name for s in manifest.segments]


def whoosh_index(index_dir: str | os.PathLike[str]) -> Index:
    """The Whoosh index of an embedded index's only segment (for checks through Whoosh)."""
    [folder] = segment_dirs(index_dir)
    return FileStorage(str(folder)).open_index(PASSAGES)


def current_manifest(index_dir: str | os.PathLike[str]) -> str | None:
    """The manifest CURRENT names, or None when there is no index."""
    from indexer.store.whoosh.manifest import current_name

    return current_name(Path(index_dir))
