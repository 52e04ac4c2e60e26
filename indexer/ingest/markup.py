"""HTML tags out of thread text: titles and paragraphs are plain text, never markup.

Only real tags are removed: an HTML element name after ``<`` (``<i>``, ``</p>``,
``<a href="…">``, ``<br/>``) or an HTML comment. ``a < b``, ``<3`` and ``<Jean>`` stay as
written. Tags that break a line (``<br>``, ``<p>``, ``<div>``, ``<li>``…) become a space so
that words on both sides stay apart; inline ones (``<i>``, ``<b>``, ``<span>``…) go.
Titles also get their character references unescaped (``&amp;`` -> ``&``) and their
whitespace collapsed; paragraphs keep entities as written.
"""

from __future__ import annotations

import html
import re

_INLINE = frozenset([
    "a", "abbr", "b", "bdi", "bdo", "big", "cite", "code", "data", "del", "dfn", "em", "font", "i",
    "img", "ins", "kbd", "mark", "q", "rp", "rt", "ruby", "s", "samp", "small", "span", "strike",
    "strong", "sub", "sup", "time", "tt", "u", "var", "wbr",
])
_BLOCK = frozenset([
    "address", "area", "article", "aside", "audio", "blockquote", "body", "br", "button", "canvas",
    "caption", "center", "col", "colgroup", "dd", "details", "dialog", "dir", "div", "dl", "dt",
    "embed", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5",
    "h6", "head", "header", "hgroup", "hr", "html", "iframe", "input", "label", "legend", "li",
    "link", "main", "map", "menu", "meta", "nav", "noscript", "object", "ol", "optgroup", "option",
    "p", "param", "picture", "pre", "script", "section", "select", "source", "style", "summary",
    "table", "tbody", "td", "template", "textarea", "tfoot", "th", "thead", "title", "tr", "track",
    "ul", "video",
])
#: ``<name ...>`` or ``</name>`` with bounded attributes (linear: no nested quantifiers).
TAG_RE = re.compile(
    r"<!--.{0,4000}?-->|<(/?)([A-Za-z][A-Za-z0-9]{0,11})(?:[\s/][^<>]{0,2000})?>", re.DOTALL)
_SPACES_RE = re.compile(r"\s+")


def _replace(m: re.Match[str]) -> str:
    name = m.group(2)
    if name is None:  # a comment
        return ""
    name = name.lower()
    if name in _BLOCK:
        return " "
    return "" if name in _INLINE else m.group()


def strip_tags(text: str) -> tuple[str, int]:
    """Remove real HTML tags; returns the text and how many were removed.

    >>> strip_tags("<i>Terminator 2</i> : a < b <3 <Jean>")
    ('Terminator 2 : a < b <3 <Jean>', 2)
    """
    if "<" not in text:
        return text, 0
    count = 0

    def sub(m: re.Match[str]) -> str:
        nonlocal count
        out = _replace(m)
        if out != m.group():
            count += 1
        return out

    return TAG_RE.sub(sub, text), count


def plain_title(title: str) -> tuple[str, int]:
    """A title as plain text: tags removed, entities unescaped, whitespace collapsed.

    >>> plain_title("<i>Terminator 2 :</i> Le Jugement dernier &amp; la suite")
    ('Terminator 2 : Le Jugement dernier & la suite', 2)
    """
    text, count = strip_tags(title)
    if "&" in text:
        text = html.unescape(text)
    return _SPACES_RE.sub(" ", text).strip(), count
