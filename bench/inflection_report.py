"""How well does the French chain conflate inflected forms? ``python bench/inflection_report.py``.

For every group of ``tests/data/inflections_fr.tsv`` (forms that should reach one term) and
every pair of ``tests/data/inflections_fr_distinct.tsv`` (different words that must stay
apart), each form is analysed twice:

* before: the project's chain without the keyword and inflection steps, i.e. plain
  lowercase -> unidecode fold -> Snowball French stem (after elision and compounds);
* after: the project's chain, :func:`indexer.analysis.french_chain`, with its inflection step.

Both leave out the StopFilter, so that stop words such as "été"/"êtes" are still compared.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import fil_adapter  # noqa: E402

french_chain, StopFilter, KeywordFilter, InflectionFilter = fil_adapter.inflection_parts()

DATA = ROOT / "tests" / "data"
GROUPS_FILE = DATA / "inflections_fr.tsv"
DISTINCT_FILE = DATA / "inflections_fr_distinct.tsv"

Analyse = Callable[[str], tuple[str, ...]]


def read_table(path: Path) -> list[tuple[str, ...]]:
    """Rows of a tab-separated table, skipping blank lines and ``#`` comments."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            rows.append(tuple(f.strip() for f in line.split("\t") if f.strip()))
    return rows


def _analyser(drop: tuple[type, ...]) -> Analyse:
    chain = french_chain()
    chain.items = [f for f in chain.items if not isinstance(f, drop)]
    return lambda form: tuple(t.text for t in chain(form))


def before_analyser() -> Analyse:
    """The chain without stop words, keywords and inflection: fold, then Snowball alone."""
    return _analyser((StopFilter, KeywordFilter, InflectionFilter))


def after_analyser() -> Analyse:
    """The project's chain without stop words."""
    return _analyser((StopFilter,))


def conflates(analyse: Analyse, forms: Sequence[str]) -> bool:
    """True if all forms reach the same (non-empty) terms."""
    terms = {analyse(f) for f in forms}
    return len(terms) == 1 and () not in terms


def measure(analyse: Analyse, groups: Sequence[Sequence[str]],
            pairs: Sequence[Sequence[str]]) -> tuple[list[Sequence[str]], list[Sequence[str]]]:
    """The groups that fail to conflate and the must-not pairs that get merged."""
    failing = [g for g in groups if not conflates(analyse, g)]
    merged = [p for p in pairs if conflates(analyse, p)]
    return failing, merged


def show(analyse: Analyse, forms: Sequence[str]) -> str:
    """``form -> term`` for each form, for the failure lists."""
    return ", ".join(f"{f}->{'+'.join(analyse(f))}" for f in forms)


def main() -> None:
    groups, pairs = read_table(GROUPS_FILE), read_table(DISTINCT_FILE)
    before, after = before_analyser(), after_analyser()
    fail_b, merged_b = measure(before, groups, pairs)
    fail_a, merged_a = measure(after, groups, pairs)
    print(f"{len(groups)} inflection groups ({GROUPS_FILE.name}), "
          f"{len(pairs)} must-not pairs ({DISTINCT_FILE.name})")
    print(f"{'':28}{'before':>8}{'after':>8}")
    print(f"{'groups fully conflated':28}{len(groups) - len(fail_b):>8}"
          f"{len(groups) - len(fail_a):>8}")
    print(f"{'must-not pairs distinct':28}{len(pairs) - len(merged_b):>8}"
          f"{len(pairs) - len(merged_a):>8}")
    print(f"\ngroups still failing after ({len(fail_a)}):")
    for g in fail_a:
        print("  " + show(after, g))
    lost = [g for g in fail_a if g not in fail_b]
    print(f"\nof which plain Snowball conflated ({len(lost)}):")
    for g in lost:
        print("  " + show(before, g))
    print(f"\nmust-not pairs merged after ({len(merged_a)}):")
    for p in merged_a:
        print("  " + show(after, p))


if __name__ == "__main__":
    main()
