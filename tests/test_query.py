"""The query language (indexer/search/query.py): French operators, exclusions, filter editing.

Parsed queries are summarised by the words as written (``shape``), so the tables say what
the parser understood without depending on the analyzer's stems.
"""

from __future__ import annotations

from typing import Any

import pytest

from indexer.errors import QueryError
from indexer.ingest.folding import author_key
from indexer.search.query import (
    AndNode,
    Marks,
    Node,
    OrNode,
    PhraseNode,
    TermNode,
    active_filters,
    drop_filter,
    parse_query,
    query_marks,
    quote_value,
    set_filter,
)


def shape(node: Node) -> Any:
    """A parsed node as the words as written: ``"w"``, ``("phrase", "a b")``, ``("or", ...)``,
    ``("and", [...], [negated...])``."""
    if isinstance(node, TermNode):
        return node.raw
    if isinstance(node, PhraseNode):
        return ("phrase", node.raw)
    if isinstance(node, OrNode):
        return ("or", *[shape(c) for c in node.children])
    assert isinstance(node, AndNode)
    return ("and", [shape(c) for c in node.children], [shape(c) for c in node.negated])


def parsed(query: str) -> tuple[list[Any], list[Any]]:
    """(required, excluded) clauses of a query, as shapes."""
    p = parse_query(query)
    return [shape(n) for n in p.must], [shape(n) for n in p.must_not]


# -- operators, English and French ---------------------------------------------------------

@pytest.mark.parametrize(("query", "must", "must_not"), [
    ("obama OR sarkozy", [("or", "obama", "sarkozy")], []),
    ("obama OU sarkozy", [("or", "obama", "sarkozy")], []),
    ("chat OU chien OR loup", [("or", "chat", "chien", "loup")], []),
    ("obama OU sarkozy debit", [("or", "obama", "sarkozy"), "debit"], []),  # OU binds first
    ("obama AND sarkozy", ["obama", "sarkozy"], []),
    ("obama ET sarkozy", ["obama", "sarkozy"], []),
    ("lippi NOT obama", ["lippi"], ["obama"]),
    ("lippi SAUF obama", ["lippi"], ["obama"]),
    ("SAUF obama lippi", ["lippi"], ["obama"]),
    ('lippi SAUF "haut debit"', ["lippi"], [("phrase", "haut debit")]),
    ("lippi SAUF (chat chien)", ["lippi"], [("and", ["chat", "chien"], [])]),
    ("(obama OU sarkozy) SAUF debit", [("or", "obama", "sarkozy")], ["debit"]),
    ("(lippi SAUF obama) debit", [("and", ["lippi"], ["obama"]), "debit"], []),
    # lower case: words, and « ou », « et » are stop words, dropped like « le »
    ("obama ou sarkozy", ["obama", "sarkozy"], []),
    ("obama et sarkozy", ["obama", "sarkozy"], []),
    ("obama Ou sarkozy", ["obama", "sarkozy"], []),
    ("obama or sarkozy", ["obama", "or", "sarkozy"], []),
    ("lippi sauf obama", ["lippi", "sauf", "obama"], []),
    # operators with nothing to join are dropped
    ("OU", [], []), ("ET lippi", ["lippi"], []), ("lippi OU", ["lippi"], []),
    ("lippi SAUF", ["lippi"], []), ("SAUF", [], []),
])
def test_operators(query: str, must: list[Any], must_not: list[Any]) -> None:
    assert parsed(query) == (must, must_not)


@pytest.mark.parametrize("query", ["obama OU -sarkozy", "obama OR -sarkozy",
                                   "obama OU SAUF sarkozy", "-obama OU sarkozy"])
def test_or_cannot_join_an_exclusion(query: str) -> None:
    with pytest.raises(QueryError) as info:
        parse_query(query)
    assert info.value.code == "or_exclusion"


# -- filters and their exclusions ------------------------------------------------------------

@pytest.mark.parametrize(("query", "fields"), [
    ("-author:philrig", {"not_authors": ("philrig",)}),
    ('-auteur:"Jean Michel" -author:Bob', {"not_authors": ("jeanmichel", "bob")}),
    ("SAUF author:philrig", {"not_authors": ("philrig",)}),
    ("author:Bob -author:bob", {"author": "bob", "not_authors": ("bob",)}),
    ("-thread:abc", {"not_threads": ("abc",)}),
    ("-fil:abc -thread:\"d e\"", {"not_threads": ("abc", "d e")}),
    ("thread:abc", {"thread": "abc"}),
    ("-kind:post", {"kind": "comment"}),
    ("-type:commentaire", {"kind": "post"}),
    ("-kind:billet", {"kind": "comment"}),
    ("kind:comments", {"kind": "comment"}),
    ("après:2009-02 avant:2009-02", {"after": 20090201, "before": 20090228}),
    ("apres:2008-02 before:2008-02", {"after": 20080201, "before": 20080229}),  # leap year
    ("after:2009", {"after": 20090101}),
    ("before:2009", {"before": 20091231}),
    ("author:a author:b", {"author": "b"}),  # the last one counts
])
def test_filters(query: str, fields: dict[str, Any]) -> None:
    p = parse_query(query)
    defaults = {"author": None, "kind": None, "after": None, "before": None, "thread": None,
                "not_authors": (), "not_threads": ()}
    assert {k: getattr(p, k) for k in defaults} == {**defaults, **fields}
    assert p.must == [] and p.must_not == [] and p.has_filters


