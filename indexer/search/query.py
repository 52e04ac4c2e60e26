"""The query language, parsed into a small backend-neutral tree analysed with the index's chain.

Syntax (bare words are ANDed)::

    tres haut debit            every word must match (any word, ranked, if none match all)
    "haut debit"               a phrase (accents, case and inflection ignored)
    -sarkozy  -"haut debit"    exclude a word or a phrase
    obama OR sarkozy           either (binds tighter than the implicit AND)
    (obama OR sarkozy) debit   parentheses group
    entrep*                    prefix (at least 3 letters; expansion bounded)
    author:philrig  author:"Jean Michel"  kind:post|comment  thread:ID
    after:2009-02-06  before:2009-02  (YYYY, YYYY-MM or YYYY-MM-DD, inclusive)

Bounds (enforced here, whatever calls the parser): at most MAX_QUERY_CHARS characters,
MAX_WORDS words, MAX_PREFIXES prefixes and MAX_DEPTH nested parentheses. Text is
normalised as documents are (:func:`clean_query`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from ..analysis import FrenchAnalyzer, analyzer
from ..analysis.folding import author_key, fold
from ..analysis.text import normalize_key
from ..errors import QueryError

MAX_QUERY_CHARS = 1000
MAX_WORDS = 64
MAX_DEPTH = 8
MIN_PREFIX = 3
MAX_PREFIXES = 8
MAX_PREFIX_EXPANSION = 50  # terms a prefix may expand to (the most frequent ones)
PREFIX_SCAN_LIMIT = 2000  # index terms looked at while expanding one prefix

FILTERS = ("author", "kind", "after", "before", "thread")
KIND_ALIASES = {"post": "post", "billet": "post", "article": "post",
                "comment": "comment", "commentaire": "comment", "commentaires": "comment",
                "comments": "comment"}

_LEX_RE = re.compile(
    r'(?P<filter>(?:author|kind|after|before|thread|auteur|type|apr[eè]s|avant):'
    r'(?:"[^"]*"?|[^\s()]*))'
    r'|(?P<phrase>-?"[^"]*"?)'
    r'|(?P<lpar>-?\()|(?P<rpar>\))'
    r'|(?P<word>-?[^\s()"]+)',
    re.IGNORECASE,
)
_FILTER_ALIASES = {"auteur": "author", "type": "kind", "apres": "after", "après": "after",
                   "avant": "before"}


@dataclass(slots=True)
class TermNode:
    """A word: its analysed terms (several for a compound), or a bounded prefix."""

    raw: str
    terms: list[str]  # analysed terms; compound -> parts (phrase) then the joined form
    prefix: str | None = None  # folded prefix for ``word*``
    compound: bool = False


@dataclass(slots=True)
class PhraseNode:
    """A quoted phrase: analysed terms in order (consecutive positions)."""

    raw: str
    terms: list[str]


@dataclass(slots=True)
class OrNode:
    """Alternatives: any one of them must match."""

    children: list[Node]


@dataclass(slots=True)
class AndNode:
    """A parenthesised group: all of its clauses must match."""

    children: list[Node]
    negated: list[Node] = field(default_factory=list)


Node = TermNode | PhraseNode | OrNode | AndNode


@dataclass(slots=True)
class ParsedQuery:
    """What a backend needs: required clauses, exclusions, filters, and notices for people."""

    text: str
    must: list[Node] = field(default_factory=list)
    must_not: list[Node] = field(default_factory=list)
    author: str | None = None  # folded author key
    kind: str | None = None
    after: int | None = None  # YYYYMMDD, inclusive
    before: int | None = None  # YYYYMMDD, inclusive
    thread: str | None = None
    notices: list[str] = field(default_factory=list)

    @property
    def has_filters(self) -> bool:
        """True when any field filter narrows the search."""
        return any(v is not None for v in (self.author, self.kind, self.after, self.before,
                                           self.thread))

    def positive_terms(self) -> list[str]:
        """Every analysed term that a result may match (for ranking, snippets and marks)."""
        out: list[str] = []
        for node in self.must:
            _collect_terms(node, out)
        return list(dict.fromkeys(out))

    def words(self) -> list[TermNode]:
        """The plain (non-prefix) words of the required clauses, for suggestions."""
        out: list[TermNode] = []
        for node in self.must:
            _collect_words(node, out)
        return out


def _collect_terms(node: Node, out: list[str]) -> None:
    """Append the analysed terms found under a node."""
    if isinstance(node, TermNode | PhraseNode):
        out.extend(node.terms)
    elif isinstance(node, OrNode):
        for child in node.children:
            _collect_terms(child, out)
    else:
        for child in node.children:
            _collect_terms(child, out)


def _collect_words(node: Node, out: list[TermNode]) -> None:
    """Append plain word nodes found under a node."""
    if isinstance(node, TermNode):
        if node.prefix is None:
            out.append(node)
    elif isinstance(node, OrNode | AndNode):
        for child in node.children:
            _collect_words(child, out)


def clean_query(text: str) -> str:
    """Normalise a query exactly as documents are (NFC, controls), format characters removed.

    Format characters (soft hyphen, zero-width, bidi marks) are removed, not spaced: in
    documents they don't split words either. Tab and line breaks become spaces.
    """
    return normalize_key(text).translate(_BREAKS)


_BREAKS = str.maketrans("\t\n\r", "   ")


def _date_bound(value: str, name: str, upper: bool) -> int:
    """``2009``, ``2009-02`` or ``2009-02-05`` -> YYYYMMDD (first or last day for ranges)."""
    m = re.fullmatch(r"(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?", value)
    if not m:
        raise QueryError(f"{name}: attend une date AAAA-MM-JJ (ou AAAA-MM, AAAA), "
                         f"pas {value!r}")
    y, mo, d = int(m.group(1)), m.group(2), m.group(3)
    try:
        if mo is None:
            return y * 10000 + (1231 if upper else 101)
        if d is None:
            last = 31
            while True:
                try:
                    date(y, int(mo), last)
                    break
                except ValueError:
                    last -= 1
                    if last < 28:
                        raise
            return y * 10000 + int(mo) * 100 + (last if upper else 1)
        date(y, int(mo), int(d))
        return y * 10000 + int(mo) * 100 + int(d)
    except ValueError:
        raise QueryError(f"{name}: {value!r} n'est pas une date valide") from None


class _Parser:
    """Recursive-descent parser over the lexemes of one query."""

    def __init__(self, text: str, ana: FrenchAnalyzer) -> None:
        self.ana = ana
        self.lexemes = [(m.lastgroup, m.group()) for m in _LEX_RE.finditer(text)]
        self.i = 0
        self.words = 0
        self.prefixes = 0
        self.query = ParsedQuery(text=text)

    def parse(self) -> ParsedQuery:
        must, must_not = self.clauses(depth=0)
        if self.i < len(self.lexemes):  # stray ")" at top level: ignore it and go on
            self.i += 1
            more_must, more_not = self.clauses(depth=0)
            must += more_must
            must_not += more_not
        self.query.must, self.query.must_not = must, must_not
        return self.query

    def clauses(self, depth: int) -> tuple[list[Node], list[Node]]:
        must: list[Node] = []
        must_not: list[Node] = []
        while self.i < len(self.lexemes):
            kind, text = self.lexemes[self.i]
            if kind == "rpar":
                if depth > 0:
                    return must, must_not
                self.i += 1
                continue
            negated = text.startswith("-") and len(text) > 1 and kind != "filter"
            alternatives = [self.atom(depth)]
            while (self.i + 1 < len(self.lexemes) and self.lexemes[self.i][1] == "OR"
                   and self.lexemes[self.i + 1][0] != "rpar"):
                self.i += 1
                nxt = self.lexemes[self.i][1]
                if negated or (nxt.startswith("-") and len(nxt) > 1):
                    raise QueryError("OR ne peut pas relier une exclusion (-mot) : "
                                     "écrivez par exemple « lippi -debit »")
                alternatives.append(self.atom(depth))
            nodes = [n for n in alternatives if n is not None]
            if not nodes:
                continue
            node = nodes[0] if len(nodes) == 1 else OrNode(nodes)
            (must_not if negated and len(nodes) == 1 else must).append(node)
        return must, must_not

    def atom(self, depth: int) -> Node | None:
        kind, text = self.lexemes[self.i]
        self.i += 1
        if kind == "filter":
            self.filter(text)
            return None
        if kind == "lpar":
            if depth + 1 > MAX_DEPTH:
                raise QueryError(f"trop de parenthèses imbriquées (au plus {MAX_DEPTH} niveaux)")
            must, must_not = self.clauses(depth + 1)
            if self.i < len(self.lexemes) and self.lexemes[self.i][0] == "rpar":
                self.i += 1
            if not must:
                return None
            return AndNode(must, must_not) if len(must) > 1 or must_not else must[0]
        if kind == "rpar":
            return None
        raw = text[1:] if text.startswith("-") and len(text) > 1 else text
        if kind == "phrase":
            inner = raw.strip('"')
            terms = self.phrase_terms(inner)
            self.count(len(terms))
            if not terms:
                return None
            return PhraseNode(inner, terms) if len(terms) > 1 else TermNode(inner, terms)
        if raw == "OR":
            return None
        return self.word(raw)

    def count(self, n: int) -> None:
        self.words += n
        if self.words > MAX_WORDS:
            raise QueryError(f"trop de mots dans la recherche (au plus {MAX_WORDS})")

    def phrase_terms(self, text: str) -> list[str]:
        """Analysed terms of a phrase in position order; joined compound forms left out."""
        seen: dict[int, str] = {}
        for term, pos, _, _ in self.ana.spans(text):
            seen.setdefault(pos, term)
        return [seen[p] for p in sorted(seen)]

    def word(self, raw: str) -> Node | None:
        if raw.endswith("*"):
            stem = raw.rstrip("*")
            prefix = fold(stem)
            prefix = re.sub(r"[^\w]", "", prefix)
            if len(prefix) >= MIN_PREFIX:
                self.count(1)
                self.prefixes += 1
                if self.prefixes > MAX_PREFIXES:
                    raise QueryError(f"trop de préfixes (mot*) dans la recherche "
                                     f"(au plus {MAX_PREFIXES})")
                return TermNode(raw, self.ana.terms(stem), prefix=prefix)
            if stem:
                self.query.notices.append(
                    f"« {raw} » : une recherche par préfixe demande au moins {MIN_PREFIX} "
                    "lettres ; le mot a été cherché tel quel.")
            raw = stem
        spans = list(self.ana.spans(raw))
        if not spans:
            return None
        self.count(1)
        positions = {pos for _, pos, _, _ in spans}
        if len(spans) > 1 and len(positions) < len(spans):  # a hyphenated compound
            return TermNode(raw, self.phrase_terms(raw) + [spans[-1][0]], compound=True)
        if len(spans) == 1:
            return TermNode(raw, [spans[0][0]])
        return PhraseNode(raw, [t for t, _, _, _ in spans])  # e.g. "2.0/web" split words

    def filter(self, text: str) -> None:
        name, _, value = text.partition(":")
        name = _FILTER_ALIASES.get(name.lower(), name.lower())
        value = value.strip().strip('"').strip()
        if not value:
            raise QueryError(f"{name}: il manque une valeur (par exemple {name}:{_EXAMPLES[name]})")
        q = self.query
        if name == "author":
            q.author = author_key(value)
        elif name == "kind":
            kind = KIND_ALIASES.get(fold(value))
            if kind is None:
                raise QueryError("kind: attend post (billet) ou comment (commentaire), "
                                 f"pas {value!r}")
            q.kind = kind
        elif name == "after":
            q.after = _date_bound(value, name, upper=False)
        elif name == "before":
            q.before = _date_bound(value, name, upper=True)
        else:
            q.thread = value


_EXAMPLES = {"author": "philrig", "kind": "comment", "after": "2009-02-06",
             "before": "2009-12-31", "thread": "lippi-billautshow-2009-02"}


def choose_expansions(node: TermNode, scanned: list[tuple[str, int]],
                      notices: list[str]) -> list[str]:
    """A prefix's expansion: the MAX_PREFIX_EXPANSION most frequent of the scanned (term, df).

    Shared by the backends, which only differ in how they list the index's terms.
    """
    ranked = sorted(scanned, key=lambda td: -td[1])  # most frequent first, stable
    if len(ranked) > MAX_PREFIX_EXPANSION:
        notices.append(f"« {node.raw} » : préfixe trop courant, limité aux "
                       f"{MAX_PREFIX_EXPANSION} mots les plus fréquents.")
    return [t for t, _ in ranked[:MAX_PREFIX_EXPANSION]]


def parse_query(text: str, ana: FrenchAnalyzer | None = None) -> ParsedQuery:
    """Parse and analyse a query; raise QueryError (with a reason for people) when it can't run.

    >>> parse_query('TRÈS "haut debit" -obama author:philrig').positive_terms()
    ['tres', 'haut', 'deb']
    """
    if not isinstance(text, str):
        raise QueryError("la recherche doit être du texte")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"recherche trop longue ({len(text)} caractères ; "
                         f"au plus {MAX_QUERY_CHARS})")
    text = clean_query(text).strip()
    return _Parser(text, ana or analyzer()).parse()
