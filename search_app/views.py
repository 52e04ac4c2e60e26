"""HTML pages: the search page (results grouped by thread) and the thread page."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, render_template, request, url_for

from indexer.errors import QueryError
from indexer.ingest.model import Thread
from indexer.search.pipeline import MAX_PAGE, check_paging
from indexer.search.query import (
    FILTER_NAMES,
    KIND_ALIASES,
    Marks,
    active_filters,
    drop_filter,
    query_marks,
    set_filter,
)
from indexer.search.results import Hit, SearchResults
from indexer.search.snippets import highlight

from .errors import error_response
from .messages import notice_fr, query_error_fr
from .state import get_service
from .urls import hit_url, thread_url

bp = Blueprint("views", __name__)

ANY_WORD_NOTICE = ("Aucun passage ne contient tous les mots ; "
                   "voici les passages qui en contiennent le plus.")
KIND_LABELS = {"post": "Billet", "comment": "Commentaires"}


@dataclass(slots=True)
class HitView:
    """A hit as the search page shows it: the hit and the link to its passage."""

    hit: Hit
    url: str


@dataclass(slots=True)
class ThreadGroup:
    """The hits of one thread on the current page, in rank order."""

    thread_id: str
    title: str
    url: str
    hits: list[HitView] = field(default_factory=list)


@dataclass(slots=True)
class FacetLink:
    """One filter choice: label, count, link, and whether it is the active filter."""

    label: str
    count: int
    url: str
    active: bool = False


def display_query(q: str) -> str:
    """The query as shown back in the form: control characters become spaces."""
    return "".join(ch if ch.isprintable() else " " for ch in q)


def search_url(q: str, page: int = 1, per_page: int | None = None) -> str:
    """Link to the search page for a query (and a page, and a non-default page size)."""
    if per_page == current_app.config["PER_PAGE"]:
        per_page = None
    return url_for("views.search", q=q, page=page if page > 1 else None, per_page=per_page)


def group_hits(results: SearchResults, q: str) -> list[ThreadGroup]:
    """Group a page of hits by thread; threads in the order of their best hit."""
    groups: dict[str, ThreadGroup] = {}
    for hit in results.hits:
        group = groups.get(hit.thread_id)
        if group is None:
            group = groups[hit.thread_id] = ThreadGroup(
                hit.thread_id, hit.thread_title, thread_url(hit.thread_id, q))
        group.hits.append(HitView(hit, hit_url(hit, q)))
    return list(groups.values())


def page_numbers(page: int, pages: int, radius: int = 2) -> list[int | None]:
    """Page links around the current page, with None for a gap: 1 … 4 5 [6] 7 8 … 20."""
    shown = {1, pages, *range(max(1, page - radius), min(pages, page + radius) + 1)}
    out: list[int | None] = []
    prev = 0
    for n in sorted(shown):
        if n - prev > 1:
            out.append(None)
        out.append(n)
        prev = n
    return out


def drop_filters(q: str) -> str:
    """The query without any filter."""
    for name in FILTER_NAMES:
        q = drop_filter(q, name)
    return q


def facet_links(results: SearchResults, q: str) -> tuple[list[FacetLink], list[FacetLink]]:
    """Author and kind filter links: each sets (or, when active, removes) a filter."""
    active = active_filters(q)
    authors = []
    for name, count in results.authors:
        on = active.get("author", "").casefold() == name.casefold()
        target = drop_filter(q, "author") if on else set_filter(q, "author", name)
        authors.append(FacetLink(name, count, search_url(target), on))
    kinds = []
    for kind in ("post", "comment"):
        count = results.kinds.get(kind, 0)
        if not count:
            continue
        on = KIND_ALIASES.get(active.get("kind", "").lower()) == kind
        target = drop_filter(q, "kind") if on else set_filter(q, "kind", kind)
        kinds.append(FacetLink(KIND_LABELS[kind], count, search_url(target), on))
    return authors, kinds


@bp.get("/")
def search() -> Response | tuple[str, int]:
    """The search page: form, grouped results, filters, pagination, help when empty."""
    q = request.args.get("q", "")
    shown = display_query(q)
    per_page_default = str(current_app.config["PER_PAGE"])
    try:
        page, per_page = check_paging(request.args.get("page", "1"),
                                      request.args.get("per_page", per_page_default))
        results = get_service().search(q, page=page, per_page=per_page, facets=bool(q.strip()))
    except QueryError as exc:
        return render_template("search.html", q=shown, error=query_error_fr(exc),
                               results=None), 400
    if not shown.strip():  # no query: the form and the syntax help
        return render_template("search.html", q=shown, results=None, error=None), 200
    pages = min(MAX_PAGE, -(-results.total // results.per_page)) if results.total else 0
    authors, kinds = facet_links(results, q)
    return render_template(
        "search.html", q=shown, error=None, results=results,
        notices=[notice_fr(n) for n in results.notices],
        groups=group_hits(results, q),
        any_notice=ANY_WORD_NOTICE if results.matched == "any" else None,
        suggestion_url=search_url(results.suggestion) if results.suggestion else None,
        pages=pages, page_numbers=page_numbers(results.page, pages) if pages > 1 else [],
        page_url=lambda n: search_url(q, n, results.per_page),
        author_links=authors, kind_links=kinds,
        active=active_filters(q),
        clear_filters_url=search_url(drop_filters(q)),
    ), 200


@dataclass(slots=True)
class CommentView:
    """A comment as the thread page shows it, with reply links both ways."""

    position: int
    author: str | None
    date: str | None
    paragraphs: list[str]  # safe HTML (escaped, query words marked)
    reply_to: list[tuple[int, str | None]] = field(default_factory=list)
    replies: list[tuple[int, str | None]] = field(default_factory=list)


def safe_source_url(url: str | None) -> str | None:
    """The thread's source link, only when it is plain http(s) (never ``javascript:``)."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def comment_views(thread: Thread, terms: Marks) -> list[CommentView]:
    """Comments with highlighted paragraphs, "in reply to" links and back-links."""
    authors = {c.position: c.author for c in thread.comments}
    views = {c.position: CommentView(
        c.position, c.author, c.date,
        [highlight(p, terms, exact=terms.exact) for p in c.paragraphs],
        [(n, authors.get(n)) for n in c.reply_to if n in authors])
        for c in thread.comments}
    for c in thread.comments:
        for n in c.reply_to:
            if n in views:
                views[n].replies.append((c.position, c.author))
    return [views[c.position] for c in thread.comments]


@bp.get("/thread/<tid:thread_id>", merge_slashes=False)
def thread(thread_id: str) -> Response | tuple[str, int]:
    """A whole thread: post paragraphs (``#p1``…), comments (``#c1``…), query words marked."""
    found = get_service().get_thread(thread_id)
    if found is None:
        return error_response(404, "Aucun fil de discussion ne porte cet identifiant.",
                              "Fil de discussion introuvable")
    q = request.args.get("q", "")
    terms = query_marks(q)
    return render_template(
        "thread.html", thread=found, q=display_query(q), terms=terms,
        back_url=search_url(q) if q.strip() else None,
        paragraphs=[(n, highlight(p, terms, exact=terms.exact))
                    for n, p in enumerate(found.paragraphs, start=1)],
        comments=comment_views(found, terms),
        source_url=safe_source_url(found.url),
    ), 200
