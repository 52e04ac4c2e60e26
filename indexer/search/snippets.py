"""Snippets and highlighting: escaped thread text with ``<mark>`` on the words as written.

Backend-neutral: it re-analyses the stored text with the index's chain, so a word is
marked when its analysed term is one the query asked for (``TRÈS`` for ``tres``,
``entreprise`` in ``l'entreprise``), and everything else is HTML-escaped.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Collection, Iterable
from html import escape

from ..analysis import CHUNK_RE, FrenchAnalyzer, analyzer

MAX_WINDOW_SPANS = 500  # matches considered when choosing where a long passage's snippet goes
SNIPPET_CHARS = 260  # a passage up to this long is shown whole
FRAGMENT_CHARS = 130  # otherwise: up to two fragments of about this many characters


def match_spans(text: str, terms: Collection[str],
                ana: FrenchAnalyzer | None = None) -> list[tuple[int, int]]:
    """Character spans of the words whose analysed term is in ``terms``, merged and sorted."""
    if not terms:
        return []
    chunk = (ana or analyzer()).chunk
    spans = sorted((m.start() + s, m.start() + e) for m in CHUNK_RE.finditer(text)
                   for term, _, s, e in chunk(m.group())[0] if term in terms)
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            if e > merged[-1][1]:
                merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


def mark(text: str, spans: list[tuple[int, int]], start: int = 0, end: int | None = None) -> str:
    """Escape ``text[start:end]`` and wrap the given spans in ``<mark>``."""
    end = len(text) if end is None else end
    out, cur = [], start
    for s, e in spans:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        out.append(escape(text[cur:s]))
        out.append(f"<mark>{escape(text[s:e])}</mark>")
        cur = e
    out.append(escape(text[cur:end]))
    return "".join(out)


def highlight(text: str, terms: Collection[str], ana: FrenchAnalyzer | None = None) -> str:
    """The whole text, escaped, with every matching word marked (thread pages)."""
    return mark(text, match_spans(text, terms, ana))


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
            max_chars: int = SNIPPET_CHARS) -> tuple[str, int]:
    """(snippet HTML, 1-based paragraph of the best match) for a passage's text.

    Short passages come whole; longer ones as one or two fragments around the hits
    (the fragments that hold the most distinct query words), joined by ``…``.
    """
    spans = match_spans(text, terms, ana)
    paragraph = text.count("\n", 0, spans[0][0]) + 1 if spans else 1
    flat = text.replace("\n", " ")
    if len(flat) <= max_chars:
        return mark(flat, spans), paragraph
    if not spans:
        start, end = _window(flat, 0, max_chars)
        return mark(flat, [], start, end) + " …", paragraph
    spans_seen = spans[:MAX_WINDOW_SPANS]
    words = [fold_key(flat[s:e], ana) for s, e in spans_seen]
    starts = [s for s, _ in spans_seen]
    ends = [e for _, e in spans_seen]
    best: list[tuple[int, int, int]] = []  # (distinct words, -first span index, index)
    for i, s in enumerate(starts):
        ws, we = _window(flat, s, FRAGMENT_CHARS)
        # spans are sorted and disjoint: those inside the window are one run of them
        distinct = set(words[bisect_left(starts, ws):bisect_right(ends, we)])
        best.append((len(distinct), -i, i))
    best.sort(reverse=True)
    first = best[0][2]
    windows = [_window(flat, spans[first][0], FRAGMENT_CHARS)]
    for _, _, i in best[1:]:
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
