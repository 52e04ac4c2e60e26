"""Search results as data for the outside: the JSON objects of the API and of ``fil search --json``.

One shape for both edges, built here so the command line needs no web framework: the
web app's API and the CLI call :func:`results_json`, and every result's ``url`` is
:func:`thread_path` (the thread page at the passage), built the same way the web app
routes it. Notices are data (:class:`~indexer.search.results.Notice`); each edge passes
the function that words them in its language.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from ..ingest.model import Thread
from .results import Hit, Notice, SearchResults, ThreadGroup

#: Characters left as they are in query strings (the WHATWG set Werkzeug uses too).
_QUERY_SAFE = "!$'()*,/:;?@"
_MARK_RE = re.compile(r'<(/?)mark(?: class="stem")?>')


def thread_path(
    thread_id: str, query: str | None = None, anchor: str | None = None, base: str = ""
) -> str:
    """Link to a thread page, optionally with the query (its words marked) and a passage.

    Every reserved character of the id is percent-encoded, slashes too, as the web app's
    route expects; ``base`` (e.g. ``https://fil.example.org``) is put in front.

    >>> thread_path("lippi-2009", "tres haut debit", "p14")
    '/thread/lippi-2009?q=tres+haut+debit#p14'
    >>> thread_path("a b/c", base="https://fil.example.org")
    'https://fil.example.org/thread/a%20b%2Fc'
    """
    url = f"{base.rstrip('/')}/thread/{quote(thread_id, safe='')}"
    if query:
        url += "?" + urlencode([("q", query)], safe=_QUERY_SAFE)
    if anchor:
        url += f"#{quote(anchor, safe='')}"
    return url


def hit_url(hit: Hit, query: str | None, base: str = "") -> str:
    """Link to a hit's passage: ``/thread/<id>?q=<query>#p3`` (or ``#c5``)."""
    return thread_path(hit.thread_id, query, hit.anchor, base)


def hit_json(hit: Hit, query: str, base: str = "") -> dict[str, Any]:
    """One result: where it is, who wrote it, its snippet (HTML: see :func:`plain_snippet`)."""
    return {
        "thread_id": hit.thread_id,
        "thread_title": hit.thread_title,
        "kind": hit.kind,
        "position": hit.position,
        "url": hit_url(hit, query, base),
        "author": hit.author,
        "date": hit.date,
        "snippet": hit.snippet,
        "score": hit.score,
        "paragraph": hit.paragraph,
        "anchor": hit.anchor,
    }


def group_json(g: ThreadGroup, query: str, base: str = "") -> dict[str, Any]:
    """One thread of a page grouped by thread: where it is, its best passages, the rest."""
    return {
        "thread_id": g.thread_id,
        "thread_title": g.thread_title,
        "score": g.score,
        "url": thread_path(g.thread_id, query, base=base),
        "passages": [hit_json(h, query, base) for h in g.hits],
        "more": g.more,
    }


def results_json(
    res: SearchResults,
    query: str,
    facets: bool,
    notice_text: Callable[[Notice], str],
    base: str = "",
) -> dict[str, Any]:
    """The search contract: query, total, page, per_page, suggestion, results (+ extras).

    Grouped by thread, each result is a thread (:func:`group_json`) and ``total`` counts
    threads; ``total_passages`` counts passages either way.
    """
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
        "results": (
            [group_json(g, query, base) for g in res.groups]
            if res.group == "thread"
            else [hit_json(h, query, base) for h in res.hits]
        ),
        "matched": res.matched,
        "notices": [notice_text(n) for n in res.notices],
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
                "months": dict(fc.months),
                "undated": fc.undated,
            }
    return out


def thread_json(t: Thread, base: str = "") -> dict[str, Any]:
    """A whole thread: post paragraphs and comments (plain text, as indexed)."""
    return {
        "id": t.id,
        "title": t.title,
        "url": t.url,
        "author": t.author,
        "date": t.date,
        "page_url": thread_path(t.id, base=base),
        "paragraphs": list(t.paragraphs),
        "comments": [
            {
                "position": c.position,
                "author": c.author,
                "date": c.date,
                "paragraphs": list(c.paragraphs),
                "reply_to": list(c.reply_to),
            }
            for c in t.comments
        ],
    }


def plain_snippet(snippet: str, open_mark: str = "", close_mark: str = "") -> str:
    """A snippet's plain text: entities unescaped, ``<mark>`` tags replaced by the marks given.

    >>> plain_snippet("a <mark>TRES</mark> &amp; b", "**", "**")
    'a **TRES** & b'
    """
    return html.unescape(_MARK_RE.sub(lambda m: close_mark if m[1] else open_mark, snippet))
