"""URL pieces shared by the pages and the API: the thread id converter and passage links.

The links themselves are built by :mod:`indexer.search.present` (the command line prints
the same ones), under the app's script root.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import request
from werkzeug.routing import BaseConverter

from indexer.search import present
from indexer.search.results import Hit


class ThreadIdConverter(BaseConverter):
    """Any thread id, slashes included; every reserved character is percent-encoded.

    Ids are only ever looked up in the index (never used as file paths), so any
    character is accepted here; unknown ids simply give a 404.
    """

    regex = ".+"
    part_isolating = False

    def to_python(self, value: str) -> str:
        """The id as decoded by the server."""
        return value

    def to_url(self, value: str) -> str:
        """Percent-encode everything but unreserved characters (``/`` too)."""
        return quote(value, safe="")


def thread_url(thread_id: str, query: str | None = None, anchor: str | None = None) -> str:
    """Link to a thread page, optionally with the query (for marks) and a passage anchor."""
    return present.thread_path(thread_id, query, anchor, base=request.script_root)


def hit_url(hit: Hit, query: str | None) -> str:
    """Link to a hit's passage: ``/thread/<id>?q=<query>#p3`` (or ``#c5``)."""
    return thread_url(hit.thread_id, query, hit.anchor)
