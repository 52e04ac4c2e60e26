"""The write API: ``POST /api/threads`` and ``DELETE /api/threads/<id>``, behind a token.

The real app over real indexes (Flask's test client), and a real waitress server for
the pushes made while clients search. Nothing is timed: rate limits are provoked by
counting requests against a bucket that refills too slowly to matter.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from helpers import GENEROUS_SECONDS, SEED_FILE, SEED_ID, Server, wait_until

from indexer.store.whoosh.manifest import writer_lock

TOKEN = "un-jeton-secret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NBSP = "\u00a0"


def line(tid: str, *paragraphs: str, title: str | None = None) -> str:
    return json.dumps({"id": tid, "title": title or f"Fil {tid}",
                       "post": {"author": "Blogueur", "date": "2024-06-01T10:00",
                                "paragraphs": list(paragraphs)}}, ensure_ascii=False)


def body(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


@pytest.fixture
def writable(make_index: Callable[..., Path], make_app: Callable[..., Flask]
             ) -> Callable[..., Flask]:
    """``writable(**config)``: an app with the write API over a fresh copy of the seed index."""
    def make(**config: Any) -> Flask:
        return make_app(make_index([SEED_FILE]), FIL_WRITE_TOKEN=TOKEN, **config)
    return make


def push(client: FlaskClient, data: bytes, headers: dict[str, str] | None = None) -> Any:
    return client.post("/api/threads", data=data, headers=AUTH if headers is None else headers,
                       content_type="application/x-ndjson")


def total(client: FlaskClient, q: str) -> int:
    resp = client.get("/api/search", query_string={"q": q})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return int(resp.get_json()["total"])


# -- off unless configured ------------------------------------------------------------------


def test_routes_are_absent_without_a_token(client: FlaskClient) -> None:
    for method, url in (("post", "/api/threads"), ("delete", f"/api/threads/{SEED_ID}"),
                        ("get", "/api/threads")):
        resp = getattr(client, method)(url, data=body(line("x", "texte")), headers=AUTH)
        assert resp.status_code == 404 and set(resp.get_json()) == {"error"}, url
    assert total(client, "lippi") > 0  # nothing was deleted


# -- who may write ------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Authorization": TOKEN},
                                     {"Authorization": f"Basic {TOKEN}"},
                                     {"Authorization": "Bearer "}])
def test_missing_token_is_401(writable: Callable[..., Flask], headers: dict[str, str]) -> None:
    client = writable().test_client()
    resp = push(client, body(line("neuf", "Un nouveau billet sur les zèbres.")), headers)
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"] == 'Bearer realm="fil"'
    assert resp.get_json()["error"].startswith(f"Authentification requise{NBSP}: ")
    assert total(client, "zèbres") == 0
    assert client.delete(f"/api/threads/{SEED_ID}", headers=headers).status_code == 401


def test_wrong_token_is_403(writable: Callable[..., Flask]) -> None:
    client = writable().test_client()
    wrong = {"Authorization": f"Bearer {TOKEN}x"}
    resp = push(client, body(line("neuf", "Un billet sur les zèbres.")), wrong)
    assert resp.status_code == 403 and resp.get_json() == {"error": "Jeton refusé."}
    assert client.delete(f"/api/threads/{SEED_ID}", headers=wrong).status_code == 403
    assert total(client, "zèbres") == 0 and total(client, "lippi") > 0


# -- sizes -----------------------------------------------------------------------------------


def test_push_route_takes_bodies_past_the_apps_16_kib(writable: Callable[..., Flask]) -> None:
    app = writable()
    assert app.config["MAX_CONTENT_LENGTH"] == 16 * 1024
    assert app.config["MAX_PUSH_BYTES"] == 16 * 1024 * 1024
    long_text = "Les zèbres galopent dans la savane. " * 1000  # 36 KiB
    resp = push(app.test_client(), body(line("long", long_text)))
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["added"] == 1


def test_oversized_body_is_413_but_only_once_authenticated(writable: Callable[..., Flask]
                                                           ) -> None:
    app = writable(MAX_PUSH_BYTES=4096)
    client = app.test_client()
    big = body(line("gros", "mastodonte " * 500))
    assert len(big) > 4096
    assert push(client, big, {}).status_code == 401  # the limit is not told to strangers
    resp = push(client, big)
    assert resp.status_code == 413 and resp.mimetype == "application/json"
    assert set(resp.get_json()) == {"error"}
    assert total(client, "mastodonte") == 0


def test_oversized_chunked_body_is_413_on_a_real_server(writable: Callable[..., Flask]
                                                        ) -> None:
    """No Content-Length (chunked): the limit still holds while the body is read."""
    app = writable(MAX_PUSH_BYTES=4096)
    with Server(app) as srv:
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=GENEROUS_SECONDS)
        try:
            chunks = (body(line(f"c{i}", "mot " * 200)) for i in range(10))
            conn.request("POST", "/api/threads", body=chunks, headers=AUTH,
                         encode_chunked=True)
            resp = conn.getresponse()
            assert resp.status == 413, resp.read()
            assert "error" in json.loads(resp.read())
        finally:
            conn.close()
        for pushed in ("thread:c0", "thread:c9"):  # none of the refused threads went in
            status, found = srv.get(pushed)
            assert status == 200 and found["total"] == 0, found


# -- what a push does --------------------------------------------------------------------------


def test_push_adds_replaces_and_reports_each_line(writable: Callable[..., Flask]) -> None:
    client = writable().test_client()
    resp = push(client, body(line("zebres", "Les zèbres galopent."),
                             "{pas du json",
                             line("okapis", "Les okapis se cachent."),
                             json.dumps({"id": "vide", "post": {"paragraphs": []}}),
                             line("zebres", "Un doublon.")))
    assert resp.status_code == 200
    out = resp.get_json()
    assert (out["added"], out["replaced"], out["unchanged"]) == (2, 0, 0)
    assert [(r["line"], r["code"]) for r in out["rejected"]] == [
        (2, "invalid-json"), (4, "empty"), (5, "duplicate-id")]
    assert out["rejected"][0]["error"] == "JSON invalide"
    assert out["rejected"][0]["detail"].startswith("invalid JSON: ")
    assert out["passages"] == 2
    assert total(client, "zèbres") == 1 and total(client, "okapis") == 1  # the next search

    again = push(client, body(line("zebres", "Les zèbres galopent."),
                              line("okapis", "Les okapis dorment.")))
    out = again.get_json()
    assert (out["added"], out["replaced"], out["unchanged"]) == (0, 1, 1)
    assert total(client, "dorment") == 1 and total(client, "cachent") == 0
    found = client.get("/api/thread/okapis").get_json()
    assert found["paragraphs"] == ["Les okapis dorment."]


def test_push_with_nothing_usable_is_400(writable: Callable[..., Flask]) -> None:
    client = writable().test_client()
    empty = push(client, b"\n  \n")
    assert empty.status_code == 400
    assert empty.get_json()["error"].startswith(f"Le corps de la requête est vide{NBSP}: ")
    bad = push(client, b"[1, 2]\n{cass\xc3\xa9\n")
    assert bad.status_code == 400
    out = bad.get_json()
    assert out["error"] == "Aucun fil valable dans la requête."
    assert [(r["line"], r["code"]) for r in out["rejected"]] == [(1, "invalid-record"),
                                                                  (2, "invalid-json")]
    binary = push(client, bytes(range(256)) * 4)
    assert binary.status_code == 400
    assert binary.get_json()["rejected"][0]["code"] == "binary"


def test_delete_then_404(writable: Callable[..., Flask]) -> None:
    client = writable().test_client()
    assert total(client, "lippi") > 0
    resp = client.delete(f"/api/threads/{SEED_ID}", headers=AUTH)
    assert resp.status_code == 200 and resp.get_json()["deleted"] == 1
    assert total(client, "lippi") == 0
    assert client.get(f"/api/thread/{SEED_ID}").status_code == 404
    again = client.delete(f"/api/threads/{SEED_ID}", headers=AUTH)
    assert again.status_code == 404 and set(again.get_json()) == {"error"}


def test_busy_index_is_503_with_retry_after(writable: Callable[..., Flask]) -> None:
    app = writable()
    client = app.test_client()
    index = app.extensions["fil"].store.index_dir
    with writer_lock(index):  # another change (a cron `fil update`) holds the index
        resp = push(client, body(line("zebres", "Les zèbres galopent.")))
        gone = client.delete(f"/api/threads/{SEED_ID}", headers=AUTH)
    for r in (resp, gone):
        assert r.status_code == 503 and r.headers["Retry-After"] == "5"
        assert "\u202f; réessayez" in r.get_json()["error"]
    assert push(client, body(line("zebres", "Les zèbres galopent."))).status_code == 200


def test_rate_limit_is_429_with_retry_after(writable: Callable[..., Flask]) -> None:
    client = writable(PUSH_BURST=3, PUSH_RATE=0.001).test_client()
    statuses = [push(client, body(line(f"t{i}", f"Texte {i}.")), {} if i == 0 else None)
                .status_code for i in range(3)]
    assert statuses == [401, 200, 200]  # refused requests spend tokens too
    limited = push(client, body(line("t9", "Texte 9.")))
    assert limited.status_code == 429
    wait = int(limited.headers["Retry-After"])
    assert wait >= 1 and f"réessayez dans {wait}{NBSP}s" in limited.get_json()["error"]
    assert total(client, "texte") == 2
    other = client.post("/api/threads", data=body(line("t8", "Texte 8.")), headers=AUTH,
                        environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 200  # buckets are per client


@pytest.mark.postgres
def test_push_on_postgres_is_done_or_501(make_pg_index, make_pg_app) -> None:
    from indexer.store.postgres.store import PostgresStore

    client = make_pg_app(make_pg_index([SEED_FILE]), FIL_WRITE_TOKEN=TOKEN).test_client()
    resp = push(client, body(line("zebres", "Les zèbres galopent.")))
    if hasattr(PostgresStore, "update"):
        assert resp.status_code == 200 and total(client, "zèbres") == 1
    else:
        assert resp.status_code == 501 and set(resp.get_json()) == {"error"}
        assert total(client, "zèbres") == 0


# -- pushes while searching -----------------------------------------------------------------------

CLIENTS = 4
PUSHES = 12


def test_searches_never_fail_during_pushes(writable: Callable[..., Flask]) -> None:
    """Clients search without pause while threads are pushed, replaced and deleted through
    the API of a real server: every search answers 200, and sees each push once it is done."""
    app = writable()
    with Server(app, threads=4) as srv:
        stop = threading.Event()
        outcomes: list[list[int]] = [[] for _ in range(CLIENTS)]
        errors: list[str] = []

        def search(n: int) -> None:
            while not stop.is_set():
                try:
                    status, found = srv.get("zèbres lippi" if n % 2 else "numéro")
                except Exception as exc:  # noqa: BLE001 - any transport failure counts
                    errors.append(repr(exc))
                    return
                outcomes[n].append(status)
                if status != 200:
                    errors.append(f"{status}: {found}")

        clients = [threading.Thread(target=search, args=(n,)) for n in range(CLIENTS)]
        for c in clients:
            c.start()
        try:
            wait_until(lambda: all(len(o) >= 2 for o in outcomes), "clients never searched")
            for i in range(PUSHES):
                conn = http.client.HTTPConnection("127.0.0.1", srv.port,
                                                  timeout=GENEROUS_SECONDS)
                try:
                    if i % 4 == 3:
                        conn.request("DELETE", f"/api/threads/p{i - 1}", headers=AUTH)
                    else:
                        conn.request("POST", "/api/threads", headers=AUTH, body=body(
                            line(f"p{i}", f"Le billet numéro {i} parle des zèbres."),
                            line("fixe", f"Version {i} du fil fixe, numéro {i}.")))
                    resp = conn.getresponse()
                    assert resp.status == 200, resp.read()
                    resp.read()
                finally:
                    conn.close()
                status, found = srv.get("numéro", per_page=100)  # visible at once
                assert status == 200
                ids = {r["thread_id"] for r in found["results"]}
                if i % 4 == 3:
                    assert f"p{i - 1}" not in ids
                else:
                    assert f"p{i}" in ids and "fixe" in ids
            done = [len(o) for o in outcomes]
            wait_until(lambda: all(len(o) >= d + 2 for o, d in zip(outcomes, done,
                                                                     strict=True)),
                       "clients stopped searching")
        finally:
            stop.set()
            for c in clients:
                c.join(timeout=GENEROUS_SECONDS)
        assert errors == []
        assert all(set(o) == {200} for o in outcomes)
        status, found = srv.get("numéro", per_page=100)
        kept = {r["thread_id"] for r in found["results"]}
        assert kept == {"fixe"} | {f"p{i}" for i in range(PUSHES) if i % 4 != 3 and i % 4 != 2}
