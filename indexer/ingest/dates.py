"""Dates of posts and comments, read from the forms thread files use, written as ISO 8601.

Accepted: ISO 8601 (``2009-02-05``, ``2009-02-05T10:00``, with seconds, a fraction, a
``T`` or a space, and ``Z`` or an offset such as ``+01:00``/``+0100``/``+01``) and the
French ``DD/MM/YYYY [à HH:MM[:SS]]`` (also ``HHhMM``, ``a``/``at``, and a two-digit year:
``00``-``68`` are 2000-2068, ``69``-``99`` are 1969-1999, as POSIX ``%y`` reads them).

Written: ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM``. Zone rule: the wall time is kept as
written and the offset dropped (``2009-02-05T23:30-05:00`` -> ``2009-02-05T23:30``):
the page shows the time the author saw, and ``after:``/``before:`` filter on that day.
Seconds and fractions are dropped. An impossible date (``31/02``, ``25:00``) raises
ThreadParseError; the callers keep the post or comment without a date and warn.
"""

from __future__ import annotations

import re
from datetime import datetime

from ..errors import ThreadParseError

#: ``DD/MM/YYYY [à] HH:MM[:SS]`` (no two adjacent ``\s*``: that backtracks quadratically).
DMY_DATE_RE = re.compile(
    r"^(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})"
    r"(?:\s*+(?:(?:à|a|at)\s*+)?(\d{1,2})[:h](\d{2})(?::(\d{2}))?)?$", re.IGNORECASE)
#: ISO 8601 as thread files write it (see the module docstring).
ISO_DATE_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d{1,9})?)?)?"
    r"(?:\s?(?:Z|[+-](\d{2})(?::?(\d{2}))?))?$", re.IGNORECASE)
#: What :func:`parse_date` returns.
CANONICAL_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2})?$")


def parse_date(value: str, path: str, line: int | None) -> str:
    """Turn an accepted date into ``YYYY-MM-DD[THH:MM]``; raise ThreadParseError if it can't.

    >>> parse_date("2009-02-05T23:30:00.000-05:00", "f.jsonl", 1)
    '2009-02-05T23:30'
    """
    value = value.strip()
    if len(value) in (10, 16) and value.isascii() and CANONICAL_DATE_RE.match(value):
        _validate(int(value[:4]), int(value[5:7]), int(value[8:10]),
                  value[11:13] or None, value[14:16] or None, None, path, line)
        return value  # already as the index writes it
    m = DMY_DATE_RE.match(value)
    if m:
        d, mo, y, hh, mm, ss = m.groups()
        year = int(y) if len(y) == 4 else (2000 if int(y) < 69 else 1900) + int(y)
        return _validate(year, int(mo), int(d), hh, mm, ss, path, line)
    m = ISO_DATE_RE.match(value)
    if m:
        y, mo, d, hh, mm, ss, zh, zm = m.groups()
        if (zh is not None and int(zh) > 23) or (zm is not None and int(zm) > 59):
            raise ThreadParseError(path, f"invalid date {value!r}: time zone offset out of "
                                   "range", line)
        return _validate(int(y), int(mo), int(d), hh, mm, ss, path, line)
    raise ThreadParseError(path, f"unreadable date {value!r} (expected DD/MM/YYYY à HH:MM "
                           "or ISO 8601 such as YYYY-MM-DDTHH:MM)", line)


def _validate(y: int, mo: int, d: int, hh: str | None, mm: str | None, ss: str | None,
              path: str, line: int | None) -> str:
    """Check a calendar date and time (a leap second 60 is allowed), format it canonically."""
    try:
        if ss is not None and int(ss) > 60:
            raise ValueError("second must be in 0..59")
        dt = datetime(y, mo, d, int(hh or 0), int(mm or 0))
    except ValueError as exc:
        raise ThreadParseError(path, f"invalid date: {exc}", line) from None
    # not strftime("%Y"): it does not pad years before 1000 to four digits
    day = f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}"
    return f"{day}T{dt.hour:02d}:{dt.minute:02d}" if hh is not None else day
