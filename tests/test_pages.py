"""The HTML pages over a real index: search results, thread page, errors (French UI).

The search page shows one entry per thread (``group="thread"``): its title with the
query's words marked, what is known of its post, its best passages and a link to the
others; counts are threads and passages; filter links write French filter names; empty
results say why and offer the one thing that helps. Everything here runs without
JavaScript (a test client); tests/test_browser*.py drive a real Chromium.
"""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient
from helpers import (
    GENEROUS_SECONDS,
    ROOT,
    SEED_DIR,
    SEED_FILE,
    SEED_ID,
    SEED_TITLE,
    free_port,
    wait_until,
)
from ui_corpus import FIBRE, LONG_COMMENT, MARKUP_TITLE, UI_THREADS

from indexer.search.query import drop_filter, set_filter
from search_app.filters import date_fr, month_fr, number_fr, plural_fr, typo_fr
from search_app.views import exclusions_dropped, page_numbers, stop_words

NBSP, NNBSP = "\u00a0", "\u202f"
OTHER_THREAD = FIBRE


def get(client: FlaskClient, url: str, status: int = 200, **params: object) -> str:
    """GET a page, check its status and that it is HTML, and return its text."""
    resp = client.get(url, query_string=params or None)
    assert resp.status_code == status, resp.get_data(as_text=True)[:500]
    assert resp.mimetype == "text/html"
    return resp.get_data(as_text=True)


def text(html: str) -> str:
    """Visible text of some HTML: tags dropped, entities decoded, spaces made plain."""
    plain = unescape(re.sub(r"<[^>]+>", "", html))
    return " ".join(plain.replace(NBSP, " ").replace(NNBSP, " ").split())


def groups(html: str) -> list[tuple[str, list[str]]]:
    """(thread title, passage labels) for each result entry, in page order."""
    out = []
    for part in html.split('<li class="thread-group">')[1:]:
        title = re.search(r'<h2 class="thread-title"><a [^>]*>(.*?)</a>', part, re.S)
        labels = re.findall(r'<a class="hit-label" [^>]*>(.*?)</a>', part, re.S)
        assert title
        out.append((text(title.group(1)), [text(x) for x in labels]))
    return out


def links(html: str) -> list[str]:
    """Every href on the page, unescaped."""
    return [unescape(h) for h in re.findall(r'href="([^"]*)"', html)]


def link_to(html: str, label: str) -> str:
    """The href of the first link whose text is ``label``."""
    for href, inner in re.findall(r'<a [^>]*?href="([^"]*)"[^>]*>(.*?)</a>', html, re.S):
        if text(inner) == label:
            return unescape(href)
    raise AssertionError(f"no link {label!r}")


def element(html: str, element_id: str) -> str:
    """The opening tag and content of the element with this id, up to its closing tag."""
    m = re.search(rf'<(\w+)[^>]*\bid="{re.escape(element_id)}"[^>]*>.*?</\1>', html, re.S)
    assert m, element_id
    return m.group(0)


def summary(html: str) -> str:
    """The results' heading (counts and query), as text."""
    m = re.search(r'<h1 class="summary"[^>]*>(.*?)</h1>', html, re.S)
    assert m, "no results heading"
    return text(m.group(1))


@pytest.fixture(scope="module")
def ui_index(make_index) -> Path:
    """The seed and the UI threads (dated over 2009–2012, a long comment, a typo)."""
    return make_index([SEED_FILE, *UI_THREADS])


@pytest.fixture
def ui(make_app, ui_index: Path) -> FlaskClient:
    """A client over the seed and the UI threads."""
    return make_app(ui_index).test_client()


# -- filters and helpers ----------------------------------------------------------------------

@pytest.mark.parametrize(("iso", "shown"), [
    ("2009-02-05T21:38", "5 février 2009 à 21:38"),
    ("2009-02-05T09:05:59", "5 février 2009 à 09:05"),
    ("2009-02-01", "1er février 2009"),
    ("2009-08-15 14:00", "15 août 2009 à 14:00"),
    ("2009-12", "décembre 2009"),
    ("2009-13-01", "2009-13-01"),
    ("hier", "hier"),
    (None, ""),
    ("", ""),
])
def test_date_fr(iso: str | None, shown: str) -> None:
    """Dates in French; every space is a no-break space (« à / 19:00 » never splits)."""
    assert date_fr(iso) == shown.replace(" ", NBSP)


def test_month_numbers_and_plurals() -> None:
    assert month_fr("2009-02") == "février" and month_fr("2009-13") == "2009-13"
    assert number_fr(12345) == f"12{NNBSP}345"
    assert plural_fr(0, "résultat") == f"0{NBSP}résultat"
    assert plural_fr(1, "fil") == f"1{NBSP}fil"
    assert plural_fr(29, "passage") == f"29{NBSP}passages"
    assert plural_fr(2, "autre passage", "autres passages") == f"2{NBSP}autres passages"


