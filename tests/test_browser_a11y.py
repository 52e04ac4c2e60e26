"""Accessibility in a real browser: axe-core, contrast of the marks and of the target
passage, forced colours, dark theme, and the phone and 200 % zoom layouts.

axe-core (bundled by axe-playwright-python) runs every rule it runs by default (WCAG
2.0–2.2 A and AA, best practices) on the home, results, no-results, error and thread
pages, at 1280 and 390 px wide, in the light and the dark theme: zero violations.
Screenshots of each page and mode go to tests/artifacts/ (git-ignored).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from browser_support import (
    DESKTOP,
    PHONE,
    ZOOM_200,
    axe_violations,
    browser,
    colours,
    contrast,
    open_page,
    page,
    phone,
    server,
    shot,
    system_colour,
)
from helpers import SEED_ID

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser
#: The shared fixtures this module uses (pytest finds them by name).
__all__ = ["browser", "page", "phone", "server"]

#: The pages axe checks: (name, path). Every kind of page, every empty state.
PAGES = [
    ("home", "/"),
    ("results", "/?q=haut+debit"),
    ("results-filtered", "/?q=haut+debit+type:commentaire+après:2010+avant:2010"),
    ("results-month", "/?q=haut+debit+après:2010-03+avant:2010-03&sort=date"),
    ("results-many", "/?q=paris&page=2"),
    ("results-corrected", "/?q=connexiom+type:billet"),
    ("results-rescued", "/?q=sarkosy"),
    ("empty-nothing", "/?q=zzzqqqxxx"),
    ("empty-stop-words", "/?q=la+le+de+et"),
    ("empty-exclusion", "/?q=-lippi"),
    ("empty-date", "/?q=lippi+après:2010"),
    ("empty-kind", "/?q=connexiom+type:billet&tel_quel=1"),
    ("error-400", "/?q=author:"),
    ("error-404", "/thread/nope"),
    ("thread", f"/thread/{SEED_ID}?q=tres+haut+debit#c13-m1"),
    ("thread-long-comment", "/thread/campagne-2011?q=fibre+optique#c2-m1"),
]
MODES = {  # name: (viewport, context options)
    "desktop": (DESKTOP, {}),
    "phone": (PHONE, {"is_mobile": True, "has_touch": True}),
    "desktop-dark": (DESKTOP, {"color_scheme": "dark"}),
    "phone-dark": (PHONE, {"is_mobile": True, "has_touch": True, "color_scheme": "dark"}),
}


@pytest.fixture(scope="module", params=list(MODES))
def mode_page(request: pytest.FixtureRequest, browser: Browser) -> Iterator[tuple[str, Page]]:
    """One page per mode, reused for every path of that mode."""
    viewport, options = MODES[request.param]
    pg = open_page(browser, viewport, **options)
    yield request.param, pg
    pg.context.close()


@pytest.mark.parametrize(("name", "path"), PAGES, ids=[n for n, _ in PAGES])
def test_axe_finds_nothing(server: str, mode_page: tuple[str, Page], name: str,
                           path: str) -> None:
    mode, pg = mode_page
    pg.goto(server + path)
    pg.wait_for_load_state()
    assert pg.evaluate("document.documentElement.lang") == "fr"
    assert pg.locator("h1").count() == 1
    if name in ("results", "thread", "empty-date", "home"):
        shot(pg, f"{name}-{mode}", full_page=mode.startswith("desktop"))
    assert axe_violations(pg) == []


def test_axe_reports_what_it_finds(server: str, page: Page) -> None:
    """The check itself: a page broken on purpose (an image without a text alternative,
    light grey text on white) fails it."""
    page.goto(server + "/")
    page.evaluate("""() => {
      const main = document.querySelector('main');
      const img = document.createElement('img');
      img.src = '/static/favicon.svg';
      main.appendChild(img);
      const p = document.createElement('p');
      p.textContent = 'gris sur blanc';
      p.style.color = '#bbbbbb';
      main.appendChild(p);
    }""")
    found = " ".join(axe_violations(page))
    assert "image-alt" in found and "color-contrast" in found


# -- marks and the target passage: contrast, forced colours --------------------------------------

@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_marks_and_target_contrast(server: str, browser: Browser, scheme: str) -> None:
    """Marks are told apart by an edge of ≥ 3:1 against the fill behind them (the page or
    the highlighted target) and against their own fill; their text stays ≥ 4.5:1; the
    target's outline is ≥ 3:1 against the page."""
    pg = open_page(browser, color_scheme=scheme)
    try:
        pg.goto(f"{server}/thread/{SEED_ID}?q=tres+haut+debit#c13-m1")
        for selector in ("#c13 mark", "#p14 mark", "#p2 mark"):  # on the target, off it
            c = colours(pg, selector)
            assert c["edgeStyle"] == "solid" and c["edgeWidth"] >= 2
            assert contrast(c["edge"], c["behind"]) >= 3, (selector, c)
            assert contrast(c["edge"], c["fill"]) >= 3, (selector, c)
            assert contrast(c["text"], c["fill"]) >= 4.5, (selector, c)
        target = colours(pg, "#c13")
        page_bg = colours(pg, "#c12")["behind"]
        assert target["outlineStyle"] == "solid" and target["outlineWidth"] >= 3
        assert contrast(target["outline"], page_bg) >= 3
        assert contrast(target["outline"], target["fill"]) >= 3
        header = colours(pg, "#c13 .comment-header")  # its text on the target's fill
        assert contrast(header["text"], target["fill"]) >= 4.5
        pg.goto(f"{server}/thread/{SEED_ID}?q=entreprises")
        stem, exact = colours(pg, "mark.stem"), colours(pg, "mark:not(.stem)")
        assert stem["edgeStyle"] == "dotted" and exact["edgeStyle"] == "solid"  # lighter
        assert contrast(stem["edge"], stem["behind"]) >= 3
        assert contrast(stem["fill"], stem["behind"]) < contrast(exact["fill"], exact["behind"])
        shot(pg, f"stem-marks-{scheme}")
    finally:
        pg.context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_search_field_edge_contrast(server: str, browser: Browser, scheme: str) -> None:
    """The search box's border (what shows where to type) is ≥ 3:1 against the page."""
    pg = open_page(browser, color_scheme=scheme)
    try:
        pg.goto(server + "/")
        field = colours(pg, "#q")
        assert field["edgeStyle"] == "solid"
        assert contrast(field["edge"], field["behind"]) >= 3, field
    finally:
        pg.context.close()


