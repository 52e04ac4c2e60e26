"""French analysis chain: one table per filter, each fed by the tokenizer alone (in the manner
of Lucene's TestElisionFilter, TestFrenchLightStemFilter...), then the whole analyzer, the
cached analyzer against the composed chain, and the inflection tables of tests/data."""

from __future__ import annotations

import importlib.util
import random
from types import ModuleType

import pytest
import snowballstemmer
from helpers import FR_PARAGRAPHS, ROOT, SEED_FILE, require_file
from whoosh.analysis import Filter

from indexer.analysis import (
    PROTECTED,
    STOPWORDS,
    CompoundFilter,
    ElisionFilter,
    FoldFilter,
    FormatFilter,
    FrenchAnalyzer,
    InflectionFilter,
    KeywordFilter,
    LowercaseFilter,
    StemFilter,
    StopFilter,
    WordTokenizer,
    french_chain,
)


def texts(flt: Filter, text: str, **kwargs: object) -> list[str]:
    """The token texts of ``WordTokenizer() | flt`` on a text."""
    return [t.text for t in (WordTokenizer() | flt)(text, **kwargs)]


def terms(text: str) -> list[str]:
    return [t.text for t in FrenchAnalyzer()(text)]


# --- WordTokenizer ------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("", []),
    ("L'auto-entrepreneur du Web 2.0", ["L'auto-entrepreneur", "du", "Web", "2.0"]),
    ("1.0 et 2,5 %", ["1.0", "et", "2,5"]),
    ("1.012,50 €", ["1.012,50"]),
    ("fin. 3, suite", ["fin", "3", "suite"]),
    ("qu’il", ["qu’il"]),
    ("aujourd'hui", ["aujourd'hui"]),
    ("a--b", ["a", "b"]),
    ("'citation' -tiret-", ["citation", "tiret"]),
    ("  \n\t ", []),
    # format characters inside a word don't split it (they stay in the token as written)
    ("entre\u00adprise", ["entre\u00adprise"]),
    ("bou\u200blangerie co\u200cin pâtis\u200dserie vélo\u2060route",
     ["bou\u200blangerie", "co\u200cin", "pâtis\u200dserie", "vélo\u2060route"]),
    ("\u200eséminaire\u200f \u2066musée\u2069 ri\ufeffvière",
     ["séminaire", "musée", "ri\ufeffvière"]),
    ("mot\u00ad-x", ["mot\u00ad-x"]),
    # apostrophe and hyphen look-alikes join like ' and -
    ("l\u02bcavion l\u2018avion l`avion l\u00b4avion l\uff07avion",
     ["l\u02bcavion", "l\u2018avion", "l`avion", "l\u00b4avion", "l\uff07avion"]),
    ("auto\u2010entrepreneur Poitou\u2011Charentes",
     ["auto\u2010entrepreneur", "Poitou\u2011Charentes"]),
    ("tre\u0300s", ["tre\u0300s"]),  # decomposed accents stay in the word
])
def test_word_tokenizer(text: str, expected: list[str]) -> None:
    assert [t.text for t in WordTokenizer()(text)] == expected


def test_word_tokenizer_chars_and_positions() -> None:
    toks = [(t.text, t.pos, t.startchar, t.endchar)
            for t in WordTokenizer()("Web 2.0 ici", positions=True, chars=True)]
    assert toks == [("Web", 0, 0, 3), ("2.0", 1, 4, 7), ("ici", 2, 8, 11)]


# --- ElisionFilter ------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("l'avion", ["avion"]),
    ("L’Avion", ["Avion"]),
    ("qu'il", ["il"]),
    ("Qu’elle", ["elle"]),
    ("jusqu'ici", ["ici"]),
    ("lorsqu'il", ["il"]),
    ("Lorsqu’Obama", ["Obama"]),
    ("puisqu'elle", ["elle"]),
    ("quoiqu'on", ["on"]),
    ("d'abord c'est n'a s'en j'ai m'a t'as", ["abord", "est", "a", "en", "ai", "a", "as"]),
    ("aujourd'hui", ["aujourd'hui"]),
    ("prud'homme", ["prud'homme"]),
    ("l'auto-entrepreneur", ["auto-entrepreneur"]),
    ("avion", ["avion"]),
    ("l\u02bcentreprise L\u2018avion l`hôtel d\u00b4abord qu\uff07il",
     ["entreprise", "avion", "hôtel", "abord", "il"]),
    ("aujourd\u02bchui", ["aujourd\u02bchui"]),
    ("l\u200b'avion", ["avion"]),  # a format character inside the article
])
def test_elision_filter(text: str, expected: list[str]) -> None:
    assert texts(ElisionFilter(), text) == expected


