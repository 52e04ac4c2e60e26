"""JSON API: ``GET /api/search`` and ``GET /api/thread/<thread_id>``.

Errors are ``{"error": message}`` (in French): 400 for a query or paging that cannot run,
404 for an unknown thread, 503 when no index can be searched.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from indexer.errors import QueryError
from indexer.ingest.model import Thread
from indexer.search.pipeline import check_paging
from indexer.search.results import Hit, SearchResults, ThreadGroup

from .errors import error_response
from .messages import notice_fr, query_error_fr
from .state import get_service
from .urls import hit_url, thread_url

bp = Blueprint("api", __name__)


def hit_json(hit: Hit, query: str) -> dict[str, Any]:
    """One result: where it is, who wrote it, its snippet (safe HTML) and score."""
    return {
        "thread_id": hit.thread_id,
        "thread_title": hit.thread_title,
        "kind": hit.kind,
        "position": hit.position,
        "url": hit_url(hit, query),
        "author": hit.author,
        "date": hit.date,
        "snippet": hit.snippet,
        "score": hit.score,
        "paragraph": hit.paragraph,
        "anchor": hit.anchor,
    }


def group_json(g: ThreadGroup, query: str) -> dict[str, Any]:
    """One thread of a page grouped by thread: where it is, its best passages, the rest."""
    return {
        "thread_id": g.thread_id,
        "thread_title": g.thread_title,
        "score": g.score,
        "url": thread_url(g.thread_id, query),
        "passages": [hit_json(h, query) for h in g.hits],
        "more": g.more,
    }


def results_json(res: SearchResults, query: str, facets: bool) -> dict[str, Any]:
    """The search contract: query, total, page, per_page, suggestion, results (+ extras)."""
    out: dict[str, Any] = {
        "query": query,
        "total": res.total,
        "total_exact": res.total_exact,
        "total_passages": res.total_passages,
        "group": res.group,
        "sort": res.sort,
        "page": res.page,
        "per_page": res.per_page,
        "suggestion": res.suggestion,
        "results": ([group_json(g, query) for g in res.groups] if res.group == "thread"
                    else [hit_json(h, query) for h in res.hits]),
        "matched": res.matched,
        "notices": [notice_fr(n) for n in res.notices],
        "elapsed_ms": round(res.elapsed_ms, 2),
    }
    if facets:
        out["authors"] = [{"name": name, "count": count} for name, count in res.authors]
        out["kinds"] = dict(res.kinds)
        fc = res.facet_counts
        if fc is not None:  # each facet counted with the query's own filter on it dropped
            out["facet_counts"] = {
                "kinds": dict(fc.kinds),
                "authors": [{"name": name, "count": count} for name, count in fc.authors],
                "months": dict(fc.months), "undated": fc.undated}
    return out


def thread_json(t: Thread) -> dict[str, Any]:
    """A whole thread: post paragraphs and comments (plain text, as indexed)."""
    return {
        "id": t.id,
        "title": t.title,
        "url": t.url,
        "author": t.author,
        "date": t.date,
        "page_url": thread_url(t.id),
        "paragraphs": list(t.paragraphs),
        "comments": [
            {"position": c.position, "author": c.author, "date": c.date,
             "paragraphs": list(c.paragraphs), "reply_to": list(c.reply_to)}
            for c in t.comments
        ],
    }


@bp.get("/search")
def search() -> Response | tuple[Response, int]:
    """Search: ``?q=...&page=1&per_page=10[&facets=1][&group=thread][&sort=date]``.

    ``group=thread`` returns one result per thread (its best passages under
    ``passages``, and ``more``: its other matching passages) and ``total`` counts
    threads; by default results are passages (thread-first ordered) and ``total`` counts
    passages. ``total_passages`` counts passages either way. ``sort=date`` orders the
    same matches newest first (``relevance``, the default, ranks them). With ``facets``,
    ``facet_counts`` gives each facet counted without the query's own filter on it (what
    a page offers as choices), with passages per month (``YYYY-MM``) and ``undated``.

    A missing or empty ``q`` is not an error: it answers 200 with ``total`` 0 and no
    results. ``page`` (1..100) and ``per_page`` (1..100) must be whole numbers, else
    400 ``{"error": ...}``; so does a query the parser rejects (too long, bad filter).
    ``url`` in each result opens the thread page at the passage (``#p3`` / ``#c5``).
    """
    q = request.args.get("q", "")
    facets = request.args.get("facets", "").lower() in ("1", "true", "yes", "oui")
    group = request.args.get("group", "passage")
    sort = request.args.get("sort", "relevance")
    try:
        page, per_page = check_paging(
            request.args.get("page", "1"),
            request.args.get("per_page", str(current_app.config["PER_PAGE"])))
        res = get_service().search(q, page=page, per_page=per_page, facets=facets,
                                   group=group, sort=sort)
    except QueryError as exc:
        return jsonify({"error": query_error_fr(exc)}), 400
    return jsonify(results_json(res, q, facets))


@bp.get("/thread/<tid:thread_id>", merge_slashes=False)
def thread(thread_id: str) -> Response:
    """The whole thread as JSON, or 404 ``{"error": ...}`` when the id is unknown."""
    found = get_service().get_thread(thread_id)
    if found is None:
        return error_response(404, "Aucun fil de discussion ne porte cet identifiant.")
    return jsonify(thread_json(found))
