"""Real-world thread files lose nothing: each fault costs at most its record, is named, and
what is kept is found by a real search.

The fixtures in ``tests/data/realworld`` reproduce what exported and scraped French text
holds (control characters, a Latin-1 byte in UTF-8, NFD, invisible format characters,
apostrophe and hyphen look-alikes, zone dates, nulls, HTML in titles, BOMs, UTF-16, .json,
.gz); the big and the hostile cases (10,000 comments, symbolic link loops, unreadable
folders, a corrupt .gz) are made in tmp_path. Every table row says what is kept, what is
reported (file:line, code, counts) and which words a search finds.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import build_index, embedded

from indexer.errors import SourceMissingError
from indexer.ingest.model import Thread
from indexer.ingest.parsing import (
    ReadReport,
    iter_threads,
    plan_sources,
    read_sources,
)
from indexer.service import Service

REALWORLD = Path(__file__).resolve().parent / "data" / "realworld"


@pytest.fixture(scope="module")
def read() -> Any:
    """The realworld folder, read as a rebuild reads it."""
    return read_sources([REALWORLD])


@pytest.fixture(scope="module")
def backend(read: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A real index of every thread kept from the realworld folder."""
    index_dir = tmp_path_factory.mktemp("realworld-index")
    build_index(read.threads, index_dir)
    engine = embedded(index_dir)
    yield engine
    engine.close()


def found(engine: Service, query: str) -> set[str]:
    """Thread ids of every hit of a query."""
    res = engine.search(query, per_page=100)
    assert res.total <= 100
    return {h.thread_id for h in res.hits}


# -- what each file gives: threads kept, records rejected, warnings, counts ------------

#: file -> (thread ids kept, rejected (line, code), warnings (line, code), counts).
FILES: dict[str, tuple[list[str], list[tuple[int | None, str]], list[tuple[int | None, str]],
                       dict[str, int]]] = {
    # DEL, C1 (U+0092 ’, U+0093/4 “ ”), ESC colour codes, BEL, undefined C1, trailing ^Z
    "controles.jsonl": (["ctl-del", "ctl-c1", "ctl-esc", "ctl-c1-undef"], [],
                        [(1, "control-chars")], {"control_chars": 15}),
    # a Latin-1 "é" and "ô" and an undefined Windows-1252 byte in one line of a UTF-8 file
    "latin1-ligne.jsonl": (["latin-a", "latin-b", "latin-c"], [],
                           [(2, "cp1252"), (2, "control-chars")],
                           {"cp1252_lines": 1, "control_chars": 1}),
    "nfd-macos.txt": (["nfd-macos"], [], [], {}),
    "invisibles.jsonl": (["fmt-shy", "fmt-zw", "fmt-bidi", "fmt-wj"], [], [], {}),
    "apostrophes.jsonl": (["apo-02bc", "apo-2018", "apo-grave", "apo-acute", "apo-full"], [],
                          [], {}),
    "traits-union.jsonl": (["hyph-2010", "hyph-2011"], [], [], {}),
    # Z, +01:00, fractions, null title/url/post/author/date; comment 2's 31 February
    "dates-iso.jsonl": (["date-z", "date-null"], [], [(1, "bad-date")], {}),
    "html-titres.jsonl": (["html-titre", "html-entites"], [], [], {"html_tags": 7}),
    "bom-par-ligne.jsonl": (["bom-0", "bom-1", "bom-2"], [], [], {}),
    "windows-utf16.jsonl": (["utf16-a", "utf16-b"], [], [], {}),
    # an array of three: the third has a numeric id
    "tableau.json": (["json-a", "json-b"], [(29, "invalid-record")], [], {}),
    "seul.json": (["json-seul"], [], [], {}),
    "archive.jsonl.gz": (["gz-a", "gz-b"], [], [], {}),
    "blog-archive.txt.gz": (["blog-archive"], [], [], {}),
    "tableau-archive.json.gz": (["gz-json"], [], [], {}),
    # em dash and seconds, en dash and a two-digit year, 31 February, a signature without
    # a colon, then a last line without signature
    "signatures.txt": (["signatures"], [],
                       [(11, "bad-date"), (12, "signature-like"), (12, "unsigned")], {}),
    # repaired by ftfy (text and title), one that can't be, a clean neighbour
    "mojibake.jsonl": (["moji-ok", "moji-voisin"], [(2, "mojibake")], [(1, "repaired")],
                       {"repaired": 2}),
}