@pytest.mark.parametrize(("raw", "fixed"), [
    ("La requête n'a pas pu être comprise.", "La requête n’a pas pu être comprise."),
    ("Construisez-la : « python -m indexer rebuild » ?",
     f"Construisez-la{NBSP}: «{NBSP}python -m indexer rebuild{NBSP}»{NNBSP}?"),
    ("Déjà bien ; merci !", f"Déjà bien{NNBSP}; merci{NNBSP}!"),
    ("http://x:8000 à 19:00", "http://x:8000 à 19:00"),
])
def test_typo_fr(raw: str, fixed: str) -> None:
    assert typo_fr(raw) == fixed


def test_filter_query_editing() -> None:
    assert set_filter("tres", "author", "Christophe Humbert", "auteur") == \
        'tres auteur:"Christophe Humbert"'
    assert set_filter("tres author:x", "author", "philrig", "auteur") == "tres auteur:philrig"
    assert set_filter("tres kind:post", "kind", "commentaire", "type") == \
        "tres type:commentaire"
    assert drop_filter('a author:"Jean Michel" b kind:post', "author") == "a b kind:post"
    assert drop_filter('"author:x" y', "author") == '"author:x" y'


@pytest.mark.parametrize(("q", "kept"), [
    ("-paris", "paris"), ('-"haut debit"', '"haut debit"'), ("SAUF paris", "paris"),
    ("(-a) -b", "(a) b"), ("a-b -c", "a-b c"),
])
def test_exclusions_dropped(q: str, kept: str) -> None:
    assert exclusions_dropped(q) == kept


def test_stop_words() -> None:
    assert stop_words("la le de et") == ["la", "le", "de", "et"]
    assert stop_words('"la" (du) lippi auteur:le') == ["la", "du"]


def test_page_numbers() -> None:
    assert page_numbers(1, 3) == [1, 2, 3]
    assert page_numbers(6, 20) == [1, None, 4, 5, 6, 7, 8, None, 20]


# -- every page: language, landmarks, headings, skip link, script ---------------------------

@pytest.mark.parametrize("url", ["/", "/?q=tres+haut+debit", "/?q=zzzqqqxxx", "/?q=author:",
                                 f"/thread/{SEED_ID}?q=debit", "/thread/nope", "/nowhere"])
def test_page_frame(client: FlaskClient, url: str) -> None:
    resp = client.get(url)
    html = resp.get_data(as_text=True)
    assert '<html lang="fr">' in html
    assert len(re.findall(r"<h1[ >]", html)) == 1
    assert re.search(r'<a class="skip-link" href="#(contenu|resultats)">', html)
    target = re.search(r'class="skip-link" href="#([^"]+)"', html)
    assert target and f'id="{target.group(1)}"' in html
    assert "<main" in html and "<header" in html and "<footer" in html
    assert '<script src="/static/fil.js" defer></script>' in html
    assert 'aria-keyshortcuts="/"' in html  # the search box, on every page


# -- the home page ------------------------------------------------------------------------------

def test_home_has_form_and_french_syntax_help(client: FlaskClient) -> None:
    html = get(client, "/")
    assert '<form class="search-form" method="get" action="/"' in html
    assert 'name="q"' in html and "autofocus" in html
    shown = unescape(html)
    for syntax in ('"haut débit"', "-obama", "SAUF obama", "obama OU sarkozy", "ET",
                   "auteur:philrig", 'auteur:"Christophe Humbert"', "type:billet",
                   "type:commentaire", "après:2009-02-06", "avant:2009-02-07", "fil:",
                   "entrep*"):
        assert syntax in shown, syntax
    assert "restent des mots" in text(html)  # lower-case « ou » and « et » are words
    for english in ("author:", "kind:post", "kind:comment", "after:", "before:", "OR"):
        assert english in shown  # also accepted, said once
    assert "Comment chercher" in html


def test_help_examples_run(client: FlaskClient) -> None:
    """Every example of the help is a query that runs and finds something on the seed."""
    html = get(client, "/")
    examples = [h for h in links(html) if h.startswith("/?q=")]
    assert len(examples) >= 12
    for url in examples:
        page = get(client, url)
        assert "<h1 class=\"summary\"" in page, url
        assert "Aucun résultat" not in page, url


# -- the results page ---------------------------------------------------------------------------

