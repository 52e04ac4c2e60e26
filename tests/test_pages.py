"""The HTML pages over a real index: search results, thread page, errors (French UI)."""

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

from indexer.search.query import drop_filter, set_filter
from search_app.filters import date_fr, number_fr, plural_fr
from search_app.views import page_numbers

OTHER_THREAD = {
    "id": "fibre-2010",
    "title": "La fibre pour tous",
    "url": "https://example.org/fibre",
    "post": {"author": "Jean Michel", "date": "2010-03-01T08:05",
             "paragraphs": ["Le très haut débit arrive enfin dans nos campagnes.",
                            "Un paragraphe sans rapport."]},
    "comments": [
        {"author": "Anne Marie", "date": "2010-03-02T10:00",
         "paragraphs": ["Le haut débit, chez nous, c'est encore un rêve."]},
    ],
}


def get(client: FlaskClient, url: str, status: int = 200, **params: object) -> str:
    """GET a page, check its status and that it is HTML, and return its text."""
    resp = client.get(url, query_string=params or None)
    assert resp.status_code == status, resp.get_data(as_text=True)[:500]
    assert resp.mimetype == "text/html"
    return resp.get_data(as_text=True)


def groups(html: str) -> list[tuple[str, list[str]]]:
    """(thread title, passage labels) for each result group, in page order."""
    out = []
    for part in html.split('<section class="thread-group">')[1:]:
        title = re.search(r'<h2 class="thread-title"><a [^>]*>(.*?)</a>', part, re.S)
        labels = re.findall(r'<a class="hit-label" [^>]*>(.*?)</a>', part, re.S)
        assert title
        out.append((unescape(title.group(1)), [unescape(" ".join(x.split())) for x in labels]))
    return out


def links(html: str) -> list[str]:
    """Every href on the page, unescaped."""
    return [unescape(h) for h in re.findall(r'href="([^"]*)"', html)]


def element(html: str, element_id: str) -> str:
    """The opening tag and content of the element with this id, up to its closing tag."""
    m = re.search(rf'<(\w+)[^>]*\bid="{re.escape(element_id)}"[^>]*>.*?</\1>', html, re.S)
    assert m, element_id
    return m.group(0)


# -- filters and helpers ----------------------------------------------------------------------

