"""The plan algebra (indexer/search/plan.py): parsed nodes compiled into plans, as tables.

Most cases build the parsed nodes by hand (index terms written out), so they test the
compiler alone; the last table goes through the real parser, its terms taken from the
real analyzer.
"""

from __future__ import annotations

import pytest

from indexer.analysis import analyzer
from indexer.search.plan import (
    And,
    AndNot,
    Filters,
    Null,
    Or,
    Phrase,
    Plan,
    Term,
    all_of,
    any_of,
    compile_node,
    compile_query,
    plan_terms,
    without,
)
from indexer.search.query import (
    AndNode,
    Node,
    OrNode,
    ParsedQuery,
    PhraseNode,
    TermNode,
    parse_query,
)

A, B, C = TermNode("a", ["a"]), TermNode("b", ["b"]), TermNode("c", ["c"])
HAUT_DEBIT = TermNode("haut-debit", ["haut", "deb", "hautdeb"], compound=True)
ENTREP = TermNode("entrep*", ["entrep"], prefix="entrep")
EXPANSIONS = {"entrep": ["entrepris", "entrepreneur"]}


@pytest.mark.parametrize(("node", "expansions", "plan"), [
    (A, {}, Term("a")),
    (TermNode("x", ["deb"]), {}, Term("deb")),
    # a compound: its parts as a phrase, or its joined form
    (HAUT_DEBIT, {}, Or((Phrase(("haut", "deb")), Term("hautdeb")))),
    (TermNode("a-b-c", ["a", "b", "c", "abc"], compound=True), {},
     Or((Phrase(("a", "b", "c")), Term("abc")))),
    (PhraseNode("haut debit", ["haut", "deb"]), {}, Phrase(("haut", "deb"))),
    # a prefix: its chosen expansion, then the prefix's own analysed form, once each
    (ENTREP, EXPANSIONS, Or((Term("entrepris"), Term("entrepreneur"), Term("entrep")))),
    (ENTREP, {"entrep": ["entrep", "entrepris"]}, Or((Term("entrep"), Term("entrepris")))),
    (ENTREP, {"entrep": []}, Term("entrep")),
    (ENTREP, {}, Term("entrep")),  # no expansion chosen for it
    (TermNode("l'*", [], prefix="lxx"), {}, Null()),  # nothing at all: matches nothing
    (TermNode("zzz*", [], prefix="zzz"), {"zzz": ["zzzz"]}, Term("zzzz")),
    (OrNode([A, B]), {}, Or((Term("a"), Term("b")))),
    (OrNode([A, PhraseNode("b c", ["b", "c"])]), {}, Or((Term("a"), Phrase(("b", "c"))))),
    (AndNode([A, B]), {}, And((Term("a"), Term("b")))),
    (AndNode([A, B], negated=[C]), {}, AndNot(And((Term("a"), Term("b"))), Or((Term("c"),)))),
    (AndNode([A], negated=[B, C]), {},
     AndNot(And((Term("a"),)), Or((Term("b"), Term("c"))))),
    (OrNode([AndNode([A, B]), C]), {}, Or((And((Term("a"), Term("b"))), Term("c")))),
    (AndNode([OrNode([A, ENTREP]), HAUT_DEBIT]), EXPANSIONS,
     And((Or((Term("a"), Or((Term("entrepris"), Term("entrepreneur"), Term("entrep"))))),
          Or((Phrase(("haut", "deb")), Term("hautdeb")))))),
])
def test_compile_node(node: Node, expansions: dict[str, list[str]], plan: Plan) -> None:
    assert compile_node(node, expansions) == plan


@pytest.mark.parametrize(("must", "must_not", "plan"), [
    ([A], [], Term("a")),
    ([A, B], [], And((Term("a"), Term("b")))),
    ([A, B, C], [], And((Term("a"), Term("b"), Term("c")))),
    ([A], [B], AndNot(Term("a"), Term("b"))),
    ([A], [B, C], AndNot(Term("a"), Or((Term("b"), Term("c"))))),
    ([A, ENTREP], [HAUT_DEBIT],
     AndNot(And((Term("a"), Or((Term("entrepris"), Term("entrepreneur"), Term("entrep"))))),
            Or((Phrase(("haut", "deb")), Term("hautdeb"))))),
    ([], [B], None),  # exclusions alone have nothing to exclude from
    ([], [], None),
])
def test_compile_query(must: list[Node], must_not: list[Node], plan: Plan | None) -> None:
    parsed = ParsedQuery(text="", must=must, must_not=must_not)
    assert compile_query(parsed, EXPANSIONS) == plan


X, Y, Z = Term("x"), Term("y"), Phrase(("y", "z"))


@pytest.mark.parametrize(("function", "args", "plan"), [
    (all_of, ([],), None), (all_of, ([X],), X), (all_of, ([X, Y],), And((X, Y))),
    (all_of, ([X, Y, Z],), And((X, Y, Z))),
    (any_of, ([],), None), (any_of, ([X],), X), (any_of, ([X, Y],), Or((X, Y))),
    (without, (None, X), None), (without, (X, None), X), (without, (None, None), None),
    (without, (X, Y), AndNot(X, Y)), (without, (And((X, Y)), Z), AndNot(And((X, Y)), Z)),
])
def test_combinators(function, args: tuple, plan: Plan | None) -> None:
    assert function(*args) == plan