def test_results_page(client: FlaskClient) -> None:
    html = get(client, "/", q="tres haut debit")
    assert 'value="tres haut debit"' in html
    assert summary(html) == "1 fil, 5 passages pour « tres haut debit »"
    found = groups(html)
    assert len(found) == 1 and found[0][0] == SEED_TITLE
    assert len(found[0][1]) == 3  # the best three passages …
    assert "2 autres passages dans ce fil" in text(html)  # … and the others, counted
    hrefs = links(html)
    assert f"/thread/{SEED_ID}?q=tres+haut+debit" in hrefs  # the title
    assert f"/thread/{SEED_ID}?q=tres+haut+debit#correspondances" in hrefs  # the others
    assert "<mark>TRES</mark>" in html and "<mark>débit</mark>" in html
    labels = set(found[0][1])
    assert labels <= {"¶ 14 du billet", "¶ 2 du billet", "¶ 15 du billet",
                      "Commentaire 1 — Christophe Humbert, 5 février 2009 à 14:51",
                      "Commentaire 13 — philrig, 8 février 2009 à 19:00"}


def test_result_links_land_on_passage_or_first_mark(ui: FlaskClient) -> None:
    """Short passages: the passage's anchor; a long one: its first marked word."""
    html = get(ui, "/", q="fibre optique")
    hrefs = links(html)
    assert "/thread/campagne-2011?q=fibre+optique#c2-m1" in hrefs  # the long comment
    assert f"/thread/{SEED_ID}?q=fibre+optique#p14-m1" in hrefs  # a long paragraph
    short = get(ui, "/", q="connexion")
    assert "/thread/fibre-2010?q=connexion#p2" in links(short)


def test_titles_are_text_and_marked(ui: FlaskClient) -> None:
    html = get(ui, "/", q="debit mesure")
    title = re.search(r'<h2 class="thread-title"><a [^>]*>(.*?)</a></h2>', html, re.S)
    assert title
    assert title.group(1) == ("<mark>Débit</mark> : 10 &lt; 20 &amp; n&#x27;est pas du gras")
    thread = get(ui, "/thread/balises-2012", q="debit")
    assert "<h1><mark>Débit</mark> : 10 &lt; 20 &amp; n&#x27;est pas du gras</h1>" in thread
    assert "<title>Débit : 10 &lt; 20 &amp; n&#39;est pas du gras — Fil</title>" in thread


def test_results_are_grouped_by_thread(ui: FlaskClient) -> None:
    html = get(ui, "/", q="haut debit")
    found = groups(html)
    titles = [t for t, _ in found]
    assert len(titles) == len(set(titles)) == 4  # each thread once, its passages under it
    assert sorted(dict(found)["La fibre pour tous"]) == [
        "Commentaire 1 — Anne Marie, 2 mars 2010 à 10:00", "¶ 1 du billet"]
    assert summary(html) == "4 fils, 9 passages pour « haut debit »"
    assert "Billet de Jean Michel, 1er mars 2010 à 08:05" in text(html)  # what is known


def test_pages_count_threads(make_app, ui_index: Path) -> None:
    client = make_app(ui_index, PER_PAGE=2).test_client()
    seen: list[str] = []
    for page in (1, 2):
        html = get(client, "/", q="haut debit", page=page)
        assert f"Page {page} sur 2" in text(html)
        seen += [t for t, _ in groups(html)]
    assert len(seen) == len(set(seen)) == 4  # every thread on exactly one page
    first = get(client, "/", q="haut debit")
    assert "/?q=haut+debit&page=2" in links(first)
    assert "Précédente" not in text(first) and "Suivante" in text(first)
    assert 'aria-current="page"' in first
    last = get(client, "/", q="haut debit", page=2)
    assert "Suivante" not in text(last) and link_to(last, "← Précédente") == "/?q=haut+debit"


def test_page_past_the_end_goes_to_the_last_page(make_app, ui_index: Path) -> None:
    client = make_app(ui_index, PER_PAGE=2).test_client()
    resp = client.get("/", query_string={"q": "haut debit", "page": 20, "sort": "date"})
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/?q=haut+debit&page=2&sort=date"


def test_pagination_keeps_page_size_and_sort(ui: FlaskClient) -> None:
    html = get(ui, "/", q="haut debit", per_page=2, sort="date")
    assert "/?q=haut+debit&page=2&per_page=2&sort=date" in links(html)
    assert len(groups(html)) == 2


def test_sort_by_date(ui: FlaskClient) -> None:
    html = get(ui, "/", q="haut debit")
    assert link_to(html, "date") == "/?q=haut+debit&sort=date"
    assert re.search(r'<a href="[^"]*" aria-current="true">pertinence', html)
    by_date = get(ui, "/", q="haut debit", sort="date")
    assert [t for t, _ in groups(by_date)] == [
        "Haut débit et télétravail (2010)", "La fibre pour tous",
        "Haut débit et télétravail (2009)", SEED_TITLE]
    assert link_to(by_date, "pertinence") == "/?q=haut+debit"
    assert re.search(r'aria-current="true">date', by_date)


