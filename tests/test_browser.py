"""End to end in a real browser: waitress serves the app, Debian's Chromium drives it.

Each flow a reader follows, with JavaScript and without it: search, read the results
(threads with their best passages), filter, sort, page, open a passage (scrolled to it,
the query's words marked), move between the marks, go back to the same results; the
empty results and what each offers; the keyboard. Needs /usr/bin/chromium (no browser
download is possible here); without it the tests are skipped with the reason, except
under CI (env CI set), where a missing browser fails. Screenshots go to tests/artifacts/
(git-ignored); the README's picture is refreshed on purpose only, with
``python tests/screenshots.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest
from browser_support import (
    PHONE,
    browser,
    colours,
    open_page,
    page,
    phone,
    server,
    shot,
)
from helpers import SEED_ID, SEED_TITLE

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser
#: The shared fixtures this module uses (pytest finds them by name).
__all__ = ["browser", "page", "phone", "server"]


def query_of(url: str) -> dict[str, list[str]]:
    """The parameters of a URL."""
    return parse_qs(urlsplit(url).query)


def in_viewport(pg: Page, selector: str) -> bool:
    """The element's box overlaps the visible part of the page."""
    box = pg.locator(selector).first.bounding_box()  # relative to the viewport
    viewport = pg.viewport_size
    assert box is not None and viewport is not None
    return box["y"] + box["height"] > 0 and box["y"] < viewport["height"]


def target_id(pg: Page) -> str:
    """The id of the element the URL's fragment points to."""
    return pg.evaluate("document.querySelector(':target').id")


def highlighted(pg: Page, selector: str) -> bool:
    """The passage stands out: an outline (kept in forced colours) and a fill."""
    c = colours(pg, selector)
    return c["outlineStyle"] == "solid" and c["outlineWidth"] >= 2 and c["fill"] is not None


def titles(pg: Page) -> list[str]:
    """The thread titles of the results page, in order."""
    return pg.locator(".thread-title").all_inner_texts()


@pytest.fixture
def no_js(browser: Browser) -> Iterator[Page]:
    """A desktop page with JavaScript turned off."""
    pg = open_page(browser, java_script_enabled=False)
    yield pg
    pg.context.close()


@pytest.fixture
def no_js_phone(browser: Browser) -> Iterator[Page]:
    """A phone page with JavaScript turned off."""
    pg = open_page(browser, PHONE, java_script_enabled=False, is_mobile=True, has_touch=True)
    yield pg
    pg.context.close()


# -- search, open a passage, come back ---------------------------------------------------------

def test_search_then_open_passage_and_come_back(server: str, page: Page) -> None:
    page.goto(server + "/")
    box = page.locator("input[name=q]")
    box.fill("tres haut debit")
    box.press("Enter")
    page.wait_for_load_state()
    assert query_of(page.url) == {"q": ["tres haut debit"]}
    heading = page.locator("h1").inner_text().replace("\u00a0", " ")
    assert heading.startswith("2 fils, 6 passages")
    assert sorted(titles(page)) == sorted([SEED_TITLE, "La fibre pour tous"])
    seed = page.locator(".thread-group", has_text=SEED_TITLE)
    assert seed.locator("a.hit-label").count() == 3  # its best three …
    assert seed.locator(".more").inner_text() == "2\u00a0autres passages dans ce fil"
    assert page.locator(".thread-title mark").count() == 0  # « Lippi » is not searched
    assert page.locator(".snippet mark").count() > 0
    shot(page, "search-flow-results", full_page=True)

    # comment 13 is deep in the thread: the link lands there, highlighted, words marked
    page.goto(server + "/?q=tres+haut+debit+type:commentaire")
    target = page.locator('a.hit-label[href*="#c13"]')
    target.click()
    page.wait_for_load_state()
    assert page.url.endswith("#c13-m1") and f"/thread/{SEED_ID}?q=" in page.url
    assert target_id(page) == "c13-m1"  # a long comment: its first marked word
    assert page.evaluate("window.scrollY") > 500  # the browser scrolled down to it
    assert in_viewport(page, "#c13") and in_viewport(page, "#c13-m1")
    assert highlighted(page, "#c13") and not highlighted(page, "#c12")
    assert page.locator("#c13 mark").count() >= 3
    assert page.locator("#c13 h3").inner_text().startswith("Commentaire\u00a013")

    # back to the very same results, with the browser's Back and with the page's link
    page.go_back()
    page.wait_for_load_state()
    assert query_of(page.url) == {"q": ["tres haut debit type:commentaire"]}
    assert page.locator("input[name=q]").input_value() == "tres haut debit type:commentaire"
    target.click()
    page.wait_for_load_state()
    page.locator(".back a").click()
    page.wait_for_load_state()
    assert query_of(page.url) == {"q": ["tres haut debit type:commentaire"]}
    assert page.console_errors == []


