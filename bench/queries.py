"""Deterministic, realistic query sets drawn from a benchmark corpus.

Three kinds, ``n`` of each (seeded, so a corpus always gives the same queries):

* ``words``: 1-3 bare words taken together from one real passage (so an AND query
  usually has answers), mixing common and rarer words; about one in five has an
  accented word typed without its accents (``"securite"`` for ``"sécurité"``).
* ``phrase``: 2-3 consecutive words of a real passage, in double quotes.
* ``question``: a French question of 10+ words built from a template filled with
  content words of one real passage (``"Comment peut-on configurer ... ?"``).

The generator knows nothing of the search engine (its own small stop list, its own
tokenizer): the queries are what a user could type, not what the engine likes.

Run (prints a sample)::

    python bench/queries.py bench/corpora/10k.jsonl --n 5
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

KINDS = ("words", "phrase", "question")
WORD_RE = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
#: Runs of whole plain words separated by single spaces (no punctuation inside a phrase,
#: no piece of a longer token such as ``O_RDONLY`` or ``x86``).
RUN_RE = re.compile(r"(?<![\w'’-])[^\W\d_]+(?:['’-][^\W\d_]+)*"
                    r"(?: [^\W\d_]+(?:['’-][^\W\d_]+)*)+(?![\w'’-])")


def _words(text: str) -> list[str]:
    """The whitespace-separated words of a literal list."""
    return text.split()


STOP = frozenset(_words("""
a à afin ai aie aient ainsi alors au aucun aussi autre autres aux avant avec avez avoir
avons bien c ça car ce ceci cela celle celles celui cependant ces cet cette ceux chaque
ci comme comment d dans de des donc dont du elle elles en encore entre est et été être
eu fait faire faut il ils j je jusqu l la le les leur leurs lors lorsque lui m ma mais
me même mêmes mes moi mon n ne ni non nos notre nous on ont ou où par parce pas peu peut
peuvent plus pour pourquoi puis qu quand que quel quelle quelles quels qui s sa sans se
sera ses si sinon soit son sont sous sur t ta te tel telle tels tes toi ton tous tout
toute toutes très tu un une uns vos votre vous y voir doit doivent sera seront cas
après aucune aucun etc également lequel laquelle lesquels lesquelles dont déjà ici là
premier première dernier dernière nouveau nouvelle faites fois afin tandis
permet permettent utiliser utilisé utilisée utilisés fichier fichiers option options
"""))

QUESTION_TEMPLATES = (
    "Comment peut-on configurer {a} et {b} pour que {c} fonctionne correctement ?",
    "Quelle est la différence entre {a} et {b} quand on utilise {c} au quotidien ?",
    "Pourquoi est-ce que {a} ne marche plus avec {b} depuis la dernière mise à jour ?",
    "Est-ce que quelqu'un sait comment régler {a} dans le cas où {b} et {c} sont activés ?",
    "Où puis-je trouver une documentation claire sur {a}, {b} et {c} pour débuter ?",
    "Bonjour, j'ai un problème avec {a} : comment faire pour que {b} accepte {c} ?",
    "Quelqu'un a-t-il déjà réussi à utiliser {a} avec {b} sans perdre {c} ?",
    "Que faut-il faire quand {a} affiche une erreur liée à {b} et à {c} ?",
    "Comment fonctionne exactement {a} et à quoi servent {b} et {c} dans ce contexte ?",
    "Est-il possible de remplacer {a} par {b} tout en gardant {c} comme avant ?",
)


def strip_accents(text: str) -> str:
    """``"sécurité"`` -> ``"securite"`` (what a user typing fast or on a QWERTY keyboard sends)."""
    nfd = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(c for c in nfd if not unicodedata.combining(c)))


def read_passages(corpus: Path) -> list[str]:
    """Passages of a JSON Lines corpus: each post paragraph, each whole comment (file order)."""
    from corpus import corpus_lines

    out: list[str] = []
    for line in corpus_lines(corpus):
        t = json.loads(line)
        out.extend(t.get("post", {}).get("paragraphs", []))
        out.extend("\n".join(c.get("paragraphs", [])) for c in t.get("comments", []))
    return out


def content_words(text: str) -> list[str]:
    """Lowercased words of 3+ letters that are not stop words, in text order, no repeats."""
    seen: dict[str, None] = {}
    for m in WORD_RE.finditer(text):
        w = m.group().lower()
        if len(w) >= 3 and w not in STOP and "'" not in w and "’" not in w:
            seen.setdefault(w, None)
    return list(seen)


class QueryMaker:
    """Draws queries from passages, using document frequencies to mix common and rare words."""

    def __init__(self, passages: list[str], seed: str = "fil-queries-v1") -> None:
        self.passages = [p for p in passages if len(content_words(p)) >= 4]
        self.seed = seed
        self.df: Counter[str] = Counter()
        for p in self.passages:
            self.df.update(content_words(p))
        self.n_docs = max(1, len(self.passages))

    def _rng(self, kind: str) -> random.Random:
        return random.Random(f"{self.seed}:{kind}:{self.n_docs}")

    def _pick_words(self, rng: random.Random, words: list[str], k: int) -> list[str]:
        """``k`` words of one passage: half the time the rarest ones, else any (common)."""
        usable = [w for w in words if self.df[w] >= 2]  # hapaxes are mostly typos/codes
        if len(usable) < k:
            return []
        if rng.random() < 0.5:
            weights = [math.log(self.n_docs / self.df[w]) + 0.1 for w in usable]
        else:
            weights = [float(self.df[w]) for w in usable]
        chosen: list[str] = []
        while len(chosen) < k:
            w = rng.choices(usable, weights)[0]
            if w not in chosen:
                chosen.append(w)
        return chosen

    def words(self, n: int) -> list[str]:
        """``n`` queries of 1-3 bare words (about 20% with an accented word unaccented)."""
        rng, out = self._rng("words"), []
        while len(out) < n:
            k = rng.choice((1, 2, 2, 2, 3, 3))
            chosen = self._pick_words(rng, content_words(rng.choice(self.passages)), k)
            if not chosen:
                continue
            accented = [i for i, w in enumerate(chosen) if strip_accents(w) != w]
            if accented and rng.random() < 0.4:
                i = rng.choice(accented)
                chosen[i] = strip_accents(chosen[i])
            out.append(" ".join(chosen))
        return out

    def phrases(self, n: int) -> list[str]:
        """``n`` quoted phrases of 2-3 consecutive words with at least one content word."""
        rng, out = self._rng("phrase"), []
        while len(out) < n:
            runs = [m.group().split(" ") for m in RUN_RE.finditer(rng.choice(self.passages))]
            runs = [r for r in runs if len(r) >= 2]
            if not runs:
                continue
            run = rng.choice(runs)
            k = min(len(run), rng.choice((2, 2, 3)))
            start = rng.randrange(len(run) - k + 1)
            words = run[start:start + k]
            if sum(1 for w in words if content_words(w)) >= 1:
                out.append('"' + " ".join(words) + '"')
        return out

    def questions(self, n: int) -> list[str]:
        """``n`` questions of 10+ words: a template filled with content words of one passage."""
        rng, out = self._rng("question"), []
        while len(out) < n:
            chosen = self._pick_words(rng, content_words(rng.choice(self.passages)), 3)
            if not chosen:
                continue
            q = rng.choice(QUESTION_TEMPLATES).format(a=chosen[0], b=chosen[1], c=chosen[2])
            if len(WORD_RE.findall(q)) >= 10:
                out.append(q)
        return out

    def all(self, n: int) -> dict[str, list[str]]:
        """``n`` queries of each kind, by kind."""
        return {"words": self.words(n), "phrase": self.phrases(n), "question": self.questions(n)}


def make_queries(corpus: Path, n: int = 200) -> dict[str, list[str]]:
    """The query sets of a corpus file (``n`` of each kind)."""
    return QueryMaker(read_passages(corpus)).all(n)


def sample(queries: dict[str, list[str]], k: int) -> Iterable[str]:
    """Lines showing the first ``k`` queries of each kind."""
    for kind, qs in queries.items():
        for q in qs[:k]:
            yield f"{kind:9} {q}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--n", type=int, default=200, help="queries of each kind")
    ap.add_argument("--json", action="store_true", help="print all queries as JSON")
    args = ap.parse_args(argv)
    queries = make_queries(args.corpus, args.n)
    if args.json:
        print(json.dumps(queries, ensure_ascii=False, indent=1))
    else:
        print("\n".join(sample(queries, args.n)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
