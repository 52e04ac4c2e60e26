"""Refresh the README's picture: ``python tests/screenshots.py``.

Builds an index of the seed thread and the tests' sample threads (tests/ui_corpus.py:
dated posts and comments from 2009 to 2012) in a temporary directory, serves it with
waitress on a free loopback port, opens the results of « haut debit » in Debian's
Chromium (through Playwright) at 1280 px and writes ``docs/screenshot-results.png``. Run it from the
development environment (``pip install -e '.[test]'``); ``FIL_CHROMIUM`` names another
Chromium binary.

The browser tests (tests/test_browser*.py) take pictures of every page on every run,
into ``tests/artifacts/`` (git-ignored): the tests never change a tracked file, so the
README's picture changes only when this command is run on purpose.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from helpers import README_SCREENSHOT, SEED_FILE, Server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

CHROMIUM = os.environ.get("FIL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 900}
LOCALE = "fr-FR"
RESULTS_PATH = "/?q=haut+debit"  # threads from four years, with their best passages


def launch_chromium(p: Playwright) -> Browser:
    """Debian's headless Chromium (Playwright downloads no browser here)."""
    return p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def new_page(browser: Browser) -> Page:
    """A page in its own context, with a desktop viewport and the French locale."""
    return browser.new_context(viewport=VIEWPORT, locale=LOCALE).new_page()  # type: ignore[arg-type]


def save_screenshot(page: Page, path: Path) -> Path:
    """The whole page as a PNG at ``path`` (folders created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


def main(out: Path = README_SCREENSHOT) -> int:
    """Serve the seed thread and write the results page's picture to ``out``."""
    from helpers import build_index
    from playwright.sync_api import sync_playwright
    from ui_corpus import write

    from indexer.ingest.parsing import read_sources
    from indexer.settings import Settings
    from search_app import create_app

    with tempfile.TemporaryDirectory(prefix="fil-screenshot-") as tmp:
        index = Path(tmp) / "index"
        extra = Path(tmp) / "ui.jsonl"
        write(extra)
        build_index(read_sources([SEED_FILE, extra]).threads, index)
        app = create_app(settings=Settings(index_dir=index))
        try:
            with Server(app, threads=2) as srv, sync_playwright() as p:
                browser = launch_chromium(p)
                try:
                    page = new_page(browser)
                    page.goto(srv.base_url + RESULTS_PATH)  # warm up: opens the index
                    page.goto(srv.base_url + RESULTS_PATH)
                    page.wait_for_load_state()
                    save_screenshot(page, out)
                finally:
                    browser.close()
        finally:
            app.extensions["fil"].close()
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else README_SCREENSHOT))
