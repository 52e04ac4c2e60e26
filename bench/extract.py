"""Paragraphs of French prose from documentation files: HTML/XHTML, man pages (roff), text.

Used by ``bench/realcorpus.py`` on the files of Debian's French documentation packages.
No project code and no third-party package: ``html.parser`` for markup, a small roff
reader for man pages (no groff, so the output does not depend on the groff version).

What is kept (:func:`is_prose`): paragraphs of 5+ words and 30+ characters, mostly
letters, not code-like, and French rather than English (function-word counts). What is
dropped before that: ``<pre>``, ``<script>``, ``<style>``, code/screen/example/synopsis
blocks and navigation of DocBook, Texinfo and Sphinx HTML, elements with the HTML
``hidden`` attribute (of LibreOffice's per-platform variants, all hidden until its
JavaScript picks one, the ``default…`` one is kept), roff no-fill blocks
(``.nf``/``.fi``, ``.EX``/``.EE``), tables (``.TS``/``.TE``) and macro definitions.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser


def _words(text: str) -> list[str]:
    """The whitespace-separated words of a literal list."""
    return text.split()


# -- prose filter ----------------------------------------------------------------------------

FR_WORDS = frozenset(_words("""
le la les de des du un une et est sont pour dans vous en à au aux que qui sur par pas ne
ce cette ces il elle ils elles on avec ou plus peut être son sa ses leur leurs nous si mais
comme tout tous été fait cela lorsque quand d l qu n s c j votre vos sous entre dont
"""))
EN_WORDS = frozenset(_words("""
the and of to is in for this that with you are be it as by or an if not from can will
which when your use these has have was were would should there their into
"""))
WORD_SPLIT_RE = re.compile(r"[^\w]+")
CODE_CHARS = frozenset("{}[]<>=;$\\|#*~^`")
#: UTF-8 read as Windows-1252 (what Fil's reader refuses), and C0/C1 controls.
MOJIBAKE_RE = re.compile(r"[ÂÃÅ][\x80-\xbf€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]|â€|Ã ")
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffd]")
MIN_WORDS = 5
MIN_CHARS = 30
MAX_CHARS = 6000


def normalise(text: str) -> str:
    """Collapse whitespace (no-break spaces included) into single spaces."""
    return " ".join(text.split())


KEY_WORD_RE = re.compile(r"\w+")


def dedupe_key(text: str, drop_words: int = 0) -> str:
    """Case- and punctuation-blind form of a paragraph (``drop_words`` first words left out)."""
    return " ".join(KEY_WORD_RE.findall(text.casefold())[drop_words:])


def is_prose(text: str) -> bool:
    """Whether a normalised paragraph is French prose worth indexing."""
    if not MIN_CHARS <= len(text) <= MAX_CHARS or CONTROL_RE.search(text):
        return False
    if MOJIBAKE_RE.search(text):
        return False
    words = text.split()
    if len(words) < MIN_WORDS:
        return False
    chars = [c for c in text if not c.isspace()]
    letters = sum(c.isalpha() for c in chars)
    if letters < 0.7 * len(chars) or sum(c in CODE_CHARS for c in chars) > 0.03 * len(chars):
        return False
    tokens = [t for t in WORD_SPLIT_RE.split(text.lower()) if t]
    fr = sum(t in FR_WORDS for t in tokens)
    en = sum(t in EN_WORDS for t in tokens)
    return fr >= 2 and fr >= 0.08 * len(tokens) and en * 3 < fr


# -- HTML ------------------------------------------------------------------------------------

#: Elements that start and end a paragraph: HTML, Mallard (GNOME/MATE help) and DocBook.
BLOCK_TAGS = frozenset(_words("""
p div li ul ol dl dt dd td th tr table thead tbody tfoot caption h1 h2 h3 h4 h5 h6
blockquote section article header footer main figure figcaption form body html title
center address fieldset legend details summary hr br option
page item desc steps list terms tree note subtitle
para simpara formalpara listitem entry row varlistentry term step tip warning caution
important sect1 sect2 sect3 sect4 sect5 chapter book appendix preface glossentry
glossdef qandaentry question answer abstract
"""))
#: Elements whose whole content is left out (code, navigation, metadata, images).
SKIP_TAGS = frozenset(_words("""
script style pre head noscript textarea svg math object template button select nav aside
info bookinfo articleinfo chapterinfo sect1info sectioninfo indexterm programlisting
screen synopsis cmdsynopsis funcsynopsis literallayout media comment links credit
screenshot mediaobject inlinemediaobject authorgroup legalnotice revhistory
"""))  # inline <code>, <tt>, <kbd> inside a sentence stay (commands, option names)
SKIP_CLASSES = frozenset(_words("""
programlisting screen synopsis cmdsynopsis funcsynopsis literallayout example verbatim
navheader navfooter nav-panel navigation toc lot highlight highlight-default
sourceCode lilypond code-block linenumbers related sphinxsidebar footer header
breadcrumb menu contents-treeview index-label
"""))
VOID_TAGS = frozenset(_words(
    "area base br col embed hr img input link meta param source track wbr"))
#: Sequences shown with a separator between their children: Ctrl+S, Fichier ▸ Ouvrir.
SEQUENCES = {"keyseq": "+", "keycombo": "+", "guiseq": " ▸ ", "menuchoice": " ▸ "}
ENTITY_DECL_RE = re.compile(r"""<!ENTITY\s+([\w.-]+)\s+(?:"([^"]*)"|'([^']*)')\s*>""")
ENTITY_REF_RE = re.compile(r"&([A-Za-z][\w.-]*);")
DOCTYPE_SUBSET_RE = re.compile(r"<!DOCTYPE[^\[>]*\[.*?\]\s*>", re.DOTALL)
#: Skipped elements that sit inside a sentence (an icon, an index entry): they do not
#: end the paragraph around them.
SKIP_INLINE = frozenset(_words("""
media indexterm inlinemediaobject svg math button select textarea script noscript object
comment
"""))