def test_long_comment_opens_at_its_first_match(server: str, browser: Browser) -> None:
    for name, viewport in (("desktop", None), ("phone", PHONE)):
        pg = open_page(browser, viewport) if viewport else open_page(browser)
        try:
            pg.goto(server + "/?q=fibre+optique")
            link = pg.locator('a.hit-label[href*="/thread/campagne-2011"]')
            assert link.get_attribute("href").endswith("#c2-m1")  # type: ignore[union-attr]
            link.click()
            pg.wait_for_load_state()
            assert target_id(pg) == "c2-m1"
            assert in_viewport(pg, "#c2-m1")  # the matching words, not the comment's top
            assert not in_viewport(pg, "#c2 h3")  # 40 paragraphs above them
            assert highlighted(pg, "#c2")  # the comment holding the target stands out
            shot(pg, f"long-comment-{name}")
        finally:
            pg.context.close()


def test_moving_between_matches(server: str, page: Page) -> None:
    page.goto(f"{server}/thread/{SEED_ID}?q=tres+haut+debit#p2-m1")
    assert highlighted(page, "#p2")
    page.locator("#p2 .match-nav a", has_text="correspondance suivante").click()
    page.wait_for_function("location.hash === '#p7-m1'")
    assert target_id(page) == "p7-m1" and in_viewport(page, "#p7-m1")
    assert highlighted(page, "#p7") and not highlighted(page, "#p2")
    page.locator("#p7 .match-nav a", has_text="correspondance précédente").click()
    page.wait_for_function("location.hash === '#p2-m1'")
    page.locator("#correspondances a", has_text="Commentaire\u00a013").click()
    page.wait_for_function("location.hash === '#c13-m1'")
    assert highlighted(page, "#c13") and in_viewport(page, "#c13-m1")


def test_reply_link_moves_target(server: str, page: Page) -> None:
    page.goto(f"{server}/thread/{SEED_ID}")
    page.locator('#c4 .reply-to a[href="#c3"]').click()
    page.wait_for_function("location.hash === '#c3'")
    assert target_id(page) == "c3" and highlighted(page, "#c3")


def test_other_passages_link_lists_every_match(server: str, page: Page) -> None:
    page.goto(server + "/?q=tres+haut+debit")
    page.locator(".more a").first.click()
    page.wait_for_load_state()
    assert page.url.endswith("#correspondances")
    listed = page.locator("#correspondances li").all_inner_texts()
    assert len(listed) >= 5 and in_viewport(page, "#correspondances")


# -- filters, dates, sort, pages ----------------------------------------------------------------