def test_unknown_sort_is_a_clear_error(ui: FlaskClient) -> None:
    html = get(ui, "/", status=400, q="debit", sort="hasard")
    assert "Le tri vaut relevance (pertinence) ou date" in text(html)


# -- facets: French filter names, every value kept, the active one announced -------------------

def test_kind_facet_writes_french_names_and_keeps_both(ui: FlaskClient) -> None:
    html = get(ui, "/", q="haut debit")
    assert link_to(html, "Paragraphes de billets") == "/?q=haut+debit+type:billet"
    assert link_to(html, "Commentaires") == "/?q=haut+debit+type:commentaire"
    chosen = get(ui, "/", q="haut debit type:commentaire")
    assert summary(chosen) == "2 fils, 3 passages pour « haut debit type:commentaire »"
    facet = re.search(r'aria-labelledby="facet-type">(.*?)</section>', chosen, re.S)
    assert facet
    shown = text(facet.group(1))
    assert "Paragraphes de billets 6" in shown  # the other kind keeps its count
    assert "Commentaires (filtre actif, le retirer) 3" in shown  # announced
    assert 'aria-current="true">Commentaires' in chosen
    assert link_to(chosen, "Commentaires (filtre actif, le retirer)") == "/?q=haut+debit"


def test_author_facet(ui: FlaskClient) -> None:
    html = get(ui, "/", q="haut debit")
    assert link_to(html, "Christophe Humbert") == \
        '/?q=haut+debit+auteur:"Christophe+Humbert"'.replace('"', "%22")
    narrowed = get(ui, link_to(html, "Luc"))
    assert summary(narrowed) == "2 fils, 2 passages pour « haut debit auteur:Luc »"
    assert "Anne Marie" in text(narrowed)  # the other authors stay offered
    assert link_to(narrowed, "Luc (filtre actif, le retirer)") == "/?q=haut+debit"


def test_date_facet_years_then_months(ui: FlaskClient) -> None:
    html = get(ui, "/", q="haut debit")
    facet = re.search(r'aria-labelledby="facet-date">(.*?)</section>', html, re.S)
    assert facet
    shown = text(facet.group(1))
    assert shown.startswith("Date 2010 3 2009 3")  # newest year first
    assert "3 passages sans date (écartés par tout filtre de date)" in shown
    year = link_to(html, "2010")
    assert year == "/?q=haut+debit+après:2010+avant:2010".replace("è", "%C3%A8")
    in_year = get(ui, year)
    assert summary(in_year).startswith("2 fils, 3 passages")
    facet = re.search(r'aria-labelledby="facet-date">(.*?)</section>', in_year, re.S)
    assert facet and "2009 3" in text(facet.group(1))  # the other years stay offered
    months = re.search(r'<ul class="months" aria-label="Mois de 2010">(.*?)</ul>',
                       in_year, re.S)
    assert months and text(months.group(1)) == "mars 2 juillet 1"
    march = get(ui, link_to(in_year, "mars"))
    assert summary(march).startswith("1 fil, 2 passages")
    assert 'aria-current="true">mars' in march
    assert link_to(march, "mars (filtre actif, le retirer)") == year


def test_hand_typed_period_is_shown_and_removable(ui: FlaskClient) -> None:
    html = get(ui, "/", q="haut debit after:2010-02-15")
    assert "depuis 15 février 2010" in text(html)
    assert link_to(html, "depuis 15 février 2010 (filtre actif, le retirer)") == \
        "/?q=haut+debit"


def test_clear_filters_drops_dates_too(ui: FlaskClient) -> None:
    html = get(ui, "/", q="haut debit type:billet après:2009 avant:2010 auteur:luc")
    assert link_to(html, "Retirer tous les filtres") == "/?q=haut+debit"


def test_filters_are_folded_in_details(client: FlaskClient) -> None:
    html = get(client, "/", q="tres haut debit")
    assert re.search(r'<details class="filters" id="filtres">\s*<summary>Filtres', html)
    before_results = html.index('<details class="filters"') < html.index('id="resultats"')
    assert before_results  # a one-line summary above the results on a phone
    active = get(client, "/", q="tres haut debit type:billet")
    assert "Filtres (1 actif)" in text(active)


# -- notices, corrections and the empty results --------------------------------------------------

def test_rescued_word_reads_as_results_for_the_closest_word(client: FlaskClient) -> None:
    html = get(client, "/", q="sarkosy")
    assert ("Aucun passage ne contient «\u00a0sarkosy\u00a0»\u00a0: résultats pour "
            "«\u00a0sarkozy\u00a0», le mot le plus proche.") in unescape(html)
    assert "Vouliez-vous dire" not in html  # not offered a second time
    assert groups(html)
    assert "<mark>Sarkozy</mark>" in html  # marked as an exact word, not a stem
    # the thread page marks the word that was searched
    assert f"/thread/{SEED_ID}?q=sarkozy#p15-m1" in links(html)


