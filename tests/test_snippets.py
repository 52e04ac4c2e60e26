"""Snippets and highlighting (indexer/search/snippets.py), as tables of hand-worked cases.

The texts are built from a filler word ``xx`` (three characters with its space) so that
every window boundary below can be worked out by hand from the rules in the module:
a short passage (up to SNIPPET_CHARS) comes whole; a longer one as one or two windows of
about FRAGMENT_CHARS around the matches that hold the most distinct query words (one
window of SNIPPET_CHARS when there is a single place), cut at spaces, marked ``…`` where
text was left out.
"""

from __future__ import annotations

import pytest

from indexer.search.query import Marks
from indexer.search.snippets import (
    FRAGMENT_CHARS,
    SNIPPET_CHARS,
    fold_key,
    highlight,
    mark,
    match_spans,
    snippet,
    surface_form,
)


def test_window_sizes_the_cases_below_are_worked_out_for() -> None:
    assert (SNIPPET_CHARS, FRAGMENT_CHARS) == (260, 130)


# -- match_spans -------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "terms", "spans"), [
    ("Très haut débit", {"tres"}, [(0, 4)]),
    ("Très haut débit", {"deb", "tres"}, [(0, 4), (10, 15)]),  # sorted by position
    ("TRÈS très tres", {"tres"}, [(0, 4), (5, 9), (10, 14)]),  # accents and case folded
    ("l'entreprise et L’Entreprise", {"entrepris"}, [(2, 12), (18, 28)]),  # elision left out
    ("les débits", {"deb"}, [(4, 10)]),  # inflection
    ("haut-débit", {"haut", "deb"}, [(0, 4), (5, 10)]),  # a compound's parts
    ("haut-débit", {"hautdeb"}, [(0, 10)]),  # its joined form covers it whole
    ("haut-débit", {"haut", "hautdeb"}, [(0, 10)]),  # overlapping spans merged
    ("le chat", {"le"}, []),  # stop words are not terms
    ("Très haut débit", set(), []),
    ("", {"tres"}, []),
])
def test_match_spans(text: str, terms: set[str], spans: list[tuple[int, int]]) -> None:
    assert match_spans(text, terms) == spans


# -- mark ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "html"), [
    (("a<b & 'c' \"d\"", []), "a&lt;b &amp; &#x27;c&#x27; &quot;d&quot;"),
    (("x & y", [(0, 1)]), "<mark>x</mark> &amp; y"),
    (("<b>", [(0, 3)]), "<mark>&lt;b&gt;</mark>"),  # marked text is escaped too
    (("abc def ghi", [(4, 7)], 2, 9), "c <mark>def</mark> g"),  # a window of the text
    (("abcdef", [(1, 4)], 2, 6), "<mark>cd</mark>ef"),  # a span cut by the window's start
    (("abcdef", [(3, 6)], 0, 4), "abc<mark>d</mark>"),  # ... and by its end
    (("abcdef", [(0, 1), (5, 6)], 2, 4), "cd"),  # spans outside the window are left out
    (("ab", [(0, 1), (1, 2)]), "<mark>a</mark><mark>b</mark>"),
])
def test_mark(args: tuple, html: str) -> None:
    assert mark(*args) == html


# -- highlight (thread pages) ---------------------------------------------------------------

@pytest.mark.parametrize(("text", "marks", "html"), [
    ("Le TRÈS haut <débit>", Marks(frozenset({"tres", "deb"})),
     "Le <mark>TRÈS</mark> haut &lt;<mark>débit</mark>&gt;"),
    ("Les entreprises d'entrepreneurs", Marks(prefixes=("entrep",)),
     "Les <mark>entreprises</mark> d&#x27;<mark>entrepreneurs</mark>"),
    ("haut débit et entreprises", Marks(frozenset({"deb"}), ("entrep",)),
     "haut <mark>débit</mark> et <mark>entreprises</mark>"),
    ("une entrée", Marks(prefixes=("entrep",)), "une entrée"),
    ("a < b", Marks(), "a &lt; b"),
])
def test_highlight_with_marks(text: str, marks: Marks, html: str) -> None:
    assert highlight(text, marks) == html


