"""Accent and case folding, shared by parsing (author names) and analysis (tokens)."""

from __future__ import annotations

import re
from functools import lru_cache

from unidecode import unidecode

from .text import APOSTROPHES

_SPACE_RE = re.compile(r"\s+")
_APOSTROPHE_TABLE = str.maketrans({c: "'" for c in APOSTROPHES})


@lru_cache(maxsize=200_000)
def fold(text: str) -> str:
    """Lowercase and strip accents as the index does: ``"TRÈS"`` -> ``"tres"``, ``œ`` -> ``oe``.

    Whitespace is removed too (unidecode may turn one character into several words), and
    every apostrophe look-alike becomes ``'`` (``aujourdʼhui`` and ``aujourd'hui`` meet).
    """
    text = text.lower()
    if not text.isascii() or "`" in text:
        text = text.translate(_APOSTROPHE_TABLE)
    folded = unidecode(text).lower()
    return _SPACE_RE.sub("", folded)


def author_key(author: str | None) -> str:
    """The folded name that ``author:`` filters compare (``"Jean Michel"`` -> ``jeanmichel``).

    ``fold`` already drops whitespace, so index and query agree however names are spaced.
    """
    return fold(author) if author else ""
