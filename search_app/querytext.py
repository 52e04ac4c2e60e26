"""Edit query text for the filter links: add, replace or drop ``author:`` and ``kind:``.

Tokens are read the way :mod:`indexer.search.query` reads them (filters, then phrases, then
words), so text inside quotes is never taken for a filter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from indexer.analysis import analyzer
from indexer.errors import QueryError
from indexer.search.query import AndNode, Node, OrNode, TermNode, parse_query

#: Filter names and the French aliases the parser accepts for them.
FILTER_ALIASES = {"author": ("author", "auteur"), "kind": ("kind", "type"),
                  "after": ("after", "apres"), "before": ("before", "avant"),
                  "thread": ("thread",)}

_TOKEN_RE = re.compile(
    r'(?P<filter>-?(?P<name>[A-Za-z]+):(?:"[^"]*"?|[^\s()]*))'
    r'|(?P<phrase>-?"[^"]*"?)'
    r'|(?P<other>[^\s"()]+|[()])',
)
_BARE_VALUE_RE = re.compile(r'[^\s()"]+')


def quote_value(value: str) -> str:
    """A filter value as the parser reads it: quoted when it holds spaces or brackets."""
    value = " ".join(value.replace('"', " ").split())
    return value if _BARE_VALUE_RE.fullmatch(value) else f'"{value}"'


def drop_filter(query: str, name: str) -> str:
    """The query without any ``name:`` filter (aliases included)."""
    names = {n.lower() for n in FILTER_ALIASES.get(name, (name,))}
    out, cur = [], 0
    for m in _TOKEN_RE.finditer(query):
        if m["filter"] and m["name"].lower() in names:
            out.append(query[cur:m.start()])
            cur = m.end()
    out.append(query[cur:])
    return " ".join("".join(out).split())


def set_filter(query: str, name: str, value: str) -> str:
    """The query with its ``name:`` filter replaced by ``name:value``."""
    rest = drop_filter(query, name)
    return f"{rest} {name}:{quote_value(value)}".strip()


def _prefixes(node: Node, out: list[str]) -> None:
    """Collect the prefixes of ``word*`` nodes under a node."""
    if isinstance(node, TermNode):
        if node.prefix:
            out.append(node.prefix)
    elif isinstance(node, OrNode | AndNode):
        for child in node.children:
            _prefixes(child, out)


def query_terms(query: str | None, texts: Iterable[str] = ()) -> list[str]:
    """Analysed terms to mark on a thread page (none when the query cannot be parsed).

    A prefix (``entrep*``) marks the words of ``texts`` whose term starts with it.
    """
    if not query:
        return []
    try:
        parsed = parse_query(query)
    except QueryError:
        return []
    terms = parsed.positive_terms()
    prefixes: list[str] = []
    for node in parsed.must:
        _prefixes(node, prefixes)
    if prefixes:
        starts = tuple(prefixes)
        ana = analyzer()
        for text in texts:
            terms.extend(t for t in ana.terms(text) if t.startswith(starts))
    return list(dict.fromkeys(terms))


def active_filters(query: str) -> dict[str, str]:
    """The author and kind filters a query sets, as written (``{"author": "philrig"}``)."""
    out: dict[str, str] = {}
    wanted = {alias: name for name in ("author", "kind") for alias in FILTER_ALIASES[name]}
    for m in _TOKEN_RE.finditer(query):
        if m["filter"] and not m["filter"].startswith("-") and m["name"].lower() in wanted:
            value = m["filter"].split(":", 1)[1].strip('"')
            if value:
                out[wanted[m["name"].lower()]] = value
    return out
