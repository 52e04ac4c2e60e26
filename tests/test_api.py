"""Contract tests of the JSON API over the seed thread (real index, real app).

Every test that takes ``client`` runs once per search backend (``backend_name``:
Whoosh, then PostgreSQL — see tests/conftest.py for how a server is found), so the
API contract is the same whichever backend answers.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from helpers import SEED_ID, SEED_TITLE
from helpers import SEED_TOP_FIVE as TOP_FIVE

from indexer.settings import Settings

RESULT_KEYS = {"thread_id", "thread_title", "kind", "position", "url", "author", "date",
               "snippet", "score"}


@pytest.fixture
def client(backend_client: FlaskClient) -> FlaskClient:
    """The seed app's client, on each backend in turn (overrides conftest's Whoosh one)."""
    return backend_client


def search(client: FlaskClient, q: str | None, **params: object) -> dict:
    """GET /api/search and return the JSON body (asserting 200)."""
    args = {"q": q, **params} if q is not None else dict(params)
    resp = client.get("/api/search", query_string=args)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.mimetype == "application/json"
    return resp.get_json()


def places(data: dict, n: int | None = None) -> set[tuple[str, int]]:
    """(kind, position) of the first ``n`` results."""
    return {(r["kind"], r["position"]) for r in data["results"][:n]}


def test_response_shape(client: FlaskClient) -> None:
    data = search(client, "tres haut debit")
    assert {"query", "total", "page", "per_page", "suggestion", "results"} <= data.keys()
    assert data["query"] == "tres haut debit"
    assert data["page"] == 1 and data["per_page"] == 10
    assert data["total"] == len(data["results"]) == 5
    for r in data["results"]:
        assert r.keys() >= RESULT_KEYS
        assert r["thread_id"] == SEED_ID
        assert r["thread_title"] == SEED_TITLE
        assert r["kind"] in ("post", "comment")
        assert isinstance(r["position"], int) and isinstance(r["score"], float)


@pytest.mark.parametrize("q", ["tres haut debit", "très haut débit", "TRÈS HAUT DÉBIT",
                               '"haut debit"'])
def test_very_high_speed_top_five(client: FlaskClient, q: str) -> None:
    data = search(client, q)
    assert places(data, 5) == TOP_FIVE


def test_accent_and_case_variants_agree(client: FlaskClient) -> None:
    runs = [search(client, q) for q in ("tres haut debit", "très haut débit", "TRÈS HAUT DÉBIT")]
    orders = [[(r["kind"], r["position"]) for r in d["results"]] for d in runs]
    assert orders[0] == orders[1] == orders[2]
    assert runs[0]["total"] == runs[1]["total"] == runs[2]["total"]


def test_elision_is_ignored(client: FlaskClient) -> None:
    a, b = search(client, "l'entreprise"), search(client, "entreprise")
    assert a["total"] == b["total"] > 0
    assert [(r["kind"], r["position"]) for r in a["results"]] == \
           [(r["kind"], r["position"]) for r in b["results"]]


def test_author_filter(client: FlaskClient) -> None:
    data = search(client, "author:philrig")
    assert data["total"] == 2
    assert places(data) == {("comment", 9), ("comment", 13)}
    assert {r["author"] for r in data["results"]} == {"philrig"}


def test_snippets_mark_words_as_written(client: FlaskClient) -> None:
    snippets = " ".join(r["snippet"] for q in ("tres haut debit", "très haut débit")
                        for r in search(client, q)["results"])
    for marked in ("<mark>TRES</mark>", "<mark>très</mark>", "<mark>tres</mark>",
                   "<mark>débit</mark>"):
        assert marked in snippets


def test_comment_metadata(client: FlaskClient) -> None:
    data = search(client, "tres haut debit")
    c1 = next(r for r in data["results"] if (r["kind"], r["position"]) == ("comment", 1))
    assert c1["author"] == "Christophe Humbert"
    assert c1["date"].startswith("2009-02-05T14:51")


@pytest.mark.parametrize(("q", "n"), [("tres haut debit", 5), ("author:philrig", 2)])
def test_url_opens_thread_at_passage(client: FlaskClient, q: str, n: int) -> None:
    results = search(client, q)["results"]
    assert len(results) == n
    for r in results:
        url = urlsplit(r["url"])
        assert url.path == f"/thread/{SEED_ID}"
        assert parse_qs(url.query)["q"] == [q]
        assert url.fragment == ("p" if r["kind"] == "post" else "c") + str(r["position"])
        page = client.get(r["url"])
        assert page.status_code == 200
        assert f'id="{url.fragment}"' in page.get_data(as_text=True)


def test_url_quotes_odd_thread_ids(make_backend_index, make_backend_app) -> None:
    tid = "a b/c?d#e&f"
    index = make_backend_index([{"id": tid, "title": "Titre",
                                 "post": {"paragraphs": ["zébulon"]}}])
    client = make_backend_app(index).test_client()
    data = search(client, "zebulon")
    url = data["results"][0]["url"]
    assert url.startswith("/thread/a%20b%2Fc%3Fd%23e%26f?q=zebulon#p1")
    assert client.get(url).status_code == 200
    thread = client.get("/api/thread/a%20b%2Fc%3Fd%23e%26f").get_json()
    assert thread["id"] == tid


def test_paging(client: FlaskClient) -> None:
    full = search(client, "entreprise")
    assert full["total"] == 8
    first = search(client, "entreprise", per_page=2)
    second = search(client, "entreprise", per_page=2, page=2)
    assert first["per_page"] == 2 and len(first["results"]) == 2
    assert second["page"] == 2
    assert [r["position"] for r in first["results"] + second["results"]] == \
           [r["position"] for r in full["results"][:4]]
    assert first["total"] == second["total"] == full["total"]


@pytest.mark.parametrize("params", [
    {"page": "abc"}, {"page": "0"}, {"page": "-1"}, {"page": "1.5"}, {"page": ""},
    {"per_page": "0"}, {"per_page": "101"}, {"per_page": "abc"}, {"page": "101"},
])
def test_bad_paging_is_400(client: FlaskClient, params: dict[str, str]) -> None:
    resp = client.get("/api/search", query_string={"q": "lippi", **params})
    assert resp.status_code == 400
    body = resp.get_json()
    assert set(body) == {"error"} and isinstance(body["error"], str) and body["error"]


def test_per_page_bounds_are_accepted(client: FlaskClient) -> None:
    assert search(client, "lippi", per_page=1)["per_page"] == 1
    assert search(client, "lippi", per_page=100)["per_page"] == 100


@pytest.mark.parametrize("q", [None, "", "   "])
def test_missing_or_empty_query_is_empty_200(client: FlaskClient, q: str | None) -> None:
    data = search(client, q)
    assert data["total"] == 0 and data["results"] == []
    assert data["suggestion"] is None


def test_unknown_word_is_searched_as_its_closest_word(client: FlaskClient) -> None:
    data = search(client, "sarkosy")
    assert data["total"] == 1 and data["results"][0]["position"] == 15
    assert data["notices"] == ["Aucun passage ne contient «\u00a0sarkosy\u00a0»\u00a0: "
                               "résultats pour «\u00a0sarkozy\u00a0», le mot le plus proche."]
    assert data["suggestion"] == "sarkozy"


def test_any_word_fallback_is_reported(client: FlaskClient) -> None:
    data = search(client, "obama sarkozy xyzzy")
    assert data["matched"] == "any" and data["total"] == 7


def test_facets(client: FlaskClient) -> None:
    data = search(client, "tres haut debit", facets=1)
    assert data["authors"] == [{"name": "Christophe Humbert", "count": 1},
                               {"name": "philrig", "count": 1}]
    assert data["kinds"] == {"post": 3, "comment": 2}
    assert "authors" not in search(client, "tres haut debit")


#: Odd queries and the status each gets: 200 (searched; the parser drops what it cannot
#: use) or 400 (refused, with the parser's reason).
ODD_QUERIES = [
    ('"unbalanced', 200), ("((", 200), ("))", 200), ("()", 200), ("*", 200), ("**", 200),
    ("a*", 200), ("entrep*", 200), ("author:", 400), ("kind:", 400), ("kind:x", 400),
    ("after:", 400), ("after:2009-13-45", 400), ("before:demain", 400), ("thread:", 400),
    ("-", 200), ("--", 200), ("-tres", 200), ("OR", 200), ("OR OR", 200), ("tres OR", 200),
    ("AND", 200), ("NOT", 200), ('""', 200), ('" "', 200), ("\\", 200), ("%", 200),
    ("%00", 200), ("?", 200), ("~", 200), ("^", 200), (":", 200), ("x" * 5000, 400),
    ("tres " * 1000, 400), ("(" * 50 + "tres" + ")" * 50, 400), ("a " * 200, 200),
    ("\x00", 200), ("tres\x00haut", 200), ("\x01\x02\x03\x1b[31m", 200), ("\t\n\r", 200),
    ("\u200b", 200), ("\ufeff", 200), ("\ud7ff", 200), ("𝕥𝕣𝕖𝕤", 200),
    ("<script>alert(1)</script>", 200), ("' OR 1=1 --", 200), ('author:""', 400),
    ('author:"', 400), ("author:philrig author:billaut", 200), ("kind:post kind:comment", 200),
    ("l'", 200), ("'", 200), ("’", 200), ("l’entreprise", 200), ("aujourd'hui", 200),
    ("c'est-à-dire", 200), ("2.0", 200), ("1789", 200), ("é" * 300, 200),
]


@pytest.mark.parametrize(("q", "status"), ODD_QUERIES, ids=range(len(ODD_QUERIES)))
def test_odd_queries_never_500(client: FlaskClient, q: str, status: int) -> None:
    resp = client.get("/api/search", query_string={"q": q})
    assert resp.status_code == status, resp.get_data(as_text=True)[:300]
    body = resp.get_json()
    if status == 400:
        assert set(body) == {"error"} and body["error"]
    else:
        assert len(body["results"]) == min(body["total"], body["per_page"])


def test_thread_json(client: FlaskClient) -> None:
    resp = client.get(f"/api/thread/{SEED_ID}")
    assert resp.status_code == 200
    t = resp.get_json()
    assert t["id"] == SEED_ID
    assert t["title"] == SEED_TITLE
    assert len(t["paragraphs"]) == 15 and len(t["comments"]) == 14
    c4 = t["comments"][3]
    assert c4["position"] == 4 and c4["author"] == "Billaut" and c4["reply_to"] == [3]
    assert t["comments"][2]["date"].startswith("2009-02-05T21:38")


def test_thread_json_unknown_is_404(client: FlaskClient) -> None:
    resp = client.get("/api/thread/nope")
    assert resp.status_code == 404
    assert set(resp.get_json()) == {"error"}


def test_unknown_api_route_is_json_404(client: FlaskClient) -> None:
    resp = client.get("/api/nothing-here")
    assert resp.status_code == 404 and resp.mimetype == "application/json"
    assert "error" in resp.get_json()


def test_wrong_method_is_json_405(client: FlaskClient) -> None:
    resp = client.post("/api/search", data={"q": "x"})
    assert resp.status_code == 405 and resp.mimetype == "application/json"
    assert "GET" in resp.headers["Allow"]


def test_missing_index_is_503(make_backend_app, missing_index, tmp_path) -> None:
    client = make_backend_app(missing_index).test_client()
    for url in ("/api/search?q=lippi", "/api/search", f"/api/thread/{SEED_ID}"):
        resp = client.get(url)
        assert resp.status_code == 503
        error = resp.get_json()["error"]
        assert "python -m indexer rebuild" in error
        assert str(tmp_path) not in error


def test_config_env_fallback_and_override(monkeypatch: pytest.MonkeyPatch, seed_index,
                                          tmp_path) -> None:
    from search_app import create_app

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FIL_INDEX_DIR", raising=False)
    monkeypatch.setenv("FIL_BACKEND", "whoosh")
    default = create_app()
    assert default.extensions["fil"].store.index_dir == tmp_path / "index_data" / "index"

    monkeypatch.setenv("FIL_INDEX_DIR", str(seed_index))  # read by create_app, not at import
    app = create_app({"TESTING": True})
    try:
        assert app.extensions["fil"].store.index_dir == seed_index.resolve()
        assert app.test_client().get("/api/search?q=lippi").get_json()["total"] > 0
    finally:
        app.extensions["fil"].close()

    other = create_app(settings=Settings(index_dir=tmp_path / "other"))  # beats environment
    assert other.extensions["fil"].store.index_dir == (tmp_path / "other").resolve()
    assert other.test_client().get("/api/search?q=lippi").status_code == 503


@pytest.mark.postgres
def test_config_env_selects_postgres(monkeypatch: pytest.MonkeyPatch, pg_seed_url: str,
                                     make_pg_index, tmp_path) -> None:
    """FIL_BACKEND / FIL_DATABASE_URL from the environment, and explicit settings beating them."""
    from search_app import create_app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FIL_BACKEND", "postgres")
    monkeypatch.setenv("FIL_DATABASE_URL", pg_seed_url)
    apps: list[Flask] = []
    try:
        app = create_app({"TESTING": True})
        apps.append(app)
        assert app.extensions["fil"].name == "postgres"
        assert app.test_client().get("/api/search?q=lippi").get_json()["total"] > 0

        other = make_pg_index([{"id": "autre", "title": "Autre",
                                "post": {"paragraphs": ["zébulon"]}}])
        app = create_app({"TESTING": True},
                         settings=Settings(backend="postgres", database_url=other))
        apps.append(app)
        assert app.test_client().get("/api/search?q=lippi").get_json()["total"] == 0
        assert app.test_client().get("/api/search?q=zebulon").get_json()["total"] == 1
    finally:
        for a in apps:
            a.extensions["fil"].close()


def test_exclusion_applies_to_filter_only_queries(backend_client: FlaskClient) -> None:
    """``-lippi kind:comment``: comments, minus those that mention Lippi."""
    every = backend_client.get("/api/search", query_string={"q": "kind:comment"}).get_json()
    minus = backend_client.get("/api/search",
                               query_string={"q": "-lippi kind:comment", "per_page": 100})
    body = minus.get_json()
    assert every["total"] == 14
    assert body["total"] == 13  # comment 8 names Lippi
    assert [r["position"] for r in body["results"]] == [14, 13, 12, 11, 10, 9, 7, 6, 5, 4, 3, 2, 1]
    assert all("lippi" not in r["snippet"].lower() for r in body["results"])


# -- results grouped by thread -------------------------------------------------------


def test_group_by_thread_pages_over_threads(make_app, make_index) -> None:
    """group=thread: one result per thread, each thread on one page only, totals in both."""
    threads = [{"id": f"fil-{i}", "title": f"Fil {i}",
                "post": {"paragraphs": [f"Le chat numéro {i} dort."] * (1 + i % 4)}}
               for i in range(23)]
    client = make_app(make_index(threads)).test_client()
    seen: list[str] = []
    for page in (1, 2, 3):
        data = client.get("/api/search", query_string={
            "q": "chat", "group": "thread", "per_page": 10, "page": page}).get_json()
        assert data["group"] == "thread" and data["total"] == 23
        assert data["total_passages"] == sum(1 + i % 4 for i in range(23))
        for r in data["results"]:
            assert 1 <= len(r["passages"]) <= 3
            assert all(p["thread_id"] == r["thread_id"] for p in r["passages"])
            assert r["more"] == (1 + int(r["thread_id"][4:]) % 4) - len(r["passages"])
            assert r["url"] == f"/thread/{r['thread_id']}?q=chat"
        seen += [r["thread_id"] for r in data["results"]]
    assert len(seen) == len(set(seen)) == 23


def test_group_by_passage_is_the_default_and_unchanged(client: FlaskClient) -> None:
    default = client.get("/api/search?q=tres+haut+debit").get_json()
    explicit = client.get("/api/search?q=tres+haut+debit&group=passage").get_json()
    assert default == {**explicit, "elapsed_ms": default["elapsed_ms"]}
    assert default["group"] == "passage" and default["total"] == default["total_passages"] == 5


def test_bad_group_is_a_400(client: FlaskClient) -> None:
    resp = client.get("/api/search?q=lippi&group=fil")
    assert resp.status_code == 400
    assert resp.get_json() == {"error": "le paramètre group vaut passage ou thread, "
                                        "pas «\u00a0fil\u00a0»"}