@pytest.mark.parametrize(("query", "name"), [
    ("-after:2009", "after"), ("-before:2009-02-05", "before"), ("-après:2009", "après"),
    ("-apres:2009", "apres"), ("-avant:2010", "avant"), ("SAUF after:2009", "after"),
    ("lippi -AFTER:2009", "AFTER"),
])
def test_dates_cannot_be_excluded(query: str, name: str) -> None:
    with pytest.raises(QueryError) as info:
        parse_query(query)
    assert (info.value.code, info.value.fields) == ("negated_date", {"name": name})


@pytest.mark.parametrize(("query", "code"), [
    ("author:", "missing_value"), ("-author:", "missing_value"), ("kind:x", "bad_kind"),
    ("-kind:x", "bad_kind"), ("after:hier", "bad_date"), ("before:2009-02-30", "invalid_date"),
    ("thread:", "missing_value"),
])
def test_bad_filters(query: str, code: str) -> None:
    with pytest.raises(QueryError) as info:
        parse_query(query)
    assert info.value.code == code


# -- editing a query's filters (the search page's links) ----------------------------------------

@pytest.mark.parametrize(("query", "found"), [
    ('debit auteur:"Jean Michel" type:billet -author:x "kind:post"',
     {"author": "Jean Michel", "kind": "billet"}),
    ("après:2009 avant:2010-02 fil:abc", {"after": "2009", "before": "2010-02", "thread": "abc"}),
    ("AUTHOR:x", {"author": "x"}),
    ("author:a author:b", {"author": "b"}),
    ("author: debit", {}),  # no value: not a filter that is set
    ("-author:x -thread:y", {}),  # exclusions are not active filters
    ("", {}),
])
def test_active_filters(query: str, found: dict[str, str]) -> None:
    assert active_filters(query) == found


@pytest.mark.parametrize(("query", "name", "rest"), [
    ("debit apres:2009 -after:2011 x", "after", "debit x"),
    ('a author:"Jean Michel" b kind:post', "author", "a b kind:post"),
    ("a auteur:x -author:y", "author", "a"),
    ('"author:x" y', "author", '"author:x" y'),  # inside a phrase: words, not a filter
    ("(a author:x) b", "author", "(a) b"),
    ("auteur:x", "author", ""),
    ("kind:post debit", "author", "kind:post debit"),
])
def test_drop_filter(query: str, name: str, rest: str) -> None:
    assert drop_filter(query, name) == rest


@pytest.mark.parametrize(("args", "query"), [
    (("debit auteur:x", "author", "Jean Michel", "auteur"), 'debit auteur:"Jean Michel"'),
    (("tres", "author", "Christophe Humbert"), 'tres author:"Christophe Humbert"'),
    (("tres author:x -author:y", "author", "philrig"), "tres author:philrig"),
    (("tres auteur:x", "author", "philrig"), "tres author:philrig"),
    (("", "kind", "post"), "kind:post"),
    (("a kind:post", "kind", "comment", "type"), "a type:comment"),
])
def test_set_filter(args: tuple[str, ...], query: str) -> None:
    assert set_filter(*args) == query


@pytest.mark.parametrize(("value", "quoted"), [
    ("philrig", "philrig"), ("Jean Michel", '"Jean Michel"'), ("  x  ", "x"),
    ('a"b', '"a b"'), ("a(b)", '"a(b)"'), ("a\tb\nc", '"a b c"'), ("", '""'),
    ("Anne-Marie", "Anne-Marie"),
])
def test_quote_value(value: str, quoted: str) -> None:
    assert quote_value(value) == quoted


@pytest.mark.parametrize("value", ["Jean Michel", "a(b)", "Anne-Marie", "Élodie", "x"])
def test_set_filter_reads_back_as_the_same_author(value: str) -> None:
    assert parse_query(set_filter("debit", "author", value)).author == author_key(value)


# -- what a thread page marks --------------------------------------------------------------------

def test_marks() -> None:
    marks = Marks(frozenset({"deb", "tres"}), ("entrep",))
    assert marks and len(marks) == 3 and list(marks) == ["deb", "tres"]
    assert "deb" in marks and "entrepris" in marks and "entrep" in marks
    assert "haut" not in marks and "entre" not in marks and 3 not in marks
    assert not Marks() and len(Marks()) == 0 and "x" not in Marks()
    assert Marks(prefixes=("abc",)) and "abcd" in Marks(prefixes=("abc",))


@pytest.mark.parametrize(("query", "terms", "prefixes", "words"), [
    ("tres haut", {"tres", "haut"}, (), {"tres", "haut"}),
    ("lippi -obama", {"lipp"}, (), {"lippi"}),  # excluded words are not marked
    ("entrep* entrep* lip*", {"entrep", "lip"}, ("entrep", "lip"), set()),
    ('"haut débit" author:philrig', {"haut", "deb"}, (), {"haut", "debit"}),
    ("author:", set(), (), set()),  # cannot be parsed: nothing marked, the page still shows
    ("", set(), (), set()),
    (None, set(), (), set()),
])
def test_query_marks(query: str | None, terms: set[str], prefixes: tuple[str, ...],
                     words: set[str]) -> None:
    assert query_marks(query) == Marks(frozenset(terms), prefixes, frozenset(words))


@pytest.mark.parametrize(("query", "written", "exact"), [
    ("fondée", "Fondée", True),
    ("fondée", "FONDEE", True),  # case and accents aside
    ("fondée", "fond", False),  # the same stem, another word
    ("entreprises", "l'entreprise", False),
    ("auto-entrepreneur", "Auto-Entrepreneur", True),
    ("entrep*", "Entreprises", True),
])
def test_exact_or_stem_only(query: str, written: str, exact: bool) -> None:
    assert query_marks(query).exact(written) is exact
