"""Property tests of the query language and of ``/api/search`` on hostile input.

Whatever the text, ``parse_query`` returns a ParsedQuery or raises QueryError, and the
API answers exactly what the parser and the paging check decide: 200 (results) or 400
(``{"error": ...}``), never 500. The work is bounded, and counted rather than timed:
the parser analyses at most twice the query's characters, and a search asks its store
a bounded number of questions (one snapshot, at most two matches, one expansion per
prefix, one suggestion look-up per word...), each bounded in size.

``FIL_FUZZ_INDEX=/path/to/index`` additionally runs the worst-case queries against a
big prebuilt index (e.g. the 10k benchmark index).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from helpers import GENEROUS_SECONDS, SEED_ID, CountingStore
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from indexer.analysis import analyzer
from indexer.errors import QueryError
from indexer.search.pipeline import MAX_PAGE, MAX_PER_PAGE, check_paging
from indexer.search.query import (
    MAX_DEPTH,
    MAX_PREFIX_EXPANSION,
    MAX_PREFIXES,
    MAX_QUERY_CHARS,
    MAX_WORDS,
    AndNode,
    Node,
    OrNode,
    ParsedQuery,
    PhraseNode,
    TermNode,
    clean_query,
    parse_query,
)
from indexer.search.ranking import DEFAULT
from indexer.search.results import Notice
from indexer.service import Service
from indexer.store.whoosh.store import EmbeddedStore
from search_app.messages import notice_fr

#: The most a search may ask of its store, per question (see the module docstring).
STORE_QUESTIONS = {
    "snapshot": 1, "match": 2, "passages": 1, "positions": 1,
    # the matches', then one per facet whose filter the query sets (kind, author, date),
    # counted with that filter dropped (the page's choices)
    "facets": 4,
    "title_terms": 1, "doc_count": 1, "expand_prefix": MAX_PREFIXES,
    "thread_stats": 1, "thread_scores": 1, "best_in_threads": 1,
    # the page's and the coordination's, one per rescued and one per suggested word
    "doc_freqs": 3 + 2 * MAX_WORDS, "near_terms": MAX_WORDS, "sample_texts": MAX_WORDS,
}
#: ... and how big each question may be (``k`` of a match, ``limit`` of an expansion).
STORE_SIZES = {"match": max(DEFAULT.depth, MAX_PAGE * MAX_PER_PAGE),
               "expand_prefix": MAX_PREFIX_EXPANSION + 1}

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
FUZZ_FEW = settings(FUZZ, max_examples=100)

# -- strategies ------------------------------------------------------------------------

#: Every operator and filter, used and misused.
PIECES = (
    "author:", "author:philrig", 'author:"Jean Michel"', 'author:"', 'author:""',
    "auteur:", "auteur:Lippi", "-author:philrig", "author:(x)", "author:*",
    "kind:foo", "kind:", "kind:post", "kind:comment", "kind:billet", "type:commentaire",
    "kind:POST", "kind:\"\"",
    "after:2009-13-45", "after:2009-02-30", "after:2009", "after:2009-02-06", "after:0000",
    "after:9999-12-31", "after:2009-1-1", "after:-1", "after:20090206", "apres:2009-02",
    "before:abc", "before:", "before:2009-02", "before:2009-00", "before:0000-02",
    "avant:2010", "before:2009-02-29", "before:2008-02-29",
    "thread:", f"thread:{SEED_ID}", "thread:../../etc/passwd", 'thread:"a b"',
    "thread:%00", "-thread:x",
    "-", "--", "--x", "---x", "-x", "- x", "-\"", '-""', "-(", "-()", "-)",
    "OR", "OR OR", "x OR", "OR x", "or", "Or",
    '"', '""', '"""', '"haut debit"', '-"haut debit"', '"haut', 'debit"', '" "',
    "*", "**", "***", "a*", "*e*", "x*", "ab*", "é*", "l'*", "-*", "(*)", "lip*", "deb*",
    "*débi*", "haut*debit", "****x",
    "(", ")", "()", ")(", "((", "))", "(x)", "(x OR y)", "((x)", "(x))",
    ":", "::", "a:b", "http://x", "C++", "C#", ".NET", "2.0/web", "haut-débit",
    "l'entreprise", "aujourd'hui", "très", "TRÈS", "débit", "Lippi", "lippi", "billaut",
    "\x00", "\x1b[31m", "\u200b", "\u202e", "\ufeff", "\ufffd", "%", "%00", "%ZZ", "&",
    "#", "+", "?", "=", "\\", "'", "’", "«", "»", "<script>alert(1)</script>", "\r\n",
    "ﬁ", "ß", "İ", "Ⅻ", "𝕏", "١٢٣", "中文", "🙂", "e\u0301", "\u0301",
)