@pytest.mark.parametrize(("iso", "text"), [
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
def test_date_fr(iso: str | None, text: str) -> None:
    assert date_fr(iso) == text


def test_numbers_and_plurals() -> None:
    assert number_fr(12345) == "12\u202f345"
    assert plural_fr(0, "résultat") == "0 résultat"
    assert plural_fr(1, "résultat") == "1 résultat"
    assert plural_fr(29, "résultat") == "29 résultats"


def test_filter_query_editing() -> None:
    assert set_filter("tres", "author", "Christophe Humbert") == 'tres author:"Christophe Humbert"'
    assert set_filter("tres author:x", "author", "philrig") == "tres author:philrig"
    assert set_filter("tres auteur:x", "author", "philrig") == "tres author:philrig"
    assert drop_filter('a author:"Jean Michel" b kind:post', "author") == "a b kind:post"
    assert drop_filter('"author:x" y', "author") == '"author:x" y'


def test_page_numbers() -> None:
    assert page_numbers(1, 3) == [1, 2, 3]
    assert page_numbers(6, 20) == [1, None, 4, 5, 6, 7, 8, None, 20]


# -- search page ------------------------------------------------------------------------------

def test_home_has_form_and_syntax_help(client: FlaskClient) -> None:
    html = get(client, "/")
    assert '<html lang="fr">' in html
    assert '<form class="search-form" method="get" action="/"' in html
    assert 'name="q"' in html
    for syntax in ('"haut débit"', "-obama", " OR ", "author:", "kind:post", "kind:comment",
                   "after:", "before:", "entrep*"):
        assert syntax in unescape(html), syntax
    assert "Comment chercher" in html


def test_results_page(client: FlaskClient) -> None:
    html = get(client, "/", q="tres haut debit")
    assert 'value="tres haut debit"' in html
    assert "5 résultats" in html
    found = groups(html)
    assert len(found) == 1 and found[0][0] == SEED_TITLE
    assert sorted(found[0][1]) == sorted([
        "¶ 14 du billet", "¶ 2 du billet", "¶ 15 du billet",
        "Commentaire 1 — Christophe Humbert, 5 février 2009 à 14:51",
        "Commentaire 13 — philrig, 8 février 2009 à 19:00",
    ])
    hrefs = links(html)
    for anchor in ("p2", "p14", "p15", "c1", "c13"):
        assert f"/thread/{SEED_ID}?q=tres+haut+debit#{anchor}" in hrefs
    assert f"/thread/{SEED_ID}?q=tres+haut+debit" in hrefs  # the group title
    assert "<mark>TRES</mark>" in html and "<mark>débit</mark>" in html


def test_results_labels_and_dates(client: FlaskClient) -> None:
    html = get(client, "/", q="author:thierry")
    labels = groups(html)[0][1]
    assert "Commentaire 3 — Thierry, 5 février 2009 à 21:38" in labels
    assert "Commentaire 5 — Thierry, 5 février 2009 à 23:36" in labels
    assert "2 résultats" in html


def test_results_are_grouped_by_thread(make_index, make_app) -> None:
    client = make_app(make_index([SEED_FILE, OTHER_THREAD])).test_client()
    html = get(client, "/", q="haut debit")
    found = groups(html)
    titles = [t for t, _ in found]
    assert sorted(titles) == sorted([SEED_TITLE, "La fibre pour tous"])
    assert len(titles) == len(set(titles))  # each thread once, its passages under it
    assert sorted(dict(found)["La fibre pour tous"]) == [
        "Commentaire 1 — Anne Marie, 2 mars 2010 à 10:00", "¶ 1 du billet"]
    assert len(dict(found)[SEED_TITLE]) == 5
    assert "7 résultats" in html


def test_unknown_word_is_searched_as_its_closest_word(client: FlaskClient) -> None:
    html = get(client, "/", q="sarkosy")
    assert ("«\u00a0sarkosy\u00a0» n’apparaît dans aucun passage\u202f: cherché comme "
            "«\u00a0sarkozy\u00a0».") in unescape(html)
    assert "/?q=sarkozy" in links(html)
    assert groups(html)


def test_any_word_notice(client: FlaskClient) -> None:
    html = get(client, "/", q="obama sarkozy xyzzy")
    assert ("Aucun passage ne contient tous les mots ; voici les passages qui en "
            "contiennent le plus.") in unescape(html)
    assert groups(html)


def test_all_words_has_no_fallback_notice(client: FlaskClient) -> None:
    assert "Aucun passage ne contient tous les mots" not in unescape(
        get(client, "/", q="tres haut debit"))


def test_empty_state_explains_syntax(client: FlaskClient) -> None:
    html = unescape(get(client, "/", q="zzzqqqxxx"))
    assert "Aucun résultat pour « zzzqqqxxx »" in html
    assert "Comment chercher" in html and "author:" in html and "entrep*" in html


def test_author_facet_links(client: FlaskClient) -> None:
    html = get(client, "/", q="tres haut debit")
    hrefs = links(html)
    assert '/?q=tres+haut+debit+author:"Christophe+Humbert"' in [
        h.replace("%22", '"') for h in hrefs]
    assert "/?q=tres+haut+debit+author:philrig" in hrefs
    assert re.search(r">philrig</a>\s*<span class=\"count\">1</span>", html)
    # following the link narrows the results to that author
    url = next(h for h in hrefs if "Christophe" in h)
    narrowed = get(client, url)
    assert [label for _, labels in groups(narrowed) for label in labels] == [
        "Commentaire 1 — Christophe Humbert, 5 février 2009 à 14:51"]
    assert "1 résultat" in narrowed
    # the active filter links back to the unfiltered query
    assert "/?q=tres+haut+debit" in links(narrowed)


def test_kind_facet_links(client: FlaskClient) -> None:
    html = get(client, "/", q="tres haut debit")
    hrefs = links(html)
    assert "/?q=tres+haut+debit+kind:post" in hrefs
    assert "/?q=tres+haut+debit+kind:comment" in hrefs
    posts = get(client, "/", q="tres haut debit kind:post")
    labels = [label for _, ls in groups(posts) for label in ls]
    assert sorted(labels) == ["¶ 14 du billet", "¶ 15 du billet", "¶ 2 du billet"]
    comments = get(client, "/", q="tres haut debit kind:comment")
    labels = [label for _, ls in groups(comments) for label in ls]
    assert sorted(labels) == ["Commentaire 1 — Christophe Humbert, 5 février 2009 à 14:51",
                              "Commentaire 13 — philrig, 8 février 2009 à 19:00"]


def test_pagination(make_app, seed_index) -> None:
    client = make_app(seed_index, PER_PAGE=3).test_client()
    first = get(client, "/", q="entreprise")
    assert "Précédent" in first and "Suivant" in first
    assert "/?q=entreprise&page=2" in links(first)
    assert 'aria-current="page">1<' in first
    second = get(client, "/", q="entreprise", page=2)
    assert 'aria-current="page">2<' in second
    assert "/?q=entreprise" in links(second)  # previous = page 1
    seen_first = re.findall(r'#([pc]\d+)"', first)
    seen_second = re.findall(r'#([pc]\d+)"', second)
    assert not set(seen_first) & set(seen_second)


def test_page_past_the_end(client: FlaskClient) -> None:
    html = get(client, "/", q="tres haut debit", page=9)
    assert "Pas de résultat sur cette page" in html


@pytest.mark.parametrize("q", ["author:", "kind:truc", "after:2009-13-45", "x" * 5000])
def test_bad_query_shows_message(client: FlaskClient, q: str) -> None:
    html = get(client, "/", status=400, q=q)
    assert "Cette recherche ne peut pas être lancée" in html
    assert "Traceback" not in html
    assert 'name="q"' in html


def test_bad_page_param_shows_message(client: FlaskClient) -> None:
    html = get(client, "/", status=400, q="lippi", page="abc")
    assert "Cette recherche ne peut pas être lancée" in html


@pytest.mark.parametrize(("q", "shown"), [
    ('"unbalanced', "« &#34;unbalanced »"), ("((", "« (( »"), ("*", "« * »"), ("-", "« - »"),
    ("OR", "« OR »"),
])
def test_odd_queries_render(client: FlaskClient, q: str, shown: str) -> None:
    """Queries the parser can make nothing of: an empty result, the query shown escaped."""
    html = get(client, "/", q=q)
    assert f"Aucun résultat pour {shown}" in html
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


# -- thread page ------------------------------------------------------------------------------

def test_thread_page_anchors(client: FlaskClient) -> None:
    html = get(client, f"/thread/{SEED_ID}")
    assert f"<h1>{SEED_TITLE}</h1>" in html
    ids = re.findall(r'\bid="([pc]\d+)"', html)
    assert ids == [f"p{n}" for n in range(1, 16)] + [f"c{n}" for n in range(1, 15)]
    assert "14 commentaires" in html


def test_thread_page_comment_metadata(client: FlaskClient) -> None:
    html = get(client, f"/thread/{SEED_ID}")
    c3 = element(html, "c3")
    assert "Commentaire 3" in c3 and "Thierry" in c3
    assert "5 février 2009 à 21:38" in c3
    assert 'datetime="2009-02-05T21:38' in c3


def test_reply_links(client: FlaskClient) -> None:
    html = get(client, f"/thread/{SEED_ID}")
    c4 = " ".join(element(html, "c4").split())
    assert 'en réponse à <a href="#c3">Thierry (commentaire 3)</a>' in c4
    c3 = " ".join(element(html, "c3").split())
    assert 'Réponses : <a href="#c4">Billaut (commentaire 4)</a>' in c3
    c7 = " ".join(element(html, "c7").split())  # @Thierry and @Xavier
    assert '<a href="#c5">' in c7 and '<a href="#c2">' in c7


def test_thread_page_marks_query_words(client: FlaskClient) -> None:
    html = get(client, f"/thread/{SEED_ID}", q="tres haut debit")
    p14 = element(html, "p14")
    assert "<mark>TRES</mark> <mark>haut</mark> <mark>débit</mark>" in p14
    assert "<mark>très</mark>" in element(html, "p2")
    assert "<mark>tres</mark>" in element(html, "c13")
    assert "Retour aux résultats" in html and "/?q=tres+haut+debit" in links(html)
    assert "<mark>" not in get(client, f"/thread/{SEED_ID}")


def test_thread_page_marks_phrase_and_elision(client: FlaskClient) -> None:
    html = get(client, f"/thread/{SEED_ID}", q="l'entreprise")
    assert "l&#x27;<mark>entreprise</mark>" in element(html, "p6")  # html.escape's form


@pytest.mark.parametrize("q", ["author:", "((", "x" * 5000, "\x00"])
def test_thread_page_tolerates_bad_query(client: FlaskClient, q: str) -> None:
    html = get(client, f"/thread/{SEED_ID}", q=q)
    assert "<mark>" not in html
    assert 'id="p15"' in html


def test_result_link_lands_on_passage(client: FlaskClient) -> None:
    html = get(client, "/", q="author:philrig")
    url = next(h for h in links(html) if h.endswith("#c13"))
    parts = urlsplit(url)
    assert parse_qs(parts.query)["q"] == ["author:philrig"]
    page = get(client, f"{parts.path}?{parts.query}")
    assert 'id="c13"' in page


def test_unknown_thread_is_404(client: FlaskClient) -> None:
    html = get(client, "/thread/does-not-exist", status=404)
    assert "introuvable" in html
    assert "Traceback" not in html


def test_unknown_page_is_french_404(client: FlaskClient) -> None:
    html = get(client, "/nowhere", status=404)
    assert "Page introuvable" in html


def test_thread_page_source_link_and_post_meta(make_index, make_app) -> None:
    client = make_app(make_index([OTHER_THREAD])).test_client()
    html = get(client, "/thread/fibre-2010")
    assert 'href="https://example.org/fibre"' in html
    assert "Jean Michel" in html and "1er mars 2010 à 08:05" in html


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
    assert "<mark>entreprises</mark>" in element(html, "p7")
    # the compound's part starting with the prefix is marked, not « auto »
    assert "auto-<mark>entrepreneur</mark>" in element(html, "p7")


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
        assert "5 résultats" in pages[0]
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


def test_active_filters_link_back(client: FlaskClient) -> None:
    html = get(client, "/", q="tres haut debit type:billet")
    kinds = re.search(r"<h2>Type</h2>(.*?)</section>", html, re.S)
    assert kinds and 'class="active"' in kinds.group(1)
    assert "/?q=tres+haut+debit" in links(html)  # removing the filter
    assert "Retirer les filtres" in html


def test_pagination_keeps_page_size(client: FlaskClient) -> None:
    html = get(client, "/", q="entreprise", per_page=2)
    assert "/?q=entreprise&page=2&per_page=2" in links(html)
    assert len(groups(html)[0][1]) == 2