@pytest.mark.parametrize("name", sorted(FILES))
def test_each_file_keeps_its_threads_and_names_its_faults(read: Any, name: str) -> None:
    ids, rejected, warned, counts = FILES[name]
    path = str(REALWORLD / name)
    report: ReadReport = read.report
    assert [t.id for t in read.threads if t.source.split(":")[0] == path] == ids
    assert [(f.line, f.code) for f in report.rejected if f.path == path] == rejected
    assert [(f.line, f.code) for f in report.warnings if f.path == path] == warned
    [file] = [f for f in report.files if f.path == path]
    assert (file.threads, file.rejected) == (len(ids), len(rejected))
    for key in ("control_chars", "cp1252_lines", "repaired", "html_tags"):
        assert getattr(file, key) == counts.get(key, 0), key


def test_every_entry_of_the_folder_is_read_or_named(read: Any) -> None:
    report: ReadReport = read.report
    names = {Path(f.path).name for f in report.files}
    assert names == set(FILES)
    assert [(Path(s.path).name, s.code) for s in report.skipped] == [
        (".brouillons", "hidden"), ("notes.md", "unknown-type")]
    assert report.problems == len(report.rejected) + 1  # notes.md; the hidden folder is not
    assert report.skipped_counts() == {"hidden": 1, "unknown-type": 1}
    assert read.rejected[0] == (f"{REALWORLD / 'notes.md'}: unknown file type (expected .txt, "
                                ".jsonl or .json, optionally compressed as .gz)")
    assert report.threads == len(read.threads) == sum(len(v[0]) for v in FILES.values())


def by_id(read: Any, tid: str) -> Thread:
    [t] = [t for t in read.threads if t.id == tid]
    return t


#: thread id -> what it keeps (post paragraphs, title).
KEPT_TEXT: list[tuple[str, tuple[str, ...], str]] = [
    ("ctl-del", ("Le très haut débit arrive au village.",), "Débit"),
    ("ctl-c1", ("Le projet de l’entreprise est “ambitieux”.",), "Projet"),
    ("ctl-esc", ("Réunion publique jeudi à la mairie.",), "Réunion"),
    ("ctl-c1-undef", ("Un caractère indéfini dans la fibre optique.",), "Fibre"),
    ("latin-b", ("Le café de la gare  ferme tôt.",), "Latin"),
    ("nfd-macos", ("Le très haut débit arrive enfin à l'école.",), "Très haut débit à Lippi"),
    # format characters stay in the text as written
    ("fmt-shy", ("Une entre\u00adprise familiale du Poitou.",), "Entre\u00adprise"),
    ("html-titre", ("Le film de James Cameron sort en 1991.",),
     "Terminator 2 : Le Jugement dernier"),
    ("html-entites", ("Un concert gratuit au parc, si a < b et <3 pour tous.",),
     "Concert & fête été 2009"),
    ("bom-0", ("Ligne 0 du fichier concaténé, sur la déchetterie.",), "BOM 0"),
    ("utf16-a", ("Exporté depuis Windows : la médiathèque ouvre.",), "Médiathèque"),
    ("moji-ok", ("Il a été déçu par la réunion du conseil.",), "Déception"),
    ("date-null", (), "date-null"),
]


@pytest.mark.parametrize("tid, paragraphs, title", KEPT_TEXT)
def test_kept_text_is_clean_plain_nfc(read: Any, tid: str, paragraphs: tuple[str, ...],
                                      title: str) -> None:
    t = by_id(read, tid)
    assert (t.paragraphs, t.title) == (paragraphs, title)


def test_nfd_signature_is_read(read: Any) -> None:
    t = by_id(read, "nfd-macos")
    assert [(c.author, c.date) for c in t.comments] == [("Hélène", "2009-02-05T14:51")]


def test_zone_dates_keep_the_wall_time_and_a_bad_one_only_loses_its_date(read: Any) -> None:
    t = by_id(read, "date-z")
    assert (t.title, t.author, t.date, t.url) == ("Annonce du marché de Noël.", "Anne",
                                                   "2009-02-05T10:00", None)
    assert [(c.author, c.date) for c in t.comments] == [
        (None, "2009-02-05T16:51"), ("Paul", None), ("Zoé", "2009-02-06T09:15")]
    [warning] = [w for w in read.warnings if "dates-iso" in w]
    assert warning == (f"{REALWORLD / 'dates-iso.jsonl'}:1: comment 2: 'date': invalid date: "
                       "day is out of range for month; kept without a date")
    null = by_id(read, "date-null")
    assert [(c.author, c.date, c.paragraphs) for c in null.comments] == [
        (None, None, ("Seulement un commentaire sur la brocante.",))]


