"""French analysis: a tokenizer and small composable filters, the same at index and query time.

The chain (see :func:`french_chain`) is::

    WordTokenizer | ElisionFilter | CompoundFilter | FormatFilter | OrdinalFilter
        | LowercaseFilter | FoldFilter | StopFilter | KeywordFilter | InflectionFilter | StemFilter

Text is expected in NFC (see :mod:`indexer.ingest.text`). Format characters (soft
hyphen, zero-width, bidi marks) inside a word don't split it and are dropped from its
terms, while its offsets still cover the word as written; apostrophe and hyphen
look-alikes (``ʼ``, ``‘``, ``‑``...) elide and join compounds like ``'`` and ``-``.

Every filter after the tokenizer looks at one word at a time, so :class:`FrenchAnalyzer`
runs the chain once per distinct word and caches the result: the output is exactly
the chain's (a test compares both), at a fraction of the cost.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator
from importlib import resources

import snowballstemmer
from whoosh.analysis import Analyzer, Filter, Token, Tokenizer

from ..ingest.folding import fold
from ..ingest.text import APOSTROPHES, FORMAT_CLASS, FORMAT_RE, HYPHENS, strip_format

#: Lucene's French elision articles (ElisionFilter DEFAULT_ARTICLES).
ARTICLES = frozenset(
    ["l", "m", "t", "qu", "n", "s", "j", "d", "c", "jusqu", "quoiqu", "lorsqu", "puisqu"])

_WORD = r"[\w\u0300-\u036f]"  # combining accents too, should decomposed text get here
_JOIN = f"[{re.escape(APOSTROPHES + HYPHENS)}]"
_FMT = f"[{FORMAT_CLASS}]"
# Numbers with inner separators stay whole ("2.0", "2,5", "1.012"); words keep inner
# apostrophes and hyphens so that elision and compounds can be seen by the filters, and
# inner format characters so that "entre\u00adprise" stays one word. Possessive
# quantifiers: each separator is non-empty, so matching is linear.
TOKEN_RE = re.compile(rf"\d+(?:[.,]\d+)+|{_WORD}++(?:(?:{_FMT}++|{_FMT}*+{_JOIN}{_FMT}*+)"
                      rf"{_WORD}++)*+")
#: Characters that send a word through the Token pipeline instead of the direct path.
_SPECIAL_RE = re.compile(f"[{re.escape(APOSTROPHES + HYPHENS)}{FORMAT_CLASS}]")
_PART_RE = re.compile(f"[^{re.escape(HYPHENS)}]+")
_HYPHEN_RE = re.compile(f"[{re.escape(HYPHENS)}]")
CHUNK_RE = re.compile(r"\S+")  # what str.split() splits on, with offsets


def _load_words(name: str) -> list[str]:
    """Read a word list shipped in indexer/data (one word per line, # comments)."""
    text = resources.files("indexer.analysis").joinpath("data", name).read_text(encoding="utf-8")
    return [w.strip() for w in text.splitlines() if w.strip() and not w.startswith("#")]


class WordTokenizer(Tokenizer):
    """Split text into words, keeping apostrophes, hyphens and decimal numbers inside tokens.

    >>> [t.text for t in WordTokenizer()("L'auto-entrepreneur du Web 2.0")]
    ["L'auto-entrepreneur", 'du', 'Web', '2.0']
    """

    def __call__(self, value: str, positions: bool = False, chars: bool = False,
                 keeporiginal: bool = False, removestops: bool = True, start_pos: int = 0,
                 start_char: int = 0, mode: str = "", **kwargs: object) -> Iterator[Token]:
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for pos, m in enumerate(TOKEN_RE.finditer(value), start=start_pos):
            t.text = m.group()
            t.boost = 1.0
            t.stopped = False
            if keeporiginal:
                t.original = t.text
            if positions:
                t.pos = pos
            if chars:
                t.startchar = start_char + m.start()
                t.endchar = start_char + m.end()
            yield t


class ElisionFilter(Filter):
    """Strip an elided article (``l'``, ``qu'``, ``jusqu’``...) from the front of a token.

    Case-insensitive, any apostrophe look-alike; words such as ``aujourd'hui`` are left whole.

    >>> [t.text for t in ElisionFilter()(WordTokenizer()("L'entreprise qu’il aujourd'hui"))]
    ['entreprise', 'il', "aujourd'hui"]
    """

    def __init__(self, articles: Iterable[str] = ARTICLES) -> None:
        """:param articles: the elided forms to strip, without their apostrophe."""
        self.articles = frozenset(a.lower() for a in articles)

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        for t in tokens:
            text = t.text
            for i, ch in enumerate(text):
                if ch in APOSTROPHES:
                    article = text[:i] if text.isascii() else FORMAT_RE.sub("", text[:i])
                    if i + 1 < len(text) and article.lower() in self.articles:
                        t.text = text[i + 1:]
                        if t.chars:
                            t.startchar += i + 1
                    break
            yield t


#: Subject clitics that follow a verb in an inverted question (``peut-on``, ``est-ce``,
#: ``a-t-il``, ``doit-il``, ``faut-il``, ``sommes-nous``...), lowercase and folded.
SUBJECT_CLITICS = frozenset(
    ["je", "tu", "il", "elle", "on", "nous", "vous", "ils", "elles", "ce", "iel", "iels"])
#: Compound nouns shaped like a verb + clitic, kept as compounds (``rendez-vous``).
NOUNS_LIKE_INVERSIONS = frozenset(["rendez", "chez"])


def is_inverted_subject(parts: list[str]) -> bool:
    """True when hyphenated parts are a verb + subject clitic, not a compound.

    The last part is a subject clitic (``-on``, ``-il``, ``-ce``...), optionally after the
    euphonic ``t`` (``a-t-il``, ``va-t-on``), and the verb before it is one word: exactly
    two parts, or three with a middle ``t``. Such tokens yield their parts only, never the
    joined form (``peuton``, ``estce``, ``atil`` would match question-shaped text elsewhere).

    >>> [is_inverted_subject(p) for p in (["peut", "on"], ["a", "t", "il"], ["Saint", "Denis"])]
    [True, True, False]
    """
    parts = [strip_format(p) for p in parts]
    if len(parts) == 2:
        verb, clitic = parts
        if fold(verb.lower()) in NOUNS_LIKE_INVERSIONS:
            return False
    elif len(parts) == 3 and parts[1].lower() == "t":
        verb, clitic = parts[0], parts[2]
    else:
        return False
    return verb.isalpha() and fold(clitic.lower()) in SUBJECT_CLITICS


_ARABIC_ORDINAL = re.compile(r"(\d+)(?:e|è|ème|eme|ième|ieme|iè|ie)", re.IGNORECASE)
_ARABIC_FIRST = re.compile(r"1(?:er|ère|ere|re)", re.IGNORECASE)
_ROMAN_ORDINAL = re.compile(r"([IVXLCDM]+)(?:e|è|ème|eme|ième|ieme)")
_ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}