def test_filters_keep_their_choices(server: str, page: Page) -> None:
    page.goto(server + "/?q=haut+debit")
    assert page.locator("details.filters summary").is_hidden()  # wide: always shown
    page.locator("#filtres a", has_text="Commentaires").click()
    page.wait_for_load_state()
    assert page.locator("input[name=q]").input_value() == "haut debit type:commentaire"
    active = page.locator('#filtres a[aria-current="true"]')
    assert active.count() == 1 and active.inner_text().startswith("Commentaires")
    assert page.locator("#filtres a", has_text="Paragraphes de billets").count() == 1
    page.locator("#filtres a", has_text="Anne Marie").click()
    page.wait_for_load_state()
    assert query_of(page.url)["q"] == ['haut debit type:commentaire auteur:"Anne Marie"']
    page.locator("#filtres a", has_text="Retirer tous les filtres").click()
    page.wait_for_load_state()
    assert query_of(page.url)["q"] == ["haut debit"]


def test_date_facet_and_sort(server: str, page: Page) -> None:
    page.goto(server + "/?q=haut+debit")
    page.locator("#filtres a", has_text="2010").click()
    page.wait_for_load_state()
    assert page.locator("input[name=q]").input_value() == "haut debit après:2010 avant:2010"
    page.locator("#filtres .months a", has_text="juillet").click()
    page.wait_for_load_state()
    assert titles(page) == ["Haut débit et télétravail (2010)"]
    page.goto(server + "/?q=haut+debit")
    page.locator(".sort a", has_text="date").click()
    page.wait_for_load_state()
    assert query_of(page.url) == {"q": ["haut debit"], "sort": ["date"]}
    assert titles(page)[:3] == ["Haut débit et télétravail (2010)", "La fibre pour tous",
                                "Haut débit et télétravail (2009)"]


def test_paging_over_threads(server: str, page: Page) -> None:
    page.goto(server + "/?q=paris")
    first = titles(page)
    assert len(first) == 10
    page.locator(".pagination a[rel=next]").click()
    page.wait_for_load_state()
    second = titles(page)
    assert query_of(page.url)["page"] == ["2"] and second and not set(first) & set(second)
    page.goto(server + "/?q=paris&page=99")  # a hand-edited page past the end
    assert "page=99" not in page.url
    assert page.locator(".page-of").inner_text().split()[1] == \
        page.locator(".page-of").inner_text().split()[-1]  # « Page 5 sur 5 »


# -- empty results: each cause, its one action ----------------------------------------------------

@pytest.mark.parametrize(("q", "action", "lands_on"), [
    ("-lippi", "Rechercher plutôt «\u00a0lippi\u00a0»", "lippi"),
    ("lippi après:2010", "Voir les résultats sans filtre de date", "lippi"),
    ("fibre auteur:luc", "Voir les passages de tous les auteurs", "fibre"),
    ("connexiom type:billet", None, "connexion type:billet"),
])
def test_empty_results_offer_what_helps(server: str, page: Page, q: str, action: str | None,
                                        lands_on: str) -> None:
    page.goto(server + "/")
    page.locator("input[name=q]").fill(q)
    page.locator("input[name=q]").press("Enter")
    page.wait_for_load_state()
    if action is not None:
        assert "Aucun résultat" in page.locator("h1").inner_text()
        assert "orthographe" not in page.locator("main").inner_text()
        page.locator("a.action", has_text=action).click()
        page.wait_for_load_state()
    assert page.locator("input[name=q]").input_value() == lands_on
    assert page.locator(".thread-group").count() > 0


def test_correction_can_be_refused(server: str, page: Page) -> None:
    page.goto(server + "/?q=connexiom+type:billet")
    assert "connexion" in page.locator("h1").inner_text()
    page.locator(".corrected a").click()
    page.wait_for_load_state()
    assert query_of(page.url) == {"q": ["connexiom type:billet"], "tel_quel": ["1"]}
    assert "Aucun résultat" in page.locator("h1").inner_text()
    page.locator("a.action").click()  # the type filter hid the one comment with the word
    page.wait_for_load_state()
    assert page.locator("a.hit-label").all_inner_texts() == [
        "Commentaire\u00a01 — Paul, 1er\u00a0juin\u00a02011\u00a0à\u00a012:30"]


