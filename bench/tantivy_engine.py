"""The tantivy yardstick (``pip install tantivy``, the official Python wheel).

Index: one document per passage (post paragraph or whole comment, as FTS5's table),
``content`` indexed with positions and stored; thread id, kind and position stored.
Analyser (registered as ``fr_fold_stem`` at build and at every open: custom tokenizers
are not saved in the index): ``SimpleTokenizer`` (runs of letters and digits) ->
``RemoveLongFilter(40)`` -> ``LowerCaser`` -> ``AsciiFoldingFilter`` -> ``Stemmer(French)``
(Snowball). Like FTS5's and unlike Fil's, no stop-word list: the question class is then
an OR over common words too, as FTS5's harness does.

Build: ``index.writer(heap_size=128 MB, num_threads=1)`` (one indexing thread; tantivy's
segment merges still run on their own background thread, whose CPU time the rebuild's
CPU column counts), documents added one by one from the JSONL, one ``commit()``, then
``wait_merging_threads()``. The time includes reading and parsing the JSONL, as FTS5's.

Queries (:func:`to_query`) mirror ``bench/fts5.py``: the same tokens (``[^\\W_]+``), each
quoted; bare words are required (``+"mot"``, AND) for short queries, ``"..."`` stays a
phrase (a PhraseQuery over positions), and queries of 10+ words are an OR of their
tokens. Results: top 10 by BM25 (``searcher.search(q, 10)``, whose ``count=True``
default also counts every match, as Fil's total does), each stored document fetched
and a ``SnippetGenerator`` snippet (150 characters, HTML ``<b>`` marks) made for it.

Run alone::

    python bench/tantivy_engine.py bench/corpora/real-100k.jsonl "configurer le réseau"
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import fts5  # noqa: E402

TOKENIZER = "fr_fold_stem"
HEAP_BYTES = 128_000_000
WRITER_THREADS = 1
SNIPPET_CHARS = 150
ANALYSER_DESCRIPTION = ("SimpleTokenizer | RemoveLong(40) | LowerCaser | AsciiFolding | "
                        "Stemmer(French); no stop words")


def version() -> str:
    try:
        from importlib import metadata

        return metadata.version("tantivy")
    except Exception:  # not installed
        return "absent"


def available() -> bool:
    try:
        import tantivy  # noqa: F401
    except ImportError:
        return False
    return True


def analyser():  # type: ignore[no-untyped-def]
    import tantivy

    return (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
            .filter(tantivy.Filter.remove_long(40))
            .filter(tantivy.Filter.lowercase())
            .filter(tantivy.Filter.ascii_fold())
            .filter(tantivy.Filter.stemmer("french"))
            .build())


def schema():  # type: ignore[no-untyped-def]
    import tantivy

    b = tantivy.SchemaBuilder()
    b.add_text_field("content", stored=True, tokenizer_name=TOKENIZER,
                     index_option="position")
    b.add_text_field("thread_id", stored=True, tokenizer_name="raw")
    b.add_text_field("kind", stored=True, tokenizer_name="raw")
    b.add_unsigned_field("position", stored=True)
    return b.build()


@dataclass(frozen=True, slots=True)
class TantivyBuild:
    passages: int
    seconds: float
    size_bytes: int


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def build_from_corpus(corpus: Path, index_dir: Path) -> TantivyBuild:
    """Index the corpus's passages into ``index_dir`` (emptied first)."""
    import shutil

    import tantivy

    started = time.perf_counter()
    shutil.rmtree(index_dir, ignore_errors=True)
    index_dir.mkdir(parents=True)
    index = tantivy.Index(schema(), path=str(index_dir), reuse=False)
    index.register_tokenizer(TOKENIZER, analyser())
    writer = index.writer(heap_size=HEAP_BYTES, num_threads=WRITER_THREADS)
    count = 0
    for tid, kind, pos, text in fts5.corpus_rows(corpus):
        writer.add_document(tantivy.Document(content=text, thread_id=tid, kind=kind,
                                             position=pos))
        count += 1
    writer.commit()
    writer.wait_merging_threads()
    return TantivyBuild(count, time.perf_counter() - started, dir_size(index_dir))


def to_query(query: str, mode: str = "auto") -> str | None:
    """tantivy query-parser text for a user query (see the module docstring), or None."""
    match = fts5.to_match(query, mode)
    if match is None:
        return None
    if " OR " in match:
        return " ".join(match.split(" OR "))  # the parser's default is OR (should)
    # to_match's AND form: quoted items separated by spaces; require each of them.
    items = fts5.PHRASE_RE.findall(match)
    return " ".join(f'+"{item}"' for item in items)


@dataclass(frozen=True, slots=True)
class TantivyHit:
    thread_id: str
    kind: str
    position: int
    snippet: str
    score: float


class TantivyIndex:
    """A searcher on a tantivy index built by :func:`build_from_corpus`."""

    def __init__(self, index_dir: Path) -> None:
        import tantivy

        self.index = tantivy.Index.open(str(index_dir))
        self.index.register_tokenizer(TOKENIZER, analyser())
        self.schema = self.index.schema
        self.searcher = self.index.searcher()

    def close(self) -> None:
        self.searcher = None  # type: ignore[assignment]

    def search(self, query: str, *, mode: str = "auto", limit: int = 10,
               snippets: bool = True, count: bool = True) -> list[TantivyHit]:
        import tantivy

        text = to_query(query, mode)
        if text is None:
            return []
        q = self.index.parse_query(text, ["content"])
        res = self.searcher.search(q, limit, count=count)
        gen = None
        if snippets:
            gen = tantivy.SnippetGenerator.create(self.searcher, q, self.schema, "content")
            gen.set_max_num_chars(SNIPPET_CHARS)
        out = []
        for score, addr in res.hits:
            doc = self.searcher.doc(addr)
            snip = gen.snippet_from_doc(doc).to_html() if gen is not None else ""
            out.append(TantivyHit(doc["thread_id"][0], doc["kind"][0], doc["position"][0],
                                  snip, score))
        return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("query", nargs="*")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        b = build_from_corpus(args.corpus, Path(tmp) / "idx")
        print(f"built {b.passages} passages in {b.seconds:.2f}s "
              f"({b.passages / b.seconds:,.0f}/s), {b.size_bytes / 2**20:.1f} MiB")
        idx = TantivyIndex(Path(tmp) / "idx")
        for q in args.query:
            print(f"{q!r} -> {to_query(q)}")
            for h in idx.search(q):
                print(f"  {h.score:8.3f} {h.thread_id} {h.kind}{h.position}: {h.snippet}")
        idx.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