#: Letters that fold to ASCII or stay non-ASCII, for 1-2 letter prefixes.
LETTERS = "abcdexyzéèàçœßİıﬁ𝕏"

#: Arbitrary text that can go in a URL (no lone surrogates: they cannot be UTF-8 encoded).
url_text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=60)

short_prefix = st.text(alphabet=LETTERS, min_size=1, max_size=2).map(lambda s: s + "*")
any_word = st.text(alphabet=st.characters(exclude_categories=["Cs", "Zs", "Cc"]),
                   min_size=1, max_size=12)
piece = st.one_of(st.sampled_from(PIECES), short_prefix, any_word, url_text.map(lambda s: s[:6]))
separator = st.sampled_from([" ", " ", " ", "", "  ", "\t", "\n", " OR ", "\u00a0", "-", ")",
                             "("])

#: A mix of pieces with parentheses that may or may not be balanced, negated or empty.
grammar = st.recursive(
    piece,
    lambda inner: st.builds(
        lambda parts, seps, neg, close: (
            ("-" if neg else "") + "("
            + "".join(p + s for p, s in zip(parts, seps, strict=False))
            + (")" if close else "")),
        st.lists(inner, max_size=5), st.lists(separator, min_size=5, max_size=5),
        st.booleans(), st.booleans()),
    max_leaves=25,
)
query_mix = st.lists(st.tuples(grammar, separator), max_size=20).map(
    lambda xs: "".join(p + s for p, s in xs))

#: Unbalanced parentheses around a word, nested shallow or very deep.
nesting = st.builds(lambda n, m, w: "(" * n + w + ")" * m,
                    st.integers(0, 3 * MAX_QUERY_CHARS), st.integers(0, 3 * MAX_QUERY_CHARS),
                    st.sampled_from(["x", "débit", "a OR b", "-x", "lip*", '"haut debit"', ""]))

#: Around and beyond the length and word limits.
long_text = st.one_of(
    st.text(alphabet=st.characters(exclude_categories=["Cs"]),
            min_size=MAX_QUERY_CHARS - 5, max_size=MAX_QUERY_CHARS + 5),
    st.builds(lambda w, n: (w + " ") * n, st.sampled_from(["x", "débit", "lip*", '"a b"', "(x",
                                                           "-y", "OR", "author:x"]),
              st.integers(MAX_WORDS - 2, MAX_WORDS + 300)),
    st.builds(lambda c, n: c * n, st.sampled_from(["a", "é", "(", ")", "*", "\x00", "e\u0301",
                                                   "\U0001D160", "ﷺ", "-", '"']),
              st.integers(MAX_QUERY_CHARS - 2, 4 * MAX_QUERY_CHARS)),
)

any_query = st.one_of(url_text, query_mix, nesting, long_text)

# -- helpers ---------------------------------------------------------------------------


def tree_depth(node: Node) -> int:
    """Nesting depth of a parsed node (a plain word or phrase is 0)."""
    if isinstance(node, TermNode | PhraseNode):
        return 0
    assert isinstance(node, OrNode | AndNode), node
    children = list(node.children) + (list(node.negated) if isinstance(node, AndNode) else [])
    return 1 + max((tree_depth(c) for c in children), default=0)


class CountingAnalyzer:
    """The real analyzer, counting the calls and characters the parser hands it."""

    def __init__(self) -> None:
        self.ana = analyzer()
        self.calls = 0
        self.chars = 0

    def _count(self, text: str) -> None:
        self.calls += 1
        self.chars += len(text)

    def spans(self, text: str) -> Any:
        self._count(text)
        return self.ana.spans(text)

    def terms(self, text: str) -> Any:
        self._count(text)
        return self.ana.terms(text)