def resolve_entities(text: str) -> str:
    """DocBook sources: expand the file's own ``<!ENTITY>`` values, then replace other
    unknown entities (defined in DTDs we do not read, e.g. ``&okular;``) by their name."""
    from html.entities import html5

    defined = {m.group(1): m.group(2) if m.group(2) is not None else m.group(3)
               for m in ENTITY_DECL_RE.finditer(text)}
    text = DOCTYPE_SUBSET_RE.sub("", text, count=1)

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name + ";" in html5:
            return m.group(0)
        return defined.get(name, name)

    for _ in range(3):  # entity values may refer to other entities
        text = ENTITY_REF_RE.sub(sub, text)
    return text


class _Collector(HTMLParser):
    """Collects the text of block elements, skipping code, navigation and hidden parts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        self.buf: list[str] = []
        self.stack: list[tuple[str, bool]] = []  # (tag, skips its content)
        self.skipping = 0
        self.seqs: list[list] = []  # [tag, separator, children so far] of open sequences

    def flush(self) -> None:
        if self.buf:
            text = normalise("".join(self.buf))
            if text:
                self.paragraphs.append(text)
            self.buf = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID_TAGS:
            if tag in ("br", "hr"):
                self.buf.append(" ")
            return
        classes = set()
        hidden = False
        ident = ""
        for k, v in attrs:
            if k == "class" and v:
                classes.update(v.split())
            elif k == "id" and v:
                ident = v
            elif k == "hidden" or (k == "style" and v and "display:none" in v.replace(" ", "")):
                hidden = True
        if hidden and ident.startswith("default"):
            hidden = False  # LibreOffice: per-platform variants all hidden, "default…" shown
        skip = tag in SKIP_TAGS or hidden or bool(classes & SKIP_CLASSES)
        if self.seqs and self.stack and self.stack[-1][0] == self.seqs[-1][0]:
            if self.seqs[-1][2]:  # a second child of keyseq/guiseq: its separator first
                self.buf.append(self.seqs[-1][1])
            self.seqs[-1][2] += 1
        if tag in SEQUENCES:
            self.seqs.append([tag, SEQUENCES[tag], 0])
        if tag in BLOCK_TAGS and not self.skipping:
            self.flush()
        self.stack.append((tag, skip))
        if skip:
            # A skipped <pre> or code block ends the paragraph before it; a skipped
            # inline element (a hidden <span>, an icon) does not.
            if not self.skipping and (tag in BLOCK_TAGS or tag in SKIP_TAGS) \
                    and tag not in SKIP_INLINE:
                self.flush()
            self.skipping += 1

    def handle_endtag(self, tag: str) -> None:
        if not any(t == tag for t, _ in self.stack):
            return  # stray end tag
        while self.stack:
            t, skip = self.stack.pop()
            if skip:
                self.skipping -= 1
            if t in SEQUENCES and self.seqs:
                self.seqs.pop()
            if t == tag:
                break
        if tag in BLOCK_TAGS and not self.skipping:
            self.flush()

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if self.seqs and self.stack and self.stack[-1][0] == self.seqs[-1][0] and data.strip():
            if self.seqs[-1][2]:  # text straight inside a sequence (an expanded entity)
                self.buf.append(self.seqs[-1][1])
            self.seqs[-1][2] += 1
        self.buf.append(data)


def html_paragraphs(text: str) -> list[str]:
    """The text blocks of an HTML, XHTML, Mallard or DocBook document (not yet filtered by
    :func:`is_prose`)."""
    if "<!ENTITY" in text or "<!DOCTYPE book" in text or "<!DOCTYPE article" in text:
        text = resolve_entities(text)
    c = _Collector()
    try:
        c.feed(text)
        c.close()
    except (AssertionError, ValueError):  # html.parser on badly broken markup
        pass
    c.flush()
    return c.paragraphs


# -- roff (man pages) ------------------------------------------------------------------------

ROFF_CHARS = {
    "aq": "'", "dq": '"', "em": "—", "en": "–", "hy": "-", "lq": "“", "rq": "”", "Fo": "«",
    "Fc": "»", "fo": "‹", "fc": "›", "bu": "•", "co": "©", "rg": "®", "tm": "™", "oq": "‘",
    "cq": "’", "ga": "`", "ha": "^", "ti": "~", "mi": "-", "pl": "+", "mu": "×", "de": "°",
    "di": "÷", "+-": "±", "<=": "≤", ">=": "≥", "!=": "≠", "->": "→", "<-": "←", "sl": "/",
    "rs": "\\", "ba": "|", "bv": "|", "br": "|", "ul": "_", "ru": "_", "sq": "□", "dg": "†",
    "oe": "œ", "OE": "Œ", "ae": "æ", "AE": "Æ", "ss": "ß", "Eu": "€", "eu": "€", "lB": "[",
    "rB": "]", "lC": "{", "rC": "}", "la": "⟨", "ra": "⟩", "at": "@", "sh": "#", "Do": "$",
    "ua": "↑", "da": "↓", "pc": "·", "aa": "´", "'e": "é", "`e": "è", "^e": "ê", "`a": "à",
    ":u": "ü", ":e": "ë", ":i": "ï", "^o": "ô", "^i": "î", "^a": "â", "^u": "û", ",c": "ç",
}
ROFF_STRINGS = {"lq": "“", "rq": "”", "R": "®", "Tm": "™", "Aq": "'", "aq": "'", "Lq": "“",
                "Rq": "”", "Ba": "|"}
ESCAPE_RE = re.compile(
    r"""\\(?:
        f(?:\[[^\]]*\]|\(..|.)           # font
      | s[+-]?(?:\[[^\]]*\]|\(..|\d+)    # size
      | \((..)                           # \(xx character
      | \[([^\]]*)\]                     # \[name] character
      | \*(?:\[([^\]]*)\]|\((..)|(.))    # string
      | [nkgYV](?:\[[^\]]*\]|\(..|.)     # registers and the like
      | [hvwoxlLDbCNRSXZ]'[^']*'         # motions, widths, ... with a quoted argument
      | "(.*)                            # comment
      | (.)                              # any other escape
    )""", re.VERBOSE)
SIMPLE_ESCAPES = {"-": "-", "e": "\\", "\\": "\\", "&": "", ")": "", "%": "", "|": "", "^": "",
                  " ": " ", "~": " ", "0": " ", "c": "", ":": "", ",": "", "/": "", "'": "'",
                  "`": "`", "t": " ", "z": "", "d": "", "u": "", "p": "", "r": "", "a": "",
                  "{": "", "}": "", "E": "\\", ".": ".", "!": "", "?": ""}
REQUEST_RE = re.compile(r"^[.'][ \t]*([A-Za-z0-9_]+)[ \t]*(.*)$")
ALTERNATING = frozenset(_words("BR IR RB RI BI IB"))
FONT_MACROS = frozenset(_words("B I SM SB R"))
BREAKS = frozenset(_words("PP LP P IP TP TQ HP sp br RS RE in ti ne bp SH SS SY YS OP PD TH"))


def _roff_char(name: str) -> str:
    if name.startswith(("u", "U")) and len(name) > 1 and re.fullmatch(r"[uU][0-9A-Fa-f_]+",
                                                                        name):
        try:
            return "".join(chr(int(p, 16)) for p in name[1:].split("_"))
        except ValueError:
            return ""
    return ROFF_CHARS.get(name, "")


def roff_text(line: str) -> str:
    """A roff text line with its escapes resolved (fonts and sizes dropped)."""
    def sub(m: re.Match[str]) -> str:
        c2, name, s_long, s_two, s_one, _comment, other = m.groups()
        if c2 is not None:
            return _roff_char(c2)
        if name is not None:
            return _roff_char(name)
        s = s_long or s_two or s_one
        if s is not None:
            return ROFF_STRINGS.get(s, "")
        if other is not None:
            return SIMPLE_ESCAPES.get(other, other)
        return ""
    return ESCAPE_RE.sub(sub, line)


def _macro_args(rest: str) -> list[str]:
    """Arguments of a macro line (double quotes group words)."""
    args, cur, quoted, i = [], [], False, 0
    while i < len(rest):
        ch = rest[i]
        if ch == '"':
            if quoted and i + 1 < len(rest) and rest[i + 1] == '"':
                cur.append('"')
                i += 1
            else:
                quoted = not quoted
        elif ch in " \t" and not quoted:
            if cur:
                args.append("".join(cur))
                cur = []
        else:
            cur.append(ch)
        i += 1
    if cur:
        args.append("".join(cur))
    return args


def roff_paragraphs(source: str) -> list[str]:
    """Paragraphs of a man page's roff source (``.TP`` tags lead their paragraph)."""
    paras: list[str] = []
    cur: list[str] = []
    nofill = table = False
    skip_until: str | None = None  # ".." ends a macro definition, "\\}" a conditional block

    def flush() -> None:
        nonlocal cur
        text = normalise(roff_text(" ".join(cur)))
        if text:
            paras.append(text)
        cur = []

    for line in source.splitlines():
        if skip_until is not None:
            if (skip_until == ".." and line.strip() == "..") or \
                    (skip_until != ".." and skip_until in line):
                skip_until = None
            continue
        if line.startswith((".\\\"", "'\\\"", "\\\"")) or line.strip() in (".", "'"):
            continue
        m = REQUEST_RE.match(line)
        if m:
            req, rest = m.group(1), m.group(2)
            if req in ("de", "de1", "am", "ig", "ds1"):
                skip_until = ".." if req != "ds1" else None
            elif req in ("if", "ie", "el") and "\\{" in rest and "\\}" not in rest:
                skip_until = "\\}"
            elif req == "TS":
                flush()
                table = True
            elif req == "TE":
                table = False
            elif req in ("nf", "EX"):
                flush()
                nofill = True
            elif req in ("fi", "EE"):
                nofill = False
            elif req in BREAKS:
                if req not in ("RS", "RE", "in", "PD") or cur:
                    flush()
                if req == "IP":  # ".IP tag indent": a word tag leads the paragraph
                    args = _macro_args(rest)
                    tag = roff_text(args[0]) if args else ""
                    if any(c.isalpha() for c in tag) and not nofill and not table:
                        cur.append(tag)
            elif req in FONT_MACROS or req in ALTERNATING:
                if not nofill and not table:
                    args = _macro_args(rest)
                    cur.append(("" if req in ALTERNATING else " ").join(args))
            elif req in ("UE", "ME") and rest and cur:
                cur[-1] += rest.strip()
            continue
        if nofill or table or line.startswith("'"):
            continue
        cur.append(line)  # after .TP, the tag line leads the paragraph
    flush()
    # ".so other.3" pages (links) have no text; NAME lines are too short to survive.
    return paras