def test_signature_variants_and_trailing_lines(read: Any) -> None:
    t = by_id(read, "signatures")
    assert t.date == "2009-02-05T10:00"
    assert [(c.author, c.date, c.paragraphs) for c in t.comments] == [
        ("Jean", "2009-02-05T10:11", ("Bonjour,", "Enfin !")),
        ("Marie", "2009-02-06T08:05", ("Et le parking ?",)),
        ("Paul", None, ("Les horaires changent.",)),
        (None, None, ("Rédigé par Luc le 07/02/2009", "Merci pour l'info sur la poissonnerie."))]


def test_unrepairable_mojibake_is_rejected_by_line(read: Any) -> None:
    [message] = [r for r in read.rejected if "mojibake.jsonl" in r]
    assert message.startswith(f"{REALWORLD / 'mojibake.jsonl'}:2: text looks double-encoded")


# -- and the words are found by a real search ----------------------------------------

SEARCHES: list[tuple[str, set[str]]] = [
    ("tres haut debit", {"ctl-del", "nfd-macos"}),
    ("entreprise", {"ctl-c1", "apo-02bc", "fmt-shy"}),
    ("entre\u00adprise", {"ctl-c1", "apo-02bc", "fmt-shy"}),  # the query's soft hyphen too
    ("l\u02bcentreprise", {"ctl-c1", "apo-02bc", "fmt-shy"}),
    ("reunion publique", {"ctl-esc"}),
    ("fibre optique", {"ctl-c1-undef"}),
    ("cafe gare", {"latin-b"}),
    ("tot", {"latin-b"}),
    ("chateau", {"latin-c"}),
    ("eleves", {"nfd-macos"}),
    ("boulangerie patisserie coin", {"fmt-zw"}),
    ("seminaire musee", {"fmt-bidi"}),
    ("veloroute riviere", {"fmt-wj"}),
    ("avion", {"apo-2018"}),
    ("hotel", {"apo-grave"}),
    ("usine", {"apo-acute"}),
    ("humanite", {"apo-full"}),
    ("aujourd'hui", {"apo-full"}),
    ("autoentrepreneur", {"hyph-2010"}),
    ("auto-entrepreneur", {"hyph-2010"}),
    ('"auto entrepreneur"', {"hyph-2010"}),
    ("poitoucharentes", {"hyph-2011"}),
    ("Poitou\u2011Charentes", {"hyph-2011"}),
    ("marche noel", {"date-z"}),
    ("brocante", {"date-null"}),
    ("concert gratuit parc", {"html-entites"}),
    ("dechetterie", {"bom-0", "bom-1", "bom-2"}),
    ("mediatheque", {"utf16-a"}),
    ("piscine", {"utf16-b"}),
    ("kermesse", {"json-a"}),
    ("carnaval", {"json-b"}),
    ("festival", {"json-seul"}),
    ("ludotheque", {"gz-a"}),
    ("patinoire", {"gz-b"}),
    ("violonistes", {"blog-archive"}),
    ("observatoire", {"gz-json"}),
    ("parking", {"signatures"}),
    ("poissonnerie", {"signatures"}),
    ("decu conseil", {"moji-ok"}),
    ("genial", {"moji-voisin"}),
    ("brouillon", set()),  # the hidden folder is not read
    ("irreparable", set()),  # the rejected record is not indexed
    ("thread:fmt-\u200bshy entreprise", {"fmt-shy"}),  # the filter value is normalised too
]


@pytest.mark.parametrize("query, expected", SEARCHES)
def test_words_are_found_by_a_real_search(backend: Service, query: str,
                                          expected: set[str]) -> None:
    assert found(backend, query) == expected


def test_snippet_marks_the_whole_word_as_written(backend: Service) -> None:
    res = backend.search("entreprise", per_page=100)
    [hit] = [h for h in res.hits if h.thread_id == "fmt-shy"]
    assert "<mark>entre\u00adprise</mark>" in hit.snippet
    res = backend.search("seminaire", per_page=100)
    assert "<mark>séminaire</mark>" in res.hits[0].snippet