def test_correction_applied_when_nothing_matches(ui: FlaskClient) -> None:
    html = get(ui, "/", q="connexiom type:billet")
    assert 'value="connexion type:billet"' in html
    assert ("Aucun résultat pour « connexiom type:billet » : résultats pour "
            "« connexion type:billet ».") in text(html)
    assert summary(html).startswith("5 fils, 5 passages")
    back = link_to(html, "Rechercher plutôt « connexiom type:billet »")
    assert back == "/?q=connexiom+type:billet&tel_quel=1"
    as_typed = get(ui, back)
    assert 'value="connexiom type:billet"' in as_typed
    assert "Aucun résultat pour « connexiom type:billet »" in text(as_typed)
    # what helps then: the kind filter hides the one comment that has the word
    assert "Aucun paragraphe de billet ne correspond, mais 1 passage sans ce filtre." in \
        text(as_typed)
    assert link_to(as_typed, "Voir les billets et les commentaires") == "/?q=connexiom"


def test_empty_spelling_as_typed_offers_the_suggestion(ui: FlaskClient) -> None:
    corrected = get(ui, "/", q="connexiom -lente")  # the one « connexiom » is « lente »
    assert summary(corrected).startswith("5 fils, 5 passages pour « connexion -lente »")
    as_typed = get(ui, "/", q="connexiom -lente", tel_quel=1)
    assert "Vouliez-vous dire « connexion -lente » ?" in text(as_typed)
    assert link_to(as_typed, "« connexion -lente »") == "/?q=connexion+-lente"
    assert "orthographe" not in text(as_typed)


def test_any_word_notice(client: FlaskClient) -> None:
    html = get(client, "/", q="obama sarkozy xyzzyq")
    assert (f"Aucun passage ne contient tous les mots{NNBSP}; voici les passages qui en "
            "contiennent le plus.") in unescape(html)
    assert groups(html)


def test_all_words_has_no_fallback_notice(client: FlaskClient) -> None:
    assert "Aucun passage ne contient tous les mots" not in unescape(
        get(client, "/", q="tres haut debit"))


def test_empty_nothing_found_explains_syntax(client: FlaskClient) -> None:
    html = get(client, "/", q="zzzqqqxxx")
    assert "Aucun résultat pour « zzzqqqxxx »" in text(html)
    assert "vérifiez l’orthographe" in text(html)
    assert "Comment chercher" in html and "auteur:" in html and "entrep*" in html


def test_empty_stop_words_only(client: FlaskClient) -> None:
    html = get(client, "/", q="la le de et")
    shown = text(html)
    assert ("« la », « le », « de » et « et » sont des mots trop courants : Fil ne les "
            "cherche pas seuls.") in shown
    assert "orthographe" not in shown
    assert link_to(html, "Modifier la recherche") == "#q"


def test_empty_exclusion_only(client: FlaskClient) -> None:
    html = get(client, "/", q="-lippi")
    shown = text(html)
    assert "Cette recherche ne fait qu’exclure" in shown and "orthographe" not in shown
    assert link_to(html, "Rechercher plutôt « lippi »") == "/?q=lippi"


def test_empty_date_filter_drops_undated_passages(ui: FlaskClient) -> None:
    html = get(ui, "/", q="lippi après:2010")
    shown = text(html)
    assert ("Aucun passage de cette période ne correspond. Sans le filtre de date, "
            "10 passages correspondent, dont 9 passages sans date : un filtre de date "
            "écarte toujours les passages sans date.") in shown
    assert "orthographe" not in shown
    assert link_to(html, "Voir les résultats sans filtre de date") == "/?q=lippi"


def test_empty_author_filter(ui: FlaskClient) -> None:
    html = get(ui, "/", q="fibre auteur:luc")
    assert "Aucun passage de « luc » ne correspond" in text(html)
    assert link_to(html, "Voir les passages de tous les auteurs") == "/?q=fibre"


def test_empty_other_filters(ui: FlaskClient) -> None:
    html = get(ui, "/", q="fibre fil:fibre-2010")
    assert "Les filtres écartent tous les passages." in text(html)
    assert link_to(html, "Retirer tous les filtres") == "/?q=fibre"


@pytest.mark.parametrize("q", ["author:", "kind:truc", "after:2009-13-45", "x" * 5000])
def test_bad_query_shows_message(client: FlaskClient, q: str) -> None:
    html = get(client, "/", status=400, q=q)
    assert "Cette recherche ne peut pas être lancée" in html
    assert "Traceback" not in html
    assert 'name="q"' in html