def roman_value(text: str) -> int | None:
    """Value of an uppercase Roman numeral (subtractive notation), None if out of range."""
    total, prev = 0, 0
    for ch in reversed(text):
        v = _ROMAN[ch]
        total += -v if v < prev else v
        prev = max(prev, v)
    return total if 0 < total < 4000 else None


def ordinal_term(raw: str) -> str | None:
    """One term for an ordinal however written: ``18e``, ``18ème``, ``18eme``, ``XVIIIe``
    -> ``18e``; ``1er``, ``1ère``, ``1re`` -> ``1er``. Roman numerals count only in capitals
    (``XXe``; ``vie`` stays a word), and of one letter only ``Ve`` and ``Xe`` (``Ce``,
    ``De``, ``Le``, ``Me`` are words). None when ``raw`` is not an ordinal.

    >>> [ordinal_term(w) for w in ("XVIIIe", "20ème", "8eme", "1ère", "vie", "2020")]
    ['18e', '20e', '8e', '1er', None, None]
    """
    if len(raw) > 12 or not raw or not (raw[0].isdigit() or raw[0] in _ROMAN):
        return None
    if _ARABIC_FIRST.fullmatch(raw):
        return "1er"
    m = _ARABIC_ORDINAL.fullmatch(raw)
    if m:
        return f"{int(m.group(1))}e"
    m = _ROMAN_ORDINAL.fullmatch(raw)
    if m and (len(m.group(1)) >= 2 or m.group(1) in ("V", "X")):  # not Ce, De, Le, Me
        v = roman_value(m.group(1))
        return f"{v}e" if v else None
    return None


