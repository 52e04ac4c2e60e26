"""HTML pages: the search page (one entry per thread) and the thread page.

The search page asks the service for results grouped by thread (``group="thread"``):
pages count threads, each thread shows its best passages and how many others match.
Every link keeps the reader's state (query, page, page size, sort), so the thread page
can send them back to the very page they came from. Filter links write the French
filter names (``auteur:``, ``type:``, ``après:``, ``avant:``) into the query.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from markupsafe import Markup

from indexer.errors import QueryError
from indexer.ingest.folding import author_key, fold
from indexer.ingest.model import Thread
from indexer.search.pipeline import MAX_PAGE, check_paging
from indexer.search.query import (
    FILTER_NAMES,
    KIND_ALIASES,
    Marks,
    active_filters,
    drop_filter,
    parse_query,
    query_marks,
    set_filter,
    stop_words,
)
from indexer.search.results import FacetCounts, Hit, SearchResults
from indexer.search.snippets import highlight

from .errors import error_response
from .filters import date_fr
from .messages import ANY_WORD_NOTICE, notice_fr, query_error_fr
from .state import get_service

bp = Blueprint("views", __name__)

SORT_LABELS = {"relevance": "pertinence", "date": "date"}
#: The kind facet counts passages: paragraphs of posts, comments.
KIND_LABELS = {"post": "Paragraphes de billets", "comment": "Commentaires"}
#: What a kind filter link writes in the search box (the French names).
KIND_WORDS = {"post": "billet", "comment": "commentaire"}
#: The French names the filter links write (the parser reads these and the English ones).
FRENCH_NAMES = {"author": "auteur", "kind": "type", "after": "après", "before": "avant",
                "thread": "fil"}
VERBATIM = "tel_quel"  # URL parameter: search the query as typed (no automatic correction)

_YEAR_RE = re.compile(r"\d{4}")
_MONTH_RE = re.compile(r"\d{4}-\d{2}")


# -- the reader's state, kept by every link ------------------------------------------------

@dataclass(frozen=True, slots=True)
class State:
    """What the search page's links keep: query, page, page size (when not the default),
    sort, and whether the query is searched as typed (no automatic correction)."""

    q: str
    page: int = 1
    per_page: int | None = None  # None: the app's PER_PAGE
    sort: str = "relevance"
    verbatim: bool = False

    def args(self) -> dict[str, str]:
        """The URL parameters of this state (defaults left out)."""
        out = {"q": self.q}
        if self.page > 1:
            out["page"] = str(self.page)
        if self.per_page is not None and self.per_page != current_app.config["PER_PAGE"]:
            out["per_page"] = str(self.per_page)
        if self.sort != "relevance":
            out["sort"] = self.sort
        if self.verbatim:
            out[VERBATIM] = "1"
        return out

    def url(self, **changes: object) -> str:
        """Link to the search page in this state, changed as asked (``q=..., page=1``)."""
        return url_for("views.search", **replace(self, **changes).args())  # type: ignore[arg-type]

    def filtered(self, q: str) -> str:
        """Link to the first page of another query (a filter added or removed)."""
        return self.url(q=q, page=1, verbatim=False)

    def thread_url(self, thread_id: str, anchor: str | None = None,
                   marks: str | None = None) -> str:
        """Link to a thread page carrying this state (its back link returns here);
        ``marks`` replaces the query the thread page marks (a rescued word's spelling)."""
        args = self.args()
        if marks is not None:
            args["q"] = marks
        values: dict[str, Any] = {**args, "thread_id": thread_id}
        return url_for("views.thread", _anchor=anchor, **values)


def read_state(args: dict[str, str] | None = None) -> State:
    """The state in a request's parameters; raises QueryError for unusable ones."""
    args = args if args is not None else request.args
    default = str(current_app.config["PER_PAGE"])
    page, per_page = check_paging(args.get("page", "1"), args.get("per_page", default))
    sort = args.get("sort", "relevance") or "relevance"
    if sort not in SORT_LABELS:
        raise QueryError("bad_sort", name="sort", value=sort[:20])
    return State(args.get("q", ""), page, per_page, sort, args.get(VERBATIM) == "1")


def display_query(q: str) -> str:
    """The query as shown back in the form: control characters become spaces."""
    return "".join(ch if ch.isprintable() else " " for ch in q)


# -- what the search page shows ------------------------------------------------------------

@dataclass(slots=True)
class HitView:
    """A passage as the results show it: the hit, its link, its label."""

    hit: Hit
    url: str


@dataclass(slots=True)
class GroupView:
    """One thread of the results: title (safe HTML, query words marked), link, what is
    known of its post, its best passages, and a link to all of its matches."""

    thread_id: str
    title: Markup
    url: str
    hits: list[HitView]
    more: int
    more_url: str
    author: str | None = None
    date: str | None = None


@dataclass(slots=True)
class FacetLink:
    """One filter choice: label, count, link, whether it is active, and its sub-choices."""

    label: str
    count: int
    url: str
    active: bool = False
    children: list[FacetLink] = field(default_factory=list)
    expanded: bool = False  # its children are shown (a month of this year is chosen)


@dataclass(slots=True)
class Facets:
    """The filter sections of the results page."""

    kinds: list[FacetLink] = field(default_factory=list)
    years: list[FacetLink] = field(default_factory=list)
    period: FacetLink | None = None  # a date range typed by hand, with its removal link
    undated: int = 0
    authors: list[FacetLink] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.kinds or self.years or self.period or self.authors)