def test_stop_words_only(server: str, page: Page) -> None:
    page.goto(server + "/?q=la+le+de+et")
    assert "trop courants" in page.locator(".empty").inner_text()
    page.locator("a.action", has_text="Modifier la recherche").click()
    assert page.evaluate("document.activeElement.id") == "q"


# -- the keyboard ---------------------------------------------------------------------------------

def test_keyboard_slash_and_skip_link(server: str, page: Page) -> None:
    page.goto(server + "/?q=haut+debit")
    assert page.locator(".key-hint").is_visible()  # said only when the script runs
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert skip.is_visible() and in_viewport(page, ".skip-link")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "resultats"
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "q"
    assert page.locator("input[name=q]").input_value() == "haut debit"  # no « / » typed
    page.keyboard.press("End")
    page.keyboard.type(" /x")  # inside the box « / » is a character
    assert page.locator("input[name=q]").input_value() == "haut debit /x"
    page.goto(f"{server}/thread/{SEED_ID}")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "q"


def test_focus_is_visible(server: str, page: Page) -> None:
    page.goto(server + "/?q=haut+debit")
    for _ in range(4):
        page.keyboard.press("Tab")
    c = page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
                       return [s.outlineStyle, parseFloat(s.outlineWidth)]; }""")
    assert c[0] == "solid" and c[1] >= 2


# -- without JavaScript ---------------------------------------------------------------------------

def test_every_flow_works_without_javascript(server: str, no_js: Page) -> None:
    pg = no_js
    pg.goto(server + "/")
    pg.locator("input[name=q]").fill("haut debit")
    pg.locator("button[type=submit]").click()
    pg.wait_for_load_state()
    assert titles(pg)
    assert pg.locator(".key-hint").is_hidden()  # no promise the page cannot keep
    pg.locator("#filtres a", has_text="Commentaires").click()
    pg.wait_for_load_state()
    pg.locator(".sort a", has_text="date").click()
    pg.wait_for_load_state()
    assert query_of(pg.url) == {"q": ["haut debit type:commentaire"], "sort": ["date"]}
    pg.locator("a.hit-label").first.click()
    pg.wait_for_load_state()
    assert highlighted(pg, ":target")
    pg.locator(".back a").click()
    pg.wait_for_load_state()
    assert query_of(pg.url) == {"q": ["haut debit type:commentaire"], "sort": ["date"]}


def test_phone_filters_fold_without_javascript(server: str, no_js_phone: Page) -> None:
    pg = no_js_phone
    pg.goto(server + "/?q=haut+debit")
    details = pg.locator("details.filters")
    assert details.get_attribute("open") is None
    assert pg.locator("#filtres a", has_text="Commentaires").is_hidden()
    pg.locator("details.filters summary").click()
    link = pg.locator("#filtres a", has_text="Commentaires")
    assert link.is_visible()
    link.click()
    pg.wait_for_load_state()
    assert query_of(pg.url) == {"q": ["haut debit type:commentaire"]}
    assert pg.locator("details.filters summary").inner_text().startswith("Filtres")


# -- the console stays clean (CSP refuses nothing) -----------------------------------------------

def test_pages_load_without_csp_violations(server: str, page: Page) -> None:
    for url, status in (("/", 200), ("/?q=sarkosy", 200), (f"/thread/{SEED_ID}", 200),
                        ("/?q=author:", 400), ("/thread/nope", 404)):
        page.console_errors.clear()  # type: ignore[attr-defined]
        resp = page.goto(server + url)
        assert resp is not None and resp.status == status
        # the stylesheet loaded (CSP allows 'self'): the header is laid out with flexbox
        assert page.eval_on_selector(".site-header .wrap",
                                     "el => getComputedStyle(el).display") == "flex"
        # the script ran (CSP allows 'self')
        assert page.locator(".key-hint").is_visible()
        errors = [e for e in page.console_errors  # type: ignore[attr-defined]
                  if not (status != 200 and f"status of {status}" in e)]
        assert errors == [], (url, errors)