def test_html_title_is_stored_as_plain_text(backend: Service) -> None:
    t = backend.get_thread("html-titre")
    assert t is not None and t.title == "Terminator 2 : Le Jugement dernier"


# -- made at test time: the big and the hostile cases ----------------------------------


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


def test_thread_of_10000_comments_is_read_and_found(tmp_path: Path) -> None:
    comments = [{"author": f"lecteur{i % 300}", "date": "2009-02-05T10:00:00Z",
                 "paragraphs": [f"Commentaire numéro {i} : je suis d'accord avec l'article "
                                "sur la fibre optique dans les campagnes françaises."]}
                for i in range(10_000)]
    comments[-1]["paragraphs"] = ["Le dernier parle de zygomatiques."]
    line = json.dumps({"id": "enorme", "title": "Un fil énorme", "comments": comments},
                      ensure_ascii=False)
    assert len(line) > 1_000_000  # what the old line limit rejected
    src = write(tmp_path / "src" / "gros.jsonl", line + "\n")
    read = read_sources([src])
    assert read.rejected == [] and read.warnings == []
    [t] = read.threads
    assert len(t.comments) == 10_000
    build_index(read.threads, tmp_path / "ix")
    engine = embedded(tmp_path / "ix")
    try:
        res = engine.search("zygomatiques")
        assert [(h.thread_id, h.kind, h.position) for h in res.hits] == [
            ("enorme", "comment", 10_000)]
        assert engine.search("fibre campagnes").total == 9_999
    finally:
        engine.close()