@dataclass(slots=True)
class Empty:
    """Why a search found nothing, and the one thing that helps."""

    cause: str  # stop_words, exclusion_only, date, kind, author, filters, suggestion, nothing
    words: list[str] = field(default_factory=list)
    url: str | None = None
    link: str = ""  # the link's text
    count: int = 0
    undated: int = 0


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


def drop_filters(q: str, names: Iterable[str] = FILTER_NAMES) -> str:
    """The query without the named filters (all of them by default)."""
    for name in names:
        q = drop_filter(q, name)
    return q


def marked_query(q: str, results: SearchResults) -> str:
    """The query as the thread page should mark it: rescued words as they were searched."""
    for n in results.notices:
        if n.code == "rescued" and n.word and n.other:  # the word itself, not a filter's
            q = re.sub(rf"(?<![^\s(\-]){re.escape(n.word)}(?![^\s)])", n.other, q, count=1)
    return q


def has_mark(html: str) -> bool:
    """True when a snippet marks a word."""
    return "<mark" in html


def hit_anchor(hit: Hit) -> str:
    """Where a result link lands: the passage, or its first marked word when the passage
    is longer than its snippet (a long comment is scrolled to its match)."""
    if has_mark(hit.snippet) and "…" in hit.snippet:
        return f"{hit.anchor}-m1"
    return hit.anchor


def group_views(results: SearchResults, state: State, marks_q: str) -> list[GroupView]:
    """The page's threads as the results show them."""
    marks = query_marks(marks_q)
    rewritten = marks_q if marks_q != state.q else None
    out = []
    for g in results.groups:
        post = next((h for h in g.hits if h.kind == "post"), None)
        out.append(GroupView(
            thread_id=g.thread_id,
            title=Markup(highlight(g.thread_title, marks, exact=marks.exact)),
            url=state.thread_url(g.thread_id, marks=rewritten),
            hits=[HitView(h, state.thread_url(g.thread_id, hit_anchor(h), rewritten))
                  for h in g.hits],
            more=g.more,
            more_url=state.thread_url(g.thread_id, "correspondances", rewritten),
            author=post.author if post else None,
            date=post.date if post else None))
    return out


def kind_of(value: str | None) -> str | None:
    """The kind a ``type:`` value names (``billet`` -> ``post``), or None."""
    return KIND_ALIASES.get(fold(value)) if value else None


