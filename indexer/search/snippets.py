"""Snippets and highlighting: escaped thread text with ``<mark>`` on the words as written.

Backend-neutral: it re-analyses the stored text with the index's chain, so a word is
marked when its analysed term is one the query asked for (``TRÈS`` for ``tres``,
``entreprise`` in ``l'entreprise``), and everything else is HTML-escaped. A word written
as the query wrote it (accents and case aside) gets ``<mark>``; one that only shares its
stem (``fond`` for ``fondée``) gets the lighter ``<mark class="stem">``.

Work is bounded whatever the passage's size: the text is scanned chunk by chunk and the
scan stops after MAX_SCAN_CHARS characters or MAX_SPANS matches (a 1 MB comment costs
what its first 200 KB cost); a snippet then says it was cut.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Collection, Iterable, Sequence
from html import escape

from ..analysis import FrenchAnalyzer, analyzer

MAX_WINDOW_SPANS = 500  # matches considered when choosing where a long passage's snippet goes
MAX_SPANS = 2_000  # matches marked in one text (the rest of a huge text is left unmarked)
MAX_SCAN_CHARS = 200_000  # characters of one text analysed to find its matches
SNIPPET_CHARS = 260  # a passage up to this long is shown whole
FRAGMENT_CHARS = 130  # otherwise: up to two fragments of about this many characters


Span = tuple[int, int, bool]  # start, end, written as the query wrote it
Exact = Callable[[str], bool]  # is this written word one the query wrote?


def scan(text: str, terms: Collection[str], ana: FrenchAnalyzer | None = None,
         exact: Exact | None = None) -> tuple[list[Span], bool]:
    """Matching words as merged, sorted spans, and whether the scan stopped early.

    A word matches when its analysed term is in ``terms``; it is exact when ``exact``
    says its written form is the query's (always, without ``exact``).
    """
    if not terms:
        return [], False
    raw, cut = (ana or analyzer()).matches(text, terms, MAX_SCAN_CHARS, MAX_SPANS)
    spans: list[Span] = [(s, e, exact is None or exact(text[s:e])) for s, e in raw]
    spans.sort()
    merged: list[Span] = []
    for s, e, x in spans:
        if merged and s <= merged[-1][1]:
            ps, pe, px = merged[-1]
            merged[-1] = (ps, max(pe, e), px or x)
        else:
            merged.append((s, e, x))
    return merged, cut


def match_spans(text: str, terms: Collection[str],
                ana: FrenchAnalyzer | None = None) -> list[tuple[int, int]]:
    """Character spans of the words whose analysed term is in ``terms``, merged and sorted."""
    return [(s, e) for s, e, _ in scan(text, terms, ana)[0]]


def mark(text: str, spans: Sequence[Span | tuple[int, int]], start: int = 0,
         end: int | None = None) -> str:
    """Escape ``text[start:end]`` and wrap the spans in ``<mark>`` (stem-only: class stem)."""
    end = len(text) if end is None else end
    out, cur = [], start
    for span in spans:
        s, e = span[0], span[1]
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        out.append(escape(text[cur:s]))
        tag = "<mark>" if len(span) < 3 or span[2] else '<mark class="stem">'
        out.append(f"{tag}{escape(text[s:e])}</mark>")
        cur = e
    out.append(escape(text[cur:end]))
    return "".join(out)


def highlight(text: str, terms: Collection[str], ana: FrenchAnalyzer | None = None,
              exact: Exact | None = None) -> str:
    """The whole text, escaped, its matching words marked (thread pages; see :func:`scan`)."""
    return mark(text, scan(text, terms, ana, exact)[0])


def _window(text: str, center: int, width: int) -> tuple[int, int]:
    """A window of about ``width`` characters around ``center``, cut at spaces."""
    start = max(0, center - width // 3)
    end = min(len(text), start + width)
    start = max(0, end - width)
    if start > 0:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < center else start
    if end < len(text):
        space = text.rfind(" ", center, end)
        end = space if space > center else end
    return start, end


def snippet(text: str, terms: Collection[str], ana: FrenchAnalyzer | None = None,
            max_chars: int = SNIPPET_CHARS, exact: Exact | None = None) -> tuple[str, int]:
    """(snippet HTML, 1-based paragraph of the best match) for a passage's text.

    Short passages come whole; longer ones as one or two fragments around the hits
    (the fragments that hold the most distinct query words, exact ones first), joined by
    ``…``. A huge passage is scanned only so far (:func:`scan`): its snippet comes from
    what was scanned.
    """
    spans, _ = scan(text, terms, ana, exact)
    paragraph = text.count("\n", 0, spans[0][0]) + 1 if spans else 1
    flat = text.replace("\n", " ")
    if len(flat) <= max_chars:
        return mark(flat, spans), paragraph
    if not spans:
        start, end = _window(flat, 0, max_chars)
        return mark(flat, [], start, end) + " …", paragraph
    spans_seen = spans[:MAX_WINDOW_SPANS]
    words = [fold_key(flat[s:e], ana) for s, e, _ in spans_seen]
    exacts = [x for _, _, x in spans_seen]
    starts = [s for s, _, _ in spans_seen]
    ends = [e for _, e, _ in spans_seen]
    # (distinct words, distinct exact words, -first span index, index)
    best: list[tuple[int, int, int, int]] = []
    for i, s in enumerate(starts):
        ws, we = _window(flat, s, FRAGMENT_CHARS)
        # spans are sorted and disjoint: those inside the window are one run of them
        a, b = bisect_left(starts, ws), bisect_right(ends, we)
        distinct = set(words[a:b])
        exact_words = {w for w, x in zip(words[a:b], exacts[a:b], strict=True) if x}
        best.append((len(distinct), len(exact_words), -i, i))
    best.sort(reverse=True)
    first = best[0][3]
    windows = [_window(flat, spans[first][0], FRAGMENT_CHARS)]
    for _, _, _, i in best[1:]:
        w = _window(flat, spans[i][0], FRAGMENT_CHARS)
        if w[0] >= windows[0][1] or w[1] <= windows[0][0]:
            windows.append(w)
            break
    if len(windows) == 1:
        windows = [_window(flat, spans[first][0], max_chars)]
    windows.sort()
    paragraph = text.count("\n", 0, spans[first][0]) + 1
    parts = []
    for ws, we in windows:
        parts.append(("… " if ws > 0 else "") + mark(flat, spans, ws, we)
                     + (" …" if we < len(flat) else ""))
    return " ".join(parts).replace("… …", "…"), paragraph


def fold_key(word: str, ana: FrenchAnalyzer | None = None) -> str:
    """The analysed form of a marked word (so ``TRÈS`` and ``très`` count once)."""
    terms = (ana or analyzer()).terms(word)
    return terms[-1] if terms else word.lower()


def surface_form(texts: Iterable[str], term: str, ana: FrenchAnalyzer | None = None) -> str | None:
    """How a term is most often written in some texts (lowercased; shorter wins ties)."""
    counts: dict[str, int] = {}
    for text in texts:
        for t, _, start, end in (ana or analyzer()).spans(text):
            if t == term:
                word = text[start:end].lower()
                counts[word] = counts.get(word, 0) + 1
    return max(counts, key=lambda w: (counts[w], -len(w))) if counts else None
