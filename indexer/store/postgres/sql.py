"""Terms as PostgreSQL text-search values: ``tsvector`` literals and ``tsquery`` lexemes.

Nothing here analyses text: the project's French chain already made the terms. They are
quoted as lexemes (``'entrepris'``) and written as ``tsvector`` input with their
positions (passages, :func:`tsvector_literal`) or combined with ``<->`` into a phrase
``tsquery`` (the phrase check of :mod:`.store`); the result is bound as a parameter and
cast (no text-search configuration, no parser, no stemming on the server side).
Matching and BM25 scoring are not done in SQL: see :mod:`.lists`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

#: PostgreSQL limits: a lexeme is at most 2046 bytes; tsvector positions are 1..16383
#: and at most 256 positions are kept per lexeme.
MAX_LEXEME_BYTES = 2046
MAX_POSITION = 16383
MAX_POSITIONS = 256


def lexeme_ok(term: str) -> bool:
    """True when a term fits in a tsvector (longer ones are left out of the index)."""
    return len(term) > 0 and (len(term) <= 511
                              or len(term.encode("utf-8")) <= MAX_LEXEME_BYTES)


def quote_lexeme(term: str) -> str:
    """A term as a quoted tsvector/tsquery lexeme: ``l'a\\b`` -> ``'l''a\\\\b'``."""
    if "'" in term or "\\" in term:
        term = term.replace("\\", "\\\\").replace("'", "''")
    return "'" + term + "'"


_POS = [str(min(p + 1, MAX_POSITION)) for p in range(MAX_POSITION + 1)]  # 0-based -> text


def tsvector_literal(positions: Mapping[str, Sequence[int]]) -> str:
    """The tsvector input text for analysed positions (0-based, as the analyzer gives them).

    >>> tsvector_literal({"deb": [2, 7], "aujourd'hui": [0]})
    "'deb':3,8 'aujourd''hui':1"
    """
    parts = []
    table, top = _POS, MAX_POSITION
    for term, poses in positions.items():
        if len(term) > 511 and not lexeme_ok(term):
            continue
        if len(poses) > MAX_POSITIONS:
            poses = poses[:MAX_POSITIONS]
        text = ",".join([table[p] if p < top else table[top] for p in poses])
        parts.append(f"{quote_lexeme(term)}:{text}")
    return " ".join(parts)