def check_parse(text: str) -> ParsedQuery | None:
    """Parse ``text``: a ParsedQuery with sane contents, or None for a QueryError.

    The parser's work is bounded: nothing is analysed for a text over the length limit,
    and otherwise at most twice each character (a compound is read as a phrase too).
    """
    ana = CountingAnalyzer()
    try:
        parsed = parse_query(text, ana)  # type: ignore[arg-type]
    except QueryError as exc:
        assert str(exc), "a QueryError must say why"
        parsed = None
    if not isinstance(text, str) or len(text) > MAX_QUERY_CHARS:
        assert ana.calls == 0, "a refused text must not be analysed"
    else:
        assert ana.chars <= 2 * len(clean_query(text)), (ana.chars, text[:80])
    if parsed is None:
        return None
    assert isinstance(parsed, ParsedQuery)
    assert len(text) <= MAX_QUERY_CHARS
    for node in parsed.must + parsed.must_not:
        # Each parenthesis level can add an AND node and an OR node.
        assert tree_depth(node) <= 2 * MAX_DEPTH + 2
    for term in parsed.positive_terms():
        assert isinstance(term, str) and term
    assert parsed.kind in (None, "post", "comment")
    for bound in (parsed.after, parsed.before):
        assert bound is None or 101 <= bound <= 99991231
    return parsed


def expected_status(q: str | None, params: dict[str, Any]) -> int:
    """What the API must answer: 400 when the paging or the parser refuses, else 200."""
    try:
        check_paging(params.get("page", "1"), params.get("per_page", "10"))
        parse_query(q or "")
    except QueryError:
        return 400
    return 200


def api_get(client: FlaskClient, store: CountingStore, q: str | None,
            **params: Any) -> tuple[int, dict[str, Any]]:
    """GET /api/search; check the status the parser predicts, the JSON body, and the work
    done (questions asked of the store; the one generous time bound against hangs)."""
    args = {**({"q": q} if q is not None else {}), **params}
    shown = (q or "")[:80]
    store.reset()
    started = time.monotonic()
    resp = client.get("/api/search", query_string=args)
    assert time.monotonic() - started < GENEROUS_SECONDS, shown
    assert resp.status_code == expected_status(q, params), (resp.status_code, shown,
                                                            resp.get_data()[:300])
    assert resp.mimetype == "application/json", (resp.mimetype, shown)
    body = resp.get_json()
    assert isinstance(body, dict), shown
    if resp.status_code == 400:
        assert set(body) == {"error"} and isinstance(body["error"], str) and body["error"]
        assert not store.calls, f"a refused query must not reach the store: {store.calls}"
    else:
        assert isinstance(body["total"], int) and body["total"] >= 0
        assert len(body["results"]) == min(max(0, body["total"] - (body["page"] - 1)
                                               * body["per_page"]), body["per_page"])
        too_many = {k: n for k, n in store.calls.items() if n > STORE_QUESTIONS.get(k, 0)}
        assert not too_many, (shown, store.calls)
        too_big = {k: n for k, n in store.largest.items() if n > STORE_SIZES.get(k, n)}
        assert not too_big, (shown, store.largest)
    return resp.status_code, body


@pytest.fixture(scope="module")
def counted(seed_index: Path) -> Iterator[tuple[FlaskClient, CountingStore]]:
    """A client of the app over the seed index, and the store that counts its questions."""
    from search_app import create_app

    store = CountingStore(EmbeddedStore(seed_index))
    service = Service(store)  # type: ignore[arg-type]
    app = create_app({"TESTING": True}, service=service)
    yield app.test_client(), store
    service.close()


# -- parse_query -------------------------------------------------------------------------


@FUZZ
@given(st.text())  # any code points, lone surrogates and control characters included
def test_parse_any_text(text: str) -> None:
    check_parse(text)