def test_forced_colours_keep_target_and_marks(server: str, browser: Browser) -> None:
    pg = open_page(browser, forced_colors="active")
    try:
        pg.goto(f"{server}/thread/{SEED_ID}?q=tres+haut+debit#c13-m1")
        assert pg.evaluate("matchMedia('(forced-colors: active)').matches")
        target = colours(pg, "#c13")
        assert target["outlineStyle"] == "solid" and target["outlineWidth"] >= 3
        assert target["outline"] == system_colour(pg, "Highlight")
        assert target["outline"] != system_colour(pg, "Canvas")
        mark = colours(pg, "#c13 mark")
        assert mark["fill"] == system_colour(pg, "Mark") != system_colour(pg, "Canvas")
        assert mark["text"] == system_colour(pg, "MarkText")
        assert mark["edgeStyle"] == "solid"
        pg.goto(f"{server}/thread/{SEED_ID}?q=entreprises#p7")
        stem = colours(pg, "mark.stem")
        assert stem["edgeStyle"] == "dotted" and stem["edge"] == system_colour(pg, "CanvasText")
        assert colours(pg, "#p7")["outlineStyle"] == "solid"
        shot(pg, "thread-forced-colours")
        pg.goto(server + "/?q=haut+debit")
        shot(pg, "results-forced-colours", full_page=True)
        assert axe_violations(pg) == []
    finally:
        pg.context.close()


# -- layouts: phone first, 200 % zoom, desktop --------------------------------------------------

def first_result_visible(pg: Page) -> bool:
    """The first result's title and its first passage's label are on the first screen."""
    viewport = pg.viewport_size
    assert viewport is not None
    title = pg.locator(".thread-title").first.bounding_box()
    label = pg.locator(".hit-label").first.bounding_box()
    assert title is not None and label is not None
    return title["y"] >= 0 and label["y"] + label["height"] <= viewport["height"]


def test_phone_shows_results_first(server: str, phone: Page) -> None:
    phone.goto(server + "/?q=paris")
    assert first_result_visible(phone)
    assert phone.locator("details.filters").get_attribute("open") is None
    summary = phone.locator("details.filters summary").bounding_box()
    assert summary is not None and summary["height"] < 60  # one line, not the first screen
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    shot(phone, "results-phone")
    phone.goto(server + "/?q=haut+debit+type:commentaire")
    assert first_result_visible(phone)


def test_zoom_200_shows_a_result(server: str, browser: Browser) -> None:
    pg = open_page(browser, ZOOM_200, device_scale_factor=2)
    try:
        for path in ("/?q=paris", "/?q=haut+debit+type:commentaire+après:2010+avant:2010"):
            pg.goto(server + path)
            assert first_result_visible(pg), path
            assert pg.evaluate("document.documentElement.scrollWidth") <= ZOOM_200["width"]
        shot(pg, "results-zoom-200")
    finally:
        pg.context.close()


def test_desktop_shows_filters_beside_results(server: str, page: Page) -> None:
    page.goto(server + "/?q=haut+debit")
    filters = page.locator("#filtres .facet").first.bounding_box()
    results = page.locator("#resultats").bounding_box()
    assert filters is not None and results is not None
    assert filters["x"] + filters["width"] <= results["x"]  # a side column
    assert page.locator("#filtres a", has_text="Commentaires").is_visible()
    assert first_result_visible(page)