def test_bad_query_messages_read_in_french(client: FlaskClient) -> None:
    assert "Il manque une valeur après author: (par exemple author:philrig)." in text(
        get(client, "/", status=400, q="author:"))
    assert "« 2009-13-45 » n’est pas une date valide (filtre after:)." in text(
        get(client, "/", status=400, q="after:2009-13-45"))


def test_bad_page_param_shows_message(client: FlaskClient) -> None:
    html = get(client, "/", status=400, q="lippi", page="abc")
    assert "Cette recherche ne peut pas être lancée" in html


@pytest.mark.parametrize(("q", "shown"), [
    ('"unbalanced', '« "unbalanced »'), ("((", "« (( »"), ("*", "« * »"), ("-", "« - »"),
    ("OR", "« OR »"),
])
def test_odd_queries_render(client: FlaskClient, q: str, shown: str) -> None:
    """Queries the parser can make nothing of: an empty result, the query shown escaped."""
    html = get(client, "/", q=q)
    assert f"Aucun résultat pour {shown}" in text(html)
    assert "Traceback" not in html


@pytest.mark.parametrize("q", ["\x00", "\x01\x1b", "\t \n"])
def test_blank_queries_show_the_home_page(client: FlaskClient, q: str) -> None:
    """Control characters count as spaces: nothing is searched, the home page shows."""
    html = get(client, "/", q=q)
    assert "Comment chercher" in html
    assert "Aucun résultat" not in html and 'class="thread-group"' not in html


def test_query_is_kept_escaped_in_form(client: FlaskClient) -> None:
    html = get(client, "/", q='"haut debit"')
    assert 'value="&#34;haut debit&#34;"' in html  # Jinja's autoescape


# -- the thread page ----------------------------------------------------------------------------

def test_thread_page_anchors(client: FlaskClient) -> None:
    html = get(client, f"/thread/{SEED_ID}")
    assert f"<h1>{SEED_TITLE}</h1>" in html
    ids = re.findall(r'\bid="([pc]\d+)"', html)
    assert ids == [f"p{n}" for n in range(1, 16)] + [f"c{n}" for n in range(1, 15)]
    assert f"14{NBSP}commentaires" in html


def test_comments_have_headings(client: FlaskClient) -> None:
    html = get(client, f"/thread/{SEED_ID}")
    heads = re.findall(r'<h3 class="comment-header" id="c(\d+)-h">(.*?)</h3>', html, re.S)
    assert [int(n) for n, _ in heads] == list(range(1, 15))
    assert text(heads[2][1]) == "Commentaire 3 — Thierry, 5 février 2009 à 21:38"
    assert 'aria-labelledby="c3-h"' in html
    assert 'datetime="2009-02-05T21:38' in element(html, "c3")


def test_reply_links(client: FlaskClient) -> None:
    html = get(client, f"/thread/{SEED_ID}")
    c4 = text(element(html, "c4"))
    assert "en réponse à Thierry (commentaire 3)" in c4
    assert '<a href="#c3">' in element(html, "c4")
    c3 = text(element(html, "c3"))
    assert "Réponses : Billaut (commentaire 4)" in c3
    c7 = element(html, "c7")  # @Thierry and @Xavier
    assert '<a href="#c5">' in c7 and '<a href="#c2">' in c7


def test_thread_page_marks_query_words(client: FlaskClient) -> None:
    html = get(client, f"/thread/{SEED_ID}", q="tres haut debit")
    p14 = element(html, "p14")
    assert ('<mark id="p14-m1">TRES</mark> <mark>haut</mark> <mark>débit</mark>' in p14)
    assert "<mark>très</mark>" in element(html, "p2") or \
        '<mark id="p2-m1">très</mark>' in element(html, "p2")
    assert '<mark id="c13-m1">tres</mark>' in element(html, "c13")
    assert "Retour aux résultats" in html and "/?q=tres+haut+debit" in links(html)
    assert "<mark" not in get(client, f"/thread/{SEED_ID}")


def test_thread_page_lists_and_links_its_matches(client: FlaskClient) -> None:
    html = get(client, f"/thread/{SEED_ID}", q="tres haut debit")
    box = element(html, "correspondances")
    marked = re.findall(r'href="#([pc]\d+)-m1"', box)
    assert marked == ["p2", "p7", "p14", "p15", "c1", "c13"]
    assert text(re.search(r"<h2[^>]*>(.*?)</h2>", box, re.S).group(1)) == \
        "6 passages contiennent les mots cherchés"
    # each marked passage links to the previous and the next one (no JavaScript needed)
    p14 = element(html, "p14")
    assert 'href="#p7-m1" rel="prev"' in p14 and 'href="#p15-m1" rel="next"' in p14
    assert "correspondance précédente" in text(p14) and "correspondance suivante" in text(p14)
    assert 'rel="prev"' not in element(html, "p2")
    c13 = element(html, "c13")
    assert 'href="#c1-m1" rel="prev"' in c13 and 'rel="next"' not in c13
    for anchor in marked:  # every link has its target
        assert f'id="{anchor}-m1"' in html


