"""Query plans (:mod:`indexer.search.plan`) turned into PostgreSQL ``tsquery`` values and BM25 SQL.

Nothing here analyses text: the parser already ran the project's French chain, so the
tree holds index terms. They are quoted as ``tsquery`` lexemes (``'entrepris'``) and
combined with ``&``, ``|``, ``!`` and ``<->`` in Python; the result is bound as a
parameter and cast with ``::tsquery`` (no text-search configuration, no parser, no
stemming on the server side).

The SQL mirrors the embedded store's evaluation of the same plan (:mod:`..whoosh.store`):
terms, phrases (consecutive positions), OR (union, scores summed), coordination (OR,
the sum scaled by the share of the children's weights matched, to a power), AND
(intersection, scores summed), exclusions, a bounded prefix as an OR of index terms,
the empty query; so both backends match the same passages and give them the same
score: BM25 with the ``BM25_K1``/``BM25_B`` and idf of :mod:`indexer.search.ranking`,
written as a SQL expression over each passage's term frequencies (``tf``) and length
(``dl``), with the collection statistics (passage count, average length, document
frequencies) read from the index's own tables, so a term's idf is the same on every
server of a partitioned index. (The embedded backend computes in float32, this one
in float8: scores agree to about 6 digits.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ...search.plan import And, AndNot, Coord, Or, Phrase, Plan, Term
from ...search.ranking import BM25_B, BM25_K1
from ...search.ranking import idf as bm25_idf

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


class Emitter:
    """Write tsquery text and BM25 SQL for compiled trees, given the index statistics.

    ``df`` maps every term of the query to its document frequency (0: not in the
    index, so a Term or Phrase on it matches nothing, as in the embedded backend).
    """

    def __init__(self, df: Mapping[str, int], doc_count: int, avg_length: float) -> None:
        self.df = df
        self.doc_count = doc_count
        self.avg_length = avg_length or 1.0

    def known(self, term: str) -> bool:
        return self.df.get(term, 0) > 0 and lexeme_ok(term)

    # -- matching ----------------------------------------------------------------------
    def tsquery(self, q: Plan) -> str | None:
        """tsquery text matching what ``q`` matches, or None when it matches nothing."""
        if isinstance(q, Term):
            return quote_lexeme(q.term) if self.known(q.term) else None
        if isinstance(q, Phrase):
            if not q.terms or not all(self.known(t) for t in q.terms):
                return None
            if len(q.terms) == 1:
                return quote_lexeme(q.terms[0])
            return "(" + " <-> ".join(quote_lexeme(t) for t in q.terms) + ")"
        if isinstance(q, Or | Coord):
            if isinstance(q, Coord) and sum(q.weights) <= 0:
                return None  # the embedded store: no weight, no match
            parts = [p for p in (self.tsquery(c) for c in q.children) if p is not None]
            if not parts:
                return None
            return parts[0] if len(parts) == 1 else "(" + " | ".join(parts) + ")"
        if isinstance(q, And):
            parts = [self.tsquery(c) for c in q.children]
            if not parts or any(p is None for p in parts):
                return None
            return parts[0] if len(parts) == 1 else "(" + " & ".join(parts) + ")"  # type: ignore[operator,arg-type]
        if isinstance(q, AndNot):
            pos, neg = self.tsquery(q.positive), self.tsquery(q.negative)
            if pos is None or neg is None:
                return pos
            return f"({pos} & !{neg})"
        return None

    # -- scoring -----------------------------------------------------------------------
    def idf(self, term: str) -> float:
        """BM25 idf, always positive: ``log(1 + (N - df + 0.5) / (df + 0.5))``."""
        return bm25_idf(self.doc_count, self.df.get(term, 0))

    def term_score(self, term: str, params: list[object]) -> str:
        """BM25 of one term in the current row (the term is known to be there)."""
        params += [term, BM25_K1 + 1, term, BM25_K1, 1 - BM25_B, BM25_B, self.avg_length,
                   self.idf(term)]
        tf = "coalesce((p.tf ->> %s::text)::float8, 1.0::float8)"
        return (f"((({tf} * %s::float8) / ({tf} + %s::float8 * (%s::float8"
                f" + %s::float8 * p.dl / %s::float8))) * %s::float8)")

    def score(self, q: Plan, params: list[object], matched: bool = True) -> str:
        """SQL for the score of ``q``: the sum of its matching parts' BM25.

        ``matched``: the row is known to match ``q`` (else the score is guarded by a
        ``CASE WHEN tsv @@ ...``: an OR only adds the scores of the clauses that match).
        """
        if not matched:
            tsq = self.tsquery(q)
            if tsq is None:
                return "0::float8"
            inner: list[object] = []
            body = self.score(q, inner, True)
            params.append(tsq)
            params.extend(inner)
            return f"(CASE WHEN p.tsv @@ %s::tsquery THEN {body} ELSE 0::float8 END)"
        if isinstance(q, Term):
            return self.term_score(q.term, params)
        if isinstance(q, Phrase):
            return "(" + " + ".join(self.term_score(t, params) for t in q.terms) + ")"
        if isinstance(q, Or):
            live = [c for c in q.children if self.tsquery(c) is not None]
            if not live:
                return "0::float8"
            if len(live) == 1:
                return self.score(live[0], params, True)
            return "(" + " + ".join(self.score(c, params, False) for c in live) + ")"
        if isinstance(q, Coord):
            live = [(c, w) for c, w in zip(q.children, q.weights, strict=True)
                    if self.tsquery(c) is not None]
            if not live:
                return "0::float8"
            scores, shares = [], []
            for c, w in live:
                tsq = self.tsquery(c)
                inner: list[object] = []
                body = self.score(c, inner, True)
                scores.append((tsq, inner, body))
                shares.append((tsq, w))
            out = []
            for tsq, inner, body in scores:
                params.append(tsq)
                params.extend(inner)
                out.append(f"CASE WHEN p.tsv @@ %s::tsquery THEN {body} ELSE 0::float8 END")
            total = float(sum(q.weights))
            share = []
            for tsq, w in shares:
                params += [tsq, w]
                share.append("CASE WHEN p.tsv @@ %s::tsquery THEN %s::float8 ELSE 0::float8 END")
            params += [total, q.power]
            return (f"(({' + '.join(out)}) * power(({' + '.join(share)}) / %s::float8, "
                    "%s::float8))")
        if isinstance(q, And):
            return "(" + " + ".join(self.score(c, params, True) for c in q.children) + ")"
        if isinstance(q, AndNot):
            return self.score(q.positive, params, True)
        return "0::float8"