def test_elision_filter_moves_startchar() -> None:
    toks = [(t.text, t.startchar, t.endchar)
            for t in (WordTokenizer() | ElisionFilter())("dit l’avion", chars=True)]
    assert toks == [("dit", 0, 3), ("avion", 6, 11)]


# --- CompoundFilter -----------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("auto-entrepreneur",
     [("auto", 0), ("entrepreneur", 1), ("autoentrepreneur", 0)]),
    ("Etats-Unis", [("Etats", 0), ("Unis", 1), ("EtatsUnis", 0)]),
    ("Poitou-Charentes", [("Poitou", 0), ("Charentes", 1), ("PoitouCharentes", 0)]),
    ("Saint-Jean-de-Luz",
     [("Saint", 0), ("Jean", 1), ("de", 2), ("Luz", 3), ("SaintJeandeLuz", 0)]),
    ("avion", [("avion", 0)]),
    ("aujourd'hui", [("aujourd'hui", 0)]),
    ("auto\u2010entrepreneur", [("auto", 0), ("entrepreneur", 1), ("autoentrepreneur", 0)]),
    ("Poitou\u2011Charentes", [("Poitou", 0), ("Charentes", 1), ("PoitouCharentes", 0)]),
])
def test_compound_filter(text: str, expected: list[tuple[str, int]]) -> None:
    toks = (WordTokenizer() | CompoundFilter())(text, positions=True)
    assert [(t.text, t.pos) for t in toks] == expected


@pytest.mark.parametrize("text, expected", [
    ("entre\u00adprise", ["entreprise"]),
    ("a\u200fb\u200ec", ["abc"]),
    ("mot", ["mot"]),
])
def test_format_filter(text: str, expected: list[str]) -> None:
    assert texts(FormatFilter(), text) == expected


def test_compound_filter_chars() -> None:
    toks = (WordTokenizer() | CompoundFilter())("auto-entrepreneur", chars=True)
    assert [(t.text, t.startchar, t.endchar) for t in toks] == [
        ("auto", 0, 4), ("entrepreneur", 5, 17), ("autoentrepreneur", 0, 17)]


# --- LowercaseFilter ----------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("TRÈS Haut", ["très", "haut"]),
    ("ÉTÉ Œuvre ÆGÉE", ["été", "œuvre", "ægée"]),
    ("Web 2.0", ["web", "2.0"]),
    ("", []),
])
def test_lowercase_filter(text: str, expected: list[str]) -> None:
    assert texts(LowercaseFilter(), text) == expected


# --- FoldFilter ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("TRÈS", ["tres"]),
    ("très", ["tres"]),
    ("É", ["e"]),
    ("cœur Œuvre", ["coeur", "oeuvre"]),
    ("æ Ægée", ["ae", "aegee"]),
    ("façade naïf Noël", ["facade", "naif", "noel"]),
    ("L’Avion", ["l'avion"]),
    ("2,5", ["2,5"]),
])
def test_fold_filter(text: str, expected: list[str]) -> None:
    assert texts(FoldFilter(), text) == expected


# --- StopFilter ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("ete le soleil", ["soleil"]),
    ("etes mais votre", []),
    ("qu il", []),
    ("Votre", ["Votre"]),  # case is LowercaseFilter's job
    ("entreprise", ["entreprise"]),
])
def test_stop_filter(text: str, expected: list[str]) -> None:
    assert texts(StopFilter(STOPWORDS), text) == expected


@pytest.mark.parametrize("stoplist", [["été"], ["ete"], ["ÉTÉ"]])
def test_stop_filter_list_is_folded(stoplist: list[str]) -> None:
    assert texts(StopFilter(stoplist), "ete soleil") == ["soleil"]


def test_stop_filter_keeps_marked_stops_when_asked() -> None:
    toks = (WordTokenizer() | StopFilter(STOPWORDS))("ete le soleil", removestops=False)
    assert [(t.text, t.stopped) for t in toks] == [
        ("ete", True), ("le", True), ("soleil", False)]


