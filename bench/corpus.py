"""Build deterministic French benchmark corpora (JSON Lines threads) of a given passage count.

Source: ``/work/shared/bench/fr_paragraphs.jsonl.gz`` (45,440 real French paragraphs from
Debian documentation, fields ``pkg``/``file``/``text``). Paragraphs are grouped into threads
by file, in file order: a post of 1-4 paragraphs, then comments of 1-3 paragraphs each.
A passage is one post paragraph or one whole comment, as in ``indexer.model.Thread.passages``.

When the real paragraphs run out (sizes above ~25k passages), further threads are made
by recombining real sentences: each new paragraph copies the sentence count of a random
real paragraph of the same package and draws that many sentences (70% from one source
file, 30% from its package), so word frequencies and co-occurrences keep their real
shape. No new words appear, so the vocabulary stops growing after the real text: term
dictionaries of the large sizes are smaller than a real corpus of that size would give.

Authors come from a seeded pool of 300 French-looking names (Zipf-like activity) and dates
are spread over 2005-2024, so ``author:``, ``after:`` and ``before:`` filters have work.
Everything is seeded: the same size always gives the same bytes.

Run::

    python bench/corpus.py --sizes 10k,100k,300k      # writes bench/corpora/<size>.jsonl
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SOURCE = BENCH.parent.parent / "shared" / "bench" / "fr_paragraphs.jsonl.gz"
CORPORA = BENCH / "corpora"
SEED = "fil-bench-v1"


def _words(text: str) -> list[str]:
    """The whitespace-separated words of a literal list."""
    return text.split()


FIRST_NAMES = _words(
    "Jean Marie Pierre Michel Anne Philippe Nathalie Isabelle Alain Sylvie Nicolas Catherine "
    "Christophe Françoise Stéphane Valérie Sébastien Hélène Frédéric Céline Jérôme Aurélie "
    "Julien Émilie Benoît Élodie Thierry Chloé Laurent Maëlle Grégoire Agnès Rémi Noémie "
    "François Gaëlle Hervé Inès Loïc Zoé Cédric Léa Raphaël Clémence Yannick Bérénice "
    "Théo Solène Jérémie Maïwenn"
)
LAST_NAMES = _words(
    "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent "
    "Lefèvre Michel Garcia David Bertrand Roux Vincent Fournier Morel Girard André Lefebvre "
    "Mercier Dupont Lambert Bonnet François Martinez Légaré Benoît Chevalier Gauthier "
    "Perrin Rousseau Faure Blanc Guérin Boyer Barbier Châtelain Noël Crépin Lemaître "
    "Besançon Hébert Pâris Ménard Delacroix"
)
NICKNAMES = _words(
    "pingouin_libre tux42 lechat_noir gnu-fan Zébulon bidouilleur kernel_panic Débianiste "
    "vieux_geek cafécrème admin-sys Lulu la_fourmi Pépé ÉtienneB"
)

#: Sentence boundary: end punctuation, spaces, then something that can open a sentence.
SENTENCE_RE = re.compile(r"(?<=[.!?…])\s+(?=[«\"(\[A-ZÀ-ÖØ-Þ0-9])")
#: One source paragraph explains mojibake and quotes "Ã©": the project's reader rejects a
#: whole file containing such sequences, so paragraphs with them are left out.
MOJIBAKE = ("Ã©", "Ã¨", "Ã ")
DATE_START = datetime(2005, 1, 1)
DATE_SPAN_MINUTES = int((datetime(2024, 12, 31) - DATE_START).total_seconds() // 60)


@dataclass(frozen=True, slots=True)
class Paragraph:
    """One real paragraph of the source file."""

    pkg: str
    file: str
    text: str


def parse_size(label: str) -> int:
    """``"10k"`` -> 10000, ``"1.5m"`` -> 1500000, ``"2500"`` -> 2500."""
    label = label.strip().lower()
    mult = {"k": 1_000, "m": 1_000_000}.get(label[-1:], 1)
    return int(float(label[:-1] if mult > 1 else label) * mult)


def corpus_path(label: str) -> Path:
    """Where the corpus of a size label lives: ``bench/corpora/<label>.jsonl``."""
    return CORPORA / f"{label}.jsonl"


def corpus_files(corpus: Path) -> list[Path]:
    """The JSONL files of a corpus: the file itself, or a folder's ``*.jsonl`` in name order
    (large corpora are split: Fil's reader refuses files over 256 MiB)."""
    return sorted(corpus.glob("*.jsonl")) if corpus.is_dir() else [corpus]


def corpus_lines(corpus: Path) -> Iterator[str]:
    """The lines of a corpus file or folder, in order."""
    for path in corpus_files(corpus):
        with path.open(encoding="utf-8") as fh:
            yield from fh


def load_paragraphs(source: Path = SOURCE) -> list[Paragraph]:
    """Read the real paragraphs in file order (blank and mojibake-looking ones dropped)."""
    out = []
    with gzip.open(source, "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            text = " ".join(row["text"].split())
            if text and not any(m in text for m in MOJIBAKE):
                out.append(Paragraph(row["pkg"], row["file"], text))
    return out


def split_sentences(text: str) -> list[str]:
    """Split a paragraph into sentences (good enough for recombination)."""
    return [s for s in SENTENCE_RE.split(text) if s.strip()]


def author_pool(rng: random.Random, size: int = 300) -> list[str]:
    """``size`` distinct names: mostly "Prénom Nom", some nicknames, some "Prénom N."."""
    names: set[str] = set(NICKNAMES)
    while len(names) < size:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        names.add(f"{first} {last[0]}." if rng.random() < 0.1 else f"{first} {last}")
    pool = sorted(names)
    rng.shuffle(pool)
    return pool


class Signatures:
    """Deterministic authors (Zipf-like: a few are very active) and increasing dates."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.authors = author_pool(rng)
        self.weights = [1.0 / (rank + 1) ** 0.9 for rank in range(len(self.authors))]

    def author(self) -> str | None:
        """An author name, or None now and then (anonymous comment)."""
        if self.rng.random() < 0.03:
            return None
        return self.rng.choices(self.authors, self.weights)[0]

    def thread_dates(self, comments: int) -> tuple[str, list[str]]:
        """The post date (2005-2024) and ``comments`` later, increasing comment dates."""
        start = DATE_START + timedelta(minutes=self.rng.randrange(DATE_SPAN_MINUTES))
        dates, t = [], start
        for _ in range(comments):
            t += timedelta(minutes=int(self.rng.expovariate(1 / 600)) + 1)
            dates.append(t)
        return _iso(start), [_iso(d) for d in dates]


def _iso(d: datetime) -> str:
    return d.strftime("%Y-%m-%dT%H:%M")


def title_of(paragraph: str) -> str:
    """A thread title: the first sentence of the post, cut to at most ~80 characters."""
    first = split_sentences(paragraph)[0] if paragraph else "Sans titre"
    if len(first) <= 80:
        return first.rstrip(".")
    return first[:77].rsplit(" ", 1)[0] + "…"


def group_thread(rng: random.Random, paras: list[str]) -> tuple[list[str], list[list[str]]]:
    """Cut a run of paragraphs into a post (1-4 paragraphs) and comments (1-3 each)."""
    k = min(len(paras), rng.choice((1, 1, 2, 2, 3, 4)))
    post, rest, comments = paras[:k], paras[k:], []
    while rest:
        n = rng.choice((1, 1, 1, 2, 2, 3))
        comments.append(rest[:n])
        rest = rest[n:]
    return post, comments


def thread_record(tid: str, post: list[str], comments: list[list[str]],
                  sig: Signatures) -> dict[str, object]:
    """A JSON Lines record in the project's thread format."""
    post_date, dates = sig.thread_dates(len(comments))
    return {
        "id": tid,
        "title": title_of(post[0]),
        "url": f"https://fil.example/{tid}",
        "post": {"author": sig.author(), "date": post_date, "paragraphs": post},
        "comments": [{"author": sig.author(), "date": d, "paragraphs": c}
                     for c, d in zip(comments, dates, strict=True)],
    }


def passage_count(post: list[str], comments: list[list[str]]) -> int:
    """Passages a thread yields: one per post paragraph, one per comment."""
    return len(post) + len(comments)


def real_runs(rng: random.Random, paras: list[Paragraph]) -> list[list[str]]:
    """Real paragraphs cut into thread-sized runs (at most ~25 per run, never across files)."""
    by_file: dict[str, list[str]] = {}
    for p in paras:
        by_file.setdefault(p.file, []).append(p.text)
    runs: list[list[str]] = []
    for texts in by_file.values():
        i = 0
        while i < len(texts):
            n = rng.randint(4, 25)
            runs.append(texts[i:i + n])
            i += n
    rng.shuffle(runs)
    return runs


class Recombiner:
    """Makes new paragraphs from real sentences, keeping per-package length distributions."""

    def __init__(self, rng: random.Random, paras: list[Paragraph]) -> None:
        self.rng = rng
        self.files: list[str] = []
        self.file_pkg: dict[str, str] = {}
        self.file_sents: dict[str, list[str]] = {}
        self.pkg_sents: dict[str, list[str]] = {}
        self.pkg_lengths: dict[str, list[int]] = {}
        for p in paras:
            sents = split_sentences(p.text)
            if p.file not in self.file_pkg:
                self.files.append(p.file)
                self.file_pkg[p.file] = p.pkg
            self.file_sents.setdefault(p.file, []).extend(sents)
            self.pkg_sents.setdefault(p.pkg, []).extend(sents)
            self.pkg_lengths.setdefault(p.pkg, []).append(len(sents))

    def paragraphs(self, n: int) -> list[str]:
        """``n`` new paragraphs about one topic (one source file, some package context)."""
        file = self.rng.choice(self.files)
        pkg = self.file_pkg[file]
        local, wide = self.file_sents[file], self.pkg_sents[pkg]
        out = []
        for _ in range(n):
            count = self.rng.choice(self.pkg_lengths[pkg])
            sents = [self.rng.choice(local if self.rng.random() < 0.7 else wide)
                     for _ in range(count)]
            out.append(" ".join(sents))
        return out


def generate(target: int, paras: list[Paragraph], seed: str = SEED) -> Iterator[dict[str, object]]:
    """Thread records totalling ``target`` passages (real threads first, then recombined)."""
    rng = random.Random(f"{seed}:{target}")
    sig = Signatures(random.Random(f"{seed}:signatures:{target}"))
    total, n = 0, 0
    for run in real_runs(rng, paras):
        post, comments = group_thread(rng, run)
        if total + passage_count(post, comments) > target:
            comments = comments[: max(0, target - total - len(post))]
            post = post[: max(1, target - total)]
        n += 1
        total += passage_count(post, comments)
        yield thread_record(f"t{n:07d}", post, comments, sig)
        if total >= target:
            return
    recombiner = Recombiner(random.Random(f"{seed}:recombine:{target}"), paras)
    while total < target:
        post, comments = group_thread(rng, recombiner.paragraphs(rng.randint(4, 25)))
        comments = comments[: max(0, target - total - len(post))]
        post = post[: max(1, target - total)]
        n += 1
        total += passage_count(post, comments)
        yield thread_record(f"t{n:07d}", post, comments, sig)


def write_corpus(label: str, paras: list[Paragraph] | None = None,
                 out: Path | None = None) -> Path:
    """Write the corpus of ``label`` (e.g. ``"10k"``) atomically; return its path."""
    paras = paras if paras is not None else load_paragraphs()
    out = out or corpus_path(label)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".jsonl.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for rec in generate(parse_size(label), paras):
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    tmp.replace(out)
    return out


def ensure_corpus(label: str) -> Path:
    """The corpus of ``label``, built first if it is missing.

    Labels ``real-<N>``, ``real-max`` and ``reused-<N>`` are ``bench/realcorpus.py``'s.
    """
    import realcorpus

    if realcorpus.is_label(label):
        return realcorpus.ensure_corpus(label)
    path = corpus_path(label)
    return path if path.exists() else write_corpus(label)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10k,100k,300k", help="comma-separated passage counts")
    args = ap.parse_args(argv)
    paras = load_paragraphs()
    for label in args.sizes.split(","):
        started = time.perf_counter()
        path = write_corpus(label.strip(), paras)
        print(f"{path}: {parse_size(label)} passages, {path.stat().st_size / 2**20:.1f} MiB, "
              f"{time.perf_counter() - started:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
