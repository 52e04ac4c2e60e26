"""Property tests of the query language and of ``/api/search`` on hostile input.

Whatever the text, ``parse_query`` returns a ParsedQuery or raises QueryError, and the
API answers 200 (results) or 400 (``{"error": ...}``), never 500, within a time bound
that the code enforces (``SEARCH_TIME_LIMIT`` and the parser's MAX_* limits), checked
here against the real constants with an explicit wall-clock measurement.

``FIL_FUZZ_INDEX=/path/to/index`` additionally runs the worst-case queries against a
big prebuilt index (e.g. the 10k benchmark index), where the time bound really bites.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from indexer.errors import QueryError
from indexer.search.pipeline import SEARCH_TIME_LIMIT
from indexer.search.query import (
    MAX_DEPTH,
    MAX_QUERY_CHARS,
    MAX_WORDS,
    AndNode,
    Node,
    OrNode,
    ParsedQuery,
    PhraseNode,
    TermNode,
    parse_query,
)

SEED_ID = "lippi-billautshow-2009-02"

#: A request must finish within the search time limit plus this much (parsing, snippets,
#: suggestions, JSON; generous because the test machine is shared and slow).
MARGIN_S = 1.5
#: Parsing alone does no index work: a generous bound for the slowest machine.
PARSE_BOUND_S = 0.5

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


def check_parse(text: str) -> ParsedQuery | None:
    """Parse ``text``: a ParsedQuery with sane contents, or None for a QueryError."""
    started = time.perf_counter()
    try:
        parsed = parse_query(text)
    except QueryError as exc:
        assert str(exc), "a QueryError must say why"
        parsed = None
    elapsed = time.perf_counter() - started
    assert elapsed < PARSE_BOUND_S, f"parse took {elapsed:.3f}s for {text[:80]!r}"
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


def api_get(client: FlaskClient, q: str | None, **params: Any) -> tuple[int, dict[str, Any]]:
    """GET /api/search; check status, JSON body and time bound; return (status, body)."""
    args = {**({"q": q} if q is not None else {}), **params}
    started = time.perf_counter()
    resp = client.get("/api/search", query_string=args)
    elapsed = time.perf_counter() - started
    shown = (q or "")[:80]
    assert resp.status_code in (200, 400), (resp.status_code, shown, resp.get_data()[:300])
    assert resp.mimetype == "application/json", (resp.mimetype, shown)
    body = resp.get_json()
    assert isinstance(body, dict), shown
    if resp.status_code == 400:
        assert isinstance(body.get("error"), str) and body["error"], body
    else:
        assert isinstance(body["total"], int) and body["total"] >= 0
        assert isinstance(body["results"], list)
        assert len(body["results"]) <= body["per_page"]
    assert elapsed < SEARCH_TIME_LIMIT + MARGIN_S, f"{elapsed:.2f}s for {shown!r}"
    return resp.status_code, body


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
def test_api_any_text(client: FlaskClient, text: str) -> None:
    api_get(client, text)


@FUZZ
@given(any_query, st.booleans())
def test_api_grammar(client: FlaskClient, text: str, facets: bool) -> None:
    status, body = api_get(client, text, facets="1" if facets else "0")
    try:
        parse_query(text)
    except QueryError:
        assert status == 400, f"the parser refuses {text[:80]!r}, the API should too"
    else:
        assert status == 200, body


@FUZZ_FEW
@given(query_mix, url_text, url_text)
def test_api_paging_params(client: FlaskClient, text: str, page: str, per_page: str) -> None:
    api_get(client, text, page=page, per_page=per_page)


@FUZZ_FEW
@given(nesting)
def test_api_nesting(client: FlaskClient, text: str) -> None:
    api_get(client, text)


NASTY = [
    "(" * 100_000,
    ")" * 100_000,
    "(" * MAX_DEPTH + "débit OR haut" + ")" * MAX_DEPTH,
    "(" * (MAX_DEPTH + 1) + "x",
    "x " * (MAX_WORDS + 1),
    "a" * (MAX_QUERY_CHARS + 1),
    "a" * 1_000_000,
    " ".join(["lip*", "deb*", "hau*", "tre*", "ent*"] * 12),
    " OR ".join(["lippi", "débit", "haut", "très", "entreprise"] * 12),
    " ".join(f"-{w}" for w in ["lippi", "débit", "haut", "très"] * 16),
    " ".join(['"haut débit"'] * MAX_WORDS),
    " ".join(["débiit", "entreprse", "lipi", "bilaut", "connaisez"] * 12),
    "\x00" * MAX_QUERY_CHARS,
    "\ufffd" * MAX_QUERY_CHARS,
    "e\u0301" * (MAX_QUERY_CHARS // 2),
    "\U0001D160" * MAX_QUERY_CHARS,
    "*" * MAX_QUERY_CHARS,
    "-" * MAX_QUERY_CHARS,
    '"' * MAX_QUERY_CHARS,
    "after:2009-13-45", "before:abc", "kind:foo", "author:", "thread:", "author:*",
    f"thread:{SEED_ID} " * 30,
    "after:9999 before:0001",
    "<script>alert(1)</script>",
    "{{7*7}} ${7*7} %s %n",
]


@pytest.mark.parametrize("text", NASTY, ids=lambda t: repr(t[:30]) + f"[{len(t)}]")
@pytest.mark.parametrize("facets", ["0", "1"])
def test_api_nasty_examples(client: FlaskClient, text: str, facets: str) -> None:
    status, body = api_get(client, text, facets=facets)
    if len(text) > MAX_QUERY_CHARS or text.startswith("(" * (MAX_DEPTH + 1)) or \
            text == "x " * (MAX_WORDS + 1):
        assert status == 400
    if text == "<script>alert(1)</script>":
        assert status == 200


@pytest.mark.parametrize("raw", [
    b"q=%ff%fe%fd", b"q=%c3%28", b"q=%ed%a0%80", b"q=%00%00", b"q=%", b"q=%zz",
    b"q=a&q=b&q=(", b"q=" + b"%28" * 5000, b"q=x&page=%ff", b"q=x&per_page=1e9",
    b"q=x&page=-1", b"q=x&page=%00", b"q=x&page=99999999999999999999999",
    b"q=x&per_page=\xff", b"q=x&facets=%ff", b"q[]=x", b"q",
])
def test_api_raw_query_strings(client: FlaskClient, raw: bytes) -> None:
    started = time.perf_counter()
    resp = client.get("/api/search", query_string=raw.decode("latin-1"))
    assert time.perf_counter() - started < SEARCH_TIME_LIMIT + MARGIN_S
    assert resp.status_code in (200, 400), resp.get_data()[:300]
    body = resp.get_json()
    assert isinstance(body, dict)
    assert resp.status_code == 200 or body.get("error")


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


@pytest.fixture
def prefix_client(make_app: Callable[..., Flask], prefix_index: Path) -> FlaskClient:
    return make_app(prefix_index).test_client()


@pytest.mark.parametrize("q", [
    "zorg*",
    "zorg* prefa*",
    " OR ".join(["zorg*", "prefa*", "zorglub"] * 3),
    "(" * MAX_DEPTH + " OR ".join(["zorg*"] * 4) + ")" * MAX_DEPTH,
])
def test_prefix_expansion_is_bounded(prefix_client: FlaskClient, q: str) -> None:
    status, body = api_get(prefix_client, q, facets="1")
    assert status == 200
    assert body["total"] > 0
    assert any("zorg*" in n or "prefa*" in n for n in body["notices"]), body["notices"]


#: 64 prefixes that each match thousands of terms. Measured before the fix: 8.9 s
#: (AND), 9.7 s (OR), 6.2 s (AND with an absent word, so the any-word fallback runs too),
#: nearly all in ``_Compiler.prefix`` (5000 ``doc_frequency`` look-ups per prefix node,
#: repeated for identical prefixes). Remove the xfail once expansion has a per-query bound.
MANY_PREFIXES = " ".join(["zorg*", "prefa*"] * (MAX_WORDS // 2))


@pytest.mark.slow
def test_many_prefixes_are_bounded(prefix_client: FlaskClient) -> None:
    """More prefixes than MAX_PREFIXES: a clear 400, answered within the bound."""
    status, body = api_get(prefix_client, MANY_PREFIXES)
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
def test_worst_queries_on_big_index_are_bounded(make_app: Callable[..., Flask], q: str) -> None:
    client = make_app(Path(BIG_INDEX or ".")).test_client()
    api_get(client, "debian")  # open the searchers outside the measurement
    for facets in ("0", "1"):
        api_get(client, q, facets=facets)