class OrdinalFilter(Filter):
    """Write ordinals one way (:func:`ordinal_term`), before case and accents are lost.

    >>> [t.text for t in OrdinalFilter()(WordTokenizer()("XIXe 19ème siècle"))]
    ['19e', '19e', 'siècle']
    """

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        for t in tokens:
            o = ordinal_term(t.text)
            if o is not None:
                t.text = o
            yield t


class CompoundFilter(Filter):
    """Index a hyphenated compound (``-``, U+2010, U+2011) as its parts plus the parts joined.

    ``auto-entrepreneur`` gives ``auto`` and ``entrepreneur`` at consecutive positions and
    ``autoentrepreneur`` at the first part's position, so the queries ``auto entrepreneur``,
    ``"auto entrepreneur"``, ``auto-entrepreneur`` and ``autoentrepreneur`` all find it.

    A verb with an inverted subject (``peut-on``, ``a-t-il``: :func:`is_inverted_subject`)
    gives its parts only: it is not a compound.

    >>> tokens = WordTokenizer()("Poitou-Charentes", positions=True)
    >>> [(t.text, t.pos) for t in CompoundFilter()(tokens)]
    [('Poitou', 0), ('Charentes', 1), ('PoitouCharentes', 0)]
    >>> [t.text for t in CompoundFilter()(WordTokenizer()("peut-on a-t-il"))]
    ['peut', 'on', 'a', 't', 'il']
    """

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        for t in tokens:
            whole = t.text
            if "-" not in whole and (whole.isascii() or _HYPHEN_RE.search(whole) is None):
                yield t
                continue
            parts = [(m.group(), m.start()) for m in _PART_RE.finditer(whole)]
            pos = t.pos if t.positions else 0
            start = t.startchar if t.chars else 0
            for i, (part, offset) in enumerate(parts):
                t.text = part
                if t.positions:
                    t.pos = pos + i
                if t.chars:
                    t.startchar, t.endchar = start + offset, start + offset + len(part)
                yield t
            if is_inverted_subject([part for part, _ in parts]):
                continue
            t.text = "".join(part for part, _ in parts)
            if t.positions:
                t.pos = pos
            if t.chars:
                t.startchar, t.endchar = start, start + len(whole)
            yield t


class FormatFilter(Filter):
    """Drop format characters (soft hyphen, zero-width, bidi marks) from token text.

    Offsets are left alone, so a highlighted word still covers what was written.

    >>> [t.text for t in FormatFilter()(WordTokenizer()("entre\u00adprise l\u200bavion"))]
    ['entreprise', 'lavion']
    """

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        for t in tokens:
            if not t.text.isascii():
                t.text = FORMAT_RE.sub("", t.text)
            yield t


class LowercaseFilter(Filter):
    """Lowercase token text.

    >>> [t.text for t in LowercaseFilter()(WordTokenizer()("TRÈS Haut"))]
    ['très', 'haut']
    """

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        for t in tokens:
            t.text = t.text.lower()
            yield t


class FoldFilter(Filter):
    """Fold accents and ligatures to ASCII with unidecode (``é`` -> ``e``, ``œ`` -> ``oe``).

    >>> [t.text for t in FoldFilter()(WordTokenizer()("très cœur Ægée"))]
    ['tres', 'coeur', 'aegee']
    """

    def __init__(self, fold_fn: Callable[[str], str] = fold) -> None:
        """:param fold_fn: the folding function, shared with the stop list."""
        self.fold_fn = fold_fn

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        for t in tokens:
            t.text = self.fold_fn(t.text)
            if t.text:
                yield t


class StopFilter(Filter):
    """Drop stop words; the list is folded with the same function as the tokens.

    >>> [t.text for t in StopFilter(["été", "le"])(WordTokenizer()("ete le soleil"))]
    ['soleil']
    """

    def __init__(self, stoplist: Iterable[str], fold_fn: Callable[[str], str] = fold) -> None:
        """:param stoplist: words to drop, in any case or accentuation."""
        self.stops = frozenset(fold_fn(w) for w in stoplist)

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        for t in tokens:
            if t.text in self.stops:
                if not t.removestops:
                    t.stopped = True
                    yield t
                continue
            t.stopped = False
            yield t


