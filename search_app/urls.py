"""URL pieces shared by the pages and the API: the thread id converter and passage links."""

from __future__ import annotations

from urllib.parse import quote

from flask import url_for
from werkzeug.routing import BaseConverter

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
    if query:
        return url_for("views.thread", thread_id=thread_id, _anchor=anchor, q=query)
    return url_for("views.thread", thread_id=thread_id, _anchor=anchor)


def hit_url(hit: Hit, query: str | None) -> str:
    """Link to a hit's passage: ``/thread/<id>?q=<query>#p3`` (or ``#c5``)."""
    return thread_url(hit.thread_id, query, hit.anchor)
