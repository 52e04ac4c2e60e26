"""The query language, parsed into a small backend-neutral tree analysed with the index's chain.

Syntax (bare words are ANDed)::

    tres haut debit            every word must match (any word, ranked, if none match all)
    "haut debit"               a phrase (accents, case and inflection ignored)
    -sarkozy  -"haut debit"    exclude a word or a phrase
    obama OR sarkozy           either (binds tighter than the implicit AND); also OU
    a AND b, a ET b            the same as ``a b``
    SAUF sarkozy, NOT sarkozy  the same as ``-sarkozy``
    (obama OR sarkozy) debit   parentheses group
    entrep*                    prefix (at least 3 letters; expansion bounded)
    author:philrig  author:"Jean Michel"  kind:post|comment  thread:ID
    after:2009-02-06  before:2009-02  (YYYY, YYYY-MM or YYYY-MM-DD, inclusive)
    auteur:  type:billet|commentaire  après:  avant:  fil:   (the French names)
    -author:x  -thread:x  -kind:post      exclude an author, a thread, a kind

Operators are upper case (``OR``/``OU``, ``AND``/``ET``, ``NOT``/``SAUF``): ``ou`` and
``et`` in lower case are words (stop words).

Bounds (enforced here, whatever calls the parser): at most MAX_QUERY_CHARS characters,
MAX_WORDS words, MAX_PREFIXES prefixes and MAX_DEPTH nested parentheses. Text is
normalised as documents are (:func:`clean_query`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from ..analysis import FrenchAnalyzer, analyzer
from ..errors import QueryError
from ..ingest.folding import author_key, fold
from ..ingest.text import normalize_key
from .results import Notice

MAX_QUERY_CHARS = 1000
MAX_WORDS = 64
MAX_DEPTH = 8
MIN_PREFIX = 3
MAX_PREFIXES = 8
MAX_PREFIX_EXPANSION = 50  # terms a prefix may expand to (the most frequent ones)

KIND_ALIASES = {"post": "post", "billet": "post", "article": "post",
                "comment": "comment", "commentaire": "comment", "commentaires": "comment",
                "comments": "comment"}

#: Filter names, and the French aliases the parser accepts for each.
FILTER_NAMES = {"author": ("author", "auteur"), "kind": ("kind", "type"),
                "after": ("after", "après", "apres"), "before": ("before", "avant"),
                "thread": ("thread", "fil")}
_FILTER_ALIASES = {alias: name for name, aliases in FILTER_NAMES.items() for alias in aliases}
OR_WORDS = ("OR", "OU")
AND_WORDS = ("AND", "ET")
NOT_WORDS = ("NOT", "SAUF")

_LEX_RE = re.compile(
    r'(?P<filter>-?(?:author|kind|after|before|thread|auteur|type|apr[eè]s|avant|fil):'
    r'(?:"[^"]*"?|[^\s()]*))'
    r'|(?P<phrase>-?"[^"]*"?)'
    r'|(?P<lpar>-?\()|(?P<rpar>\))'
    r'|(?P<word>-?[^\s()"]+)',
    re.IGNORECASE,
)


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
    not_authors: tuple[str, ...] = ()  # folded author keys excluded (``-author:x``)
    not_threads: tuple[str, ...] = ()  # thread ids excluded (``-thread:x``)
    notices: list[Notice] = field(default_factory=list)
    question: bool = False  # read as a question: ranked any-word, interrogatives not searched
    dropped: list[TermNode] = field(default_factory=list)  # interrogatives not searched

    @property
    def has_filters(self) -> bool:
        """True when any field filter narrows the search."""
        return any(v is not None for v in (self.author, self.kind, self.after, self.before,
                                           self.thread)) or bool(self.not_authors
                                                                 or self.not_threads)

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


def normalize_id(value: str) -> str:
    """A thread id as the index keeps it (see :func:`indexer.ingest.record.thread_id`)."""
    return normalize_key(value).strip()


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
        raise QueryError("bad_date", name=name, value=value)
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
        raise QueryError("invalid_date", name=name, value=value) from None


class _Parser:
    """Recursive-descent parser over the lexemes of one query."""

    def __init__(self, text: str, ana: FrenchAnalyzer) -> None:
        self.ana = ana
        self.lexemes = [(m.lastgroup or "word", m.group()) for m in _LEX_RE.finditer(text)]
        self.i = 0
        self.words = 0
        self.prefixes = 0
        self.query = ParsedQuery(text=text)

    def parse(self) -> ParsedQuery:
        must, must_not = self.clauses(depth=0)
        while self.i < len(self.lexemes):  # stray ")" at top level: ignore it and go on
            self.i += 1
            more_must, more_not = self.clauses(depth=0)
            must += more_must
            must_not += more_not
        self.query.must, self.query.must_not = must, must_not
        return self.query

    def _is(self, i: int, words: tuple[str, ...]) -> bool:
        """True when lexeme ``i`` is one of the operator ``words`` (upper case, bare)."""
        return i < len(self.lexemes) and self.lexemes[i][0] == "word" \
            and self.lexemes[i][1] in words

    def _operand_follows(self, i: int) -> bool:
        """True when lexeme ``i`` exists and can start an operand."""
        return i < len(self.lexemes) and self.lexemes[i][0] != "rpar"

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
            if self._is(self.i, AND_WORDS + OR_WORDS):  # an operator with no left operand
                self.i += 1
                continue
            negated = False
            if self._is(self.i, NOT_WORDS) and self._operand_follows(self.i + 1):
                negated = True
                self.i += 1
                kind, text = self.lexemes[self.i]
            elif self._is(self.i, NOT_WORDS):
                self.i += 1
                continue
            if kind == "filter":
                self.i += 1
                self.filter(text, negated)
                continue
            negated = negated or (text.startswith("-") and len(text) > 1)
            alternatives = [self.atom(depth)]
            while (self._is(self.i, OR_WORDS) and self._operand_follows(self.i + 1)
                   and self.lexemes[self.i + 1][0] != "filter"):
                self.i += 1
                nxt = self.lexemes[self.i][1]
                if negated or (nxt.startswith("-") and len(nxt) > 1) \
                        or self._is(self.i, NOT_WORDS):
                    raise QueryError("or_exclusion")
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
        if kind == "lpar":
            if depth + 1 > MAX_DEPTH:
                raise QueryError("too_deep", limit=MAX_DEPTH)
            must, must_not = self.clauses(depth + 1)
            if self.i < len(self.lexemes) and self.lexemes[self.i][0] == "rpar":
                self.i += 1
            if not must:
                return None
            return AndNode(must, must_not) if len(must) > 1 or must_not else must[0]
        if kind in ("rpar", "filter"):
            return None
        raw = text[1:] if text.startswith("-") and len(text) > 1 else text
        if kind == "phrase":
            inner = raw.strip('"')
            terms = self.phrase_terms(inner)
            self.count(len(terms))
            if not terms:
                return None
            return PhraseNode(inner, terms) if len(terms) > 1 else TermNode(inner, terms)
        if raw in OR_WORDS + AND_WORDS + NOT_WORDS:
            return None
        return self.word(raw)

    def count(self, n: int) -> None:
        self.words += n
        if self.words > MAX_WORDS:
            raise QueryError("too_many_words", limit=MAX_WORDS)

    def phrase_terms(self, text: str) -> list[str]:
        """Analysed terms of a phrase in position order; joined compound forms left out."""
        seen: dict[int, str] = {}
        for term, pos, _, _ in self.ana.spans(text):
            seen.setdefault(pos, term)
        return [seen[p] for p in sorted(seen)]

    def word(self, raw: str) -> Node | None:
        if raw.endswith("*"):
            stem = raw.rstrip("*")
            prefix = re.sub(r"[^\w]", "", fold(stem))
            if len(prefix) >= MIN_PREFIX:
                self.count(1)
                self.prefixes += 1
                if self.prefixes > MAX_PREFIXES:
                    raise QueryError("too_many_prefixes", limit=MAX_PREFIXES)
                return TermNode(raw, self.ana.terms(stem), prefix=prefix)
            if stem:
                self.query.notices.append(Notice("prefix_short", raw, MIN_PREFIX))
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

    def filter(self, text: str, negated: bool = False) -> None:
        if text.startswith("-"):
            negated, text = True, text[1:]
        alias, _, value = text.partition(":")
        name = _FILTER_ALIASES.get(alias.lower(), alias.lower())
        value = value.strip().strip('"').strip()
        if not value:
            raise QueryError("missing_value", name=alias, example=_EXAMPLES[name])
        q = self.query
        if name == "author":
            key = author_key(value)
            if negated:
                q.not_authors = (*q.not_authors, key)
            else:
                q.author = key
        elif name == "kind":
            kind = KIND_ALIASES.get(fold(value))
            if kind is None:
                raise QueryError("bad_kind", name=alias, value=value)
            q.kind = ("comment" if kind == "post" else "post") if negated else kind
        elif name in ("after", "before"):
            if negated:
                raise QueryError("negated_date", name=alias)
            bound = _date_bound(value, alias, upper=name == "before")
            if name == "after":
                q.after = bound
            else:
                q.before = bound
        elif negated:
            q.not_threads = (*q.not_threads, normalize_id(value))
        else:
            q.thread = normalize_id(value)


_EXAMPLES = {"author": "philrig", "kind": "comment", "after": "2009-02-06",
             "before": "2009-12-31", "thread": "lippi-billautshow-2009-02"}


def choose_expansions(node: TermNode, scanned: list[tuple[str, int]],
                      notices: list[Notice]) -> list[str]:
    """A prefix's expansion: the MAX_PREFIX_EXPANSION most frequent of the (term, df) given.

    The store gives the most frequent terms under the prefix (one more than kept, so
    that a capped expansion is noticed).
    """
    ranked = sorted(scanned, key=lambda td: (-td[1], td[0]))  # most frequent first
    if len(ranked) > MAX_PREFIX_EXPANSION:
        notices.append(Notice("prefix_capped", node.raw, MAX_PREFIX_EXPANSION))
    return [t for t, _ in ranked[:MAX_PREFIX_EXPANSION]]


def parse_query(text: str, ana: FrenchAnalyzer | None = None) -> ParsedQuery:
    """Parse and analyse a query; raise QueryError (with a reason for people) when it can't run.

    >>> parse_query('TRÈS "haut debit" -obama author:philrig').positive_terms()
    ['tres', 'haut', 'deb']
    """
    if not isinstance(text, str):
        raise QueryError("not_text")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError("too_long", chars=len(text), limit=MAX_QUERY_CHARS)
    text = clean_query(text).strip()
    parsed = _Parser(text, ana or analyzer()).parse()
    read_question(parsed)
    return parsed


# -- questions -----------------------------------------------------------------------------

#: Interrogative words (lowercase, folded, elision removed). Those on the stop list
#: (qui, que, qu', ou) are never searched anyway; they still make a query a question.
#: ``où`` folds to ``ou``: a query typed with ``ou`` counts too (and an ``A ou B``
#: keyword query is then ranked any-word, which is what it asks for).
INTERROGATIVES = frozenset(fold(w) for w in [
    "qui", "que", "quoi", "quel", "quelle", "quels", "quelles", "lequel", "laquelle",
    "lesquels", "lesquelles", "duquel", "desquels", "desquelles", "auquel", "auxquels",
    "auxquelles", "comment", "combien", "pourquoi", "où", "quand"])
#: A verb with an inverted subject clitic: ``peut-on``, ``a-t-il``, ``est-ce``, ``dit-elle``.
INVERTED_RE = re.compile(
    r"\b\w+[-\u2010\u2011](?:t[-\u2010\u2011])?"
    r"(?:je|tu|il|elle|on|nous|vous|ils|elles|ce|iel|iels)\b", re.IGNORECASE)
_ELIDED_RE = re.compile(r"^(?:l|m|t|qu|n|s|j|d|c|jusqu|quoiqu|lorsqu|puisqu)['\u2019]")


def surface_word(raw: str) -> str:
    """A query word as compared with word lists: lowercase, folded, no elision or punctuation.

    >>> surface_word("Qu’est"), surface_word("Combien,"), surface_word("Où")
    ('est', 'combien', 'ou')
    """
    word = _ELIDED_RE.sub("", raw.lower())
    return re.sub(r"[^\w\-]", "", fold(word))


def stop_words(q: str) -> list[str]:
    """The words of a query that are never searched (too common: ``la``, ``de``, ``et``)."""
    ana = analyzer()
    words = [w.strip('"()') for w in q.split()]
    return [w for w in words if w and any(ch.isalpha() for ch in w) and ":" not in w
            and not ana.terms(w)]


_ELIDED_ANY_RE = re.compile(_ELIDED_RE.pattern, re.IGNORECASE)


def is_capitalised(raw: str, text: str) -> bool:
    """A word written with a capital (after any elided article) that does not open the
    query: a name or an acronym, most likely.

    >>> [is_capitalised(w, "Où est né Cedric à l'Élysée ou à Paris ?")
    ...  for w in ("Où", "né", "Cedric", "l'Élysée", "Paris")]
    [False, False, True, True, True]
    """
    word = _ELIDED_ANY_RE.sub("", raw)
    return word[:1].isupper() and not text.lstrip().startswith(raw)


def is_question(text: str) -> bool:
    """A question: a ``?``, an interrogative word, or a verb with an inverted subject.

    >>> [is_question(q) for q in ("Combien d'employeurs", "peut-on voter", "impôt revenu")]
    [True, True, False]
    """
    if "?" in text or INVERTED_RE.search(text):
        return True
    return any(surface_word(w) in INTERROGATIVES for w in text.split())


def read_question(parsed: ParsedQuery) -> None:
    """Mark a question and drop its top-level interrogative words while another word remains.

    >>> q = parse_query("Comment renouveler un passeport ?")
    >>> q.question, [n.raw for n in q.dropped], q.positive_terms()
    (True, ['Comment'], ['renouvel', 'passeport'])
    """
    parsed.question = is_question(parsed.text)
    if not parsed.question:
        return
    keep = [n for n in parsed.must
            if not (isinstance(n, TermNode) and n.prefix is None
                    and surface_word(n.raw) in INTERROGATIVES)]
    if keep and len(keep) < len(parsed.must):
        parsed.dropped = [n for n in parsed.must if isinstance(n, TermNode) and n not in keep]
        parsed.must = keep


# -- editing a query's filters (the filter links of the search page) -----------------
_BARE_VALUE_RE = re.compile(r'[^\s()"]+')


def quote_value(value: str) -> str:
    """A filter value as the parser reads it: quoted when it holds spaces or brackets."""
    value = " ".join(value.replace('"', " ").split())
    return value if _BARE_VALUE_RE.fullmatch(value) else f'"{value}"'


def _filter_lexemes(query: str) -> list[tuple[re.Match[str], str, bool]]:
    """The filter lexemes of a query, read by the parser's own lexer: (match, name, negated)."""
    out = []
    for m in _LEX_RE.finditer(query):
        if m.lastgroup == "filter":
            text = m.group()
            negated = text.startswith("-")
            alias = text.lstrip("-").partition(":")[0].lower()
            out.append((m, _FILTER_ALIASES[alias], negated))
    return out


