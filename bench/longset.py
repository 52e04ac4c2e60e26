"""Harder PIAF variants for the thread-first ranking (sanity sets, not for tuning).

``distractors``: the 480 PIAF threads plus ~45k real French paragraphs from
``/work/shared/bench/fr_paragraphs.jsonl.gz`` grouped by source ``file`` into long
threads (at most MAX_PARAS paragraphs each: a post of up to 40 paragraphs, the rest
as comments of 2 paragraphs), titled by the file's base name (no meaningful title,
as in sources without titles). PIAF questions keep their answers; every long thread is
a distractor that can collect several query words in a heading or a long text.

``notitles``: the PIAF threads with every title replaced by the thread id.

``distractors-titled``: the distractor set, each distractor titled by the first
TITLE_WORDS words of its first paragraph (a heading-like title holding content words,
so that title evidence is not the PIAF threads' privilege).

Run::

    python bench/longset.py            # writes bench/corpora/piaf-distractors.jsonl and
                                       # bench/corpora/piaf-notitles.jsonl
    PYTHONPATH=$PWD python bench/relevance.py --threads bench/corpora/piaf-distractors.jsonl
"""

from __future__ import annotations

import gzip
import json
import sys
from itertools import groupby
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SOURCE = BENCH.parent.parent / "shared" / "bench" / "fr_paragraphs.jsonl.gz"
PIAF = BENCH.parent.parent / "shared" / "eval" / "piaf" / "threads.jsonl"
OUT = BENCH / "corpora"
MAX_PARAS = 56
POST_PARAS = 40
TITLE_WORDS = 8


def distractor_threads() -> list[dict]:
    """Long threads made of consecutive paragraphs of one source file."""
    with gzip.open(SOURCE, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    out = []
    for file, group in groupby(rows, key=lambda r: r["file"]):
        paras = [r["text"] for r in group if r["text"].strip()]
        for k in range(0, len(paras), MAX_PARAS):
            chunk = paras[k:k + MAX_PARAS]
            post, rest = chunk[:POST_PARAS], chunk[POST_PARAS:]
            comments = [{"author": f"lecteur{n % 7}", "date": "2020-01-01T10:00",
                         "paragraphs": rest[i:i + 2]}
                        for n, i in enumerate(range(0, len(rest), 2))]
            tid = f"dis-{len(out):05d}"
            out.append({"id": tid, "title": Path(file).name, "post": {"paragraphs": post},
                        "comments": comments})
    return out


def main() -> int:
    OUT.mkdir(exist_ok=True)
    piaf = [json.loads(line) for line in PIAF.open(encoding="utf-8") if line.strip()]
    dis = distractor_threads()
    with (OUT / "piaf-distractors.jsonl").open("w", encoding="utf-8") as fh:
        for t in piaf + dis:
            fh.write(json.dumps(t, ensure_ascii=False) + "\n")
    with (OUT / "piaf-distractors-titled.jsonl").open("w", encoding="utf-8") as fh:
        for t in piaf:
            fh.write(json.dumps(t, ensure_ascii=False) + "\n")
        for t in dis:
            first = (t["post"]["paragraphs"] or [t["title"]])[0]
            title = " ".join(first.split()[:TITLE_WORDS])
            fh.write(json.dumps(dict(t, title=title), ensure_ascii=False) + "\n")
    with (OUT / "piaf-notitles.jsonl").open("w", encoding="utf-8") as fh:
        for t in piaf:
            fh.write(json.dumps(dict(t, title=t["id"]), ensure_ascii=False) + "\n")
    n_par = sum(len(t["post"]["paragraphs"]) + len(t["comments"]) for t in dis)
    print(f"{len(dis)} distractor threads, {n_par} passages; "
          f"{len(piaf)} PIAF threads", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