# -- plain text ------------------------------------------------------------------------------


def text_paragraphs(text: str) -> Iterator[str]:
    """Blank-line separated paragraphs of a plain text file, lines joined."""
    for block in re.split(r"\n\s*\n", text):
        if block.strip():
            yield normalise(block)


# -- LyX -------------------------------------------------------------------------------------

#: Insets whose content is not prose (code, formulas, figures, cross-references, notes).
LYX_SKIP_INSETS = frozenset(_words("""
ERT Graphics CommandInset Formula listings Info Index Preview External include Note
Branch Tabular script IPA Phantom VSpace space Separator Argument
"""))
LYX_QUOTES = {"l": "«", "r": "»"}
LYX_SPECIAL = {"LyX": "LyX", "TeX": "TeX", "LaTeX": "LaTeX", "LaTeX2e": "LaTeX2e",
               "ldots": "…", "menuseparator": " ▸ ", "breakableslash": "/",
               "nobreakdash": "-"}
LYX_SPECIAL_RE = re.compile(r"\\SpecialChar\s+(\S+)")


def lyx_paragraphs(source: str) -> list[str]:
    """Paragraphs of a LyX document: each ``\\begin_layout`` ... ``\\end_layout``, with
    footnotes and floats as paragraphs of their own and code/maths/figures left out."""
    paras: list[str] = []
    bufs: list[list[str]] = []  # open layouts, innermost last
    skip_depth = 0  # inside an inset that is left out (nesting counted)
    insets: list[bool] = []  # for each open inset: whether it is skipped
    header = False  # between a kept inset's first line and its first layout (settings)

    for line in source.splitlines():
        if line.startswith("\\begin_inset"):
            kind = line.split()[1] if len(line.split()) > 1 else ""
            skipped = skip_depth > 0 or kind in LYX_SKIP_INSETS
            insets.append(skipped)
            if skipped:
                skip_depth += 1
            elif bufs and kind == "Quotes":
                code = line.split()[2] if len(line.split()) > 2 else ""
                bufs[-1].append(LYX_QUOTES.get(code[1:2], '"') if len(code) > 1 else '"')
            elif bufs and kind in ("Newline", "space"):
                bufs[-1].append(" ")
            else:
                header = True
            continue
        if line.startswith("\\end_inset"):
            if insets and insets.pop():
                skip_depth -= 1
            header = False
            continue
        if skip_depth:
            continue
        if line.startswith("\\begin_layout"):
            bufs.append([])
            header = False
            continue
        if header:
            continue
        if line.startswith("\\end_layout"):
            if bufs:
                text = normalise("".join(bufs.pop()))
                if text:
                    paras.append(text)
            continue
        if not bufs:
            continue
        line = LYX_SPECIAL_RE.sub(lambda m: LYX_SPECIAL.get(m.group(1), ""), line)
        if line.startswith("\\"):
            if line.split(maxsplit=1)[0] == "\\backslash":
                bufs[-1].append("\\")
            continue
        bufs[-1].append(line)
    return paras
