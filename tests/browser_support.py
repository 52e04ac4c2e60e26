"""What the browser tests share: the served app, Chromium contexts, axe-core, contrast.

Real Chromium (Debian's, /usr/bin/chromium) driven by Playwright, real waitress, a real
index (the seed thread, the UI threads of tests/ui_corpus.py, and the 480 PIAF articles
when ../shared has them, else thirty generated threads). No mocks. Screenshots go to
tests/artifacts/ (git-ignored).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from helpers import ARTIFACTS, PIAF_THREADS, SEED_FILE, Server, unavailable
from screenshots import CHROMIUM, LOCALE, launch_chromium
from ui_corpus import MANY_THREADS, UI_THREADS

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
#: A 1280×800 window at 200 % zoom: the page lays out in 640×400 CSS pixels.
ZOOM_200 = {"width": 640, "height": 400}


def require_browser() -> None:
    """Skip (locally) or fail (CI) when Chromium, Playwright or axe is not available."""
    problems = []
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        problems.append(f"{CHROMIUM} not found (apt-get install -y chromium)")
    for module, package in (("playwright.sync_api", "playwright"),
                            ("axe_playwright_python", "axe-playwright-python")):
        try:
            __import__(module)
        except ImportError:
            problems.append(f"the {package} Python package is not installed")
    if problems:
        unavailable("browser tests need " + "; ".join(problems))


def ui_sources() -> list[Any]:
    """The seed, the UI threads, and many results: PIAF's articles when present, else
    thirty generated threads about Paris."""
    sources: list[Any] = [SEED_FILE, *UI_THREADS]
    sources.extend([PIAF_THREADS] if PIAF_THREADS.exists() else MANY_THREADS)
    return sources


@pytest.fixture(scope="module")
def server(make_index: Any) -> Iterator[str]:
    """The app served by waitress in a background thread; yields its base URL."""
    require_browser()
    from indexer.settings import Settings
    from search_app import create_app

    app = create_app(settings=Settings(index_dir=make_index(ui_sources())))
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


def open_page(browser: Browser, viewport: dict[str, int] = DESKTOP, **options: Any) -> Page:
    """A page in a fresh context (French locale), console errors kept in
    ``page.console_errors``; options go to ``new_context`` (colour scheme, forced
    colours, JavaScript, device scale)."""
    context = browser.new_context(viewport=viewport, locale=LOCALE, **options)  # type: ignore[arg-type]
    pg = context.new_page()
    errors: list[str] = []
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    pg.console_errors = errors  # type: ignore[attr-defined]
    return pg


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A desktop page."""
    pg = open_page(browser)
    yield pg
    pg.context.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A 390×844 phone page (touch, mobile viewport)."""
    pg = open_page(browser, PHONE, is_mobile=True, has_touch=True)
    yield pg
    pg.context.close()


def shot(pg: Page, name: str, full_page: bool = False) -> Path:
    """Save a screenshot to tests/artifacts/<name>.png (git-ignored)."""
    path = ARTIFACTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(path), full_page=full_page)
    assert path.stat().st_size > 5_000
    return path


# -- axe-core -------------------------------------------------------------------------------

def axe_violations(pg: Page) -> list[str]:
    """axe-core's violations on the page as it is (every rule axe runs by default:
    WCAG 2.0–2.2 A/AA and best practices), one line each."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(pg).response["violations"]
    return [f"{v['id']} ({v['impact']}): " + "; ".join(
        " ".join(map(str, n["target"])) + " — " + (n.get("failureSummary") or "")[:200]
        for n in v["nodes"][:3]) for v in found]


# -- colours --------------------------------------------------------------------------------

def luminance(rgb: tuple[float, float, float]) -> float:
    """WCAG relative luminance of an sRGB colour (0–255 channels)."""
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    """WCAG contrast ratio of two opaque colours."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


#: Colours of an element as the page paints them: its text, its own fill, the fill behind
#: it (the nearest ancestor with an opaque background), its bottom edge and its outline.
COLOURS_JS = """el => {
  const parse = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const behind = e => {
    for (let p = e.parentElement; p; p = p.parentElement) {
      const c = parse(getComputedStyle(p).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3);
    }
    return parse(getComputedStyle(document.documentElement).backgroundColor).slice(0, 3);
  };
  const s = getComputedStyle(el);
  const own = parse(s.backgroundColor);
  return {
    text: parse(s.color).slice(0, 3),
    fill: (own.length === 3 || (own.length === 4 && own[3] > 0)) ? own.slice(0, 3) : null,
    behind: behind(el),
    edge: parse(s.borderBottomColor).slice(0, 3), edgeStyle: s.borderBottomStyle,
    edgeWidth: parseFloat(s.borderBottomWidth),
    outline: parse(s.outlineColor).slice(0, 3), outlineStyle: s.outlineStyle,
    outlineWidth: parseFloat(s.outlineWidth),
  };
}"""


def colours(pg: Page, selector: str) -> dict[str, Any]:
    """COLOURS_JS for the first element matching ``selector``."""
    return pg.eval_on_selector(selector, COLOURS_JS)


def system_colour(pg: Page, name: str) -> list[float]:
    """What a CSS system colour (``Highlight``, ``Mark``, ``Canvas``…) computes to here."""
    return pg.evaluate("""name => {
      const probe = document.createElement('span');
      probe.style.color = name;
      document.body.appendChild(probe);
      const c = getComputedStyle(probe).color;
      probe.remove();
      return (c.match(/[\\d.]+/g) || []).map(Number).slice(0, 3);
    }""", name)