@FUZZ
@given(any_query)
@example("(" * MAX_DEPTH + "x" + ")" * MAX_DEPTH)
@example("(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1))
@example(")" * MAX_QUERY_CHARS)
@example("x " * MAX_WORDS)
@example("-(" * 600)
@example("\U0001D160" * MAX_QUERY_CHARS)  # grows under NFC normalisation
def test_parse_grammar(text: str) -> None:
    check_parse(text)


@FUZZ_FEW
@given(st.integers(0, 3 * MAX_QUERY_CHARS), st.integers(0, 3 * MAX_QUERY_CHARS))
def test_parse_nesting_bound(n: int, m: int) -> None:
    text = "(" * n + "x" + ")" * m
    parsed = check_parse(text)
    if len(text) > MAX_QUERY_CHARS or n > MAX_DEPTH:
        assert parsed is None, f"{n} '(' and {m} ')' should be refused"
    else:
        assert parsed is not None and parsed.positive_terms() == ["x"]


def test_parse_limits_are_enforced() -> None:
    assert check_parse("x" * MAX_QUERY_CHARS) is not None
    assert check_parse("x" * (MAX_QUERY_CHARS + 1)) is None
    assert check_parse(" ".join(f"mot{i}" for i in range(MAX_WORDS))) is not None
    assert check_parse(" ".join(f"mot{i}" for i in range(MAX_WORDS + 1))) is None
    assert check_parse("(" * MAX_DEPTH + "x") is not None
    assert check_parse("(" * (MAX_DEPTH + 1) + "x") is None


@pytest.mark.parametrize("text", ["author:", "auteur:", 'author:""', "kind:foo", "kind:",
                                  "after:2009-13-45", "after:2009-02-30", "before:abc",
                                  "before:", "thread:", "type:x"])
def test_parse_bad_filters_are_query_errors(text: str) -> None:
    with pytest.raises(QueryError):
        parse_query(text)


@pytest.mark.parametrize("text", ["-", "--x", "OR OR", '"', '""', "*", "**", "a*", "*e*",
                                  "x*", "ab*", "-(", ")(", "()", "-()", "(OR)", "x OR",
                                  "OR x", "\x00", "\u200b", "e\u0301", "\ud800"])
def test_parse_misused_operators_never_crash(text: str) -> None:
    assert check_parse(text) is not None


def test_short_prefix_is_searched_as_a_word_with_a_notice() -> None:
    parsed = parse_query("ab*")
    assert parsed.positive_terms() == ["ab"]
    assert [(n.code, n.word, n.limit) for n in parsed.notices] == [("prefix_short", "ab*", 3)]


def test_non_string_query_is_a_query_error() -> None:
    with pytest.raises(QueryError):
        parse_query(None)  # type: ignore[arg-type]


# -- /api/search -------------------------------------------------------------------------


@FUZZ
@given(url_text)
def test_api_any_text(counted: tuple[FlaskClient, CountingStore], text: str) -> None:
    api_get(*counted, text)


@FUZZ
@given(any_query, st.booleans())
def test_api_grammar(counted: tuple[FlaskClient, CountingStore], text: str,
                     facets: bool) -> None:
    api_get(*counted, text, facets="1" if facets else "0")


@FUZZ_FEW
@given(query_mix, url_text, url_text)
def test_api_paging_params(counted: tuple[FlaskClient, CountingStore], text: str, page: str,
                           per_page: str) -> None:
    api_get(*counted, text, page=page, per_page=per_page)


@FUZZ_FEW
@given(nesting)
def test_api_nesting(counted: tuple[FlaskClient, CountingStore], text: str) -> None:
    api_get(*counted, text)


#: Hostile queries, each with the status it must get (400: refused by the parser's bounds
#: or a bad filter; 200: searched, whatever the parser could make of it).
NASTY = [
    ("(" * 100_000, 400),
    (")" * 100_000, 400),
    ("(" * MAX_DEPTH + "débit OR haut" + ")" * MAX_DEPTH, 200),
    ("(" * (MAX_DEPTH + 1) + "x", 400),
    ("x " * (MAX_WORDS + 1), 400),
    ("a" * (MAX_QUERY_CHARS + 1), 400),
    ("a" * 1_000_000, 400),
    (" ".join(["lip*", "deb*", "hau*", "tre*", "ent*"] * 12), 400),  # too many prefixes
    (" OR ".join(["lippi", "débit", "haut", "très", "entreprise"] * 12), 200),
    (" ".join(f"-{w}" for w in ["lippi", "débit", "haut", "très"] * 16), 200),
    (" ".join(['"haut débit"'] * MAX_WORDS), 400),  # 128 words
    (" ".join(["débiit", "entreprse", "lipi", "bilaut", "connaisez"] * 12), 200),
    ("\x00" * MAX_QUERY_CHARS, 200),
    ("\ufffd" * MAX_QUERY_CHARS, 200),
    ("e\u0301" * (MAX_QUERY_CHARS // 2), 200),
    ("\U0001D160" * MAX_QUERY_CHARS, 200),
    ("*" * MAX_QUERY_CHARS, 200),
    ("-" * MAX_QUERY_CHARS, 200),
    ('"' * MAX_QUERY_CHARS, 200),
    ("after:2009-13-45", 400), ("before:abc", 400), ("kind:foo", 400), ("author:", 400),
    ("thread:", 400), ("author:*", 200),
    (f"thread:{SEED_ID} " * 30, 200),
    ("after:9999 before:0001", 200),
    ("<script>alert(1)</script>", 200),
    ("{{7*7}} ${7*7} %s %n", 200),
]


@pytest.mark.parametrize(("text", "status"), NASTY,
                         ids=lambda t: repr(t[:30]) + f"[{len(t)}]" if isinstance(t, str) else "")
@pytest.mark.parametrize("facets", ["0", "1"])
def test_api_nasty_examples(counted: tuple[FlaskClient, CountingStore], text: str, status: int,
                            facets: str) -> None:
    assert api_get(*counted, text, facets=facets)[0] == status


#: Raw query strings (bytes the client sends, undecoded) and the status each must get.
RAW_QUERY_STRINGS = [
    (b"q=%ff%fe%fd", 200), (b"q=%c3%28", 200), (b"q=%ed%a0%80", 200), (b"q=%00%00", 200),
    (b"q=%", 200), (b"q=%zz", 200), (b"q=a&q=b&q=(", 200), (b"q=" + b"%28" * 5000, 400),
    (b"q=x&page=%ff", 400), (b"q=x&per_page=1e9", 400), (b"q=x&page=-1", 400),
    (b"q=x&page=%00", 400), (b"q=x&page=99999999999999999999999", 400),
    (b"q=x&per_page=\xff", 400), (b"q=x&facets=%ff", 200), (b"q[]=x", 200), (b"q", 200),
]


@pytest.mark.parametrize(("raw", "status"), RAW_QUERY_STRINGS)
def test_api_raw_query_strings(counted: tuple[FlaskClient, CountingStore], raw: bytes,
                               status: int) -> None:
    client, store = counted
    store.reset()
    resp = client.get("/api/search", query_string=raw.decode("latin-1"))
    assert resp.status_code == status, resp.get_data()[:300]
    body = resp.get_json()
    if status == 400:
        assert set(body) == {"error"} and body["error"] and not store.calls
    else:
        assert len(body["results"]) == min(body["total"], body["per_page"])
        assert store.calls["snapshot"] <= 1


# -- bounded work on an index built to make queries expensive ------------------------------


@pytest.fixture(scope="module")
def prefix_index(make_index: Callable[[list[dict[str, Any]]], Path]) -> Path:
    """An index whose words mostly share a few prefixes (prefix expansion at its worst)."""
    records = []
    for t in range(20):
        comments = []
        for c in range(10):
            base = (t * 10 + c) * 40
            words = " ".join(f"zorg{n:05d} prefa{n:05d}" for n in range(base, base + 40))
            comments.append({"author": f"auteur{c}", "date": "2010-01-01",
                             "paragraphs": [words + " zorglub commun"]})
        records.append({"id": f"pfx-{t}", "title": f"Fil {t}", "url": None,
                        "post": {"author": "x", "date": "2010-01-01",
                                 "paragraphs": ["zorglub préfixe commun"]},
                        "comments": comments})
    return make_index(records)


@pytest.fixture(scope="module")
def prefix_counted(prefix_index: Path) -> Iterator[tuple[FlaskClient, CountingStore]]:
    """A client over the prefix index, and the store that counts its questions."""
    from search_app import create_app

    store = CountingStore(EmbeddedStore(prefix_index))
    service = Service(store)  # type: ignore[arg-type]
    yield create_app({"TESTING": True}, service=service).test_client(), store
    service.close()


#: Each prefix expands to the 50 most frequent terms it starts: zorglub (in 220 passages)
#: and the first 49 of zorg00000..zorg01999 (one passage each, in pfx-0's comments,
#: which zorglub's passages include).
PREFIX_CASES = [
    ("zorg*", 220, 1, ["zorg*"]),
    ("zorg* prefa*", 2, 2, ["zorg*", "prefa*"]),
    (" OR ".join(["zorg*", "prefa*", "zorglub"] * 3), 220, 2, ["zorg*", "prefa*"]),
    ("(" * MAX_DEPTH + " OR ".join(["zorg*"] * 4) + ")" * MAX_DEPTH, 220, 1, ["zorg*"]),
]


@pytest.mark.parametrize(("q", "total", "expansions", "capped"), PREFIX_CASES)
def test_prefix_expansion_is_bounded(prefix_counted: tuple[FlaskClient, CountingStore],
                                     q: str, total: int, expansions: int,
                                     capped: list[str]) -> None:
    """Every distinct prefix is expanded once, over a bounded scan, and says it was capped."""
    client, store = prefix_counted
    status, body = api_get(client, store, q, facets="1")
    assert status == 200 and body["total"] == total
    assert store.calls["expand_prefix"] == expansions
    assert store.largest["expand_prefix"] == MAX_PREFIX_EXPANSION + 1
    assert body["notices"] == [notice_fr(Notice("prefix_capped", p, MAX_PREFIX_EXPANSION))
                               for p in capped]


def test_prefix_expansion_finds_the_most_frequent_terms(
        prefix_counted: tuple[FlaskClient, CountingStore]) -> None:
    client, store = prefix_counted
    status, body = api_get(client, store, "zorg*")
    assert status == 200 and body["total"] == 220


#: 64 prefixes that each match thousands of terms: more than MAX_PREFIXES, refused by
#: the parser before the store is asked anything (api_get checks that).
MANY_PREFIXES = " ".join(["zorg*", "prefa*"] * (MAX_WORDS // 2))


def test_many_prefixes_are_refused(prefix_counted: tuple[FlaskClient, CountingStore]) -> None:
    """More prefixes than MAX_PREFIXES: a clear 400, no work done."""
    status, body = api_get(*prefix_counted, MANY_PREFIXES)
    assert status == 400
    assert "préfixes" in body["error"]


# -- optional: the worst cases against a big prebuilt index ---------------------------------

BIG_INDEX = os.environ.get("FIL_FUZZ_INDEX")

WORST = [
    "con*",
    " ".join(["con*", "pro*", "par*", "dés*", "rep*", "ins*", "sys*", "fic*"] * 8),
    " ".join(["con*", "pro*", "par*", "dés*", "rep*", "ins*", "sys*", "fic*", "xyzzyq"] * 7),
    " OR ".join(["paquet", "système", "fichier", "commande", "utilisateur"] * 6),
    " ".join(["configuraton", "paquetss", "systemme", "insttallation", "reseaux"] * 12),
    "Comment peut-on configurer le serveur et le paquet pour que le système fonctionne "
    "correctement avec les utilisateurs ?",
]


@pytest.mark.slow
@pytest.mark.skipif(not BIG_INDEX, reason="set FIL_FUZZ_INDEX to a big index to run")
@pytest.mark.parametrize("q", WORST, ids=lambda q: q[:20])
def test_worst_queries_on_big_index_are_bounded(q: str) -> None:
    from search_app import create_app

    store = CountingStore(EmbeddedStore(Path(BIG_INDEX or ".")))
    service = Service(store)  # type: ignore[arg-type]
    client = create_app({"TESTING": True}, service=service).test_client()
    try:
        for facets in ("0", "1"):
            api_get(client, store, q, facets=facets)
    finally:
        service.close()
