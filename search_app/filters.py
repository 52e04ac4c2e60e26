"""Jinja filters for French display: dates, numbers, counts, typography (no locale needed).

French typography: a no-break space (U+00A0) between a number and its word, inside
« » and before « : »; a narrow no-break space (U+202F) before « ; ! ? » and between
digit groups; typographic apostrophes.
"""

from __future__ import annotations

import re

from flask import Flask

NBSP = "\u00a0"
NNBSP = "\u202f"

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
    anything unreadable is returned unchanged, and None gives an empty string. The
    spaces are no-break spaces: a date never breaks across lines.

    >>> date_fr("2009-02-01T09:05").replace(NBSP, " ")
    '1er février 2009 à 09:05'
    """
    if not value:
        return ""
    m = _ISO_RE.match(str(value).strip())
    if not m or not 1 <= int(m["m"]) <= 12:
        return str(value)
    month = MONTHS_FR[int(m["m"]) - 1]
    if m["d"] is None:
        return f"{month}{NBSP}{m['y']}"
    day = int(m["d"])
    text = f"{'1er' if day == 1 else day}{NBSP}{month}{NBSP}{m['y']}"
    if m["H"] is not None:
        text += f"{NBSP}à{NBSP}{m['H']}:{m['M']}"
    return text


def month_fr(value: str) -> str:
    """``2009-02`` -> ``février`` (the month's name alone; unreadable values unchanged)."""
    m = re.fullmatch(r"\d{4}-(\d{2})", value)
    if not m or not 1 <= int(m[1]) <= 12:
        return value
    return MONTHS_FR[int(m[1]) - 1]


def number_fr(value: int | float) -> str:
    """French digit grouping with a narrow no-break space: ``12345`` -> ``12 345``."""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}".replace(",", NNBSP).replace(".", ",")
    return f"{int(value):,}".replace(",", NNBSP)


def plural_fr(count: int, singular: str, plural: str | None = None) -> str:
    """``0 résultat``, ``1 résultat``, ``29 résultats`` (French: 0 and 1 are singular).

    The space after the number is a no-break space.
    """
    word = singular if abs(count) < 2 else (plural or singular + "s")
    return f"{number_fr(count)}{NBSP}{word}"


_APOSTROPHE_RE = re.compile(r"(?<=\w)'(?=\w)")
_BEFORE_COLON_RE = re.compile(r"[ \u202f]+:(?=\s|$)")
_BEFORE_PUNCT_RE = re.compile(r"[ \u00a0]+([;!?])")
_OPEN_QUOTE_RE = re.compile(r"«[ \u202f]*")
_CLOSE_QUOTE_RE = re.compile(r"[ \u202f]*»")


def typo_fr(text: str) -> str:
    """French typography on interface text written with plain spaces and apostrophes.

    For messages this app did not write itself (error texts): thread content never goes
    through it.

    >>> typo_fr("L'index n'existe pas : « rebuild » ?") == (
    ...     "L’index n’existe pas\\u00a0: «\\u00a0rebuild\\u00a0»\\u202f?")
    True
    """
    text = _APOSTROPHE_RE.sub("\u2019", str(text))
    text = _BEFORE_COLON_RE.sub(NBSP + ":", text)
    text = _BEFORE_PUNCT_RE.sub(NNBSP + r"\1", text)
    text = _OPEN_QUOTE_RE.sub("«" + NBSP, text)
    return _CLOSE_QUOTE_RE.sub(NBSP + "»", text)


def register_filters(app: Flask) -> None:
    """Make the filters available in the app's templates."""
    app.add_template_filter(date_fr, "date_fr")
    app.add_template_filter(month_fr, "month_fr")
    app.add_template_filter(number_fr, "number_fr")
    app.add_template_filter(typo_fr, "typo_fr")
    app.add_template_global(plural_fr, "plural_fr")