def test_symbolic_links_are_followed_and_loops_named(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(src / "a.txt", "Un fil sur la glissade.\n")
    elsewhere = write(tmp_path / "ailleurs" / "b.jsonl",
                      '{"id": "lien", "post": {"paragraphs": ["Atteint par un lien."]}}\n')
    (src / "lien").symlink_to(elsewhere.parent, target_is_directory=True)
    (src / "sous").mkdir()
    (src / "sous" / "boucle").symlink_to(src, target_is_directory=True)
    (src / "casse.txt").symlink_to(tmp_path / "nulle-part.txt")
    (src / "encore").symlink_to(elsewhere.parent, target_is_directory=True)
    read = read_sources([src])
    assert sorted(t.id for t in read.threads) == ["a", "lien"]
    assert [(Path(s.path).relative_to(src).as_posix(), s.code) for s in read.report.skipped] == [
        ("casse.txt", "broken-link"), ("lien", "seen"), ("sous/boucle", "symlink-loop")]
    assert read.report.problems == 2
    assert f"{src / 'sous' / 'boucle'}: symbolic link loop" in "\n".join(read.rejected)


def _read_as_nobody(folder: Path) -> dict[str, Any]:
    """Read ``folder`` in a forked child that dropped root (chmod doesn't stop root)."""
    rfd, wfd = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 0
        try:
            os.setgid(65534)
            os.setuid(65534)
            res = read_sources([folder])
            out = {"ids": [t.id for t in res.threads], "rejected": res.rejected,
                   "skipped": [(s.path, s.code) for s in res.report.skipped]}
            os.write(wfd, json.dumps(out).encode())
        except BaseException as exc:  # report anything, never run the parent's code
            os.write(wfd, json.dumps({"error": repr(exc)}).encode())
            code = 1
        finally:
            os._exit(code)
    os.close(wfd)
    with os.fdopen(rfd, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    return json.loads(data)


def test_unreadable_folder_and_file_are_named() -> None:
    base = Path(tempfile.mkdtemp(prefix="fil-unreadable-"))  # under /tmp: nobody can enter
    try:
        base.chmod(0o755)
        write(base / "ok.txt", "Un fil lisible sur la bibliothèque.\n").chmod(0o644)
        write(base / "prive" / "secret.txt", "Caché.\n")
        write(base / "secret.txt", "Illisible.\n").chmod(0)
        (base / "prive").chmod(0)
        if os.geteuid() == 0:
            if not hasattr(os, "fork"):
                pytest.skip("no fork() here to drop root privileges")
            got = _read_as_nobody(base)
            assert "error" not in got, got
        else:
            res = read_sources([base])
            got = {"ids": [t.id for t in res.threads], "rejected": res.rejected,
                   "skipped": [(s.path, s.code) for s in res.report.skipped]}
        assert got["ids"] == ["ok"]
        assert [tuple(s) for s in got["skipped"]] == [(str(base / "prive"), "unreadable")]
        assert got["rejected"] == [
            f"{base / 'prive'}: cannot read folder: Permission denied",
            f"{base / 'secret.txt'}: cannot read: Permission denied"]
    finally:
        (base / "prive").chmod(0o755)
        shutil.rmtree(base)


def test_corrupt_gzip_keeps_what_came_before(tmp_path: Path) -> None:
    lines = "".join(json.dumps({"id": f"g{i}", "post": {"paragraphs": [f"Fil {i} " + "x" * 50]}})
                    + "\n" for i in range(2000))
    data = gzip.compress(lines.encode(), mtime=0)
    f = write(tmp_path / "coupe.jsonl.gz", data[:len(data) // 2])
    read = read_sources([f])
    assert 0 < len(read.threads) < 2000
    assert [t.id for t in read.threads] == [f"g{i}" for i in range(len(read.threads))]
    [message] = read.rejected
    assert message.startswith(f"{f}:") and "compressed data is corrupt or cut short" in message


@pytest.mark.parametrize("text, line, reason", [
    ('[{"id": "a", "post": {"paragraphs": ["A"]}},\n {"id": "b", \n "post": }]\n', 3,
     "invalid JSON: Expecting value"),
    ('[{"id": "a", "post": {"paragraphs": ["A"]}}\n {"id": "b"}]\n', 2, "expected ','"),
    ('[{"id": "a", "post": {"paragraphs": ["A"]}},\n', 2, "ends inside the array"),
    ('{"id": "a", "post": {"paragraphs": ["A"]}}\n{"id": "b"}\n', 2, "extra data"),
])
def test_broken_json_document_keeps_what_came_before(tmp_path: Path, text: str, line: int,
                                                     reason: str) -> None:
    f = write(tmp_path / "doc.json", text)
    read = read_sources([f])
    assert [t.id for t in read.threads] == ["a"]
    [message] = read.rejected
    assert message.startswith(f"{f}:{line}: ") and reason in message


def test_streaming_reader_reports_as_it_goes(tmp_path: Path) -> None:
    a = write(tmp_path / "a.jsonl", "".join(
        json.dumps({"id": f"t{i}", "post": {"paragraphs": [f"Texte {i}."]}}) + "\n"
        for i in range(3)))
    b = write(tmp_path / "b.txt.gz", gzip.compress("Un fil compressé.\n".encode(), mtime=0))
    c = write(tmp_path / "c.json", json.dumps([{"id": "t1", "post": {"paragraphs": ["Bis"]}}]))
    plan = plan_sources([tmp_path])
    assert [(f.path.name, f.format, f.compressed) for f in plan.files] == [
        ("a.jsonl", "jsonl", False), ("b.txt.gz", "txt", True), ("c.json", "json", False)]
    assert plan.total_bytes == sum(p.stat().st_size for p in (a, b, c))
    report = ReadReport()
    progress: list[int] = []
    stream = iter_threads(plan, report, on_bytes=progress.append)
    first = next(stream)
    assert first.id == "t0" and report.threads == 1  # the report fills as threads come
    rest = list(stream)
    assert [t.id for t in rest] == ["t1", "t2", "b"]
    assert sum(progress) == plan.total_bytes
    [dup] = report.rejected
    assert (dup.path, dup.line, dup.code) == (str(c), 1, "duplicate-id")
    assert f"already read from {a}:2" in dup.reason
    assert (report.threads, report.passages) == (4, 4)


def test_a_rebuild_consumes_the_stream(tmp_path: Path) -> None:
    """build_index takes iter_threads directly: no list of every thread is made."""
    report = ReadReport()
    built = build_index(iter_threads(plan_sources([REALWORLD]), report), tmp_path / "ix")
    assert (built.threads, built.passages) == (report.threads, report.passages)
    assert report.threads == sum(len(v[0]) for v in FILES.values())


def test_missing_source_stops_before_reading(tmp_path: Path) -> None:
    write(tmp_path / "ok.txt", "Un fil.\n")
    with pytest.raises(SourceMissingError, match="source not found"):
        plan_sources([tmp_path, tmp_path / "absent"])