@pytest.mark.parametrize(("plan", "terms"), [
    (None, []),
    (Null(), []),
    (Term("a"), ["a"]),
    (Phrase(("b", "a", "b")), ["b", "a"]),
    (Or((Term("a"), Null(), Phrase(("b", "c")))), ["a", "b", "c"]),
    (AndNot(And((Term("a"), Phrase(("b", "a")))), Or((Term("c"), Term("a")))), ["a", "b", "c"]),
    (And((Or((Term("z"), Term("y"))), Term("x"))), ["z", "y", "x"]),  # in order, not sorted
])
def test_plan_terms(plan: Plan | None, terms: list[str]) -> None:
    assert plan_terms(plan) == terms


def test_plans_are_values() -> None:
    """Plans compare and hash by value: the stores memoise their evaluation by plan."""
    assert Or((Term("a"), Phrase(("b", "c")))) == Or((Term("a"), Phrase(("b", "c"))))
    assert hash(AndNot(Term("a"), Null())) == hash(AndNot(Term("a"), Null()))
    assert And((Term("a"), Term("b"))) != And((Term("b"), Term("a")))
    assert Or((Term("a"),)) != And((Term("a"),))


# -- filters --------------------------------------------------------------------------------

@pytest.mark.parametrize(("filters", "truth"), [
    (Filters(), False),
    (Filters(kind="post"), True), (Filters(author="bob"), True), (Filters(after=20090101), True),
    (Filters(before=20090101), True), (Filters(thread="t"), True),
    (Filters(not_authors=("bob",)), True), (Filters(not_threads=("t",)), True),
])
def test_filters_are_true_when_they_narrow(filters: Filters, truth: bool) -> None:
    assert bool(filters) is truth


@pytest.mark.parametrize(("query", "filters"), [
    ("debit", Filters()),
    ('author:"Jean Michel" kind:comment', Filters(author="jeanmichel", kind="comment")),
    ("auteur:JÉRÔME", Filters(author="jerome")),
    ("après:2009-02 avant:2009", Filters(after=20090201, before=20091231)),
    ("fil:lippi -auteur:Bob -author:\"Anne Marie\" -thread:x",
     Filters(thread="lippi", not_authors=("bob", "annemarie"), not_threads=("x",))),
    ("-kind:post", Filters(kind="comment")),
])
def test_filters_of_a_parsed_query(query: str, filters: Filters) -> None:
    assert Filters.of(parse_query(query)) == filters


# -- through the parser ------------------------------------------------------------------------

def t(word: str) -> Term:
    """The single index term of a word, as the real analyzer gives it."""
    [term] = analyzer().terms(word)
    return Term(term)


def ts(words: str) -> tuple[str, ...]:
    return tuple(analyzer().terms(words))


@pytest.mark.parametrize(("query", "plan"), [
    ("debit", lambda: t("debit")),
    ("tres haut debit", lambda: And((t("tres"), t("haut"), t("debit")))),
    ('"haut debit"', lambda: Phrase(ts("haut debit"))),
    ("haut-debit", lambda: Or((Phrase(ts("haut debit")), t("hautdebit")))),
    ("obama OR sarkozy debit", lambda: And((Or((t("obama"), t("sarkozy"))), t("debit")))),
    ("obama OU sarkozy ET debit", lambda: And((Or((t("obama"), t("sarkozy"))), t("debit")))),
    ("(obama OR sarkozy) debit", lambda: And((Or((t("obama"), t("sarkozy"))), t("debit")))),
    ("lippi -debit", lambda: AndNot(t("lippi"), t("debit"))),
    ("lippi SAUF debit", lambda: AndNot(t("lippi"), t("debit"))),
    ("lippi NOT debit", lambda: AndNot(t("lippi"), t("debit"))),
    ('lippi -"haut debit" -obama',
     lambda: AndNot(t("lippi"), Or((Phrase(ts("haut debit")), t("obama"))))),
    ("lippi (debit -obama)",
     lambda: And((t("lippi"), AndNot(And((t("debit"),)), Or((t("obama"),)))))),
    ("-obama", lambda: None),
    ("author:philrig", lambda: None),  # a filter alone: no plan, the filters list
])
def test_compile_parsed_queries(query: str, plan) -> None:
    assert compile_query(parse_query(query), {}) == plan()


def test_compile_parsed_prefix_with_its_expansion() -> None:
    parsed = parse_query("entrep* debit")
    prefix = parsed.must[0]
    assert isinstance(prefix, TermNode) and prefix.prefix == "entrep"
    own = [Term(x) for x in prefix.terms]
    assert compile_query(parsed, {"entrep": ["entrepris", "entrepreneur"]}) == And((
        Or((Term("entrepris"), Term("entrepreneur"), *own)), t("debit")))
