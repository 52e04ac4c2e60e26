"""Constants and small helpers shared by the tests (paths, the seed thread, opening stores)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from indexer.service import Service
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

#: The tests' one wall-clock allowance: how much later than designed a bounded operation
#: may end on a loaded machine (2 shared cores) and still pass. A hang lasts far longer.
#: Used as ``elapsed < designed bound + GENEROUS_SECONDS``, the bound stated at each use.
GENEROUS_SECONDS = 2.0


def embedded(index_dir: str | os.PathLike[str]) -> Service:
    """A search service over an embedded index directory."""
    return Service(EmbeddedStore(index_dir))


def postgres(url: str, shards: Sequence[str] = ()) -> Service:
    """A search service over a PostgreSQL database (and its shards)."""
    from indexer.store.postgres.store import PostgresStore

    return Service(PostgresStore(url, shards=shards))