class KeywordFilter(Filter):
    """Mark words the inflection and stemming filters must leave alone (Lucene's KeywordMarker).

    >>> [t.keyword for t in KeywordFilter(["etes"])(WordTokenizer()("etes ete"))]
    [True, False]
    """

    def __init__(self, keywords: Iterable[str]) -> None:
        """:param keywords: folded words protected from inflection stripping and stemming."""
        self.keywords = frozenset(keywords)

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        for t in tokens:
            t.keyword = t.text in self.keywords
            yield t


def light_inflection(word: str) -> str:
    """Reduce a folded French word's plural and feminine marks before stemming.

    Snowball, fed folded words, leaves ``debit``/``debits`` (``deb``/``debit``), ``elu``/``elus``,
    ``jeu``/``jeux``, ``arrive``/``arrivee``, ``premier``/``premiere`` or ``actif``/``active``
    apart. The rules are general; the few words they would merge with another word are in
    ``protected_fr.txt`` (``etes``, ``fils``, ``mois``...), which the chain never hands here.

    1. plural: ``-eaux`` -> ``-eau``, ``-aux`` -> ``-al``, ``-oux`` -> ``-ou``; a final ``s``
       goes, except after ``s`` and in ``-is`` other than ``-ais``/``-ois``: Snowball
       already joins the plural of long ``-i`` words (soucis, choisis), and short ``-is``
       are as often a stem whose feminine is ``-ise`` (pris, gris, assis, acquis), which
       Snowball joins too, as a plural (amis, cris);
    2. feminine: ``e`` after ``u``, ``i`` or ``e`` goes (élue, amie, arrivée), ``-ière`` -> ``-ier``
       (première), ``-aise``/``-oise`` -> ``-ai``/``-oi`` in words of 7 letters or more, so
       that they meet ``-ais``/``-ois`` (française, chinoise) but short verb forms in
       ``-oise``/``-aise`` (croise, boise, plaise) keep their ``s``;
    3. masculine forms are brought to what Snowball makes of the others: ``-if``/``-euf`` ->
       ``-ive``/``-euve`` (the feminine: Snowball stems ``positif`` and ``positive`` alike
       but not ``actif`` and ``active``), ``-eu`` -> ``-eux`` (the plural, which Snowball
       keeps as it keeps ``heureux``), ``-au`` and ``-ail`` -> ``-al`` (tuyau, travail: their
       plural in ``-aux`` reads ``-al`` by rule 1).

    >>> [light_inflection(w) for w in ["debits", "elues", "chevaux", "bateaux", "arrivees"]]
    ['debit', 'elu', 'cheval', 'bateau', 'arrive']
    >>> [light_inflection(w) for w in ["jeu", "actifs", "premieres", "tuyau", "francaise"]]
    ['jeux', 'active', 'premier', 'tuyal', 'francai']
    """
    if len(word) < 3 or not word.isalpha():
        return word
    if len(word) >= 4 and word.endswith("x"):
        if word.endswith("eaux"):
            word = word[:-1]
        elif word.endswith("aux"):
            word = word[:-3] + "al"
        elif word.endswith("oux"):
            word = word[:-1]
    elif (len(word) >= 4 and word.endswith("s") and word[-2] != "s"
          and not (word[-2] == "i" and word[-3] not in "ao")):
        word = word[:-1]
    if ((len(word) >= 4 and word.endswith("e") and word[-2] in "uie")
            or (len(word) >= 6 and word.endswith("iere"))):
        word = word[:-1]
    elif len(word) >= 7 and word.endswith(("aise", "oise")):
        word = word[:-2]
    if len(word) >= 4 and word.endswith(("if", "euf")):
        word = word[:-1] + "ve"
    elif word.endswith("eu"):
        word += "x"
    elif len(word) >= 4 and word.endswith("au") and not word.endswith("eau"):
        word = word[:-1] + "l"
    elif len(word) >= 6 and word.endswith("ail"):
        word = word[:-2] + "l"
    return word


class InflectionFilter(Filter):
    """Apply :func:`light_inflection` to every token not marked as a keyword.

    >>> [t.text for t in InflectionFilter()(WordTokenizer()("débits élues"))]
    ['débit', 'élu']
    """

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        for t in tokens:
            if not getattr(t, "keyword", False):
                t.text = light_inflection(t.text)
            yield t


