"""End to end in a real browser: waitress serves the app, Debian's Chromium drives it.

Needs /usr/bin/chromium (no browser download is possible here). Without it the tests are
skipped with the reason, except under CI (env CI set), where a missing browser fails.
The results page's screenshot goes to tests/artifacts/ (git-ignored); the README's
picture is refreshed on purpose only, with ``python tests/screenshots.py``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from helpers import ARTIFACTS, SEED_FILE, SEED_ID, Server, unavailable
from screenshots import CHROMIUM, launch_chromium, new_page, save_screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

SCREENSHOT = ARTIFACTS / "screenshot-results.png"


def require_browser() -> None:
    """Skip (locally) or fail (CI) when Chromium or Playwright is not available."""
    problems = []
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        problems.append(f"{CHROMIUM} not found (apt-get install -y chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problems.append("the playwright Python package is not installed")
    if problems:
        unavailable("browser tests need " + "; ".join(problems))


@pytest.fixture(scope="module")
def server(make_index) -> Iterator[str]:
    """The app served by waitress in a background thread; yields its base URL."""
    require_browser()
    from indexer.settings import Settings
    from search_app import create_app

    app = create_app(settings=Settings(index_dir=make_index([SEED_FILE])))
    try:
        with Server(app, threads=2) as srv:
            yield srv.base_url
    finally:
        app.extensions["fil"].close()


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[Browser]:
    """A headless Debian Chromium driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_chromium(p)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page (own context) with a desktop viewport and French locale."""
    pg = new_page(browser)
    context = pg.context
    errors: list[str] = []
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    pg.console_errors = errors  # type: ignore[attr-defined]
    yield pg
    context.close()


def background(pg: Page, selector: str) -> str:
    """Computed background colour of the first element matching selector."""
    return pg.eval_on_selector(selector, "el => getComputedStyle(el).backgroundColor")


def assert_in_viewport(pg: Page, selector: str) -> None:
    """The element's top edge is inside the visible part of the page."""
    box = pg.locator(selector).bounding_box()  # relative to the viewport
    viewport = pg.viewport_size
    assert box is not None and viewport is not None
    assert -1 <= box["y"] < viewport["height"], (box, viewport)


def test_search_then_open_passage(server: str, page: Page) -> None:
    page.goto(server + "/")
    box = page.locator("input[name=q]")
    box.fill("tres haut debit")
    box.press("Enter")
    page.wait_for_load_state()
    assert "q=tres+haut+debit" in page.url
    assert page.locator("input[name=q]").input_value() == "tres haut debit"
    assert "5 résultats" in page.locator(".summary").inner_text()
    hits = page.locator("a.hit-label")
    assert hits.count() == 5
    assert page.locator(".snippet mark").count() > 0
    assert save_screenshot(page, SCREENSHOT).stat().st_size > 10_000

    # open the comment-13 result (deep in the thread, so it must be scrolled to)
    target = page.locator('a.hit-label[href$="#c13"]')
    href = target.get_attribute("href")
    assert href and href.endswith("#c13")
    target.click()
    page.wait_for_load_state()
    assert page.url.endswith("#c13")
    assert f"/thread/{SEED_ID}?q=tres+haut+debit" in page.url

    assert page.evaluate("document.querySelector(':target').id") == "c13"
    assert page.evaluate("window.scrollY") > 500  # the browser scrolled down to it
    assert_in_viewport(page, "#c13")
    # styled by :target, unlike another comment
    assert background(page, "#c13") != background(page, "#c12")
    assert background(page, "#c13") not in ("rgba(0, 0, 0, 0)", "transparent")
    # query words are marked on the thread page
    assert page.locator("mark").count() >= 10
    assert page.locator("#c13 mark").count() >= 3
    assert page.console_errors == []


def test_post_paragraph_target(server: str, page: Page) -> None:
    page.goto(f"{server}/thread/{SEED_ID}?q=entreprise#p15")
    assert page.evaluate("document.querySelector(':target').id") == "p15"
    assert background(page, "#p15") != background(page, "#p14")
    assert page.locator("#p15 mark").count() == 1
    assert_in_viewport(page, "#p15")


def test_reply_link_moves_target(server: str, page: Page) -> None:
    page.goto(f"{server}/thread/{SEED_ID}")
    page.locator('#c4 .reply-to a[href="#c3"]').click()
    page.wait_for_function("location.hash === '#c3'")
    assert page.evaluate("document.querySelector(':target').id") == "c3"


def test_pages_load_without_csp_violations(server: str, page: Page) -> None:
    for url, status in (("/", 200), ("/?q=sarkosy", 200), (f"/thread/{SEED_ID}", 200),
                        ("/?q=author:", 400), ("/thread/nope", 404)):
        page.console_errors.clear()
        resp = page.goto(server + url)
        assert resp is not None and resp.status == status
        # the stylesheet loaded (CSP allows 'self'): the header is laid out with flexbox
        assert page.eval_on_selector(".site-header .wrap",
                                     "el => getComputedStyle(el).display") == "flex"
        # nothing refused by the CSP, no missing resource (the page's own status aside)
        errors = [e for e in page.console_errors
                  if not (status != 200 and f"status of {status}" in e)]
        assert errors == [], (url, errors)


def test_suggestion_and_filter_links(server: str, page: Page) -> None:
    page.goto(server + "/?q=sarkosy")
    page.locator(".suggestion a").click()
    page.wait_for_load_state()
    assert "q=sarkozy" in page.url
    assert page.locator("a.hit-label").all_inner_texts() == ["¶ 15 du billet"]
    page.goto(server + "/?q=tres+haut+debit")
    page.locator(".filters a", has_text="philrig").click()
    page.wait_for_load_state()
    labels = page.locator("a.hit-label").all_inner_texts()
    assert labels == ["Commentaire 13 — philrig, 8 février 2009 à 19:00"]
