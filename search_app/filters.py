"""Jinja filters for French display: dates, numbers, counts (no locale dependency)."""

from __future__ import annotations

import re

from flask import Flask

MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
             "septembre", "octobre", "novembre", "décembre")

_ISO_RE = re.compile(
    r"^(?P<y>\d{4})-(?P<m>\d{2})"
    r"(?:-(?P<d>\d{2})(?:[T ](?P<H>\d{2}):(?P<M>\d{2})(?::\d{2}(?:\.\d+)?)?"
    r"(?:Z|[+-]\d{2}:?\d{2})?)?)?$"
)


def date_fr(value: str | None) -> str:
    """``2009-02-05T21:38`` -> ``5 février 2009 à 21:38`` (``1er`` for the first day).

    Dates without a time give ``5 février 2009``; ``2009-02`` gives ``février 2009``;
    anything unreadable is returned unchanged, and None gives an empty string.
    """
    if not value:
        return ""
    m = _ISO_RE.match(str(value).strip())
    if not m or not 1 <= int(m["m"]) <= 12:
        return str(value)
    month = MONTHS_FR[int(m["m"]) - 1]
    if m["d"] is None:
        return f"{month} {m['y']}"
    day = int(m["d"])
    text = f"{'1er' if day == 1 else day} {month} {m['y']}"
    if m["H"] is not None:
        text += f" à {m['H']}:{m['M']}"
    return text


def number_fr(value: int | float) -> str:
    """French digit grouping with a narrow no-break space: ``12345`` -> ``12 345``."""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}".replace(",", "\u202f").replace(".", ",")
    return f"{int(value):,}".replace(",", "\u202f")


def plural_fr(count: int, singular: str, plural: str | None = None) -> str:
    """``0 résultat``, ``1 résultat``, ``29 résultats`` (French: 0 and 1 are singular)."""
    word = singular if abs(count) < 2 else (plural or singular + "s")
    return f"{number_fr(count)} {word}"


def register_filters(app: Flask) -> None:
    """Make the filters available in the app's templates."""
    app.add_template_filter(date_fr, "date_fr")
    app.add_template_filter(number_fr, "number_fr")
    app.add_template_global(plural_fr, "plural_fr")
