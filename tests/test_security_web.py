"""Web security: escaping everywhere (XSS), thread ids never used as paths, headers, errors."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from helpers import ROOT, SEED_FILE, SEED_ID

from indexer.ingest.model import Comment, Thread
from indexer.ingest.record import resolve_replies

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
IFRAME = "<iframe src=javascript:alert(1)>"
PAYLOADS = (SCRIPT, IMG, IFRAME)
ESCAPED = ("&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt;",
           "&lt;iframe src=javascript:alert(1)&gt;")
RAW_TAGS = re.compile(r"<\s*/?\s*(script|img|iframe|svg|object|embed)\b", re.IGNORECASE)
#: The pages' one script: a static file (CSP script-src 'self'), never inline.
APP_SCRIPT = '<script src="/static/fil.js" defer></script>'
#: Passages a thread shows on the results page (the others are counted, not shown).
SHOWN_PER_THREAD = 3

EVIL_ID = f"evil {SCRIPT}"
EVIL_THREAD = {
    "id": EVIL_ID,
    "title": f"Piège {SCRIPT} {IMG} {IFRAME}",
    "url": "javascript:alert(1)",
    "post": {
        "author": f"Mallory {IMG}",
        "date": "2009-02-04T12:00",
        "paragraphs": [f"piège un {SCRIPT} fin", f"piège deux {IMG} fin",
                       f"piège trois {IFRAME} fin"],
    },
    "comments": [
        {"author": SCRIPT, "date": "2009-02-05T10:00",
         "paragraphs": [f"piège quatre {IFRAME} et {SCRIPT} puis {IMG}"]},
        {"author": f"Eve {IFRAME}", "date": "2009-02-05T11:00",
         "paragraphs": [f"@{SCRIPT} piège cinq, en réponse"]},
    ],
}
#: Queries over the payload thread, with how many of its passages each finds (every one
#: parses; the last asks for the author ``<img``, which nobody is).
EVIL_TOTALS = {"piège": 5, "alert": 5, "script": 3, "img onerror": 2, "iframe javascript": 2,
               SCRIPT: 3, f'"{IMG}"': 2, f'author:"{SCRIPT}"': 1, f"piège author:{IMG}": 0}
EVIL_QUERIES = tuple(EVIL_TOTALS)


def evil_thread() -> Thread:
    """EVIL_THREAD as a store could hold it, built without ingest.

    Ingest strips HTML tags from titles and text (README, *Bad input*); the web layer
    must still escape whatever an index holds (older indexes, other writers).
    """
    post = EVIL_THREAD["post"]
    comments = [Comment(n, c["author"], c["date"], tuple(c["paragraphs"]))
                for n, c in enumerate(EVIL_THREAD["comments"], start=1)]
    return Thread(id=EVIL_ID, title=EVIL_THREAD["title"], paragraphs=tuple(post["paragraphs"]),
                  comments=tuple(resolve_replies(comments)), url=EVIL_THREAD["url"],
                  author=post["author"], date=post["date"], source="evil")


@pytest.fixture(scope="module")
def evil_index(make_index) -> Path:
    """An index holding the seed thread and a thread full of HTML payloads."""
    return make_index([SEED_FILE, evil_thread()])


@pytest.fixture
def evil_client(make_app, evil_index: Path) -> FlaskClient:
    """A client over the index with the payload thread."""
    return make_app(evil_index).test_client()


def assert_no_raw_tags(body: str) -> None:
    """No executable tag from the payloads (or any other) appears unescaped; the app's own
    static script (at most once, in the head) is the only script element."""
    assert body.count(APP_SCRIPT) <= 1
    body = body.replace(APP_SCRIPT, "")
    for payload in PAYLOADS:
        assert payload not in body
    assert not RAW_TAGS.search(body), RAW_TAGS.search(body)
    assert 'href="javascript:' not in body.lower()


def evil_thread_url(q: str | None = None) -> str:
    """The thread page of the payload thread (id percent-encoded)."""
    url = f"/thread/{quote(EVIL_ID, safe='')}"
    return f"{url}?q={quote(q)}" if q else url


# -- XSS ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("q", EVIL_QUERIES)
def test_search_page_escapes(evil_client: FlaskClient, q: str) -> None:
    resp = evil_client.get("/", query_string={"q": q})
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert_no_raw_tags(body)
    assert body.count('<a class="hit-label"') == min(EVIL_TOTALS[q], SHOWN_PER_THREAD)


def test_search_page_shows_escaped_payloads(evil_client: FlaskClient) -> None:
    body = evil_client.get("/", query_string={"q": "piège"}).get_data(as_text=True)
    assert 'class="thread-group"' in body
    for escaped in ESCAPED:
        assert escaped in body  # in the title, authors (labels, facets) and snippets
    assert_no_raw_tags(body)


@pytest.mark.parametrize("q", [None, *EVIL_QUERIES])
def test_thread_page_escapes(evil_client: FlaskClient, q: str | None) -> None:
    resp = evil_client.get(evil_thread_url(q))
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert_no_raw_tags(body)
    for payload, escaped in zip(PAYLOADS, ESCAPED, strict=True):
        assert escaped in body  # at least in the title and the authors, which are not marked
        assert payload not in body
    assert 'id="p3"' in body and 'id="c2"' in body


def test_thread_page_marks_inside_escaped_text(evil_client: FlaskClient) -> None:
    body = evil_client.get(evil_thread_url("alert")).get_data(as_text=True)
    assert "&lt;script&gt;<mark>alert</mark>(1)&lt;/script&gt;" in body
    assert_no_raw_tags(body)


def test_javascript_source_url_is_not_linked(evil_client: FlaskClient) -> None:
    body = evil_client.get(evil_thread_url()).get_data(as_text=True)
    assert "javascript:alert(1)\"" not in body
    assert ">source</a>" not in body


@pytest.mark.parametrize("q", EVIL_QUERIES)
def test_api_search_escapes(evil_client: FlaskClient, q: str) -> None:
    resp = evil_client.get("/api/search", query_string={"q": q, "facets": 1})
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert_no_raw_tags(body)
    assert "<" not in body and ">" not in body  # JSON escapes them as \u003c / \u003e
    data = resp.get_json()
    assert data["total"] == len(data["results"]) == EVIL_TOTALS[q]
    for r in data["results"]:
        assert r["thread_id"] == EVIL_ID
        html = r["snippet"].replace("<mark>", "").replace("</mark>", "")
        assert "<" not in html and ">" not in html, r["snippet"]


def test_api_snippets_hold_escaped_payloads(evil_client: FlaskClient) -> None:
    data = evil_client.get("/api/search", query_string={"q": "piège", "per_page": 100}).get_json()
    snippets = " ".join(r["snippet"] for r in data["results"])
    for escaped in ESCAPED:
        assert escaped in snippets
    titles = {r["thread_title"] for r in data["results"]}
    assert EVIL_THREAD["title"] in titles  # plain data, decoded from JSON as written


def test_api_thread_escapes(evil_client: FlaskClient) -> None:
    resp = evil_client.get(f"/api/thread/{quote(EVIL_ID, safe='')}")
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert_no_raw_tags(body)
    assert "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e" in body
    data = resp.get_json()  # the data itself is intact: escaping is JSON-level only
    assert data["id"] == EVIL_ID and data["title"] == EVIL_THREAD["title"]
    assert data["comments"][0]["author"] == SCRIPT


def test_reflected_query_is_escaped(client: FlaskClient) -> None:
    q = f'"><svg onload=alert(1)>{SCRIPT}'
    for url in ("/", f"/thread/{SEED_ID}"):
        body = client.get(url, query_string={"q": q}).get_data(as_text=True)
        assert_no_raw_tags(body)
        assert "&lt;script&gt;" in body


def test_pages_have_no_inline_script_or_style(client: FlaskClient) -> None:
    for url in ("/", "/?q=tres+haut+debit", f"/thread/{SEED_ID}?q=tres", "/missing"):
        body = client.get(url).get_data(as_text=True)
        assert body.count("<script") == body.count(APP_SCRIPT) == 1
        assert "<style" not in body and " style=" not in body
        assert not re.search(r"<[^>]+\son\w+\s*=", body)


# -- thread ids are looked up, never used as paths --------------------------------------------

TRAVERSALS = [
    "/thread/../../etc/passwd",
    "/thread/..%2F..%2F..%2Fetc%2Fpasswd",
    "/thread/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/thread/%2e%2e/%2e%2e/etc/passwd",
    "/thread//etc/passwd",
    "/thread/%2Fetc%2Fpasswd",
    "/thread/....//....//etc/passwd",
    "/thread/..%5c..%5cwindows%5cwin.ini",
    "/thread/C:%5Cwindows%5Cwin.ini",
    "/thread/%00",
    "/thread/x%00.txt",
    "/thread/" + "a" * 5000,
    "/api/thread/../../etc/passwd",
    "/api/thread/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/api/thread//etc/passwd",
    "/api/thread/%2Fetc%2Fpasswd",
    "/static/../__init__.py",
    "/static/..%2f__init__.py",
    "/static/%2e%2e/__init__.py",
    "/static/%2e%2e%2f%2e%2e%2fpyproject.toml",
]


@pytest.mark.parametrize("url", TRAVERSALS)
def test_path_traversal_is_404(client: FlaskClient, url: str) -> None:
    resp = client.get(url, follow_redirects=True)
    assert resp.status_code == 404, url
    body = resp.get_data(as_text=True)
    assert "root:" not in body and "create_app" not in body and "[project]" not in body
    assert "Traceback" not in body
    if url.startswith("/api/"):
        assert resp.mimetype == "application/json" and set(resp.get_json()) == {"error"}
    else:
        assert resp.mimetype == "text/html" and '<html lang="fr">' in body


def test_id_that_looks_like_a_path_is_served_from_the_index(make_index, make_app) -> None:
    tid = "../../etc/passwd"
    index = make_index([{"id": tid, "title": "Pas un fichier",
                         "post": {"paragraphs": ["contenu indexé"]}}])
    client = make_app(index).test_client()
    url = client.get("/api/search?q=contenu").get_json()["results"][0]["url"]
    assert url.startswith("/thread/..%2F..%2Fetc%2Fpasswd")
    body = client.get(url).get_data(as_text=True)
    assert "Pas un fichier" in body and "root:" not in body


# -- headers ----------------------------------------------------------------------------------

def check_headers(resp) -> None:
    """The security headers every response carries."""
    h = resp.headers
    csp = h.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert h.get("X-Content-Type-Options") == "nosniff"
    assert h.get("X-Frame-Options") == "DENY"
    assert h.get("Referrer-Policy") == "same-origin"


@pytest.fixture
def boom_app(make_app, seed_index: Path) -> Flask:
    """The real app plus one route that fails, to see the 500 handler at work."""
    app = make_app(seed_index)

    def boom() -> str:
        raise RuntimeError(f"secret detail {ROOT}")

    app.add_url_rule("/boom", view_func=boom)
    app.add_url_rule("/api/boom", endpoint="api_boom", view_func=boom)
    return app


ERROR_CASES = [
    ("get", "/nowhere", 404), ("get", "/api/nowhere", 404),
    ("get", "/thread/nope", 404), ("get", "/api/thread/nope", 404),
    ("get", "/?q=author:", 400), ("get", "/api/search?page=abc", 400),
    ("post", "/", 405), ("post", "/api/search", 405), ("delete", f"/thread/{SEED_ID}", 405),
    ("get", "/boom", 500), ("get", "/api/boom", 500),
]


@pytest.mark.parametrize("url", ["/", "/?q=tres+haut+debit", f"/thread/{SEED_ID}",
                                 "/api/search?q=tres", f"/api/thread/{SEED_ID}",
                                 "/static/style.css"])
def test_security_headers_on_pages(client: FlaskClient, url: str) -> None:
    with client.get(url) as resp:  # closes the static file's handle
        assert resp.status_code == 200
        check_headers(resp)


@pytest.mark.parametrize(("method", "url", "status"), ERROR_CASES)
def test_error_responses(boom_app: Flask, tmp_path: Path, method: str, url: str,
                         status: int) -> None:
    resp = getattr(boom_app.test_client(), method)(url)
    assert resp.status_code == status
    check_headers(resp)
    body = resp.get_data(as_text=True)
    assert "Traceback" not in body and "secret detail" not in body
    for path in (str(ROOT), str(tmp_path), "/usr/", "site-packages", ".py\""):
        assert path not in body
    if url.startswith("/api/"):
        assert resp.mimetype == "application/json" and "error" in resp.get_json()
    else:
        assert resp.mimetype == "text/html" and '<html lang="fr">' in body


def test_missing_index_error_pages(make_app, tmp_path: Path) -> None:
    client = make_app(tmp_path / "nothing").test_client()
    for url in ("/", "/api/search?q=x"):
        resp = client.get(url)
        assert resp.status_code == 503
        check_headers(resp)
        body = resp.get_data(as_text=True)
        assert str(tmp_path) not in body and "Traceback" not in body


# -- request size -----------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "url"), [("post", "/"), ("get", "/"),
                                             ("post", "/api/search"), ("get", "/api/search"),
                                             ("put", f"/thread/{SEED_ID}")])
def test_large_body_is_413(app: Flask, method: str, url: str) -> None:
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit == 16 * 1024
    resp = getattr(app.test_client(), method)(url, data=b"x" * (limit + 1),
                                              content_type="application/octet-stream")
    assert resp.status_code == 413
    check_headers(resp)
    if url.startswith("/api/"):
        assert resp.mimetype == "application/json" and set(resp.get_json()) == {"error"}
    else:
        assert resp.mimetype == "text/html"


def test_small_body_on_get_is_ignored(client: FlaskClient) -> None:
    resp = client.get("/api/search?q=lippi", data=b"x" * 100)
    assert resp.status_code == 200