# --- KeywordFilter ------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("etes ete", [("etes", True), ("ete", False)]),
    ("fils fil", [("fils", True), ("fil", False)]),
    ("mois fois cours fonds peu", [(w, True) for w in ["mois", "fois", "cours", "fonds", "peu"]]),
    ("debits", [("debits", False)]),
])
def test_keyword_filter(text: str, expected: list[tuple[str, bool]]) -> None:
    toks = (WordTokenizer() | KeywordFilter(PROTECTED))(text)
    assert [(t.text, t.keyword) for t in toks] == expected


# --- InflectionFilter (fed folded words, as in the chain) ----------------------------------

@pytest.mark.parametrize("text, expected", [
    ("debits debit", ["debit", "debit"]),
    ("elus elue elues", ["elu", "elu", "elu"]),
    ("decus decue decues", ["decu", "decu", "decu"]),
    ("entreprises", ["entreprise"]),
    ("chevaux cheval", ["cheval", "cheval"]),
    ("bateaux", ["bateau"]),
    ("bijoux", ["bijou"]),
    ("maux", ["mal"]),
    ("jeux jeu", ["jeux", "jeux"]),
    ("arrivees arrivee arrives", ["arrive", "arrive", "arrive"]),
    ("premieres premiere", ["premier", "premier"]),
    ("actifs active", ["active", "active"]),
    ("francaise francais", ["francai", "francai"]),
    ("chinoises chinois", ["chinoi", "chinoi"]),
    ("tuyaux tuyau", ["tuyal", "tuyal"]),
    ("travaux travail", ["traval", "traval"]),
    ("acquis stress", ["acquis", "stress"]),  # -uis and -ss keep their s
    ("croise", ["croise"]),  # short -oise: a verb form (croiser), not a feminine
    ("bus vie", ["bus", "vie"]),  # too short to strip
    ("etes", ["ete"]),  # without the keyword marker, as KeywordFilter prevents below
    ("2.0 aujourd'hui", ["2.0", "aujourd'hui"]),
])
def test_inflection_filter(text: str, expected: list[str]) -> None:
    assert texts(InflectionFilter(), text) == expected


def test_inflection_filter_leaves_keywords_alone() -> None:
    assert texts(KeywordFilter(["etes"]) | InflectionFilter(), "etes elus") == ["etes", "elu"]


# --- StemFilter ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("entreprises entreprise", ["entrepris", "entrepris"]),
    ("debit", ["deb"]),
    ("chevaux", ["cheval"]),
    ("heureuse", ["heureux"]),
    ("2.0 aujourd'hui", ["2.0", "aujourd'hui"]),  # not alphabetic: left alone
])
def test_stem_filter(text: str, expected: list[str]) -> None:
    assert texts(StemFilter(), text) == expected


def test_stem_filter_leaves_keywords_alone() -> None:
    assert texts(KeywordFilter(["tres"]) | StemFilter(), "tres") == ["tres"]


def test_fold_before_stem() -> None:
    stem = snowballstemmer.stemmer("french").stemWord
    # Stemming before folding would split them: Snowball reads "très" and "tres" differently.
    assert stem("très") != stem("tres")
    assert terms("très") == terms("tres") == terms("TRÈS") == ["tres"]


# --- FrenchAnalyzer, end to end -----------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("", []),
    ("Votre", []),
    ("été ete ÉTÉ êtes", []),
    ("l'avion", ["avion"]),
    ("L’Avion", ["avion"]),
    ("qu'il jusqu'ici", []),
    ("lorsqu'Obama gagne", ["obam", "gagn"]),
    ("puisqu’Internet", ["internet"]),
    ("aujourd'hui", ["aujourd'hui"]),
    ("Web 2.0", ["web", "2.0"]),
    ("1.0 et 2,5", ["1.0", "2,5"]),
    ("auto-entrepreneur", ["auto", "entrepreneur", "autoentrepreneur"]),
    ("Etats-Unis", ["etat", "unis", "etatsun"]),
    ("Poitou-Charentes", ["poitou", "charent", "poitoucharent"]),
    ("TRÈS très tres", ["tres", "tres", "tres"]),
    ("cœur æ", ["coeur", "ae"]),
    ("Très haut débit pour l'entreprise", ["tres", "haut", "deb", "entrepris"]),
    ("débit débits", ["deb", "deb"]),
    ("élu élus élue élues", ["elu"] * 4),
    ("déçu déçus déçue déçues", ["decu"] * 4),
    ("entreprise entreprises l'entreprise L’Entreprise", ["entrepris"] * 4),
    ("entre\u00adprise l\u02bcentreprise l\u2018entreprise l`entreprise", ["entrepris"] * 4),
    ("auto\u2011entrepreneur", ["auto", "entrepreneur", "autoentrepreneur"]),
    ("aujourd\u02bchui aujourd'hui aujourd’hui", ["aujourd'hui"] * 3),
    ("tre\u0300s haut de\u0301bit", ["tres", "haut", "deb"]),
])
def test_french_analyzer(text: str, expected: list[str]) -> None:
    assert terms(text) == expected


