"""Double-encoded text (UTF-8 read as Windows-1252: ``Ã©`` for ``é``), found and repaired.

Detection is Fil's own cheap test, run only on strings holding one of its lead
characters: the text is double-encoded when mojibake pairs make up a quarter or more of
its non-ASCII characters (so a post quoting « Ã© » among real accents is left as
written). Repair is ftfy's ``fix_encoding`` (a well-kept library whose heuristics are
tested on far more text than ours would be); when the text still looks double-encoded
afterwards, the record holding it is rejected rather than indexed garbled.
"""

from __future__ import annotations

import re

#: How UTF-8 continuation bytes (0x80-0xBF) look once decoded as Windows-1252 or Latin-1.
_CONTINUATION = "".join(sorted(set(bytes(range(0x80, 0xC0)).decode("cp1252", errors="ignore")
                                   + bytes(range(0x80, 0xC0)).decode("latin-1"))))
#: UTF-8 read as Windows-1252 (``é`` -> ``Ã©``, ``œ`` -> ``Å“``, ``’`` -> ``â€™``).
MOJIBAKE_RE = re.compile(f"[ÂÃÅ][{re.escape(_CONTINUATION)}]|â€|Ã ")


class MojibakeError(ValueError):
    """Double-encoded text that could not be repaired."""


def maybe_mojibake(text: str) -> bool:
    """Cheap first test: does the text hold a lead character of a mojibake pair?"""
    return "Ã" in text or "Â" in text or "Å" in text or "â€" in text


def double_encoded(text: str) -> str | None:
    """An example mojibake pair when the text is mostly double-encoded, else None."""
    if not maybe_mojibake(text):
        return None
    found = MOJIBAKE_RE.findall(text)
    non_ascii = len(text) - len(text.encode("ascii", errors="ignore"))
    if found and 2 * len(found) * 4 >= non_ascii:
        return str(found[0])
    return None


def repair(text: str) -> tuple[str, bool]:
    """The text with double encoding undone (and whether it changed).

    Raises MojibakeError when it still looks double-encoded after ftfy's repair.

    >>> repair("Il a Ã©tÃ© dÃ©Ã§u")
    ('Il a été déçu', True)
    """
    example = double_encoded(text)
    if example is None:
        return text, False
    import ftfy  # only when a string looks double-encoded: most reads never need it

    fixed = ftfy.fix_encoding(text)
    if double_encoded(fixed) is not None:
        raise MojibakeError(f"text looks double-encoded (mojibake such as {example!r}) and "
                            "could not be repaired; re-export it as UTF-8")
    return fixed, True
