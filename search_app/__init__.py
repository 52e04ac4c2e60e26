"""Fil's web front end: a Flask app (HTML pages and a JSON API) over the search core.

Run it with ``python -m search_app`` (waitress) or ``flask --app search_app run`` (development).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import RequestEntityTooLarge

from indexer.service import DEFAULT_INDEX_DIR, DEFAULT_SOURCE_DIR, SearchBackend, open_backend

from .errors import register_error_handlers
from .filters import register_filters

MAX_CONTENT_LENGTH = 16 * 1024  # bytes: the app only serves GET requests
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


def default_config() -> dict[str, Any]:
    """Default settings; relative paths are resolved against the current directory."""
    return {
        "INDEX_DIR": str(Path.cwd() / DEFAULT_INDEX_DIR),
        "SOURCE_DIR": str(Path.cwd() / DEFAULT_SOURCE_DIR),
        "SEARCH_BACKEND": "whoosh",
        "DATABASE_URL": None,
        "MAX_CONTENT_LENGTH": MAX_CONTENT_LENGTH,
        "PER_PAGE": PER_PAGE,
    }


def env_config() -> dict[str, Any]:
    """Settings taken from the environment (read when the app is created, not at import)."""
    out: dict[str, Any] = {}
    for env, key in (("FIL_INDEX_DIR", "INDEX_DIR"), ("SEARCH_BACKEND", "SEARCH_BACKEND"),
                     ("DATABASE_URL", "DATABASE_URL")):
        value = os.environ.get(env)
        if value:
            out[key] = value
    return out


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask app: defaults, then environment, then ``config`` overrides."""
    app = Flask(__name__)
    app.json = SafeJSONProvider(app)
    app.config.from_mapping(default_config())
    app.config.from_mapping(env_config())
    if config:
        app.config.from_mapping(config)
    app.config["INDEX_DIR"] = str(Path(app.config["INDEX_DIR"]).expanduser().resolve())

    app.extensions["fil"] = open_backend(app.config["SEARCH_BACKEND"],
                                         index_dir=app.config["INDEX_DIR"],
                                         database_url=app.config["DATABASE_URL"])
    register_filters(app)

    from . import api, views
    from .urls import ThreadIdConverter

    app.url_map.converters["tid"] = ThreadIdConverter

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp, url_prefix="/api")

    app.before_request(_limit_body)
    app.after_request(_security_headers)
    register_error_handlers(app)
    return app


def get_backend(app: Flask | None = None) -> SearchBackend:
    """The app's search backend (opened once per app, shared by every request)."""
    return (app or current_app).extensions["fil"]


def _limit_body() -> Response | None:
    """Refuse declared bodies over MAX_CONTENT_LENGTH even on routes that never read them."""
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


__all__ = ["create_app", "get_backend"]
