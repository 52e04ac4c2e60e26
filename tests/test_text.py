"""One Unicode normalisation for documents, queries and thread ids (indexer/analysis/text.py)."""

from __future__ import annotations

import sys
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.analysis import analyzer
from indexer.ingest.record import thread_id
from indexer.ingest.text import (
    APOSTROPHES,
    CONTROL_RE,
    FORMAT_CHARS,
    FORMAT_RE,
    clean_controls,
    nfc,
    normalize_key,
    normalize_text,
)
from indexer.search.query import clean_query, parse_query


def test_format_characters_are_every_cf_character() -> None:
    every = {chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf"}
    assert set(FORMAT_CHARS) == every
    assert FORMAT_RE.fullmatch("".join(sorted(every)))


@pytest.mark.parametrize("text, cleaned, count", [
    ("propre", "propre", 0),
    ("tab\tstays", "tab\tstays", 0),
    ("tr\x7fès", "très", 1),  # DEL goes
    ("l\x92entreprise \x93oui\x94 \x85", "l’entreprise “oui” …", 4),  # C1: Windows-1252
    ("a\x81b\x8dc\x8fd\x90e\x9df", "abcdef", 5),  # C1 without a Windows-1252 meaning
    ("\x1b[1;31mrouge\x1b[0m", "rouge", 11),  # terminal colours go whole
    ("cloche\x07 \x00nul", "cloche nul", 2),
    ("page\x0cpage\x0bligne\x1fsep", "page page ligne sep", 3),  # spacing controls
    ("caf\ud800", "caf\ufffd", 1),  # unpaired surrogate
])
def test_clean_controls(text: str, cleaned: str, count: int) -> None:
    assert clean_controls(text) == (cleaned, count)


def test_nfc() -> None:
    assert nfc("tre\u0300s de\u0301bit") == "très débit"
    assert nfc("déjà") == "déjà"
    assert nfc("ascii") == "ascii"


@pytest.mark.parametrize("raw, key", [
    ("lippi-billautshow-2009-02", "lippi-billautshow-2009-02"),
    ("fmt-\u200bshy", "fmt-shy"),
    ("\ufeffcafe\u0301\u00ad", "café"),
    ("\u200ebidi\u200f", "bidi"),
])
def test_normalize_key_for_ids_and_filters(raw: str, key: str) -> None:
    assert normalize_key(raw) == key
    assert thread_id(f"  {raw} ") == key
    assert parse_query(f"mot thread:{raw}").thread == key


@pytest.mark.parametrize("query, cleaned", [
    ("entre\u00adprise", "entreprise"),  # removed, not spaced
    ("tre\u0300s   haut", "très   haut"),
    ("l\u2019entreprise\u200b", "l\u2019entreprise"),
    ("a\tb\nc", "a b c"),
    ("tres\x00haut", "treshaut"),
])
def test_clean_query(query: str, cleaned: str) -> None:
    assert clean_query(query) == cleaned


#: Text with everything the normalisation handles, mixed with French words.
PIECES = ["très", "tre\u0300s", "entre\u00adprise", "l\u02bcentreprise", "l\u2018avion",
          "auto\u2011entrepreneur", "bou\u200blangerie", "\u200eséminaire\u200f", "l\x92usine",
          "tr\x7fès", "débit", "aujourd\u02bchui", "l`hôtel", "\u2066musée\u2069", "haut"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=8).map(" ".join))
def test_a_query_finds_what_the_same_text_indexes(text: str) -> None:
    """The query path and the document path give the same terms for the same text."""
    ana = analyzer()
    document = normalize_text(text)[0]
    assert ana.terms(clean_query(text)) == ana.terms(document)
    assert set(parse_query(text).positive_terms()) == set(ana.terms(document))


def test_documents_keep_format_characters_and_lose_controls() -> None:
    text, count = normalize_text("entre\u00adprise tr\x7fe\u0300s")
    assert (text, count) == ("entre\u00adprise très", 1)
    assert CONTROL_RE.search(text) is None


def test_every_apostrophe_look_alike_elides() -> None:
    ana = analyzer()
    for apostrophe in APOSTROPHES:
        assert ana.terms(f"l{apostrophe}entreprise") == ["entrepris"], apostrophe
