"""The plan algebra: a parsed query compiled once into a small tree that every store evaluates.

A plan holds index terms only (the parser already ran the French chain): ``Term``,
``Phrase`` (consecutive positions), ``Or`` (any child; scores summed over the children
that match), ``Coord`` (like ``Or``, the sum scaled by the share of the children's
weights matched: coordination), ``And`` (every child; scores summed), ``AndNot`` (the
positive side minus the negative side; scored by the positive side) and ``Null``
(matches nothing). Prefixes
are resolved before compiling (the store lists the index's terms, the pipeline chooses
the expansion), so a plan never needs the index to be read.

>>> from indexer.search.query import parse_query
>>> compile_query(parse_query('haut-debit -obama'), {})  # doctest: +NORMALIZE_WHITESPACE
AndNot(positive=Or(children=(Phrase(terms=('haut', 'deb')), Term(term='hautdeb'))),
       negative=Term(term='obam'))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .query import AndNode, Node, OrNode, ParsedQuery, PhraseNode, TermNode


@dataclass(frozen=True, slots=True)
class Term:
    """One index term."""

    term: str


@dataclass(frozen=True, slots=True)
class Phrase:
    """Index terms at consecutive positions."""

    terms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """Any child matches; the score is the sum of the matching children's scores."""

    children: tuple[Plan, ...]


@dataclass(frozen=True, slots=True)
class Coord:
    """Any child matches, scored by coordination: the sum of the matching children's scores,
    times the share of the children's weights they carry, to the power ``power``.

    ``score = Σ_matching score_c · (Σ_matching w_c / Σ w_c) ** power``: a passage holding
    more of the query (by weight) beats one holding a few of its words many times.
    """

    children: tuple[Plan, ...]
    weights: tuple[float, ...]
    power: float


@dataclass(frozen=True, slots=True)
class And:
    """Every child matches; the score is the sum of the children's scores."""

    children: tuple[Plan, ...]


@dataclass(frozen=True, slots=True)
class AndNot:
    """``positive`` without what ``negative`` matches; scored by ``positive``."""

    positive: Plan
    negative: Plan


@dataclass(frozen=True, slots=True)
class Null:
    """Matches nothing (a prefix that expands to no term)."""


Plan = Term | Phrase | Or | Coord | And | AndNot | Null


@dataclass(frozen=True, slots=True)
class Filters:
    """Field filters: they narrow the matches, they never score."""

    author: str | None = None  # folded author key
    kind: str | None = None  # "post" or "comment"
    after: int | None = None  # YYYYMMDD, inclusive
    before: int | None = None  # YYYYMMDD, inclusive
    thread: str | None = None
    not_authors: tuple[str, ...] = ()  # folded author keys excluded
    not_threads: tuple[str, ...] = ()  # thread ids excluded

    def __bool__(self) -> bool:
        return any(v is not None for v in (self.author, self.kind, self.after, self.before,
                                           self.thread)) or bool(self.not_authors
                                                                 or self.not_threads)

    @classmethod
    def of(cls, parsed: ParsedQuery) -> Filters:
        """The filters a parsed query sets."""
        return cls(parsed.author, parsed.kind, parsed.after, parsed.before, parsed.thread,
                   parsed.not_authors, parsed.not_threads)


def compile_node(node: Node, expansions: Mapping[str, Sequence[str]]) -> Plan:
    """The plan of one parsed node; ``expansions`` maps each prefix to its chosen terms."""
    if isinstance(node, TermNode):
        if node.prefix is not None:
            terms = list(dict.fromkeys([*expansions.get(node.prefix, ()), *node.terms]))
            if not terms:
                return Null()
            return Term(terms[0]) if len(terms) == 1 else Or(tuple(Term(t) for t in terms))
        if node.compound:
            parts, joined = node.terms[:-1], node.terms[-1]
            return Or((Phrase(tuple(parts)), Term(joined)))
        return Term(node.terms[0])
    if isinstance(node, PhraseNode):
        return Phrase(tuple(node.terms))
    if isinstance(node, OrNode):
        return Or(tuple(compile_node(c, expansions) for c in node.children))
    assert isinstance(node, AndNode)
    q: Plan = And(tuple(compile_node(c, expansions) for c in node.children))
    if node.negated:
        q = AndNot(q, Or(tuple(compile_node(c, expansions) for c in node.negated)))
    return q


def all_of(required: Sequence[Plan]) -> Plan | None:
    """The And of the required clauses (None when nothing is required)."""
    if not required:
        return None
    return required[0] if len(required) == 1 else And(tuple(required))


def any_of(clauses: Sequence[Plan]) -> Plan | None:
    """The Or of some clauses (None when there are none)."""
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else Or(tuple(clauses))


def without(positive: Plan | None, exclude: Plan | None) -> Plan | None:
    """``positive`` minus ``exclude`` (either may be None)."""
    if positive is None or exclude is None:
        return positive
    return AndNot(positive, exclude)


def compile_query(parsed: ParsedQuery, expansions: Mapping[str, Sequence[str]]) -> Plan | None:
    """The whole query's plan: the And of its clauses minus its exclusions (None: no clause)."""
    required = [compile_node(n, expansions) for n in parsed.must]
    exclude = any_of([compile_node(n, expansions) for n in parsed.must_not])
    return without(all_of(required), exclude)


def plan_terms(plan: Plan | None) -> list[str]:
    """Every term a plan mentions, in order, once each."""
    out: list[str] = []

    def walk(q: Plan | None) -> None:
        if isinstance(q, Term):
            out.append(q.term)
        elif isinstance(q, Phrase):
            out.extend(q.terms)
        elif isinstance(q, Or | Coord | And):
            for c in q.children:
                walk(c)
        elif isinstance(q, AndNot):
            walk(q.positive)
            walk(q.negative)

    walk(plan)
    return list(dict.fromkeys(out))