def test_thread_page_stem_marks(client: FlaskClient) -> None:
    html = get(client, f"/thread/{SEED_ID}", q="entreprises")
    assert '<mark class="stem">entreprise</mark>' in html  # the stem only: lighter
    assert "<mark>entreprises</mark>" in html or '-m1">entreprises</mark>' in html


def test_back_link_keeps_page_sort_and_filters(make_app, ui_index: Path) -> None:
    client = make_app(ui_index, PER_PAGE=2).test_client()
    html = get(client, "/", q="haut debit type:billet", page=2, sort="date")
    entry = re.search(r'<h2 class="thread-title"><a href="([^"]*)"', html)
    assert entry
    url = unescape(entry.group(1))
    assert parse_qs(urlsplit(url).query) == {"q": ["haut debit type:billet"], "page": ["2"],
                                             "sort": ["date"]}
    thread = get(client, url)
    assert link_to(thread, "← Retour aux résultats pour « haut debit type:billet »") == \
        "/?q=haut+debit+type:billet&page=2&sort=date"


def test_thread_page_marks_phrase_and_elision(client: FlaskClient) -> None:
    html = get(client, f"/thread/{SEED_ID}", q="l'entreprise")
    assert "l&#x27;<mark" in element(html, "p6")  # html.escape's form
    assert "entreprise</mark>" in element(html, "p6")


@pytest.mark.parametrize("q", ["author:", "((", "x" * 5000, "\x00"])
def test_thread_page_tolerates_bad_query(client: FlaskClient, q: str) -> None:
    html = get(client, f"/thread/{SEED_ID}", q=q)
    assert "<mark" not in html
    assert 'id="p15"' in html


def test_result_link_lands_on_passage(client: FlaskClient) -> None:
    html = get(client, "/", q="author:philrig")
    url = next(h for h in links(html) if h.endswith("#c13"))
    parts = urlsplit(url)
    assert parse_qs(parts.query)["q"] == ["author:philrig"]
    page = get(client, f"{parts.path}?{parts.query}")
    assert 'id="c13"' in page


def test_long_comment_has_its_first_mark_anchored(ui: FlaskClient) -> None:
    html = get(ui, f"/thread/{LONG_COMMENT['id']}", q="fibre optique")
    c2 = element(html, "c2")
    assert '<mark id="c2-m1">fibre</mark> <mark>optique</mark>' in c2
    assert c2.index("c2-m1") > 40 * len("Nous avons longuement parlé")


def test_unknown_thread_is_404(client: FlaskClient) -> None:
    html = get(client, "/thread/does-not-exist", status=404)
    assert "introuvable" in html
    assert "Traceback" not in html


def test_unknown_page_is_french_404(client: FlaskClient) -> None:
    html = get(client, "/nowhere", status=404)
    assert "Page introuvable" in html
    assert "Cette page n’existe pas (ou plus)." in unescape(html)  # typographic apostrophe


def test_thread_page_source_link_and_post_meta(make_index, make_app) -> None:
    client = make_app(make_index([OTHER_THREAD])).test_client()
    html = get(client, "/thread/fibre-2010")
    assert 'href="https://example.org/fibre"' in html
    assert "Jean Michel" in html and "1er mars 2010 à 08:05" in text(html)


def test_markup_title_thread_is_listed(ui: FlaskClient) -> None:
    assert MARKUP_TITLE["id"] in " ".join(links(get(ui, "/", q="megabits")))


# -- missing index ----------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/", "/?q=lippi", f"/thread/{SEED_ID}"])
def test_missing_index_page(make_app, tmp_path, url: str) -> None:
    client = make_app(tmp_path / "no-index").test_client()
    html = get(client, url, status=503)
    assert "python -m indexer rebuild" in html
    assert "Index introuvable" in html
    assert str(tmp_path) not in html and "Traceback" not in html


def test_thread_page_marks_prefix_matches(client: FlaskClient) -> None:
    html = get(client, f"/thread/{SEED_ID}", q="entrep*")
    p7 = element(html, "p7")
    assert "entreprises</mark>" in p7
    # the compound's part starting with the prefix is marked, not « auto »
    assert "auto-<mark>entrepreneur</mark>" in p7


# -- French typography of the interface ----------------------------------------------------------

