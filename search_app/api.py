"""JSON API: ``GET /api/search`` and ``GET /api/thread/<thread_id>``.

Errors are ``{"error": message}`` (in French): 400 for a query or paging that cannot run,
404 for an unknown thread, 503 when no index can be searched.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from indexer.errors import QueryError
from indexer.ingest.model import Thread
from indexer.search import present
from indexer.search.pipeline import check_paging
from indexer.search.results import SearchResults

from .errors import error_response
from .messages import notice_fr, query_error_fr
from .state import get_service

bp = Blueprint("api", __name__)


def results_json(res: SearchResults, query: str, facets: bool) -> dict[str, Any]:
    """The search contract (:func:`indexer.search.present.results_json`), notices in French."""
    return present.results_json(res, query, facets, notice_fr, base=request.script_root)


def thread_json(t: Thread) -> dict[str, Any]:
    """A whole thread (:func:`indexer.search.present.thread_json`)."""
    return present.thread_json(t, base=request.script_root)


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
            request.args.get("per_page", str(current_app.config["PER_PAGE"])),
        )
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