def active_filters(query: str) -> dict[str, str]:
    """The filters a query sets (not the excluded ones), by canonical name, values as written.

    >>> active_filters('debit auteur:"Jean Michel" type:billet -author:x "kind:post"')
    {'author': 'Jean Michel', 'kind': 'billet'}
    """
    out: dict[str, str] = {}
    for m, name, negated in _filter_lexemes(query):
        value = m.group().partition(":")[2].strip().strip('"').strip()
        if value and not negated:
            out[name] = value
    return out


def drop_filter(query: str, name: str) -> str:
    """The query without its ``name:`` filters (any alias; excluded ones too).

    >>> drop_filter('debit apres:2009 -after:2011 x', "after")
    'debit x'
    """
    out, cur = [], 0
    for m, found, _ in _filter_lexemes(query):
        if found == name:
            out.append(query[cur:m.start()])
            cur = m.end()
    out.append(query[cur:])
    text = " ".join("".join(out).split())
    return text.replace("( ", "(").replace(" )", ")")


def set_filter(query: str, name: str, value: str, alias: str | None = None) -> str:
    """The query with its ``name:`` filter replaced by ``alias:value`` (alias: the name).

    >>> set_filter('debit auteur:x', "author", "Jean Michel", "auteur")
    'debit auteur:"Jean Michel"'
    """
    rest = drop_filter(query, name)
    return f"{rest} {alias or name}:{quote_value(value)}".strip()


