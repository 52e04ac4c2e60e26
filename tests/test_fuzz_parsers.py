"""Property tests of the thread parsers under hostile input.

Arbitrary bytes, truncated files, huge lines, wrong encodings and JSON of the wrong type
in every field: the parsers raise nothing but ThreadParseError (``read_sources`` raises
nothing at all for bad content), every rejection and warning names its file (and its line
in JSON Lines), good threads beside a bad one are all kept, what is accepted is clean
text (no control characters, NFC) and can be indexed.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from indexer.errors import ThreadParseError
from indexer.ingest.decoding import BinaryFileError, LineFault
from indexer.ingest.model import Thread
from indexer.ingest.parsing import (
    CANONICAL_DATE_RE,
    SIGNATURE_RE,
    decode_lines,
    parse_jsonl,
    parse_txt,
    read_file,
    read_sources,
)
from indexer.ingest.text import CONTROL_RE, FORMAT_RE, nfc
from indexer.store.records import thread_record

ROOT = Path(__file__).resolve().parent.parent
SEED_FILE = ROOT / "index_data" / "threads" / "lippi-billautshow-2009-02.txt"
SEED_ID = "lippi-billautshow-2009-02"
SEED_BYTES = SEED_FILE.read_bytes()
NAME = "dossier/fil.txt"

FUZZ = settings(max_examples=100, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FEW = settings(max_examples=40, deadline=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

SEED = read_sources([SEED_FILE]).threads[0]


def check_thread(t: Thread) -> None:
    """What every accepted thread guarantees, whatever the input was."""
    assert isinstance(t.id, str) and t.id.strip() == t.id and t.id
    assert isinstance(t.title, str) and t.title
    texts = [t.id, t.title, *t.paragraphs, *(t.url, t.author, t.date)]
    for c in t.comments:
        texts += [c.author, c.date, *c.paragraphs]
    for text in texts:
        if text is not None:
            text.encode("utf-8")  # the index writer encodes every term and id as UTF-8
            assert CONTROL_RE.search(text.replace("\t", " ")) is None, text
            assert nfc(text) == text
    assert FORMAT_RE.search(t.id) is None
    assert all(p and p == p.strip() for p in t.paragraphs)
    assert [c.position for c in t.comments] == list(range(1, len(t.comments) + 1))
    for c in t.comments:
        assert all(0 < r < c.position for r in c.reply_to)
        assert len(set(c.reply_to)) == len(c.reply_to)
        assert c.date is None or CANONICAL_DATE_RE.match(c.date)
    assert t.date is None or CANONICAL_DATE_RE.match(t.date)
    thread_record(t).encode("utf-8")
    assert len(t.passages()) == len(t.paragraphs) + len(t.comments)


def check_error(err: ThreadParseError, path: str, *, line_required: bool = False) -> None:
    assert isinstance(err, ThreadParseError)
    assert err.path == path and err.reason
    if line_required:
        assert err.line is not None and err.line >= 1
    where = f"{path}:{err.line}" if err.line is not None else path
    assert str(err) == f"{where}: {err.reason}"


# -- decoding ------------------------------------------------------------------------

FRENCH_CHARS = "abcdeéèêëàâîïôöùûüçœæ’«» \n.,;:!?-'€ÉÈÀÇŒ"
french_text = st.text(alphabet=FRENCH_CHARS, max_size=200)
byte_soup = st.one_of(
    st.binary(max_size=500),
    french_text.map(lambda s: s.encode("utf-8")),
    french_text.map(lambda s: s.encode("cp1252")),
    french_text.map(lambda s: s.encode("latin-1", errors="replace")),
    st.tuples(french_text, french_text).map(lambda p: p[0].encode() + p[1].encode("cp1252")),
    st.tuples(french_text, st.binary(max_size=20)).map(lambda p: p[0].encode() + p[1]),
    st.text(max_size=200).map(lambda s: s.encode("utf-8", errors="surrogatepass")),
    french_text.map(lambda s: s.encode("utf-16")),
)


@FUZZ
@given(byte_soup)
def test_decoding_gives_clean_lines_or_refuses_a_binary_file(data: bytes) -> None:
    try:
        lines, report = decode_lines(data, NAME)
    except BinaryFileError as err:
        assert "binary" in str(err)
        return
    for line in lines:
        if isinstance(line, LineFault):
            assert line.code in ("binary", "truncated", "too-long") and line.reason
            continue
        assert CONTROL_RE.search(line.replace("\t", " ")) is None
        assert nfc(line) == line
        assert "\n" not in line and "\r" not in line
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return
    if CONTROL_RE.search(text.replace("\t", " ").replace("\n", " ").replace("\r", " ")) is None:
        # valid UTF-8 without controls: nothing but NFC and line-start BOMs changes
        expected = [nfc(ln.lstrip("\ufeff")) for ln in text.replace("\r\n", "\n")
                    .replace("\r", "\n").split("\n")]
        if expected and expected[-1] == "" and text.endswith(("\n", "\r")):
            expected.pop()
        assert lines == (expected if text else [])
        assert report.cp1252_lines == 0


#: Real French words: in Windows-1252 their bytes never happen to form valid UTF-8
#: (an arbitrary string can: "ÇŒ" is C7 8C, the UTF-8 for "ǌ").
FRENCH_WORDS = ["été", "déjà", "cœur", "l’œuvre", "Noël", "à", "où", "ça", "garçon", "naïf",
                "Ève", "Élise", "ÇA", "Œdipe", "« oui »", "5 €", "hôtel", "coût", "maïs", "ÉTÉ",
                "À bientôt…", "aujourd’hui", "Ô", "île", "dû", "fête", "pâte", "le", "la", "Ça"]
french_sentences = st.lists(st.sampled_from(FRENCH_WORDS), max_size=30).map(" ".join)


@FUZZ
@given(french_sentences, st.sampled_from(["utf-8", "cp1252", "utf-16", "utf-8-sig"]))
def test_decoding_reads_french_in_every_encoding(text: str, encoding: str) -> None:
    lines, report = decode_lines((text + "\n").encode(encoding), NAME)
    assert lines == [text]
    assert report.cp1252_lines == (1 if encoding == "cp1252" and not text.isascii() else 0)


# -- parse_txt -----------------------------------------------------------------------

TXT_LINES = [
    "Bonjour,", "Bonsoir M. Dupont.", "@Thierry : merci", "@Billaut merci", "Cher ami,",
    "Bonjour à tous", "Un paragraphe ordinaire du billet.", "", "   ",
    "Rédigé par : Thierry | 05/02/2009 à 21:38", "Rédigé par : Billaut | 05/02/2009 à 22:48",
    "Rédigé par : | 01/01/2000", "Rédigé par : X | 31/02/2009 à 10:00",
    "Rédigé par : Y | 01/01/2009 à 99:99", "Posted by: Ann - 1/2/2003 at 4h05",
    "--- commentaires ---", "---", "Titre: Un titre", "URL: http://x", "Date: 2009-02-05",
    "Date: hier", "Auteur: Moi",
]
txt_documents = st.one_of(
    st.text(max_size=400),
    st.lists(st.one_of(st.sampled_from(TXT_LINES), st.text(max_size=30)), max_size=25)
    .map("\n".join),
    st.lists(st.sampled_from(TXT_LINES), max_size=25).map("\r\n".join),
)


@FUZZ
@given(txt_documents)
def test_parse_txt_returns_a_thread_unless_there_is_no_text(text: str) -> None:
    warnings: list[tuple[int | None, str, str]] = []
    try:
        t = parse_txt(text, NAME, "fil", lambda *w: warnings.append(w))
    except ThreadParseError as err:
        check_error(err, NAME)
        assert err.reason == "no text: empty thread"
        return
    check_thread(t)
    assert t.id == "fil"
    texts = list(t.paragraphs) + [p for c in t.comments for p in c.paragraphs]
    assert not any(SIGNATURE_RE.match(p) for p in texts)
    assert all(c.paragraphs for c in t.comments)
    n_lines = len(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    for line, code, reason in warnings:
        assert line is None or 1 <= line <= n_lines
        assert code and reason


SEED_LINES = SEED_BYTES.decode("utf-8").splitlines()
SIGNATURES = [ln for ln in SEED_LINES if SIGNATURE_RE.match(ln)]


@FUZZ
@given(st.integers(min_value=0, max_value=len(SEED_BYTES)))
def test_truncated_seed(cut: int) -> None:
    """The seed cut anywhere: a shorter thread that agrees with the seed, the cut named."""
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "coupe.txt"
        f.write_bytes(SEED_BYTES[:cut])
        threads, errors, warnings = read_file(f)
    head = SEED_BYTES[:cut]
    if errors:  # nothing but blank space was left
        assert threads == [] and not head.strip()
        assert [e.reason for e in errors] == ["no text: empty thread"]
        return
    [t] = threads
    check_thread(t)
    for w in warnings:
        assert w.startswith(f"{f}:")
    if any("Windows-1252" in w for w in warnings):
        # Cut inside the first accented letter: ASCII and a lone lead byte, which is
        # read as Windows-1252 (a file ending in "caf\\xe9" is "café" in Windows-1252).
        # Anywhere later, the UTF-8 already read makes the cut unambiguous.
        ascii_head = head.rstrip(bytes(range(0x80, 0x100)))
        assert ascii_head.isascii() and 0 < len(head) - len(ascii_head) < 4
        return
    n = len(t.comments)
    assert t.comments[:max(0, n - 1)] == SEED.comments[:max(0, n - 1)]
    if n:
        assert t.paragraphs == SEED.paragraphs
        last, ref = t.comments[-1], SEED.comments[n - 1]
        # the last comment is whole, or cut: in its text, or in its signature line
        written = "\n".join((*ref.paragraphs, SIGNATURES[n - 1]))
        assert written.startswith("\n".join(last.paragraphs))
        assert last.author is None or ref.author.startswith(last.author)  # type: ignore[union-attr]
        if last.date is not None and not ref.date.startswith(last.date):  # type: ignore[union-attr]
            # a year cut to two digits reads as a two-digit year ("05/02/20": 2020), the
            # price of accepting them; only when the cut is right there
            assert re.search(rb"\d\d/\d\d/\d\d$", head), head[-40:]
        if last.paragraphs != ref.paragraphs:
            assert warnings  # a cut comment text is never silent
    else:
        # no signature yet: every line so far is the post, the last one possibly cut
        k = len(t.paragraphs)
        assert t.paragraphs[:-1] == tuple(SEED_LINES[:k - 1])
        assert SEED_LINES[k - 1].startswith(t.paragraphs[-1])


# -- parse_jsonl ---------------------------------------------------------------------


def jsonl_line(rec: Any) -> str:
    return json.dumps(rec, ensure_ascii=False)


def good(tid: str) -> dict[str, Any]:
    return {"id": tid, "title": f"Fil {tid}", "url": "https://exemple.fr",
            "post": {"author": "Anne", "date": "2009-02-05T14:51",
                     "paragraphs": ["Premier paragraphe.", "Second paragraphe."]},
            "comments": [{"author": "Thierry", "date": "05/02/2009 à 21:38",
                          "paragraphs": ["Bonsoir, très bien."]},
                         {"author": "Billaut", "date": "2009-02-05",
                          "paragraphs": ["@Thierry merci", "Au revoir."]}]}


@FUZZ
@given(st.one_of(
    st.text(max_size=400),
    st.lists(st.one_of(st.text(max_size=40), st.just(jsonl_line(good("g"))),
                       st.just(jsonl_line(good("g"))[:-7]), st.just("[]"), st.just("{}"),
                       st.just("null"), st.just('{"id": "x"}')), max_size=10).map("\n".join),
))
def test_parse_jsonl_never_raises(text: str) -> None:
    n_lines = len(text.split("\n")) + text.count("\r")
    for item in parse_jsonl(text, "f.jsonl"):
        if isinstance(item, ThreadParseError):
            check_error(item, "f.jsonl", line_required=True)
            assert item.line <= n_lines  # type: ignore[operator]
        else:
            check_thread(item)
            assert item.source.startswith("f.jsonl:")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
#: Every place of a record a wrong value can go (a path of keys and indexes).
FIELDS: list[tuple[Any, ...]] = [
    (), ("id",), ("title",), ("url",), ("post",), ("post", "author"), ("post", "date"),
    ("post", "paragraphs"), ("post", "paragraphs", 0), ("comments",), ("comments", 0),
    ("comments", 1, "author"), ("comments", 0, "date"), ("comments", 1, "paragraphs"),
    ("comments", 1, "paragraphs", 0), ("extra",),
]


def substituted(path: tuple[Any, ...], value: Any) -> Any:
    rec: Any = good("milieu")
    if not path:
        return value
    target = rec
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return rec


@FUZZ
@given(st.sampled_from(FIELDS), json_values,
       st.sampled_from(["\n", "\r\n"]))
def test_json_of_the_wrong_type_in_any_field(path: tuple[Any, ...], value: Any,
                                             newline: str) -> None:
    rec = substituted(path, value)
    assume(not (isinstance(value, str) and value.strip() in ("avant", "apres")))
    lines = [jsonl_line(good("avant")), json.dumps(rec), jsonl_line(good("apres"))]
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "fils.jsonl"
        f.write_text(newline.join(lines) + newline, encoding="utf-8")
        read = read_sources([tmp])
    ids = [t.id for t in read.threads]
    assert ids[0] == "avant" and ids[-1] == "apres"
    for t in read.threads:
        check_thread(t)
    if len(ids) == 2:
        assert len(read.rejected) == 1
        assert read.rejected[0].startswith(f"{f}:2: ")
    else:
        assert len(ids) == 3 and read.rejected == []
        assert read.threads[1].source == f"{f}:2"
    for w in read.warnings:  # a bad date is left out, control characters removed
        assert w.startswith(f"{f}:2: ")
        assert "'date'" in w or "control character" in w
        assert path[-1:] == ("date",) or "control character" in w


@FEW
@given(st.sampled_from(FIELDS[1:]), st.sampled_from([
    "\ud800", "a\udfffb", "\x00", "\x1b[2J", "\x7f", "\u2028", "\ufeff", "\U0001f600",
    "\x0c", "a\x08b", "l\u0092a", "e\u0301", "<b>x</b>", "Ã©tÃ©", "\u200b",
    "x" * 5000, " " * 3000, "@" * 100,
]))
def test_strange_strings_in_any_field(path: tuple[Any, ...], value: str) -> None:
    line = json.dumps(substituted(path, value))  # ASCII escapes, lone surrogates included
    [item] = list(parse_jsonl(line, "s.jsonl"))
    if isinstance(item, ThreadParseError):
        check_error(item, "s.jsonl", line_required=True)
    else:
        check_thread(item)


# -- read_file / read_sources --------------------------------------------------------


def good_folder(base: Path) -> set[str]:
    """Good threads in ``base``: the seed and a JSON Lines file; returns their ids."""
    (base / "a-seed.txt").write_bytes(SEED_BYTES)
    (base / "a-fils.jsonl").write_text(
        "".join(jsonl_line(good(f"j{i}")) + "\n" for i in range(3)), encoding="utf-8")
    return {"a-seed", "j0", "j1", "j2"}


@settings(FUZZ, max_examples=60)
@given(byte_soup, st.sampled_from([".txt", ".jsonl", ".TXT", ".md"]))
def test_read_sources_with_a_bad_file_beside_good_ones(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        expected = good_folder(base)
        bad = base / "sub" / f"z-bad{suffix}"
        bad.parent.mkdir()
        bad.write_bytes(data)
        read = read_sources([base])
        direct = read_file(bad)
    ids = {t.id for t in read.threads}
    assert expected <= ids
    for t in read.threads:
        check_thread(t)
    for message in read.rejected + read.warnings:
        assert message.startswith(str(bad))
    threads, errors, warnings = direct
    for err in errors:
        check_error(err, str(bad), line_required=suffix == ".jsonl" and err.line is not None)
    if suffix == ".md":  # not a thread file: named, not read
        assert ids == expected
        assert read.rejected == [f"{bad}: unknown file type (expected .txt, .jsonl or .json, "
                                 "optionally compressed as .gz)"]


@FUZZ
@given(st.integers(min_value=0, max_value=10_000))
def test_jsonl_cut_anywhere_keeps_its_whole_lines(cut: int) -> None:
    records = [good(f"c{i}") for i in range(4)]
    records[1]["post"]["paragraphs"].append("Œuvre d’été : déjà vu à Noël.")
    data = "".join(jsonl_line(r) + "\n" for r in records).encode("utf-8")
    cut = min(cut, len(data))
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "coupe.jsonl"
        f.write_bytes(data[:cut])
        threads, errors, warnings = read_file(f)
    assert warnings == []
    whole_lines = data[:cut].count(b"\n")
    ids = [t.id for t in threads]
    assert ids[:whole_lines] == [f"c{i}" for i in range(whole_lines)]
    assert len(ids) <= whole_lines + 1
    for err in errors:
        check_error(err, str(f), line_required=True)
        assert err.line == whole_lines + 1
    assert len(errors) + len(ids) == whole_lines + (0 if cut in (0, len(data))
                                                    or data[cut - 1:cut] == b"\n" else 1)


@FEW
@given(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16", "utf-32",
                        "mac_roman", "cp850", "iso8859_15"]),
       st.sampled_from([".txt", ".jsonl"]))
def test_wrong_encodings(encoding: str, suffix: str) -> None:
    text = SEED_FILE.read_text(encoding="utf-8")
    if suffix == ".jsonl":
        text = jsonl_line({"id": "enc", "title": "Été", "post": {"paragraphs": [text[:2000]]}})
    data = text.encode(encoding, errors="replace")
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / f"enc{suffix}"
        f.write_bytes(data)
        threads, errors, warnings = read_file(f)
    for err in errors:
        check_error(err, str(f))
    for w in warnings:
        assert w.startswith(str(f))
    if encoding in ("utf-8", "utf-8-sig", "cp1252", "latin-1"):
        assert errors == [] and len(threads) == 1
        check_thread(threads[0])
        original = data.decode(encoding).lstrip("\ufeff")
        if suffix == ".jsonl":
            original = json.loads(original)["post"]["paragraphs"][0]
        got = threads[0].paragraphs[0]
        assert original.startswith(got) and "à être" in got and "même" in got
        assert bool(warnings) == (encoding in ("cp1252", "latin-1"))
    elif encoding in ("utf-16", "utf-32"):  # with a byte order mark: read like UTF-8
        assert errors == [] and warnings == [] and len(threads) == 1
        check_thread(threads[0])
        assert "à être" in threads[0].paragraphs[0]
    else:  # another 8-bit code page: never silently accepted as UTF-8
        assert not (threads and not warnings)


# -- huge lines ----------------------------------------------------------------------

TWO_MB = 2 * 1024 * 1024
HUGE_LINES: dict[str, Callable[[], str]] = {
    "words": lambda: "mot " * (TWO_MB // 4),
    "signature-spaces": lambda: "Rédigé par : x" + " " * TWO_MB + "y",
    "signature-colon-spaces": lambda: "Rédigé par :" + " " * TWO_MB + "x",
    "signature-separators": lambda: "Rédigé par : a" + " | 1" * (TWO_MB // 4),
    "signature-long-author": lambda: "Rédigé par : " + "a " * (TWO_MB // 2)
    + "| 05/02/2009 à 14:51",
    "dashes": lambda: "-" * TWO_MB,
    "marker-spaces": lambda: "---" + " " * TWO_MB + "commentaires" + " " * TWO_MB + "x",
    "header-like": lambda: "Titre" + " " * TWO_MB + "x",
    "mention": lambda: "@" + "Thierry " * (TWO_MB // 8),
    "no-spaces": lambda: "é" * TWO_MB,
}
HUGE_DATES = ["01/01/2009" + " " * TWO_MB + "x", "01/01/2009 à" + " " * TWO_MB + "x",
              "2009-01-01" + "0" * TWO_MB, " " * TWO_MB + "x"]
#: Parses every huge input in a child process, so that a quadratic regex fails the test
#: at the timeout instead of hanging the run (the re module can't be interrupted).
HUGE_CHILD = """
import json, sys, time
from pathlib import Path
from indexer.errors import ThreadParseError
from indexer.ingest.parsing import parse_date, read_file
base = Path(sys.argv[1])
out = {}
for f in sorted(base.glob("*.txt")):
    started = time.perf_counter()
    threads, errors, _ = read_file(f)
    out[f.stem] = {"seconds": time.perf_counter() - started,
                   "errors": [[e.path, e.line, str(e)] for e in errors],
                   "threads": [[len(t.paragraphs), [list(c.reply_to) for c in t.comments]]
                               for t in threads]}