#: Interface text only: thread content (titles, passages, names) is the authors' own.
CONTENT = re.compile(
    r'<(p|h1|h2|h3|span|a|title|code|mark|kbd|pre)[^>]*class="(snippet|thread-title|author'
    r'|para-text|comment-body)"[^>]*>.*?</\1>|<title>.*?</title>|<code>.*?</code>'
    r'|<kbd>.*?</kbd>|<input[^>]*>|<h1>.*?</h1>|<h2 class="thread-title">.*?</h2>'
    r'|<article id="c\d+".*?</article>|<p id="p\d+".*?</p>|<script.*?</script>', re.S)


def interface_text(html: str) -> str:
    """A page's own text (thread content, code and the query echoed back removed)."""
    return unescape(re.sub(r"<[^>]+>", " ", CONTENT.sub(" ", html)))


#: What French typography forbids in interface text, and why.
TYPO_RULES = [
    (re.compile(r"'"), "straight apostrophe (’)"),
    (re.compile(r"[^\s\u00a0]:(?=\s|$)"), "no no-break space before :"),
    (re.compile(r"[ \u202f]:(?=\s|$)"), "plain or narrow space before : (no-break space)"),
    (re.compile(r"[ \u00a0][;!?]"), "plain or no-break space before ; ! ? (narrow)"),
    (re.compile(r"\w[;!?]"), "no space before ; ! ?"),
    (re.compile(r"« |«\w| »|\w»"), "plain or no space inside « »"),
    (re.compile(r"\d (fils?|passages?|paragraphes?|commentaires?|actifs?|résultats?|"
                r"caractères|niveaux|lettres|mots|pages|janvier|février|mars|avril|mai|juin|"
                r"juillet|août|septembre|octobre|novembre|décembre)\b"),
     "plain space between a number and its word"),
]


def typography_faults(shown: str) -> list[str]:
    """Each fault with its context."""
    faults = []
    for rule, why in TYPO_RULES:
        for m in rule.finditer(shown):
            faults.append(f"{why}: {shown[max(0, m.start() - 30):m.end() + 30]!r}")
    return faults


@pytest.mark.parametrize("url", [
    "/", "/?q=haut+debit", "/?q=haut+debit+type:commentaire+après:2010+avant:2010",
    "/?q=la+le+de+et", "/?q=-lippi", "/?q=lippi+après:2010", "/?q=sarkosy",
    "/?q=connexiom+type:billet", "/?q=connexiom+type:billet&tel_quel=1", "/?q=author:",
    "/?q=obama+sarkozy+xyzzyq", f"/thread/{SEED_ID}?q=tres+haut+debit", "/thread/nope",
    "/nowhere", "/?q=lippi&page=abc", "/?q=fibre+auteur:luc", "/?q=fibre+fil:fibre-2010",
    "/?q=connexiom+-lente&tel_quel=1", "/?q=debit&sort=hasard",
])
def test_french_typography(ui: FlaskClient, url: str) -> None:
    html = ui.get(url).get_data(as_text=True)
    shown = " ".join(interface_text(html).split(" "))
    for q in parse_qs(urlsplit(url).query).get("q", []):
        shown = shown.replace(q, "…")
    assert typography_faults(shown) == []


# -- python -m search_app -----------------------------------------------------------------------

def test_serve_builds_missing_index_then_serves(tmp_path: Path) -> None:
    """The README's first command: with no index yet, build it, say so, then serve pages."""
    import os
    import subprocess
    import sys
    import urllib.request

    port = free_port()
    index = tmp_path / "index"
    env = {k: v for k, v in os.environ.items()
           if k not in ("FIL_INDEX_DIR", "FIL_BACKEND", "FIL_DATABASE_URL", "FIL_SOURCES")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.Popen(
        [sys.executable, "-m", "search_app", "--host", "127.0.0.1", "--port", str(port),
         "--threads", "2", "--index", str(index), "--source", str(SEED_DIR)],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/?q=tres+haut+debit"
    pages: list[str] = []

    def answered() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=GENEROUS_SECONDS) as resp:
                pages.append(resp.read().decode("utf-8"))
        except OSError:
            assert proc.poll() is None, proc.communicate()[1]
            return False
        return True

    try:
        wait_until(answered, "the server never answered", poll=0.2)
        assert "1 fil, 5 passages" in text(pages[0])
        assert (index / "CURRENT").exists()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=GENEROUS_SECONDS)
    assert "No index yet: building it from" in err and "Index built: 1 thread" in err


def test_serve_fails_clearly_without_source(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """No index and no thread files: one message, a hint, exit status 1, no traceback."""
    from search_app.__main__ import main

    code = main(["--index", str(tmp_path / "index"), "--source", str(tmp_path / "none"),
                 "--port", "0"])
    assert code == 1
    err = capsys.readouterr().err
    assert "Cannot build the index: source not found" in err and " rebuild --index " in err
