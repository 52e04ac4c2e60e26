"""Error responses: French HTML pages, or ``{"error": ...}`` under /api; never internals."""

from __future__ import annotations

from flask import Flask, Response, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from indexer.errors import IndexDamagedError, IndexerError, IndexMissingError, QueryError

from .messages import query_error_fr

#: French titles for the error pages (HTML) and messages (JSON).
ERROR_MESSAGES = {
    400: ("Requête invalide", "La requête n'a pas pu être comprise."),
    404: ("Page introuvable", "Cette page n'existe pas (ou plus)."),
    405: ("Méthode non autorisée", "Cette adresse ne s'utilise pas de cette façon."),
    413: ("Requête trop volumineuse", "Le corps de la requête dépasse la taille autorisée."),
    500: ("Erreur interne", "Une erreur inattendue s'est produite. Réessayez plus tard."),
    503: ("Service indisponible", "Le moteur de recherche est momentanément indisponible."),
}

INDEX_DAMAGED_MESSAGE = (
    "L’index de recherche est endommagé et ne peut pas être lu. Reconstruisez-le avec "
    "la commande «\u00a0python -m indexer rebuild\u00a0», puis rechargez la page."
)

INDEX_MISSING_MESSAGE = (
    "Aucun index de recherche n’a encore été construit. Construisez-le avec la commande "
    "«\u00a0python -m indexer rebuild\u00a0», puis rechargez la page."
)


def wants_json() -> bool:
    """True for API requests, whose errors are JSON rather than HTML."""
    return request.path == "/api" or request.path.startswith("/api/")


def error_response(status: int, message: str | None = None, title: str | None = None,
                   command: str | None = None) -> Response:
    """A French error page (or ``{"error": ...}`` under /api) with no internal details."""
    default_title, default_message = ERROR_MESSAGES.get(status, ERROR_MESSAGES[500])
    message = message or default_message
    if wants_json():
        resp = jsonify({"error": message})
    else:
        resp = Response(render_template("error.html", status=status,
                                        title=title or default_title, message=message,
                                        command=command),
                        mimetype="text/html")
    resp.status_code = status
    return resp


def register_error_handlers(app: Flask) -> None:
    """Install the handlers: HTTP errors, missing index, search core errors, anything else."""
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(QueryError, _query_error)
    app.register_error_handler(IndexDamagedError, _index_damaged)
    app.register_error_handler(IndexMissingError, _index_missing)
    app.register_error_handler(IndexerError, _backend_error)
    app.register_error_handler(Exception, _unexpected_error)


def _http_error(exc: HTTPException) -> Response:
    """HTTP errors (400, 404, 405, 413, ...) as French pages or JSON, never a traceback."""
    status = exc.code or 500
    if status < 400:  # redirects raised as exceptions (e.g. RequestRedirect)
        return exc.get_response()  # type: ignore[return-value]
    resp = error_response(status)
    for name, value in exc.get_headers():  # e.g. Allow on a 405
        if name.lower() != "content-type":
            resp.headers[name] = value
    return resp


def _index_missing(exc: IndexMissingError) -> Response:
    """No index built yet: say how to build it (503); the index path is not shown."""
    resp = error_response(503, INDEX_MISSING_MESSAGE, "Index introuvable",
                          command="python -m indexer rebuild")
    resp.headers["Retry-After"] = "60"
    return resp


def _index_damaged(exc: IndexDamagedError) -> Response:
    """An index that exists but can't be read: 503, the cause in the log, not on the page."""
    current_app.logger.error("index damaged: %s", exc)
    resp = error_response(503, INDEX_DAMAGED_MESSAGE, "Index endommagé",
                          command="python -m indexer rebuild")
    resp.headers["Retry-After"] = "60"
    return resp


def _query_error(exc: QueryError) -> Response:
    """A query or paging the search core refused: 400 with its reason."""
    return error_response(400, query_error_fr(exc))


def _backend_error(exc: IndexerError) -> Response:
    """The search core failed (e.g. its database is down): 503, details only in the log."""
    current_app.logger.error("search backend error: %s", exc)
    resp = error_response(503)
    resp.headers["Retry-After"] = "5"
    return resp


def _unexpected_error(exc: Exception) -> Response:
    """Anything else: log it, answer a plain 500."""
    if isinstance(exc, HTTPException):  # pragma: no cover - handled by _http_error
        return _http_error(exc)
    current_app.logger.exception("unhandled error", exc_info=exc)
    return error_response(InternalServerError.code)
