"""Fil's web front end: a Flask app (HTML pages and a JSON API) over the search core.

Run it with ``python -m search_app`` / ``fil-serve`` (waitress) or
``flask --app search_app run`` (development).

Settings have one name everywhere (:data:`indexer.settings.SETTINGS`): the app config
takes the environment variables' names (``create_app({"FIL_INDEX_DIR": ...})``), over
the ``settings`` given (else the environment).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import RequestEntityTooLarge

from indexer.service import Service, open_service
from indexer.settings import SETTINGS, Settings

from . import api, push, views
from .errors import register_error_handlers
from .filters import register_filters
from .state import EXTENSION, SETTINGS_EXTENSION, get_service
from .urls import ThreadIdConverter

MAX_CONTENT_LENGTH = 16 * 1024  # bytes: pages and searches are GET (the write API: push.py)
PER_PAGE = 10

#: Sent with every response (pages, API, static files, error pages).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


class SafeJSONProvider(DefaultJSONProvider):
    """JSON with ``<``, ``>``, ``&`` and ``'`` written as ``\\u00XX``: same data, no raw tags."""

    ensure_ascii = False
    sort_keys = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        """Serialize, then escape the HTML-significant characters (only found in strings)."""
        text = super().dumps(obj, **kwargs)
        return (text.replace("&", "\\u0026").replace("<", "\\u003c")
                .replace(">", "\\u003e").replace("'", "\\u0027"))


def create_app(config: dict[str, Any] | None = None, settings: Settings | None = None,
               service: Service | None = None) -> Flask:
    """Build the Flask app over a search service.

    Settings come from ``settings`` (else the environment), then from the ``FIL_*`` keys
    of ``config`` (the environment variables' names). The service comes from
    ``service``, else from those settings. ``config`` also sets Flask options and the
    app's own (``PER_PAGE``, ``MAX_CONTENT_LENGTH``, ``MAX_PUSH_BYTES``, ``PUSH_RATE``,
    ``PUSH_BURST``). The write API (:mod:`.push`) exists only when ``FIL_WRITE_TOKEN``
    is set.
    """
    app = Flask(__name__)
    app.json = SafeJSONProvider(app)
    app.config.from_mapping({"MAX_CONTENT_LENGTH": MAX_CONTENT_LENGTH, "PER_PAGE": PER_PAGE})
    if config:
        app.config.from_mapping(config)
    settings = (settings or Settings.from_env()).override(
        **{s.field: app.config[s.env] for s in SETTINGS if s.env in app.config})
    if service is None:
        service = open_service(settings.backend, Path(settings.index_dir).expanduser().resolve(),
                               settings.database_url, settings.shards)
    app.extensions[EXTENSION] = service
    app.extensions[SETTINGS_EXTENSION] = settings
    register_filters(app)
    app.url_map.converters["tid"] = ThreadIdConverter

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp, url_prefix="/api")
    if settings.write_token:
        push.install(app, settings.write_token)

    app.before_request(_limit_body)
    app.after_request(_security_headers)
    register_error_handlers(app)
    return app


def _limit_body() -> Response | None:
    """Refuse declared bodies over MAX_CONTENT_LENGTH even on routes that never read them.

    The write API checks its own (larger) limit after the token (:mod:`.push`).
    """
    if request.blueprint == push.bp.name:
        return None
    limit = request.max_content_length
    if limit is not None and request.content_length is not None \
            and request.content_length > limit:
        raise RequestEntityTooLarge()
    return None


def _security_headers(resp: Response) -> Response:
    """Add the security headers to every response."""
    for name, value in SECURITY_HEADERS.items():
        resp.headers.setdefault(name, value)
    return resp


__all__ = ["create_app", "get_service"]