class StemFilter(Filter):
    """Stem with the Snowball French stemmer (PyStemmer's C code when installed).

    >>> [t.text for t in StemFilter()(WordTokenizer()("entreprises debit"))]
    ['entrepris', 'deb']
    """

    is_morph = True

    def __init__(self, language: str = "french") -> None:
        """:param language: a Snowball algorithm name."""
        self.language = language
        self._stem = snowballstemmer.stemmer(language).stemWord

    def __getstate__(self) -> dict[str, str]:
        return {"language": self.language}

    def __setstate__(self, state: dict[str, str]) -> None:
        StemFilter.__init__(self, state["language"])

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        for t in tokens:
            if not getattr(t, "keyword", False) and not t.stopped and t.text.isalpha():
                t.text = self._stem(t.text)
            yield t


STOPWORDS: list[str] = _load_words("stopwords_fr.txt")
CHUNK_CACHE_SIZE = 100_000  # analysed chunks kept per generation (two generations: ~40 MB)
WORD_CACHE_CHARS = 64  # longer words are analysed each time (they are not worth keeping)
CHUNK_CACHE_CHARS = 40  # longer chunks are analysed each time
PROTECTED: list[str] = _load_words("protected_fr.txt")


def word_filters() -> Filter:
    """The French chain after the tokenizer: elision, compounds, case, folding, stops, stems."""
    return (ElisionFilter() | CompoundFilter() | FormatFilter() | OrdinalFilter()
            | LowercaseFilter() | FoldFilter() | StopFilter(STOPWORDS) | KeywordFilter(PROTECTED)
            | InflectionFilter() | StemFilter())


def french_chain() -> Analyzer:
    """The full composed chain, token by token (reference for :class:`FrenchAnalyzer`)."""
    return WordTokenizer() | word_filters()


