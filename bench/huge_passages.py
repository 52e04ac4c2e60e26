"""Searches whose hits are huge passages (1 MB comments) stay within the search deadline.

Builds an index holding threads whose one comment is ``--mb`` MB of real French prose
(``/work/shared/bench/fr_paragraphs.jsonl.gz`` paragraphs, repeated), searches words
found all along them, and prints the time of each search against the time limit:

    python bench/huge_passages.py [--mb 1] [--threads 10]
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import fil_adapter  # noqa: E402

SHARED = BENCH.parent.parent / "shared" / "bench" / "fr_paragraphs.jsonl.gz"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=10)
    args = ap.parse_args(argv)
    fil_adapter.use_stemmer()
    with gzip.open(SHARED, "rt", encoding="utf-8") as fh:
        paragraphs = [json.loads(line)["text"] for _, line in zip(range(5000), fh, strict=False)]
    size = int(args.mb * 2**20)
    records = []
    for t in range(args.threads):
        text, k = [], t * 97
        while sum(map(len, text)) < size:
            text.append(paragraphs[k % len(paragraphs)])
            k += 1
        records.append({"id": f"huge-{t}", "title": f"Fil {t}",
                        "post": {"paragraphs": ["Un billet court."]},
                        "comments": [{"author": "Bavard", "paragraphs": [" ".join(text)]}]})
    limit = fil_adapter.search_time_limit()
    with tempfile.TemporaryDirectory(prefix="fil-huge-") as tmp:
        src = Path(tmp) / "huge.jsonl"
        src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                       encoding="utf-8")
        fil_adapter.build_index(fil_adapter.read_threads([src]).threads, Path(tmp) / "ix")
        engine = fil_adapter.Engine(Path(tmp) / "ix")
        times = []
        try:
            for q in ("fichier", "configuration du système", "commande", "utilisateur",
                      "\"le fichier\"", "paquet installation"):
                started = time.perf_counter()
                hits = engine.search(q)
                times.append(time.perf_counter() - started)
                print(f"{q!r}: {len(hits)} hits in {times[-1] * 1000:.0f} ms")
        finally:
            engine.close()
    print(f"{args.threads} threads with a {args.mb:g} MB comment each: search p50 "
          f"{statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms "
          f"(time limit {limit:g} s)")
    return 0 if max(times) < limit else 1


if __name__ == "__main__":
    sys.exit(main())