def facet_links(counts: FacetCounts | None, q: str, state: State,
                total_passages: int) -> Facets:
    """The filter choices: each sets its filter (French name) or, when active, removes it.

    Counts come from the search with each facet's own filter dropped, so choosing
    « Commentaires » keeps « Paragraphes de billets » and its count.
    """
    out = Facets()
    if counts is None:
        return out
    active = active_filters(q)
    kind = kind_of(active.get("kind"))
    for k in ("post", "comment"):
        n = counts.kinds.get(k, 0)
        if n or kind == k:
            on = kind == k
            target = drop_filter(q, "kind") if on else set_filter(q, "kind", KIND_WORDS[k],
                                                                  FRENCH_NAMES["kind"])
            out.kinds.append(FacetLink(KIND_LABELS[k], n, state.filtered(target), on))
    date_facet(out, counts, q, state, active)
    author = active.get("author")
    listed = False
    for name, n in counts.authors:
        on = author is not None and author_key(name) == author_key(author)
        listed = listed or on
        target = drop_filter(q, "author") if on else set_filter(q, "author", name,
                                                                FRENCH_NAMES["author"])
        out.authors.append(FacetLink(name, n, state.filtered(target), on))
    if author is not None and not listed:  # not among the most frequent: still shown
        out.authors.insert(0, FacetLink(author, total_passages,
                                        state.filtered(drop_filter(q, "author")), True))
    return out


def date_facet(out: Facets, counts: FacetCounts, q: str, state: State,
               active: dict[str, str]) -> None:
    """Years (newest first), and the months of the chosen year; a hand-typed period."""
    after, before = active.get("after"), active.get("before")
    year = after if after and after == before and _YEAR_RE.fullmatch(after) else None
    month = after if after and after == before and _MONTH_RE.fullmatch(after) else None
    undated_q = drop_filters(q, ("after", "before"))

    def period(value: str) -> str:
        return set_filter(set_filter(undated_q, "after", value, FRENCH_NAMES["after"]),
                          "before", value, FRENCH_NAMES["before"])

    years: dict[str, int] = {}
    for ym, n in counts.months.items():
        years[ym[:4]] = years.get(ym[:4], 0) + n
    shown_year = year or (month[:4] if month else None)
    for y in sorted(years, reverse=True):
        on = y == year
        link = FacetLink(y, years[y], state.filtered(undated_q if on else period(y)), on,
                         expanded=y == shown_year)
        if y == shown_year:
            for ym in sorted(m for m in counts.months if m[:4] == y and _MONTH_RE.fullmatch(m)
                             and "01" <= m[5:] <= "12"):
                m_on = ym == month
                link.children.append(FacetLink(
                    ym, counts.months[ym], state.filtered(period(y) if m_on else period(ym)),
                    m_on))
        out.years.append(link)
    if (after or before) and not (year or month):
        out.period = FacetLink(period_label(after, before), 0, state.filtered(undated_q), True)
    out.undated = counts.undated if out.years else 0


def period_label(after: str | None, before: str | None) -> str:
    """« du 6 février 2009 au 7 mars 2010 », « depuis 2009 », « jusqu’au 7 février 2009 »."""
    def day(value: str) -> str:
        return date_fr(value) if "-" in value else value

    if after and before:
        return f"du {day(after)} au {day(before)}"
    if after:
        return f"depuis {day(after)}" if "-" in after else f"depuis {after}"
    return f"jusqu’au {day(before or '')}" if "-" in (before or "") else f"jusqu’en {before}"


def exclusions_dropped(q: str) -> str:
    """The query with its exclusions turned into words to find (``-paris`` -> ``paris``)."""
    q = re.sub(r"(?<![^\s(])-(?=[^\s-])", "", q)
    return " ".join(re.sub(r"(?<![^\s(])(?:SAUF|NOT)\s+", "", q).split())


