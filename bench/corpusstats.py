"""What a benchmark corpus holds: passages, threads, distinct paragraphs, chunks, words, terms.

``python bench/corpusstats.py bench/corpora/real-100k.jsonl`` prints the JSON; the
benchmark reads it from ``<corpus>.stats.json`` (written beside the corpus, recomputed
when the corpus file changes).

* passages: post paragraphs + comments (a passage per comment, as Fil indexes them);
* distinct paragraphs: distinct paragraph strings (posts' and comments' paragraphs);
* distinct chunks: distinct whitespace-separated chunks (``str.split``), what Fil's
  analyser caches by;
* distinct words: distinct lowercased runs of letters (``[^\\W\\d_]+``), a plain count
  that involves no project code;
* distinct analysed terms: distinct outputs of Fil's analyser (``analyzer().terms``,
  through ``bench/fil_adapter.py``: elision, folding, stop words, Snowball French),
  applied to each distinct chunk (a text's terms are its chunks' terms in order);
* text MB: UTF-8 bytes of all paragraph text / 10^6;
* real / reused: threads of real paragraphs (ids ``r…``, ``bench/realcorpus.py``) and of
  recombined sentences (ids ``u…``); ``legacy`` for ``bench/corpus.py`` corpora, which
  mix both without saying which thread is which.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

LETTERS_RE = re.compile(r"[^\W\d_]+")


def stats_path(corpus: Path) -> Path:
    return corpus.with_name(corpus.name.removesuffix(".jsonl") + ".stats.json")


def describe(label: str) -> str:
    """How a corpus label was made, for reports."""
    if label.startswith("real-"):
        return "real paragraphs only (Debian French documentation + PIAF), no reuse"
    if label.startswith("reused-"):
        return ("REUSED TEXT: every real paragraph once, then recombined real sentences "
                "(no new words)")
    return ("legacy bench/corpus.py: 45k shared paragraphs, then recombined sentences "
            "(REUSED TEXT above ~25k passages)")


def compute(corpus: Path, label: str | None = None) -> dict[str, Any]:
    """Count everything listed in the module docstring (one pass, then the analyser)."""
    import fil_adapter
    from corpus import corpus_files, corpus_lines

    started = time.perf_counter()
    threads = passages = text_bytes = 0
    kinds = {"real": [0, 0], "reused": [0, 0], "legacy": [0, 0]}  # threads, passages
    paragraphs: set[bytes] = set()  # 12-byte digests: a million strings would cost GBs
    chunks: set[str] = set()
    for line in corpus_lines(corpus):
        t = json.loads(line)
        post = t.get("post", {}).get("paragraphs", [])
        comments = t.get("comments", [])
        n = len(post) + len(comments)
        threads += 1
        passages += n
        kind = {"r": "real", "u": "reused"}.get(t["id"][:1], "legacy")
        kinds[kind][0] += 1
        kinds[kind][1] += n
        for p in [*post, *(x for c in comments for x in c.get("paragraphs", []))]:
            b = p.encode("utf-8")
            text_bytes += len(b)
            paragraphs.add(hashlib.blake2b(b, digest_size=12).digest())
            chunks.update(p.split())
    words = {w for c in chunks for w in LETTERS_RE.findall(c.lower())}
    fil_adapter.use_stemmer()
    terms_of = fil_adapter.analysed_terms()
    terms: set[str] = set()
    for c in chunks:
        terms.update(terms_of(c))
    size, mtime = signature(corpus)
    return {
        "label": label or corpus.stem, "description": describe(label or corpus.stem),
        "passages": passages, "threads": threads,
        "real_threads": kinds["real"][0], "real_passages": kinds["real"][1],
        "reused_threads": kinds["reused"][0], "reused_passages": kinds["reused"][1],
        "legacy_threads": kinds["legacy"][0],
        "distinct_paragraphs": len(paragraphs), "distinct_chunks": len(chunks),
        "distinct_words": len(words), "distinct_terms": len(terms),
        "terms_by": "Fil analyser (indexer.analysis.analyzer().terms via bench/fil_adapter.py)"
                    f", stemmer: {fil_adapter.stemmer_in_use()}",
        "words_by": "distinct lowercased [^\\W\\d_]+ runs of the chunks (no project code)",
        "text_mb": round(text_bytes / 1e6, 1), "file_mb": round(size / 1e6, 1),
        "files": len(corpus_files(corpus)), "corpus_bytes": size, "corpus_mtime_ns": mtime,
        "seconds": round(time.perf_counter() - started, 1),
    }


def signature(corpus: Path) -> tuple[int, int]:
    """(bytes, latest mtime in ns) of a corpus file or folder: changes when it is rewritten."""
    from corpus import corpus_files

    stats = [p.stat() for p in corpus_files(corpus)]
    return sum(s.st_size for s in stats), max(s.st_mtime_ns for s in stats)


def ensure_stats(corpus: Path, label: str | None = None) -> dict[str, Any]:
    """The corpus's stats, from its ``.stats.json`` when still current, else computed."""
    path = stats_path(corpus)
    size, mtime = signature(corpus)
    if path.exists():
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("corpus_bytes") == size and data.get("corpus_mtime_ns") == mtime:
            return data
    data = compute(corpus, label)
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return data


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    for arg in args:
        print(json.dumps(ensure_stats(Path(arg)), indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
