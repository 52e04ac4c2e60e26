"""The SQLite FTS5 yardstick: the same passages in an FTS5 table, queried with bm25() + snippet().

Table: one row per passage (post paragraph or whole comment), the text in an FTS5
column with ``tokenize="unicode61 remove_diacritics 2"`` (thread id, kind and position
unindexed), filled by one bulk insert in one transaction, then ``optimize``.

Queries (:func:`to_match`): bare words are quoted tokens ANDed (FTS5's default) for short
queries, ``"..."`` stays an FTS5 phrase, and queries of 10+ words become an OR of their
quoted tokens. Every token is quoted, so no user text can be an FTS5 syntax error.
Results: top 10 by ``bm25()`` with a ``snippet()`` each.

Measures build passages/s, database size and query latency (see ``bench/run.py``). Run alone::

    python bench/fts5.py bench/corpora/10k.jsonl "configurer le réseau"
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

TOKENIZE = "unicode61 remove_diacritics 2"
#: What unicode61 keeps in a token: letters and digits (everything else separates).
TOKEN_RE = re.compile(r"[^\W_]+")
PHRASE_RE = re.compile(r'"([^"]*)"')
QUESTION_WORDS = 10  # queries with this many words or more are ORed

SCHEMA = f"""CREATE VIRTUAL TABLE passages USING fts5(
    content, thread_id UNINDEXED, kind UNINDEXED, position UNINDEXED,
    tokenize="{TOKENIZE}")"""
SEARCH_SQL = """SELECT thread_id, kind, position,
    snippet(passages, 0, '<mark>', '</mark>', '…', 16), bm25(passages)
    FROM passages WHERE passages MATCH ? ORDER BY bm25(passages) LIMIT ?"""
SEARCH_NO_SNIPPET_SQL = """SELECT thread_id, kind, position, '', bm25(passages)
    FROM passages WHERE passages MATCH ? ORDER BY bm25(passages) LIMIT ?"""

#: (thread_id, kind, position, text): one passage, as in ``indexer.model.Thread.passages``.
Row = tuple[str, str, int, str]


@dataclass(frozen=True, slots=True)
class FtsHit:
    """One FTS5 result."""

    thread_id: str
    kind: str
    position: int
    snippet: str
    score: float


@dataclass(frozen=True, slots=True)
class FtsBuild:
    """What a build cost: passages, seconds (reading included when built from a file), bytes."""

    passages: int
    seconds: float
    size_bytes: int

    @property
    def per_second(self) -> float:
        return self.passages / self.seconds if self.seconds else 0.0


def to_match(query: str, mode: str = "auto") -> str | None:
    """An FTS5 MATCH expression for a user query, or None when it has no token.

    ``mode``: ``"and"``, ``"or"``, or ``"auto"`` (OR from :data:`QUESTION_WORDS` words on).
    """
    parts: list[str] = []
    words = 0
    for phrase in PHRASE_RE.findall(query):
        tokens = TOKEN_RE.findall(phrase)
        if tokens:
            parts.append('"' + " ".join(tokens) + '"')
            words += len(tokens)
    bare = TOKEN_RE.findall(PHRASE_RE.sub(" ", query))
    parts.extend(f'"{t}"' for t in bare)
    words += len(bare)
    if not parts:
        return None
    use_or = mode == "or" or (mode == "auto" and words >= QUESTION_WORDS)
    return (" OR " if use_or else " ").join(parts)


def corpus_rows(corpus: Path) -> Iterable[Row]:
    """Passages of a JSON Lines thread file (or folder of them), read with plain ``json``
    (no project code)."""
    from corpus import corpus_lines

    for line in corpus_lines(corpus):
        t = json.loads(line)
        tid = t["id"]
        for n, text in enumerate(t.get("post", {}).get("paragraphs", []), start=1):
            yield tid, "post", n, text
        for n, c in enumerate(t.get("comments", []), start=1):
            yield tid, "comment", n, "\n".join(c.get("paragraphs", []))


def build(rows: Iterable[Row], db_path: Path) -> FtsBuild:
    """Create the FTS5 database from passages (one transaction, then optimize)."""
    started = time.perf_counter()
    db_path.unlink(missing_ok=True)
    conn = sqlite3.connect(db_path)
    try:
        count = 0

        def counted() -> Iterable[tuple[str, str, str, int]]:
            nonlocal count
            for tid, kind, pos, text in rows:
                count += 1
                yield text, tid, kind, pos

        with conn:
            conn.execute(SCHEMA)
            conn.executemany(
                "INSERT INTO passages(content, thread_id, kind, position) VALUES (?, ?, ?, ?)",
                counted())
        with conn:
            conn.execute("INSERT INTO passages(passages) VALUES ('optimize')")
    finally:
        conn.close()
    return FtsBuild(count, time.perf_counter() - started, db_path.stat().st_size)


def build_from_corpus(corpus: Path, db_path: Path) -> FtsBuild:
    """Build from a JSON Lines corpus; the time includes reading and parsing the file."""
    return build(corpus_rows(corpus), db_path)


class Fts5Index:
    """A read connection to an FTS5 passages database."""

    def __init__(self, db_path: Path) -> None:
        self.conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True,
                                    check_same_thread=False)

    def close(self) -> None:
        self.conn.close()

    def search(self, query: str, *, mode: str = "auto", limit: int = 10,
               snippets: bool = True) -> list[FtsHit]:
        """Top ``limit`` passages for a user query (bm25 order), with snippets."""
        match = to_match(query, mode)
        if match is None:
            return []
        sql = SEARCH_SQL if snippets else SEARCH_NO_SNIPPET_SQL
        return [FtsHit(*row) for row in self.conn.execute(sql, (match, limit))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("query", nargs="*")
    args = ap.parse_args(argv)
    fd, name = tempfile.mkstemp(suffix=".db")
    os.close(fd)
    db = Path(name)
    try:
        b = build_from_corpus(args.corpus, db)
        print(f"built {b.passages} passages in {b.seconds:.2f}s ({b.per_second:,.0f}/s), "
              f"{b.size_bytes / 2**20:.1f} MiB")
        idx = Fts5Index(db)
        for q in args.query:
            print(f"{q!r} -> {to_match(q)}")
            for h in idx.search(q):
                print(f"  {h.score:8.3f} {h.thread_id} {h.kind}{h.position}: {h.snippet}")
        idx.close()
    finally:
        db.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