@dataclass(frozen=True, slots=True)
class Marks:
    """What a page marks for a query: analysed terms and prefixes (``entrep*``), and the
    query's words as written (folded), which tell an exact match from a stem-only one."""

    terms: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    words: frozenset[str] = frozenset()

    def exact(self, written: str) -> bool:
        """True when a matching word is written as the query wrote it (case, accents aside).

        >>> m = query_marks("fondée entrep*")
        >>> m.exact("Fondée"), m.exact("fond"), m.exact("entreprises")
        (True, False, True)
        """
        folded = fold(written).replace("-", "")
        return folded in self.words or (bool(self.prefixes)
                                         and folded.startswith(self.prefixes))

    def __bool__(self) -> bool:
        return bool(self.terms or self.prefixes)

    def __contains__(self, term: object) -> bool:
        """True when a text's analysed term should be marked."""
        return isinstance(term, str) and (
            term in self.terms or (bool(self.prefixes) and term.startswith(self.prefixes)))

    def __len__(self) -> int:
        return len(self.terms) + len(self.prefixes)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.terms))


def query_marks(query: str | None) -> Marks:
    """The marks of a query (nothing when it cannot be parsed: a page still shows)."""
    if not query:
        return Marks()
    try:
        parsed = parse_query(query)
    except QueryError:
        return Marks()
    prefixes: list[str] = []

    def walk(node: Node) -> None:
        if isinstance(node, TermNode) and node.prefix:
            prefixes.append(node.prefix)
        elif isinstance(node, OrNode | AndNode):
            for child in node.children:
                walk(child)

    for node in parsed.must:
        walk(node)
    return Marks(frozenset(parsed.positive_terms()), tuple(dict.fromkeys(prefixes)),
                 query_words(parsed))


def query_words(parsed: ParsedQuery, ana: FrenchAnalyzer | None = None) -> frozenset[str]:
    """The query's words as written, folded: each analysed token's own characters.

    >>> sorted(query_words(parse_query("l'Entreprise auto-entrepreneur")))
    ['auto', 'autoentrepreneur', 'entrepreneur', 'entreprise']
    """
    ana = ana or analyzer()
    out: set[str] = set()

    def walk(node: Node) -> None:
        if isinstance(node, TermNode | PhraseNode):
            if isinstance(node, TermNode) and node.prefix is not None:
                return
            out.update(fold(node.raw[s:e]).replace("-", "") for _, _, s, e in ana.spans(node.raw))
        elif isinstance(node, OrNode | AndNode):
            for child in node.children:
                walk(child)

    for node in parsed.must:
        walk(node)
    return frozenset(out)