class FrenchAnalyzer(Analyzer):
    """The French chain with a per-word cache: same output as :func:`french_chain`, faster.

    >>> [t.text for t in FrenchAnalyzer()("Très haut débit pour l'entreprise")]
    ['tres', 'haut', 'deb', 'entrepris']
    """

    def __init__(self, cachesize: int = 500_000) -> None:
        """:param cachesize: distinct words remembered before the cache is cleared."""
        self.cachesize = cachesize
        self._filters = word_filters()
        self._cache: dict[str, tuple[tuple[str, int, int, int], ...]] = {}
        # two generations: a full current one becomes the old one (what is used again is
        # carried over), so the cache is bounded and keeps what is in use
        self._chunks: dict[str, tuple[tuple[tuple[str, int, int, int], ...], int]] = {}
        self._old_chunks: dict[str, tuple[tuple[tuple[str, int, int, int], ...], int]] = {}
        # The same steps without Token objects, for words the elision, compound and
        # format filters leave alone (no apostrophe, hyphen or format character): most.
        self._stops = StopFilter(STOPWORDS).stops
        self._keywords = KeywordFilter(PROTECTED).keywords
        self._stem = StemFilter()._stem

    def __getstate__(self) -> dict[str, int]:
        return {"cachesize": self.cachesize}

    def __setstate__(self, state: dict[str, int]) -> None:
        FrenchAnalyzer.__init__(self, state["cachesize"])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FrenchAnalyzer)

    __hash__ = object.__hash__

    def word(self, raw: str) -> tuple[tuple[str, int, int, int], ...]:
        """Analyse one raw word: (term, relative position, start, end) for each output term."""
        out = self._cache.get(raw)
        if out is None and not (("-" in raw or "'" in raw or "`" in raw) if raw.isascii()
                                else _SPECIAL_RE.search(raw) is not None):
            text = ordinal_term(raw) or fold(raw.lower())
            if not text or text in self._stops:
                out = ()
            elif text in self._keywords:
                out = ((text, 0, 0, len(raw)),)
            else:
                text = light_inflection(text)
                out = ((self._stem(text) if text.isalpha() else text, 0, 0, len(raw)),)
            self._remember(raw, out)
        elif out is None:
            tok = Token(positions=True, chars=True, removestops=True)
            tok.text, tok.pos, tok.startchar, tok.endchar = raw, 0, 0, len(raw)
            tok.stopped, tok.boost = False, 1.0
            out = tuple((t.text, t.pos, t.startchar, t.endchar) for t in self._filters([tok]))
            self._remember(raw, out)
        return out

    def _remember(self, raw: str, out: tuple[tuple[str, int, int, int], ...]) -> None:
        """Keep a word's analysis (bounded: the cache starts over when full; long words
        are not kept, so unique long query words cannot grow it)."""
        if len(raw) > WORD_CACHE_CHARS:
            return
        if len(self._cache) >= self.cachesize:
            self._cache.clear()
        self._cache[raw] = out

    def analyse_chunk(self, chunk: str) -> tuple[tuple[tuple[str, int, int, int], ...], int]:
        """Analyse a whitespace-free chunk: its terms and the positions it takes.

        Each term comes as (term, position, start, end), positions and characters counted
        from the chunk's start, in the chain's order. Tokens never span whitespace, so a
        text is its chunks one after the other (see :meth:`spans`).
        """
        out: list[tuple[str, int, int, int]] = []
        word, add = self.word, out.append
        base = 0
        for m in TOKEN_RE.finditer(chunk):
            analysed = word(m.group())
            if not analysed:
                continue
            off, top = m.start(), 0
            for term, rel, s, e in analysed:
                add((term, base + rel, off + s, off + e))
                if rel > top:
                    top = rel
            base += top + 1
        return tuple(out), base

    def chunk(self, chunk: str) -> tuple[tuple[tuple[str, int, int, int], ...], int]:
        """:meth:`analyse_chunk`, cached (texts read at query time repeat their chunks)."""
        found = self._chunks.get(chunk)
        if found is None:
            found = self._old_chunks.get(chunk)
            if found is None:
                found = self.analyse_chunk(chunk)
                if len(chunk) > CHUNK_CACHE_CHARS:  # URLs and the like: they rarely repeat
                    return found
            if len(self._chunks) >= CHUNK_CACHE_SIZE:
                self._old_chunks, self._chunks = self._chunks, {}
            self._chunks[chunk] = found
        return found

    def matches(self, text: str, wanted: Collection[str], max_chars: int,
                max_spans: int) -> tuple[list[tuple[int, int]], bool]:
        """Character spans of the tokens whose term is in ``wanted`` (in text order), and
        whether the scan stopped early (past ``max_chars`` or ``max_spans``): highlighting's
        inner loop, kept tight."""
        out: list[tuple[int, int]] = []
        cache, old, chunk = self._chunks, self._old_chunks, self.chunk
        for m in CHUNK_RE.finditer(text):
            base = m.start()
            if base >= max_chars or len(out) >= max_spans:
                return out, True
            word = m.group()
            found = cache.get(word) or old.get(word) or chunk(word)
            for term, _, s, e in found[0]:
                if term in wanted:
                    out.append((base + s, base + e))
        return out, False

    def spans(self, text: str) -> Iterator[tuple[str, int, int, int]]:
        """Yield (term, position, startchar, endchar) for a text: what highlighting needs."""
        base = 0
        for m in CHUNK_RE.finditer(text):
            entries, advance = self.chunk(m.group())
            start = m.start()
            for term, pos, s, e in entries:
                yield term, base + pos, start + s, start + e
            base += advance

    def terms(self, text: str) -> list[str]:
        """The analysed terms of a text, in order (joined compound forms included)."""
        return [term for term, _, _, _ in self.spans(text)]

    def positions(self, text: str) -> dict[str, list[int]]:
        """Map each term of a text to its positions (ascending), as the index stores them."""
        out: dict[str, list[int]] = {}
        for term, pos, _, _ in self.spans(text):
            out.setdefault(term, []).append(pos)
        for plist in out.values():  # a compound whose first part folds away repeats a term
            if len(plist) > 1:      # out of order ("𠀀-débit": deb at 1, then 0)
                plist.sort()
        return out

    def __call__(self, value: str, positions: bool = False, chars: bool = False,
                 keeporiginal: bool = False, removestops: bool = True, start_pos: int = 0,
                 start_char: int = 0, mode: str = "", **kwargs: object) -> Iterator[Token]:
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        t.boost, t.stopped = 1.0, False
        for term, pos, s, e in self.spans(value):
            t.text = term
            if positions:
                t.pos = start_pos + pos
            if chars:
                t.startchar, t.endchar = start_char + s, start_char + e
            yield t


_SHARED: FrenchAnalyzer | None = None


def analyzer() -> FrenchAnalyzer:
    """The process-wide analyzer (its word cache is shared by indexing, queries and snippets)."""
    global _SHARED
    if _SHARED is None:
        _SHARED = FrenchAnalyzer()
    return _SHARED
