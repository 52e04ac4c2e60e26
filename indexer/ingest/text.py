"""Unicode normalisation shared by documents (at ingest), queries and thread ids.

One rule set, so that what is indexed and what is asked meet:

* NFC: ``e`` + U+0301 becomes ``é`` (macOS and some exports write decomposed text);
* control characters never reach the index: C1 characters (U+0080-U+009F, Windows-1252
  text read as Latin-1) become their Windows-1252 character (U+0092 -> ``’``) or go when
  it has none, terminal colour sequences (``ESC[31m``) go whole, vertical tab, form feed
  and the information separators become a space, every other C0 control and DEL goes;
  tab stays. Unpaired surrogates (JSON ``"\\ud800"``) become U+FFFD;
* format characters (soft hyphen, zero-width space and joiners, word joiner, BOM, bidi
  marks, embeddings and isolates: every character of Unicode category Cf) stay in
  documents as written and are ignored inside words by the tokenizer; queries, thread ids
  and filter values drop them (:func:`normalize_key`).

Apostrophe and hyphen look-alikes are listed here too; the tokenizer and the elision
and compound filters treat them as ``'`` and ``-``.
"""

from __future__ import annotations

import re
import unicodedata

#: Blocks that hold format characters (category Cf) in some Unicode version; the set
#: is the characters of these ranges that are Cf in the running Python's Unicode data.
_CF_CANDIDATES = [(0x00AD, 0x00AD), (0x0600, 0x0605), (0x061C, 0x061C), (0x06DD, 0x06DD),
                  (0x070F, 0x070F), (0x0890, 0x0891), (0x08E2, 0x08E2), (0x180E, 0x180E),
                  (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0xFEFF, 0xFEFF),
                  (0xFFF9, 0xFFFB), (0x110BD, 0x110BD), (0x110CD, 0x110CD),
                  (0x13430, 0x1345F), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
                  (0xE0001, 0xE0001), (0xE0020, 0xE007F)]
FORMAT_CHARS = "".join(chr(c) for lo, hi in _CF_CANDIDATES for c in range(lo, hi + 1)
                       if unicodedata.category(chr(c)) == "Cf")


def _char_class(chars: str) -> str:
    """The inside of a regex character class for ``chars``, as ranges (``\\U…-\\U…``)."""
    codes = sorted(ord(c) for c in chars)
    parts: list[str] = []
    start = prev = codes[0]
    for code in [*codes[1:], -1]:
        if code != prev + 1:
            parts.append(f"\\U{start:08x}" if start == prev
                         else f"\\U{start:08x}-\\U{prev:08x}")
            start = code
        prev = code
    return "".join(parts)


#: The format characters as the inside of a regex character class.
FORMAT_CLASS = _char_class(FORMAT_CHARS)
FORMAT_RE = re.compile(f"[{FORMAT_CLASS}]+")

#: Characters that elide like ``'``: U+2019 and U+2018 quotes, U+02BC modifier letter
#: apostrophe, grave and acute accents, the fullwidth apostrophe, and other look-alikes.
APOSTROPHES = "'\u2019\u2018\u02bc\u0060\u00b4\uff07\u02bb\u02b9\u201b"
#: Characters that join compounds like ``-``: U+2010 hyphen, U+2011 non-breaking hyphen.
HYPHENS = "-\u2010\u2011"

#: C0 controls but tab, LF and CR; DEL; C1 controls; unpaired surrogates.
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_ANSI_RE = re.compile(r"\x1b\[[0-?]{0,32}[ -/]{0,8}[@-~]")
_SPACE_LIKE = "\x0b\x0c\x1c\x1d\x1e\x1f"


def _control_table() -> dict[int, str]:
    """What each control character becomes (see the module docstring)."""
    table = {c: "" for c in [*range(0x00, 0x09), 0x0E, 0x0F, *range(0x10, 0x1C), 0x7F]}
    table.update({ord(c): " " for c in _SPACE_LIKE})
    for c in range(0x80, 0xA0):
        try:
            table[c] = bytes([c]).decode("cp1252")
        except UnicodeDecodeError:  # 0x81, 0x8D, 0x8F, 0x90, 0x9D: undefined in Windows-1252
            table[c] = ""
    table.update({c: "\ufffd" for c in range(0xD800, 0xE000)})
    return table


_CONTROL_TABLE = _control_table()


def clean_controls(text: str) -> tuple[str, int]:
    """Apply the control-character rules; returns the text and how many characters changed.

    >>> clean_controls("l\\x92entreprise \\x1b[1mgras\\x7f")
    ('l’entreprise gras', 6)
    """
    if CONTROL_RE.search(text) is None:
        return text, 0
    before = len(text)
    stripped = _ANSI_RE.sub("\x1b", text)  # one ESC left per sequence, counted below
    removed = before - len(stripped)
    count = len(CONTROL_RE.findall(stripped)) + removed
    return stripped.translate(_CONTROL_TABLE), count


def nfc(text: str) -> str:
    """Unicode NFC (``e`` + U+0301 -> ``é``), without work for text that already is."""
    if text.isascii() or unicodedata.is_normalized("NFC", text):
        return text
    return unicodedata.normalize("NFC", text)


def normalize_text(text: str) -> tuple[str, int]:
    """What documents get at ingest: controls cleaned (count returned), then NFC."""
    text, count = clean_controls(text)
    return nfc(text), count


def strip_format(text: str) -> str:
    """Remove format characters (soft hyphen, zero-width, bidi marks...)."""
    return FORMAT_RE.sub("", text) if not text.isascii() else text


def normalize_key(text: str) -> str:
    """Queries, thread ids and filter values: the document rules, format characters removed.

    >>> normalize_key("Cafe\\u0301\\u00ad-cre\\u200bme")
    'Café-creme'
    """
    return strip_format(normalize_text(text)[0])
