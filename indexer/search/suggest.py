"""« Vouliez-vous dire » : unknown or rare query words replaced by close, frequent index words."""

from __future__ import annotations

from .deadline import Deadline
from .query import ParsedQuery
from .snippets import surface_form
from .store import Snapshot

MIN_CHARS = 4  # shorter words are too ambiguous to correct
MAX_CHARS = 30  # longer words are not typos (and their edit distances cost the most)
RARE_DF = 2  # a word in more passages than this is left alone
SAMPLE_PASSAGES = 5  # passages read to find how a suggested term is usually written


def closest_term(snap: Snapshot, term: str, df: int) -> str | None:
    """The most frequent index term close to ``term`` (the suggestion's rule), or None.

    Within one edit (two for words of 7 letters or more, when one edit finds nothing),
    sharing the first letter (two for words of 6 or more), and in at least one passage
    (three times as many passages as the word itself, when the word is in the index).
    """
    if not MIN_CHARS - 1 <= len(term) <= MAX_CHARS or not term.isalpha():
        return None
    max_dist = 2 if len(term) >= 7 else 1
    near = snap.near_terms(term, 1 if len(term) < 6 else 2, max_dist)
    best: tuple[str, int] | None = None
    for dist in range(1, max_dist + 1):
        for cand, cdf, d in near:
            enough = cdf >= 1 if df == 0 else cdf > df * 3
            if d <= dist and cand != term and enough and (best is None or cdf > best[1]):
                best = (cand, cdf)
        if best:
            break
    return best[0] if best else None


class Speller:
    """Close words and how they are written, each looked up once per search."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        self._closest: dict[tuple[str, int], str | None] = {}
        self._surface: dict[str, str | None] = {}
        self._df: dict[str, int] = {}

    def know(self, df: dict[str, int]) -> None:
        """Document frequencies already asked for."""
        self._df.update(df)

    def df(self, term: str) -> int:
        """Passages holding ``term`` (asked once)."""
        if term not in self._df:
            self._df[term] = self.snap.doc_freqs([term]).get(term, 0)
        return self._df[term]

    def closest(self, term: str, df: int) -> str | None:
        """:func:`closest_term`, remembered."""
        key = (term, df)
        if key not in self._closest:
            self._closest[key] = closest_term(self.snap, term, df)
        return self._closest[key]

    def surface(self, term: str) -> str | None:
        """How the passages most often write ``term``, remembered."""
        if term not in self._surface:
            self._surface[term] = surface_form(
                self.snap.sample_texts(term, SAMPLE_PASSAGES), term)
        return self._surface[term]


def suggest(speller: Speller, parsed: ParsedQuery, deadline: Deadline,
            rescued: dict[str, tuple[str, str]] | None = None) -> str | None:
    """The query with its rare words replaced by close, more frequent ones; None if unchanged.

    A word is replaced by the most frequent index term within one edit (two for words
    of 7 letters or more, when one edit finds nothing) that shares its first letter
    (two for words of 6 or more) and is in at least one passage (three times as many
    passages as the word itself, when the word is in the index), written as the
    passages most often write it. Words the search rescued keep their rescue.
    """
    text, changed = parsed.text, False
    for node in parsed.words():
        if deadline.expired():
            break
        if node.compound or len(node.terms) != 1:
            continue
        term = node.terms[0]
        surface: str | None
        if node.raw in (rescued or {}):  # searched already as this closer term
            surface = (rescued or {})[node.raw][1]
        else:
            if not MIN_CHARS <= len(term) <= MAX_CHARS or not term.isalpha():
                continue
            df = speller.df(term)
            if df > RARE_DF:
                continue
            found = speller.closest(term, df)
            if found is None:
                continue
            surface = speller.surface(found)
        if surface and surface.lower() != node.raw.lower():
            text = text.replace(node.raw, surface, 1)
            changed = True
    return text if changed else None


def levenshtein(a: str, b: str, limit: int) -> int:
    """Edit distance between ``a`` and ``b`` (``limit + 1`` as soon as it exceeds ``limit``).

    >>> levenshtein("sarkosy", "sarkozy", 2), levenshtein("abc", "xyz", 1)
    (1, 2)
    """
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        if min(cur) > limit:
            return limit + 1
        prev = cur
    return min(prev[-1], limit + 1)