@pytest.mark.parametrize("text, spans", [
    # the span covers the word as written, its invisible characters included
    ("une entre\u00adprise", [("entrepris", 0, 4, 15)]),  # "une": a stop word
    ("le \u200eséminaire\u200f", [("seminair", 0, 4, 13)]),
    ("la bou\u200blangerie", [("boulanger", 0, 3, 15)]),
    ("l\u02bcentreprise", [("entrepris", 0, 2, 12)]),
    ("auto\u2011entrepreneur", [("auto", 0, 0, 4), ("entrepreneur", 1, 5, 17),
                                ("autoentrepreneur", 0, 0, 17)]),
])
def test_spans_cover_words_as_written(text: str, spans: list[tuple[str, int, int, int]]) -> None:
    assert list(FrenchAnalyzer().spans(text)) == spans


def test_french_analyzer_compound_positions() -> None:
    spans = list(FrenchAnalyzer().spans("auto-entrepreneur Web"))
    assert spans == [("auto", 0, 0, 4), ("entrepreneur", 1, 5, 17),
                     ("autoentrepreneur", 0, 0, 17), ("web", 2, 18, 21)]
    assert FrenchAnalyzer().positions("auto-entrepreneur")["autoentrepreneur"] == [0]


@pytest.mark.parametrize("words", [
    ("débit", "débits"),
    ("élu", "élus", "élue", "élues"),
    ("déçu", "déçus", "déçue"),
    ("entreprise", "entreprises", "l'entreprise"),
])
def test_french_analyzer_conflates(words: tuple[str, ...]) -> None:
    assert len({tuple(terms(w)) for w in words}) == 1


# --- odd input ----------------------------------------------------------------------------

ODD_STRINGS = [
    "l'", "'", "’’’", "qu'", "-", "--a--", "a-", "-a", "l'-", "l’-x", "x'-'y", "2.", ".5", "1..2",
    "2,,5", "\u00a0\u2009", "\x00", "😀 emoji😀", "東京 Ελλάδα Россия", "e\u0301te\u0301",
    "ﬁn ﬂeur", "ʼ", "½ ² ℃", "_", "__init__", "a_b-c'd", "ß STRASSE", "İstanbul", "Ǆ",
    "x" * 300, "é-" * 50, "l'" * 30 + "avion", "\u00ad", "\u200b" * 5, "a\u00ad\u00ad-\u200bb",
    "l\u02bc", "\u02bc\u02bc", "-\u2011\u2010", "\u0300", "a\u0300\u00ad-\u0301", "`l`a`",
]


def _random_strings(n: int, seed: int = 20240229) -> list[str]:
    rng = random.Random(seed)
    alphabet = ("aeéèêiïoôuùœæçAÉŒÆ'’-.,0123456789 \t\n_" + "".join(map(chr, range(0x2000, 0x2012)))
                + "\u00ad\u02bc\u2018`\u00b4\u2060\u2066\u2069\ufeff\u0301")
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(n)]


@pytest.mark.parametrize("text", ODD_STRINGS + _random_strings(100))
def test_odd_strings_do_not_crash(text: str) -> None:
    for t in FrenchAnalyzer()(text, positions=True, chars=True):
        assert t.text
        assert 0 <= t.startchar <= t.endchar <= len(text)


# --- the cached analyzer gives exactly the composed chain's output ----------------------

def _cached(text: str) -> list[tuple[str, int, int]]:
    return [(t.text, t.startchar, t.endchar) for t in FrenchAnalyzer()(text, chars=True)]


def _composed(text: str) -> list[tuple[str, int, int]]:
    return [(t.text, t.startchar, t.endchar) for t in french_chain()(text, chars=True)]


TRICKY = [
    "L’auto-entrepreneur qu'il a vu aujourd'hui, lorsqu'Obama... jusqu’ici !",
    "Les Etats-Unis, le Poitou-Charentes et le Web 2.0 (2,5 % de 1.012,50 €)",
    "ÉTÉ été êtes Votre TRÈS cœur Æ débits élues déçus chevaux l'entreprise",
    "war-room -- a-b-c l'-x qu'- '' ’’",
] + ODD_STRINGS