def empty_state(results: SearchResults, state: State) -> Empty:
    """Why nothing was found, and the one action that helps (see :class:`Empty`)."""
    q = state.q
    parsed = parse_query(q)
    active = active_filters(q)
    if not parsed.must and not parsed.has_filters:
        if parsed.must_not:
            target = exclusions_dropped(q)
            return Empty("exclusion_only", [target], state.filtered(target),
                         f"Rechercher plutôt «\u00a0{target}\u00a0»")
        words = stop_words(q)
        if words:
            return Empty("stop_words", words)
        return Empty("nothing")
    counts = results.facet_counts
    if counts is not None and ("after" in active or "before" in active):
        dated = sum(counts.months.values())
        if dated + counts.undated:
            return Empty("date", url=state.filtered(drop_filters(q, ("after", "before"))),
                         link="Voir les résultats sans filtre de date",
                         count=dated + counts.undated, undated=counts.undated)
    if counts is not None and "kind" in active:
        n = sum(counts.kinds.values())
        if n:
            return Empty("kind", [kind_of(active["kind"]) or ""],
                         url=state.filtered(drop_filter(q, "kind")),
                         link="Voir les billets et les commentaires", count=n)
    if counts is not None and "author" in active and counts.authors:
        return Empty("author", [active["author"]], url=state.filtered(drop_filter(q, "author")),
                     link="Voir les passages de tous les auteurs")
    if active:
        return Empty("filters", url=state.filtered(drop_filters(q)),
                     link="Retirer tous les filtres")
    if results.suggestion:
        return Empty("suggestion", [results.suggestion],
                     url=state.filtered(results.suggestion))
    return Empty("nothing")


# -- the search page -----------------------------------------------------------------------

def render_search(state: State, status: int = 200, **context: object) -> tuple[str, int]:
    """The search page with its form."""
    return render_template("search.html", q=display_query(state.q), state=state,
                           **context), status