for n, value in enumerate(json.loads((base / "dates.json").read_text())):
    started = time.perf_counter()
    try:
        parse_date(value, "d.jsonl", 3)
        rejected = False
    except ThreadParseError:
        rejected = True
    out[f"date{n}"] = {"seconds": time.perf_counter() - started, "rejected": rejected}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def huge_results(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    base = tmp_path_factory.mktemp("huge")
    for kind, make in HUGE_LINES.items():
        (base / f"{kind}.txt").write_text(
            f"Un billet.\n{make()}\nBonjour\nRédigé par : Thierry | 05/02/2009 à 21:38\n"
            "@Thierry merci\nRédigé par : Ann | 05/02/2009 à 22:00\n", encoding="utf-8")
    (base / "dates.json").write_text(json.dumps(HUGE_DATES), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore"}
    try:
        done = subprocess.run([sys.executable, "-c", HUGE_CHILD, str(base)], env=env,
                              capture_output=True, text=True, timeout=90, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail("parsing 2 MB lines took more than 90 s: a regex is quadratic again")
    assert done.returncode == 0, done.stderr
    return base, json.loads(done.stdout)


@pytest.mark.parametrize("kind", list(HUGE_LINES))
def test_huge_line_in_a_txt_file(huge_results: tuple[Path, dict[str, Any]],
                                 kind: str) -> None:
    base, results = huge_results
    res = results[kind]
    assert res["seconds"] < 30, "a long line must not make parsing quadratic"
    path = str(base / f"{kind}.txt")
    for err_path, _line, message in res["errors"]:
        assert err_path == path and message.startswith(path)
    if not res["errors"]:
        [(n_paragraphs, replies)] = res["threads"]
        assert replies[-1] == [len(replies) - 1]  # "@Thierry merci" -> Thierry's comment
    if kind == "words":
        assert res["errors"] == [] and res["threads"][0][0] == 2


@pytest.mark.parametrize("n", range(len(HUGE_DATES)))
def test_huge_date_is_rejected_quickly(huge_results: tuple[Path, dict[str, Any]],
                                       n: int) -> None:
    res = huge_results[1][f"date{n}"]
    assert res["rejected"] and res["seconds"] < 10


def test_huge_line_in_a_jsonl_file(tmp_path: Path) -> None:
    huge = jsonl_line({"id": "enorme", "title": "t", "post": {"paragraphs": ["x" * TWO_MB]}})
    f = tmp_path / "fils.jsonl"
    f.write_text("\n".join([jsonl_line(good("a")), huge, jsonl_line(good("b")),
                            "{" * TWO_MB]) + "\n", encoding="utf-8")
    read = read_sources([f])
    assert [t.id for t in read.threads] == ["a", "enorme", "b"]
    assert read.threads[1].paragraphs == ("x" * TWO_MB,)
    [message] = read.rejected
    assert message.startswith(f"{f}:4: invalid JSON")


def test_many_comments_and_mentions_stay_linear() -> None:
    n = 15_000
    comments = [{"author": f"a{i}", "paragraphs": [f"@a{i - 1} oui", "@x"]} for i in range(n)]
    line = json.dumps({"id": "long", "title": "t", "comments": comments})
    started = time.perf_counter()
    [t] = list(parse_jsonl(line, "l.jsonl"))
    assert time.perf_counter() - started < 20  # was minutes: all earlier authors per comment
    assert isinstance(t, Thread) and len(t.comments) == n
    assert t.comments[-1].reply_to == (n - 1,) and t.comments[0].reply_to == ()


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    for line in ("[" * 200_000, '{"id": ' + "[" * 100_000 + "]" * 100_000 + "}",
                 '{"id": "x", "post": ' + '{"a":' * 50_000 + "1" + "}" * 50_000 + "}"):
        [item] = list(parse_jsonl(line, "n.jsonl"))
        assert isinstance(item, ThreadParseError) and item.line == 1


def test_copy_of_good_record_is_unchanged() -> None:
    # the substitution helper builds a fresh record every time
    before = copy.deepcopy(good("milieu"))
    substituted(("post", "paragraphs", 0), 1)
    assert good("milieu") == before