@pytest.mark.parametrize("text", TRICKY)
def test_cached_analyzer_matches_composed_chain(text: str) -> None:
    assert _cached(text) == _composed(text)


@pytest.mark.parametrize("text", [*TRICKY, SEED_FILE.read_text(encoding="utf-8")])
def test_chunk_spans_are_the_texts_spans(text: str) -> None:
    """Analysing whitespace chunks one by one finds the composed chain's terms and offsets."""
    import re

    analyzer = FrenchAnalyzer()
    by_chunk = [(term, m.start() + s, m.start() + e) for m in re.finditer(r"\S+", text)
                for term, _, s, e in analyzer.chunk(m.group())[0]]
    assert by_chunk == _composed(text)


def test_cached_analyzer_matches_composed_chain_on_seed_thread() -> None:
    text = SEED_FILE.read_text(encoding="utf-8")
    composed = _composed(text)
    assert len(composed) > 200
    analyzer = FrenchAnalyzer()
    for _ in range(2):  # cold cache, then warm cache
        assert [(t.text, t.startchar, t.endchar) for t in analyzer(text, chars=True)] == composed


def test_cached_analyzer_matches_composed_chain_word_by_word_on_real_prose() -> None:
    """Every distinct word of 3,000 real French paragraphs: the fast path is the chain."""
    source = require_file(FR_PARAGRAPHS, "the shared French paragraphs")
    import gzip
    import json

    from indexer.analysis import TOKEN_RE

    words: set[str] = set()
    with gzip.open(source, "rt", encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            if n == 3000:
                break
            words.update(TOKEN_RE.findall(json.dumps(json.loads(line), ensure_ascii=False)))
    words.update(w.upper() for w in list(words)[:2000])
    assert len(words) > 10_000
    chain = french_chain()
    analyzer = FrenchAnalyzer()
    for w in sorted(words):
        expected = [(t.text, t.startchar, t.endchar) for t in chain(w, chars=True)]
        assert [(t, s, e) for t, _, s, e in analyzer.word(w)] == expected, w


# --- the inflection tables: the inflection step conflates more, and merges nothing -------

#: Measured with ``python bench/inflection_report.py``: groups of tests/data/inflections_fr.tsv
#: that reach one term with the project's chain, and groups that plain Snowball conflated
#: but the chain no longer does (niais/niaise). Update them with the rules.
CONFLATED_AFTER = 162
LOST_AFTER = 1


@pytest.fixture(scope="module")
def report() -> ModuleType:
    path = ROOT / "bench" / "inflection_report.py"
    spec = importlib.util.spec_from_file_location("inflection_report", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_inflection_tables_improve(report: ModuleType) -> None:
    groups = report.read_table(report.GROUPS_FILE)
    pairs = report.read_table(report.DISTINCT_FILE)
    assert len(groups) >= 110 and all(len(g) >= 2 for g in groups)
    assert len(pairs) >= 8 and all(len(p) == 2 for p in pairs)

    fail_before, merged_before = report.measure(report.before_analyser(), groups, pairs)
    fail_after, merged_after = report.measure(report.after_analyser(), groups, pairs)

    conflated_before = len(groups) - len(fail_before)
    conflated_after = len(groups) - len(fail_after)
    assert conflated_after == CONFLATED_AFTER, [g[0] for g in fail_after]
    assert conflated_before < conflated_after
    assert len([g for g in fail_after if g not in fail_before]) == LOST_AFTER
    assert merged_after == []
    assert len(pairs) - len(merged_before) < len(pairs)


@pytest.mark.parametrize("forms", [
    ("débit", "débits"),
    ("élu", "élus", "élue", "élues"),
    ("déçu", "déçus", "déçue", "déçues"),
    ("entreprise", "entreprises", "l'entreprise"),
])
def test_inflection_table_acceptance_groups(report: ModuleType, forms: tuple[str, ...]) -> None:
    groups = report.read_table(report.GROUPS_FILE)
    assert any(set(forms) <= set(g) for g in groups)
    assert report.conflates(report.after_analyser(), forms)


def test_inflection_table_ete_etes_stay_apart(report: ModuleType) -> None:
    assert ("été", "êtes") in report.read_table(report.DISTINCT_FILE)
    assert not report.conflates(report.after_analyser(), ("été", "êtes"))