# -- snippet ---------------------------------------------------------------------------------

def test_short_passage_comes_whole_with_the_paragraph_of_its_first_match() -> None:
    text = "Premier paragraphe.\nSecond, avec le <très> haut débit."
    assert snippet(text, {"tres", "deb"}) == (
        "Premier paragraphe. Second, avec le &lt;<mark>très</mark>&gt; haut "
        "<mark>débit</mark>.", 2)


def test_short_passage_without_match_comes_whole() -> None:
    assert snippet("Rien à voir.\nVraiment rien.", {"deb"}) == (
        "Rien à voir. Vraiment rien.", 1)


def test_long_passage_without_match_shows_its_beginning() -> None:
    text = "xx " * 200  # 600 characters
    # the first SNIPPET_CHARS (260), cut back to the last space before them (at 257)
    assert snippet(text, {"deb"}) == ("xx " * 85 + "xx" + " …", 1)


def test_long_passage_with_one_match_shows_one_wide_window() -> None:
    text = "xx " * 100 + "débit" + " xx" * 100  # the match at 300..305 of 605
    # window of 260 starting 86 before the match (216 after cutting at a space), ending at
    # the last space before 474
    assert snippet(text, {"deb"}) == (
        "… " + "xx " * 28 + "<mark>débit</mark>" + " xx" * 56 + " …", 1)


def test_long_passage_with_two_places_shows_two_fragments() -> None:
    text = "xx " * 50 + "haut" + " xx" * 100 + " débit" + " xx" * 50  # 150..154, 455..460
    assert snippet(text, {"haut", "deb"}) == (
        "… " + "xx " * 14 + "<mark>haut</mark>" + " xx" * 27 + " … "
        + "xx " * 14 + "<mark>débit</mark>" + " xx" * 27 + " …", 1)


def test_the_fragment_with_most_distinct_words_wins_and_names_its_paragraph() -> None:
    # « haut » alone at the start, « haut débit » together in paragraph 2
    text = "haut" + " xx" * 100 + "\n" + "xx haut débit" + " xx" * 100
    html, paragraph = snippet(text, {"haut", "deb"})
    assert paragraph == 2
    assert html == ("<mark>haut</mark>" + " xx" * 41 + " … " + "xx " * 14
                    + "<mark>haut</mark> <mark>débit</mark>" + " xx" * 25 + " …")


def test_repeated_word_counts_once_per_fragment() -> None:
    """« TRÈS », « très », « Très » are one word: the place with two different words wins
    (its paragraph is the one named), though the first place has more marks."""
    text = "TRÈS très Très" + " xx" * 100 + "\n" + "très débit" + " xx" * 100
    html, paragraph = snippet(text, {"tres", "deb"})
    assert paragraph == 2
    assert html.startswith("<mark>TRÈS</mark> <mark>très</mark> <mark>Très</mark>")
    assert html.index(" … ") < html.index("<mark>très</mark> <mark>débit</mark>")


def test_snippet_escapes_the_text() -> None:
    text = "<script>" + "xx " * 100 + "débit & co" + " xx" * 100
    html, _ = snippet(text, {"deb"})
    assert "<script>" not in html and "<mark>débit</mark> &amp; co" in html


# -- fold_key and surface_form ----------------------------------------------------------------

@pytest.mark.parametrize(("word", "key"), [
    ("TRÈS", "tres"), ("très", "tres"), ("débits", "deb"), ("l'entreprise", "entrepris"),
    ("les", "les"),  # a stop word has no term: its lower-case form stands for it
])
def test_fold_key(word: str, key: str) -> None:
    assert fold_key(word) == key


@pytest.mark.parametrize(("texts", "term", "form"), [
    (["Le TRÈS haut débit", "très bien", "Très"], "tres", "très"),
    (["Débits et débit", "DÉBIT"], "deb", "débit"),  # the most frequent spelling
    (["débits débit"], "deb", "débit"),  # a tie: the shorter one
    (["débits débits débit"], "deb", "débits"),
    (["rien ici"], "deb", None),
    ([], "deb", None),
])
def test_surface_form(texts: list[str], term: str, form: str | None) -> None:
    assert surface_form(texts, term) == form