@bp.get("/")
def search() -> Response | tuple[str, int]:
    """The search page: form, threads with their best passages, filters, sort, pages."""
    q = request.args.get("q", "")
    try:
        state = read_state()
        service = get_service()
        blank = not display_query(q).strip()  # searched anyway: a missing index shows
        results = service.search("" if blank else q, page=state.page,
                                 per_page=state.per_page or current_app.config["PER_PAGE"],
                                 facets=not blank,
                                 group="thread", sort=state.sort)
    except QueryError as exc:
        return render_search(State(q), 400, error=query_error_fr(exc), results=None)
    if blank:  # no query: the form and the syntax help
        return render_search(state, results=None, error=None)
    original = None
    if not results.total and results.suggestion and not state.verbatim:
        better = results.suggestion
        corrected = service.search(better, page=1, per_page=results.per_page,
                                   facets=True, group="thread", sort=state.sort)
        if corrected.total:  # nothing as typed: the suggestion's results, said so
            original, results, state = state, corrected, replace(state, q=better, page=1)
    pages = min(MAX_PAGE, -(-results.total // results.per_page)) if results.total else 0
    if pages and results.page > pages:  # a page past the end (a hand-edited link)
        return redirect(state.url(page=pages), code=302)  # type: ignore[return-value]
    marks_q = marked_query(state.q, results)
    rescued = [n for n in results.notices if n.code == "rescued"]
    suggestion = results.suggestion
    if suggestion and (suggestion == marks_q or original is not None):
        suggestion = None  # already searched so (a rescued word, an applied correction)
    return render_search(
        state, error=None, results=results, pages=pages,
        notices=[notice_fr(n) for n in results.notices],
        rescued=bool(rescued),
        original=original,
        original_url=original.url(verbatim=True, page=1) if original else None,
        groups=group_views(results, state, marks_q),
        any_notice=ANY_WORD_NOTICE if results.matched == "any" else None,
        suggestion=suggestion,
        suggestion_url=state.filtered(suggestion) if suggestion else None,
        page_numbers=page_numbers(results.page, pages) if pages > 1 else [],
        facets=facet_links(results.facet_counts, state.q, state, results.total_passages),
        sorts=[(label, state.url(sort=key, page=1), key == state.sort)
               for key, label in SORT_LABELS.items()],
        active=active_filters(state.q),
        clear_filters_url=state.filtered(drop_filters(state.q)),
        empty=None if results.total else empty_state(results, state),
    )


# -- the thread page -----------------------------------------------------------------------

@dataclass(slots=True)
class PassageView:
    """A passage of the thread page: its paragraphs (safe HTML, query words marked, the
    first mark with the id ``<anchor>-m1``), and its place among the marked passages."""

    anchor: str
    label: str
    paragraphs: list[Markup]
    marked: bool = False
    prev: tuple[str, str] | None = None  # (anchor, label) of the previous marked passage
    next: tuple[str, str] | None = None


@dataclass(slots=True)
class CommentView:
    """A comment as the thread page shows it, with reply links both ways."""

    position: int
    author: str | None
    date: str | None
    passage: PassageView
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


def marked_passage(anchor: str, label: str, texts: Iterable[str], terms: Marks) -> PassageView:
    """A passage's paragraphs highlighted; its first mark gets the id ``<anchor>-m1``."""
    paragraphs: list[Markup] = []
    marked = False
    for text in texts:
        html = highlight(text, terms, exact=terms.exact)
        if not marked and "<mark" in html:
            html = html.replace("<mark", f'<mark id="{anchor}-m1"', 1)
            marked = True
        paragraphs.append(Markup(html))
    return PassageView(anchor, label, paragraphs, marked)


def link_marked(passages: list[PassageView]) -> list[PassageView]:
    """Each marked passage learns the previous and the next marked passage."""
    marked = [p for p in passages if p.marked]
    for before, after in zip(marked, marked[1:], strict=False):
        before.next = (after.anchor, after.label)
        after.prev = (before.anchor, before.label)
    return marked


@bp.get("/thread/<tid:thread_id>", merge_slashes=False)
def thread(thread_id: str) -> Response | tuple[str, int]:
    """A whole thread: post paragraphs (``#p1``…), comments (``#c1``…), the query's words
    marked, links between the marked passages, and the way back to the results."""
    found = get_service().get_thread(thread_id)
    if found is None:
        return error_response(404, "Aucun fil de discussion ne porte cet identifiant.",
                              "Fil de discussion introuvable")
    q = request.args.get("q", "")
    try:
        state = read_state()
    except QueryError:
        state = State(q)
    terms = query_marks(q)
    post = [marked_passage(f"p{n}", f"¶\u00a0{n}", [p], terms)
            for n, p in enumerate(found.paragraphs, start=1)]
    comments = comment_views(found, terms)
    marked = link_marked(post + [c.passage for c in comments])
    return render_template(
        "thread.html", thread=found, q=display_query(q), terms=terms,
        title=Markup(highlight(found.title, terms, exact=terms.exact)),
        back_url=state.url() if display_query(q).strip() else None,
        post=post, comments=comments, marked=marked,
        source_url=safe_source_url(found.url),
    ), 200


def comment_views(thread: Thread, terms: Marks) -> list[CommentView]:
    """Comments with highlighted paragraphs, "in reply to" links and back-links."""
    authors = {c.position: c.author for c in thread.comments}
    views = {c.position: CommentView(
        c.position, c.author, c.date,
        marked_passage(f"c{c.position}", f"commentaire\u00a0{c.position}", c.paragraphs,
                       terms),
        [(n, authors.get(n)) for n in c.reply_to if n in authors])
        for c in thread.comments}
    for c in thread.comments:
        for n in c.reply_to:
            if n in views:
                views[n].replies.append((c.position, c.author))
    return [views[c.position] for c in thread.comments]
