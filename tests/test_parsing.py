"""Thread files into Thread values: the seed thread, the .txt and .jsonl rules, bad inputs.

Every test reads real files (the seed, the fixtures in ``tests/data/threads``, or files
written to a tmp dir), through the same functions the rebuild uses.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from helpers import embedded  # noqa: E402

from indexer.errors import SourceMissingError, ThreadParseError
from indexer.ingest.model import Thread
from indexer.ingest.parsing import (
    SIGNATURE_RE,
    decode_lines,
    default_title,
    parse_date,
    parse_jsonl,
    parse_txt,
    read_file,
    read_sources,
)

ROOT = Path(__file__).resolve().parent.parent
SEED_FILE = ROOT / "index_data" / "threads" / "lippi-billautshow-2009-02.txt"
SHARED = ROOT.parent / "shared"
SEED_ID = "lippi-billautshow-2009-02"
FIXTURES = Path(__file__).resolve().parent / "data" / "threads"

#: Every comment of the seed thread, read by hand from the file:
#: (position, author, ISO date, number of paragraphs, first paragraph starts with).
SEED_COMMENTS = [
    (1, "Christophe Humbert", "2009-02-05T14:51", 2, "Bonjour,"),
    (2, "Xavier", "2009-02-05T16:51", 3, "Ils sont vraiment forts dans le poitou"),
    (3, "Thierry", "2009-02-05T21:38", 9, "Bonsoir M. Billaut."),
    (4, "Billaut", "2009-02-05T22:48", 6, "@Thierry.."),
    (5, "Thierry", "2009-02-05T23:36", 1, "Vous revenez quand vous voulez"),
    (6, "Robin", "2009-02-06T09:49", 2, "Bonne initiative"),
    (7, "senceber", "2009-02-06T10:35", 3, "@Jean Michel : Tu reviens quand tu veux"),
    (8, "ojal", "2009-02-06T10:58", 3, "Oula..."),
    (9, "philrig", "2009-02-06T20:08", 2, "L'élite en France elle ne pense pas"),
    (10, "Nathalie", "2009-02-07T01:43", 1, "M. Billaut je ne saurais assez vous remercier"),
    (11, "Billaut", "2009-02-07T07:55", 2, "@philrig..."),
    (12, "Billaut", "2009-02-07T07:57", 3, "@Nathalie..."),
    (13, "philrig", "2009-02-08T19:00", 2, "Salut Jean Michel...!"),
    (14, "Billaut", "2009-02-08T19:42", 2, "@philrig..."),
]
#: comment -> earlier comments it answers. 7: "@Thierry" is the latest Thierry (5), "@Xavier"
#: is 2, and "@Jean Michel" (the blog's author, who never signs a comment) matches no one.
SEED_REPLIES = {4: (3,), 7: (5, 2), 11: (9,), 12: (10,), 14: (13,)}


@pytest.fixture(scope="module")
def seed() -> Thread:
    """The seed thread as the rebuild reads it."""
    read = read_sources([SEED_FILE])
    assert read.rejected == [] and read.warnings == []
    assert len(read.threads) == 1
    return read.threads[0]


def write(path: Path, content: str | bytes) -> Path:
    """Write a UTF-8 text (or raw bytes) file, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def record(tid: str = "t1", **extra: Any) -> dict[str, Any]:
    """A good JSONL thread record (extra keys override or add members)."""
    rec: dict[str, Any] = {"id": tid, "title": f"Fil {tid}",
                           "post": {"paragraphs": [f"Le texte du fil {tid}."]}}
    rec.update(extra)
    return rec


def jsonl(*lines: dict[str, Any] | str) -> str:
    """JSON Lines text: dicts are serialised, strings are written as they are."""
    return "".join((ln if isinstance(ln, str) else json.dumps(ln, ensure_ascii=False)) + "\n"
                   for ln in lines)


# -- the seed thread -----------------------------------------------------------------


def test_seed_has_15_post_paragraphs_and_14_comments(seed: Thread) -> None:
    assert seed.id == SEED_ID
    assert len(seed.paragraphs) == 15
    assert len(seed.comments) == 14
    assert len(seed.passages()) == 29
    assert seed.source == str(SEED_FILE)


def test_seed_title_is_first_sentence(seed: Thread) -> None:
    assert seed.title == "Connaissez-vous les gens de Lippi ?"
    assert seed.url is None and seed.author is None and seed.date is None


@pytest.mark.parametrize("position, author, date, n_paras, starts", SEED_COMMENTS)
def test_seed_comment_table(seed: Thread, position: int, author: str, date: str,
                            n_paras: int, starts: str) -> None:
    c = seed.comments[position - 1]
    assert (c.position, c.author, c.date) == (position, author, date)
    assert len(c.paragraphs) == n_paras
    assert c.paragraphs[0].startswith(starts)


def test_seed_comment_signatures_in_order(seed: Thread) -> None:
    got = [(c.position, c.author, c.date) for c in seed.comments]
    assert got == [row[:3] for row in SEED_COMMENTS]
    assert [c.date for c in seed.comments] == sorted(c.date for c in seed.comments)


def test_seed_first_comment_boundary(seed: Thread) -> None:
    assert seed.paragraphs[0].startswith("Connaissez-vous les gens de Lippi ?")
    assert seed.paragraphs[-1].startswith("Quand Monsieur Sarkozy, allez vous comprendre")
    assert seed.paragraphs[-1].endswith("Qu'en pense l'élite française ?")
    first = seed.comments[0]
    assert len(first.paragraphs) == 2 and first.paragraphs[0] == "Bonjour,"
    assert first.paragraphs[1].startswith("Toujours plein de bon sens.")
    assert not any(p.startswith("Bonjour,") for p in seed.paragraphs)


def test_seed_signature_lines_never_in_paragraphs(seed: Thread) -> None:
    texts = list(seed.paragraphs) + [p for c in seed.comments for p in c.paragraphs]
    assert len(texts) == 15 + sum(row[3] for row in SEED_COMMENTS)
    for text in texts:
        assert "Rédigé par" not in text
        assert not SIGNATURE_RE.match(text)
    # the file has exactly one signature per comment, and every other line is a paragraph
    lines = SEED_FILE.read_text(encoding="utf-8").splitlines()
    assert sum(1 for ln in lines if SIGNATURE_RE.match(ln)) == 14
    assert len(lines) == len(texts) + 14


def test_seed_reply_links(seed: Thread) -> None:
    got = {c.position: c.reply_to for c in seed.comments if c.reply_to}
    assert got == SEED_REPLIES


def test_seed_passages_name_their_place(seed: Thread) -> None:
    passages = seed.passages()
    assert [p.anchor for p in passages[:15]] == [f"p{n}" for n in range(1, 16)]
    assert [p.anchor for p in passages[15:]] == [f"c{n}" for n in range(1, 15)]
    c3 = passages[15 + 2]
    assert c3.author == "Thierry" and c3.date == "2009-02-05T21:38"
    assert c3.text.count("\n") == 8  # nine paragraphs joined by newlines


def need_shared(path: Path) -> None:
    """Skip when ../shared is not checked out, except under CI, where it must be."""
    if not path.exists():
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail(f"{path} is missing (CI is set)")
        pytest.skip("../shared is not available")


def test_seed_copy_in_shared_is_identical() -> None:
    shared = SHARED / "seed" / SEED_FILE.name
    need_shared(shared)
    assert shared.read_bytes() == SEED_FILE.read_bytes()


# -- the first-comment boundary and other .txt rules (fixture files) --------------------


def fixture(name: str) -> Thread:
    """Read one fixture thread file, asserting it is accepted without warnings."""
    threads, errors, warnings = read_file(FIXTURES / name)
    assert errors == [] and warnings == []
    assert len(threads) == 1
    return threads[0]


@pytest.mark.parametrize("name, post_last, first_comment", [
    # a greeting opens the first comment
    ("premier-bonsoir.txt", "Les travaux commenceront au printemps",
     ("Bonsoir,", "Excellente nouvelle pour le quartier.",
      "Les enfants en profiteront les premiers.")),
    # an @reply opens it
    ("premier-arobase.txt", "Les élus locaux protestent",
     ("@Jean-Pierre : merci pour ce billet très clair.",
      "Je prends ce train tous les dimanches pour rendre visite à ma mère.",
      "Sans lui, je devrai prendre la voiture.")),
    # an address ("Cher Jean-Michel,") opens it
    ("premier-cher.txt", "Les premiers raccordements",
     ("Cher Jean-Michel,", "je me réjouis pour vous.", "Chez nous, on attend toujours l'ADSL.")),
    # "M. Dupont" opens it
    ("premier-monsieur.txt", "Une vingtaine de producteurs",
     ("M. Dupont, pouvez-vous nous dire si le parking sera gratuit ?",
      "Ce serait un bon moyen d'attirer du monde.")),
    # no opener at all: the first comment is the last line before the signature
    ("sans-formule.txt", "Les étudiants réclamaient ce changement",
     ("Très bonne décision, surtout en période d'examens.",)),
    # the post's own "Bonjour à tous" stays in the post
    ("bonjour-a-tous.txt", "Nous avons surtout parlé du futur marché",
     ("Quelle bonne idée, ce marché !",)),
    # an explicit marker: everything after it, opener or not
    ("marqueur.txt", "Nous parlerons du dernier roman",
     ("Je serai là.", "J'apporterai des gâteaux.", "Et peut-être une amie.")),
])
def test_first_comment_boundary(name: str, post_last: str,
                                first_comment: tuple[str, ...]) -> None:
    t = fixture(name)
    assert t.paragraphs[-1].startswith(post_last)
    assert t.comments[0].paragraphs == first_comment
    assert t.comments[0].position == 1


def test_post_starting_with_bonjour_keeps_its_first_line() -> None:
    t = fixture("bonjour-a-tous.txt")
    assert t.paragraphs[0].startswith("Bonjour à tous, voici le compte rendu")
    assert len(t.paragraphs) == 2
    assert t.title == "Bonjour à tous, voici le compte rendu de la réunion de quartier de mardi."


def test_two_line_thread_keeps_the_first_line_in_the_post(tmp_path: Path) -> None:
    f = write(tmp_path / "court.txt",
              "Bonjour à tous !\nBonjour, merci.\nRédigé par : Eva | 01/01/2020 à 10:00\n")
    t = read_file(f)[0][0]
    assert t.paragraphs == ("Bonjour à tous !",)
    assert t.comments[0].paragraphs == ("Bonjour, merci.",)


def test_later_comments_are_whole_blocks_between_signatures() -> None:
    t = fixture("premier-cher.txt")
    assert [(c.author, c.paragraphs) for c in t.comments[1:]] == [
        ("Claire", ("M. Dupont, votre commune a-t-elle participé au financement ?",))]
    m = fixture("marqueur.txt")
    assert m.comments[1].paragraphs == ("Bonjour, je viendrai aussi.",)
    assert m.comments[1].author == "Marc" and m.comments[1].date == "2016-10-10T12:00"


def test_marker_with_no_comment_after_it() -> None:
    t = parse_txt("Un billet.\nDeux lignes.\n--- Comments ---\n", "x.txt", "x")
    assert t.paragraphs == ("Un billet.", "Deux lignes.") and t.comments == ()


def test_header_lines() -> None:
    t = fixture("entete.txt")
    assert t.title == "Les abeilles du jardin partagé"
    assert t.url == "https://exemple.fr/blog/abeilles"
    assert t.author == "Jeanne Martin"
    assert t.date == "2017-04-22"
    assert t.paragraphs == ("Nos deux ruches ont passé l'hiver sans encombre.",
                            "La première récolte de miel est attendue en juin.")
    assert [(c.author, c.date) for c in t.comments] == [("Hugo", "2017-04-23T08:30")]
    assert not any(p.startswith(("Titre", "URL", "Auteur", "Date", "---")) for p in t.paragraphs)


def test_english_header_and_dmy_date() -> None:
    text = "title: Hello\nauthor: Ann\ndate: 05/02/2009 à 14:51\n\n---\nUne ligne.\n"
    t = parse_txt(text, "h.txt", "h")
    assert (t.title, t.author, t.date, t.paragraphs) == (
        "Hello", "Ann", "2009-02-05T14:51", ("Une ligne.",))


def test_header_without_closing_line_is_text() -> None:
    t = parse_txt("Titre: pas un en-tête\nLa suite du billet.\n", "h.txt", "h")
    assert t.paragraphs == ("Titre: pas un en-tête", "La suite du billet.")
    assert t.title == "Titre: pas un en-tête"


def test_header_with_bad_date_keeps_the_post_and_names_the_line() -> None:
    warnings: list[tuple[int | None, str, str]] = []
    t = parse_txt("Titre: T\nDate: 31/02/2009\n---\nTexte.\n", "h.txt", "h",
                  lambda *w: warnings.append(w))
    assert (t.title, t.date, t.paragraphs) == ("T", None, ("Texte.",))
    [(line, code, reason)] = warnings
    assert (line, code) == (2, "bad-date")
    assert "invalid date" in reason and "kept without a date" in reason


def test_fixture_folder_reads_cleanly() -> None:
    read = read_sources([FIXTURES])
    assert read.rejected == [] and read.warnings == []
    ids = [t.id for t in read.threads]
    assert len(ids) == len(set(ids)) == 10
    assert {"forum-velo", "forum-minimal", "entete", "marqueur"} <= set(ids)


#: text, the warning (line, code, words of its reason), then what is kept:
#: post paragraphs and (author, date, paragraphs) of each comment.
TXT_FAULTS: list[tuple[str, tuple[int, str, str], tuple[str, ...], list[tuple[Any, ...]]]] = [
    # lines after the last signature: a last comment without author or date
    ("Un billet.\nUn commentaire.\nRédigé par : A | 01/01/2020\nReste.\n",
     (4, "unsigned", "1 line(s) after the last signature"), ("Un billet.",),
     [("A", "2020-01-01", ("Un commentaire.",)), (None, None, ("Reste.",))]),
    # a signature at the top, then text: the signature line is ignored
    ("Rédigé par : A | 01/01/2020 à 10:00\nTexte.\n",
     (1, "signature-alone", "signature without a comment"), ("Texte.",), []),
    ("Billet.\nCom.\nRédigé par : A | 01/01/2020\nRédigé par : B | 01/01/2020\n",
     (4, "signature-alone", "signature without a comment"), ("Billet.",),
     [("A", "2020-01-01", ("Com.",))]),
    # impossible dates: the comment is kept without a date
    ("Billet.\nCom.\nRédigé par : A | 31/02/2020 à 10:00\n",
     (3, "bad-date", "invalid date"), ("Billet.",), [("A", None, ("Com.",))]),
    ("Billet.\nCom.\nRédigé par : A | 01/01/2020 à 25:00\n",
     (3, "bad-date", "invalid date"), ("Billet.",), [("A", None, ("Com.",))]),
    # a date that doesn't read at all: still a signature
    ("Billet.\nCom.\nRédigé par : A | hier soir\n",
     (3, "bad-date", "unreadable date 'hier soir'"), ("Billet.",), [("A", None, ("Com.",))]),
    ("Billet.\nCom.\nRédigé par : Anne-Marie\n",
     (3, "bad-date", "signature without a date"), ("Billet.",),
     [("Anne-Marie", None, ("Com.",))]),
    # looks like a signature (no colon): kept as text, named
    ("Billet.\nRédigé par A le 01/01/2020\n",
     (2, "signature-like", "looks like a signature"), ("Billet.", "Rédigé par A le 01/01/2020"),
     []),
    # a repeated or late comments marker is ignored
    ("Billet.\n--- commentaires ---\nx\n--- commentaires ---\n",
     (4, "marker", "twice"), ("Billet.",), [(None, None, ("x",))]),
    ("Billet.\nCom.\nRédigé par : A | 01/01/2020\n--- commentaires ---\n",
     (4, "marker", "after the first signature"), ("Billet.",),
     [("A", "2020-01-01", ("Com.",))]),
]


@pytest.mark.parametrize("text, warning, post, comments", TXT_FAULTS)
def test_txt_faults_keep_the_thread_and_are_named(
        text: str, warning: tuple[int, str, str], post: tuple[str, ...],
        comments: list[tuple[Any, ...]]) -> None:
    got: list[tuple[int | None, str, str]] = []
    t = parse_txt(text, "dossier/fil.txt", "fil", lambda *w: got.append(w))
    [(line, code, reason)] = [w for w in got if w[1] == warning[1]]
    assert (line, code) == warning[:2]
    assert warning[2] in reason
    assert t.paragraphs == post
    assert [(c.author, c.date, c.paragraphs) for c in t.comments] == comments


def test_txt_faults_are_reported_by_read_sources(tmp_path: Path) -> None:
    f = write(tmp_path / "fil.txt", "Billet.\nCom.\nRédigé par : A | 31/02/2020 à 10:00\nFin.\n")
    read = read_sources([f])
    assert read.rejected == []
    assert read.warnings == [
        f"{f}:3: signature date: invalid date: day is out of range for month; comment kept "
        "without a date",
        f"{f}:4: 1 line(s) after the last signature have no 'Rédigé par : AUTHOR | "
        "DD/MM/YYYY à HH:MM' line: kept as a last comment without author or date"]
    [t] = read.threads
    assert [c.paragraphs for c in t.comments] == [("Com.",), ("Fin.",)]


@pytest.mark.parametrize("text", ["", "\n\n   \n", "Titre: T\n---\n"])
def test_empty_txt_is_rejected(text: str) -> None:
    with pytest.raises(ThreadParseError, match="empty thread"):
        parse_txt(text, "vide.txt", "vide")


def test_signature_variants() -> None:
    text = ("Billet.\nBonjour\nRedige par: Jean-Michel - 5/2/2009 a 9h05\n"
            "Deux\nPosted by: Ann | 06/02/2009 at 10:00\nTrois\nÉcrit par : Bob – 07/02/2009\n"
            "Quatre\nRédigé par :  | 08/02/2009 à 23:59\n"
            "Cinq\nRédigé par : Zoé — 09/02/2009 à 10:11:12\n"
            "Six\nRe\u0301dige\u0301 par : Léa | 10/02/09 à 08:00\n"
            "Sept\nPublié par : Max | 11/02/99\n")
    warnings: list[tuple[int | None, str, str]] = []
    t = parse_txt(text, "s.txt", "s", lambda *w: warnings.append(w))
    assert warnings == []
    assert [(c.author, c.date) for c in t.comments] == [
        ("Jean-Michel", "2009-02-05T09:05"), ("Ann", "2009-02-06T10:00"),
        ("Bob", "2009-02-07"), (None, "2009-02-08T23:59"), ("Zoé", "2009-02-09T10:11"),
        ("Léa", "2009-02-10T08:00"), ("Max", "1999-02-11")]


def test_crlf_and_bom_are_handled(tmp_path: Path) -> None:
    data = "\ufeff" + SEED_FILE.read_text(encoding="utf-8").replace("\n", "\r\n")
    f = write(tmp_path / "crlf.txt", data.encode("utf-8"))
    threads, errors, warnings = read_file(f)
    assert errors == [] and warnings == []
    seed = read_file(SEED_FILE)[0][0]
    assert threads[0].paragraphs == seed.paragraphs
    assert threads[0].comments == seed.comments


def test_unicode_line_separator_stays_inside_a_line() -> None:
    t = parse_txt("Un billet\u2028sur deux lignes.\nSuite.\n", "u.txt", "u")
    assert t.paragraphs == ("Un billet\u2028sur deux lignes.", "Suite.")


# -- default titles ------------------------------------------------------------------


@pytest.mark.parametrize("paragraphs, expected", [
    (["Première phrase. Deuxième phrase."], "Première phrase."),
    (["Vraiment ? Oui."], "Vraiment ?"),
    (["Pas de ponctuation finale"], "Pas de ponctuation finale"),
    (["", "  ", "Après des vides ! Et ensuite."], "Après des vides !"),
    ([], "repli"),
    (["   "], "repli"),
])
def test_default_title(paragraphs: list[str], expected: str) -> None:
    assert default_title(paragraphs, "repli") == expected


def test_default_title_shortens_long_sentences() -> None:
    long = " ".join(["mot"] * 60) + "."
    title = default_title([long], "x")
    assert len(title) <= 90 and title.endswith("…")
    assert long.startswith(title[:-1])


# -- JSON Lines ----------------------------------------------------------------------


def test_jsonl_fixture_records() -> None:
    threads = {t.id: t for t in fixture_jsonl()}
    velo = threads["forum-velo"]
    assert velo.title == "Des pistes cyclables pour le centre-ville"
    assert velo.url == "https://exemple.fr/forum/velo"
    assert (velo.author, velo.date) == ("Nadia", "2018-05-02T09:30")
    assert velo.paragraphs == ("La mairie présente son plan vélo.",
                               "Trois nouvelles pistes seront tracées cet été.")
    assert [(c.position, c.author, c.date, c.reply_to) for c in velo.comments] == [
        (1, "Yves", "2018-05-02T10:15", ()), (2, "Nadia", "2018-05-02T11:00", (1,))]
    assert velo.source.endswith("forum.jsonl:1")
    minimal = threads["forum-minimal"]
    assert minimal.title == "Un fil sans commentaire ni date."  # empty title: first sentence
    assert (minimal.url, minimal.author, minimal.date, minimal.comments) == (None, None, None, ())
    assert minimal.source.endswith("forum.jsonl:2")


def fixture_jsonl() -> list[Thread]:
    threads, errors, warnings = read_file(FIXTURES / "forum.jsonl")
    assert errors == [] and warnings == []
    return threads


def test_jsonl_optional_fields_and_dates(tmp_path: Path) -> None:
    recs = [
        {"id": "  sans-titre  ", "post": {"paragraphs": ["  Texte seul.  ", "", "   "]}},
        record("avec-url", url="https://exemple.fr/a", comments=[]),
        record("nulls", url=None, comments=[{"author": None, "date": None,
                                             "paragraphs": ["Anonyme."]}]),
        record("iso-secondes", post={"date": "2020-01-02T03:04:05",
                                     "paragraphs": ["P."]}),
        record("iso-espace", post={"date": "2020-01-02 03:04", "paragraphs": ["P."]}),
        record("jour-seul", post={"date": "2020-01-02", "paragraphs": ["P."]}),
        record("fr", post={"date": "2/1/2020 à 3h04", "paragraphs": ["P."]}),
        {"id": "commentaires-seuls", "title": "C",
         "comments": [{"author": "Zoé", "paragraphs": ["Seul un commentaire."]}]},
    ]
    f = write(tmp_path / "opt.jsonl", jsonl(*recs))
    read = read_sources([f])
    assert read.rejected == []
    by_id = {t.id: t for t in read.threads}
    assert by_id["sans-titre"].paragraphs == ("Texte seul.",)
    assert by_id["sans-titre"].title == "Texte seul."  # no title member at all
    assert by_id["avec-url"].url == "https://exemple.fr/a"
    assert by_id["nulls"].url is None
    assert by_id["nulls"].comments[0].author is None
    assert by_id["nulls"].comments[0].date is None
    assert by_id["iso-secondes"].date == "2020-01-02T03:04"
    assert by_id["iso-espace"].date == "2020-01-02T03:04"
    assert by_id["jour-seul"].date == "2020-01-02"
    assert by_id["fr"].date == "2020-01-02T03:04"
    only = by_id["commentaires-seuls"]
    assert only.paragraphs == () and only.comments[0].paragraphs == ("Seul un commentaire.",)


def test_jsonl_reply_links_from_at_names() -> None:
    rec = record("r", comments=[
        {"author": "Jean Michel", "paragraphs": ["Premier."]},
        {"author": "Jean", "paragraphs": ["Deuxième."]},
        {"author": "Éloïse", "paragraphs": ["Troisième."]},
        {"author": "X", "paragraphs": ["@Jean Michel : la plus longue l'emporte.",
                                       "@jean : un autre.", "@ELOISE, sans accents.",
                                       "@Inconnu : personne.", "@Jeanne : pas Jean."]},
        {"author": "Jean Michel", "paragraphs": ["Cinquième."]},
        {"author": "Y", "paragraphs": ["@Jean Michel le plus récent.", "Texte @Jean au milieu."]},
        {"author": "Z", "paragraphs": ["@Z : soi-même n'est pas plus tôt."]},
    ])
    [t] = list(parse_jsonl(jsonl(rec), "r.jsonl"))
    assert isinstance(t, Thread)
    assert [c.reply_to for c in t.comments] == [(), (), (), (1, 2, 3), (), (5,), ()]


BAD_RECORDS: list[tuple[str, str]] = [
    ('{"id": "x", "title": ', "invalid JSON"),
    ("{'id': 'x'}", "invalid JSON"),
    ("[1, 2, 3]", "must be a JSON object, not list"),
    ('"juste une chaîne"', "must be a JSON object, not str"),
    ("42", "must be a JSON object, not int"),
    ("null", "must be a JSON object, not NoneType"),
    (json.dumps({"title": "T", "post": {"paragraphs": ["P"]}}), "'id' must be a non-empty string"),
    (json.dumps(record("   ")), "'id' must be a non-empty string"),
    (json.dumps(record("")), "'id' must be a non-empty string"),
    (json.dumps({**record(), "id": 42}), "'id' must be a non-empty string"),
    (json.dumps({**record(), "id": ["a"]}), "'id' must be a non-empty string"),
    (json.dumps(record("x" * 201)), "'id' must be at most 200"),
    (json.dumps(record("\u200b\u00ad")), "'id' must be a non-empty string"),
    (json.dumps(record(title=3)), "'title' must be a string"),
    (json.dumps(record(title=["T"])), "'title' must be a string"),
    (json.dumps(record(post=["P"])), "'post' must be an object"),
    (json.dumps(record(post={"paragraphs": "P"})), "'paragraphs' must be a list of strings"),
    (json.dumps(record(post={"paragraphs": ["P", 2]})), "'paragraphs' must be a list of strings"),
    (json.dumps(record(post={"paragraphs": [["P"]]})), "'paragraphs' must be a list of strings"),
    (json.dumps(record(comments={"author": "A"})), "'comments' must be a list"),
    (json.dumps(record(comments="A")), "'comments' must be a list"),
    (json.dumps(record(comments=["texte"])), "comment 1: must be an object"),
    (json.dumps(record(comments=[{"paragraphs": ["ok"]}, {"paragraphs": "non"}])),
     "comment 2: 'paragraphs' must be a list of strings"),
    (json.dumps(record(comments=[{"author": 7, "paragraphs": ["ok"]}])),
     "comment 1: 'author' must be a string, not int"),
    (json.dumps(record(url=["u"])), "'url' must be a string"),
    (json.dumps(record(post={"paragraphs": ["  ", ""]})), "no text"),
    (json.dumps(record(post={"paragraphs": []}, comments=[{"paragraphs": []}])), "no text"),
    (json.dumps(record(post={"paragraphs": ["xâ€xxe™"]})), "double-encoded"),  # ftfy can't
    ('{"id": ' + "1" * 5000 + "}", "invalid JSON"),
    ("[" * 100_000 + "]" * 100_000, "invalid JSON"),
]


@pytest.mark.parametrize("bad, reason", BAD_RECORDS)
def test_jsonl_bad_record_rejected_and_neighbours_kept(tmp_path: Path, bad: str,
                                                       reason: str) -> None:
    f = write(tmp_path / "fils.jsonl", jsonl(record("avant"), bad, "", record("apres")))
    read = read_sources([tmp_path])
    assert [t.id for t in read.threads] == ["avant", "apres"]
    assert len(read.rejected) == 1
    message = read.rejected[0]
    assert message.startswith(f"{f}:2: ")
    assert reason in message
    assert [t.source for t in read.threads] == [f"{f}:1", f"{f}:4"]


#: Records with a bad date: kept, the date left out, a warning (the member and why).
BAD_DATES: list[tuple[dict[str, Any], str]] = [
    (record(comments=[{"date": "hier", "paragraphs": ["ok"]}]),
     "comment 1: 'date': unreadable date 'hier'"),
    (record(comments=[{"date": "2009-02-30", "paragraphs": ["ok"]}]),
     "comment 1: 'date': invalid date"),
    (record(comments=[{"date": "31/12/2009 à 24:00", "paragraphs": ["ok"]}]),
     "comment 1: 'date': invalid date"),
    (record(post={"date": "2009-13-01", "paragraphs": ["P"]}), "post: 'date': invalid date"),
    (record(post={"date": 20090201, "paragraphs": ["P"]}), "post: 'date' must be a string"),
    (record(post={"date": "2009-02-05T10:00+25:00", "paragraphs": ["P"]}),
     "time zone offset out of range"),
]


@pytest.mark.parametrize("rec, reason", BAD_DATES)
def test_jsonl_bad_date_keeps_the_record_without_a_date(tmp_path: Path, rec: dict[str, Any],
                                                        reason: str) -> None:
    f = write(tmp_path / "dates.jsonl", jsonl(record("avant"), rec))
    read = read_sources([f])
    assert read.rejected == []
    assert [t.id for t in read.threads] == ["avant", "t1"]
    t = read.threads[1]
    assert t.date is None and all(c.date is None for c in t.comments)
    [warning] = read.warnings
    assert warning.startswith(f"{f}:2: ") and reason in warning
    assert warning.endswith("kept without a date")


#: Strings a JSON escape can make hold what documents never keep: cleaned, record kept.
CLEANED_STRINGS: list[tuple[str, str]] = [
    ("caf\\ud800", "caf\ufffd"),  # an unpaired surrogate becomes U+FFFD
    ("\\u001b[31mrouge\\u001b[0m", "rouge"),  # terminal colours go whole
    ("l\\u0092entreprise", "l\u2019entreprise"),  # C1 from Windows-1252: its character
    ("tre\\u0300s", "très"),  # NFC
    ("saut\\fde\\bpage", "saut depage"),  # form feed: a space; backspace: removed
    ("<i>Terminator</i> a \\u003c b", "Terminator a < b"),
]


@pytest.mark.parametrize("escaped, kept", CLEANED_STRINGS)
def test_jsonl_escaped_strings_are_cleaned(escaped: str, kept: str) -> None:
    line = '{"id": "s", "post": {"paragraphs": ["' + escaped + '"]}}'
    [t] = list(parse_jsonl(line, "s.jsonl"))
    assert isinstance(t, Thread) and t.paragraphs == (kept,)


def test_jsonl_errors_are_values_with_path_and_line() -> None:
    items = list(parse_jsonl(jsonl(record("a"), "{", "", "  ", "[]", record("b")), "p.jsonl"))
    errors = [i for i in items if isinstance(i, ThreadParseError)]
    assert [i.id for i in items if isinstance(i, Thread)] == ["a", "b"]
    assert [(e.path, e.line) for e in errors] == [("p.jsonl", 2), ("p.jsonl", 5)]


def test_jsonl_line_separator_inside_a_string() -> None:
    # json.dumps(ensure_ascii=False) writes U+2028/U+2029 raw; they are not line breaks
    rec = record("ls", post={"paragraphs": ["avant\u2028après\u2029fin"]})
    [t] = list(parse_jsonl(jsonl(rec, record("suivant")), "ls.jsonl"))[:1]
    assert isinstance(t, Thread) and t.paragraphs == ("avant\u2028après\u2029fin",)


def test_jsonl_long_line_is_read(tmp_path: Path) -> None:
    huge = json.dumps(record("long", post={"paragraphs": ["mot " * 300_000]}))
    f = write(tmp_path / "long.jsonl", jsonl(record("a"), huge, record("b")))
    read = read_sources([f])
    assert [t.id for t in read.threads] == ["a", "long", "b"]
    assert read.rejected == []


def test_jsonl_line_over_the_limit_is_rejected_by_line(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("indexer.ingest.decoding.MAX_LINE_BYTES", 5000)
    huge = json.dumps(record("long", post={"paragraphs": ["mot " * 3000]}))
    f = write(tmp_path / "long.jsonl", jsonl(record("a"), huge, record("b")))
    read = read_sources([f])
    assert [t.id for t in read.threads] == ["a", "b"]
    assert read.rejected == [f"{f}:2: line longer than 5000 bytes: not read"]


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    a = write(tmp_path / "a.jsonl", jsonl(record("dup", title="Premier"), record("seul-a")))
    b = write(tmp_path / "b.jsonl", jsonl(record("seul-b"), record("dup", title="Second")))
    c = write(tmp_path / "sub" / "dup.txt", "Un fil texte du même nom.\n")
    read = read_sources([tmp_path])
    assert [t.id for t in read.threads] == ["dup", "seul-a", "seul-b"]
    assert read.threads[0].title == "Premier"
    assert len(read.rejected) == 2
    assert read.rejected[0].startswith(f"{b}:2: duplicate thread id 'dup'")
    assert f"already read from {a}:1" in read.rejected[0]
    assert read.rejected[1].startswith(f"{c}: duplicate thread id 'dup'")


def test_same_file_twice_is_read_once(tmp_path: Path) -> None:
    f = write(tmp_path / "t" / "fil.txt", "Un billet.\n")
    read = read_sources([tmp_path / "t", f, tmp_path / "t" / ".." / "t" / "fil.txt"])
    assert [t.id for t in read.threads] == ["fil"]
    assert read.rejected == []


def test_piaf_threads_parse() -> None:
    piaf = SHARED / "eval" / "piaf" / "threads.jsonl"
    need_shared(piaf)
    read = read_sources([piaf])
    assert read.rejected == [] and read.warnings == []
    assert len(read.threads) == 480
    assert len({t.id for t in read.threads}) == 480
    assert all(t.title and t.paragraphs for t in read.threads)


# -- encodings and binary files -----------------------------------------------------


FRENCH = "Œuvre d’été : « déjà vu », cœur à l’ouvrage — ça coûte 5 €.\n"


def test_cp1252_file_is_decoded_with_a_warning(tmp_path: Path) -> None:
    f = write(tmp_path / "ancien.txt",
              (FRENCH + "Bonjour\nRédigé par : Hélène | 01/02/2003 à 04:05\n").encode("cp1252"))
    read = read_sources([f])
    assert read.rejected == []
    [t] = read.threads
    assert t.paragraphs == (FRENCH.strip(),)
    assert "é" in t.paragraphs[0] and "œ" in t.paragraphs[0] and "’" in t.paragraphs[0]
    assert t.comments[0].author == "Hélène"
    assert read.warnings == [f"{f}:1: 2 line(s) not valid UTF-8: their invalid bytes were "
                             "read as Windows-1252"]
    assert read.report.files[0].cp1252_lines == 2


def test_latin1_file_is_decoded(tmp_path: Path) -> None:
    text = "Le garçon a mangé à côté de l'hôtel, où naïf et Noël se croisent.\n"
    f = write(tmp_path / "latin.txt", text.encode("latin-1"))
    threads, errors, warnings = read_file(f)
    assert errors == [] and threads[0].paragraphs == (text.strip(),)
    assert warnings and str(f) in warnings[0]


def test_cp1252_jsonl_is_decoded(tmp_path: Path) -> None:
    f = write(tmp_path / "ancien.jsonl", jsonl(record("e", title="Été’")).encode("cp1252"))
    threads, errors, warnings = read_file(f)
    assert errors == [] and threads[0].title == "Été’" and len(warnings) == 1


@pytest.mark.parametrize("data, reason", [
    (b"texte\x00binaire\n", "binary data (NUL byte)"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data"),
    (bytes(range(1, 32)) * 10, "control bytes"),
])
def test_binary_files_are_rejected_by_name(tmp_path: Path, data: bytes, reason: str) -> None:
    bad = write(tmp_path / "src" / "mauvais.txt", data)
    write(tmp_path / "src" / "bon.txt", "Un fil lisible.\n")
    read = read_sources([tmp_path / "src"])
    assert [t.id for t in read.threads] == ["bon"]
    [message] = read.rejected
    assert message.startswith(f"{bad}: ") and reason in message


#: Bytes of a one-line .txt file -> the paragraph kept, and the warning codes.
DECODED: list[tuple[bytes, str, list[str]]] = [
    # invalid UTF-8 bytes read as Windows-1252; undefined ones (0x81, 0x90) are C1: removed
    (b"d\xe9j\xe0 \x81 vu\x90\n", "déjà  vu", ["cp1252", "control-chars"]),
    (b"ligne une cloche \x07 ici\n", "ligne une cloche  ici", ["control-chars"]),
    ("Il a Ã©tÃ© dÃ©Ã§u\n".encode(), "Il a été déçu", ["repaired"]),  # by ftfy
    ("Le cÅ“ur\n".encode(), "Le cœur", ["repaired"]),
    ("lâ€™été\n".encode(), "l’été", ["repaired"]),
    # UTF-8 and Windows-1252 in one line: each byte read as it was meant
    ("café en UTF-8 ".encode() + "et é en cp1252\n".encode("cp1252"),
     "café en UTF-8 et é en cp1252", ["cp1252"]),
    # cut inside the last character: that character goes
    ("coupé au milieu d'un caractère é".encode()[:-1], "coupé au milieu d'un caractère",
     ["truncated"]),
    ("l\u2019ann\xe9e\x1a".encode("utf-8"), "l\u2019ann\xe9e", []),  # DOS end-of-file mark
]


@pytest.mark.parametrize("data, kept, codes", DECODED)
def test_bad_bytes_cost_only_themselves(tmp_path: Path, data: bytes, kept: str,
                                        codes: list[str]) -> None:
    f = write(tmp_path / "fil.txt", data)
    read = read_sources([f])
    assert read.rejected == []
    [t] = read.threads
    assert t.paragraphs == (kept,)
    assert sorted(w.code for w in read.report.warnings) == sorted(codes)
    assert all(w.path == str(f) and w.line == 1 for w in read.report.warnings)


def test_repaired_mojibake_is_counted(tmp_path: Path) -> None:
    f = write(tmp_path / "fil.txt", "Il a Ã©tÃ© dÃ©Ã§u\nBonjour\n")
    read = read_sources([f])
    assert read.report.files[0].repaired == 1


def test_decoding_names_the_line_of_each_change() -> None:
    warnings: list[tuple[int | None, str, str]] = []
    lines, report = decode_lines(b"un\r\ndeux\rtrois\nquatre \x1b\ncinq \xe9\n", "f.txt",
                                 warn=lambda *w: warnings.append(w))
    assert lines == ["un", "deux", "trois", "quatre ", "cinq é"]
    assert warnings == [
        (5, "cp1252", "1 line(s) not valid UTF-8: their invalid bytes were read as Windows-1252"),
        (4, "control-chars", "1 control character(s) removed or replaced")]
    assert (report.cp1252_lines, report.control_chars) == (1, 1)


def test_decoding_keeps_utf8_french_tabs_and_nothing_else() -> None:
    lines, report = decode_lines(("\ufeff" + FRENCH).encode() + b"Tab\tet page\f.\r\n")
    assert lines == [FRENCH.strip("\n"), "Tab\tet page ."]
    assert report.control_chars == 1  # the form feed became a space


def test_a_binary_line_costs_only_its_record(tmp_path: Path) -> None:
    head = jsonl(*(record(f"a{i}") for i in range(200))).encode()
    assert len(head) > 8192  # past what the binary-file test looks at
    data = head + b"\x00\x00\x00\x01\n" + jsonl(record("b")).encode()
    f = write(tmp_path / "fils.jsonl", data + b"\x00" * 100)  # NUL padding after a crash
    read = read_sources([f])
    assert [t.id for t in read.threads] == [f"a{i}" for i in range(200)] + ["b"]
    assert read.rejected == [f"{f}:201: binary data (NUL bytes) in the line",
                             f"{f}:203: binary data (NUL bytes) in the line"]


def test_nul_padding_after_a_crash_is_not_a_binary_file(tmp_path: Path) -> None:
    f = write(tmp_path / "fils.jsonl", jsonl(record("a")).encode() + b"\x00" * 500)
    read = read_sources([f])
    assert [t.id for t in read.threads] == ["a"]
    assert read.rejected == [f"{f}:2: binary data (NUL bytes) in the line"]


# -- folders -------------------------------------------------------------------------


def test_folder_is_read_recursively(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copy(SEED_FILE, write(src / "a" / "b" / "placeholder.md", "x").parent)
    write(src / "top.txt", "Un fil en haut.\n")
    write(src / "a" / "fils.jsonl", jsonl(record("j1"), record("j2")))
    write(src / "a" / "MAJUSCULES.TXT", "Extension en majuscules.\n")
    write(src / ".git" / "cache.txt", "Ne pas lire.\n")
    write(src / "a" / ".brouillons" / "draft.txt", "Ne pas lire non plus.\n")
    write(src / ".cache.jsonl", "{pas lu}\n")
    write(src / "notes.md", "# notes\n")
    write(src / "image.png", b"\x89PNG\x00")
    write(src / "a" / "sans-extension", b"\x00\x01")
    read = read_sources([src])
    assert read.warnings == []
    unknown = "unknown file type (expected .txt, .jsonl or .json, optionally compressed as .gz)"
    assert read.rejected == [f"{src / 'a' / 'b' / 'placeholder.md'}: {unknown}",
                             f"{src / 'a' / 'sans-extension'}: {unknown}",
                             f"{src / 'image.png'}: {unknown}", f"{src / 'notes.md'}: {unknown}"]
    hidden = [s.path for s in read.report.skipped if s.code == "hidden"]
    assert hidden == [str(src / ".cache.jsonl"), str(src / ".git"),
                      str(src / "a" / ".brouillons")]
    assert sorted(t.id for t in read.threads) == sorted(
        ["top", "j1", "j2", "MAJUSCULES", SEED_ID])
    seed = next(t for t in read.threads if t.id == SEED_ID)
    assert len(seed.paragraphs) == 15 and len(seed.comments) == 14


def test_folder_order_is_stable(tmp_path: Path) -> None:
    for name in ("c", "a", "b"):
        write(tmp_path / f"{name}.txt", f"Fil {name}.\n")
    assert [t.id for t in read_sources([tmp_path]).threads] == ["a", "b", "c"]


def test_explicit_non_thread_file_is_rejected(tmp_path: Path) -> None:
    f = write(tmp_path / "notes.md", "# pas un fil\n")
    read = read_sources([f])
    assert read.threads == []
    assert read.rejected == [f"{f}: unknown file type (expected .txt, .jsonl or .json, "
                             "optionally compressed as .gz)"]
    assert read.report.problems == 1


def test_missing_source_raises_before_reading(tmp_path: Path) -> None:
    write(tmp_path / "ok.txt", "Un fil.\n")
    with pytest.raises(SourceMissingError, match="source not found: .*absent"):
        read_sources([tmp_path, tmp_path / "absent"])


@pytest.mark.parametrize("empty", ["", "  "])
def test_empty_source_path_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      empty: str) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "ailleurs.txt", "Un fil du dossier courant.\n")
    with pytest.raises(SourceMissingError, match="empty source path"):
        read_sources([tmp_path / "ailleurs.txt", empty])


def test_truncated_jsonl_keeps_its_whole_lines(tmp_path: Path) -> None:
    data = jsonl(record("a"), record("b", title="Été"), record("c", title="Noël")).encode()
    cut = data.rindex("ë".encode()) + 1  # in the middle of the last line's "ë"
    f = write(tmp_path / "coupe.jsonl", data[:cut])
    read = read_sources([f])
    assert [t.id for t in read.threads] == ["a", "b"]
    assert read.rejected == [f"{f}:3: line cut in the middle of a UTF-8 character "
                             "(file truncated?)"]
    assert read.warnings == []


def test_empty_folder_reads_nothing(tmp_path: Path) -> None:
    read = read_sources([tmp_path])
    assert (read.threads, read.rejected, read.warnings) == ([], [], [])


def test_unreadable_file_is_rejected(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root can read any file")
    f = write(tmp_path / "secret.txt", "Un fil.\n")
    f.chmod(0)
    try:
        read = read_sources([tmp_path])
    finally:
        f.chmod(0o644)
    assert read.threads == [] and read.rejected[0].startswith(f"{f}: cannot read")


def test_thread_id_of_a_txt_file_is_its_stem(tmp_path: Path) -> None:
    f = write(tmp_path / "Mon fil.v2.txt", "Un fil.\n")
    [t] = read_file(f)[0]
    assert t.id == "Mon fil.v2" and t.source == str(f)


def test_file_name_that_is_not_utf8_is_kept_with_a_warning(tmp_path: Path) -> None:
    name = os.fsdecode(b"caf\xe9.txt")
    try:
        f = write(tmp_path / name, "Un fil.\n")
    except (OSError, UnicodeEncodeError):  # pragma: no cover - file system refuses the name
        pytest.skip("the file system refuses non-UTF-8 names")
    read = read_sources([tmp_path])
    assert [t.id for t in read.threads] == ["caf\ufffd"]
    assert read.rejected == []
    assert read.warnings == [f"{f}: file name is not valid UTF-8: thread id 'caf\ufffd'"]


def test_a_quoted_mojibake_example_in_real_text_is_kept_as_written(tmp_path: Path) -> None:
    """A post that quotes « Ã© » among plenty of real accents is not double-encoded."""
    text = "Le café est très bon, même à Noël. " * 4 + "Exemple : « Ã© » au lieu de « é »."
    f = write(tmp_path / "f.txt", text + "\n")
    read = read_sources([f])
    assert read.threads[0].paragraphs == (text,)
    assert read.warnings == [] and read.report.files[0].repaired == 0


@pytest.mark.parametrize(("raw", "iso"), [
    ("0999-01-01T10:00", "0999-01-01T10:00"),  # kept as written (canonical)
    ("05/02/0999 à 10:00", "0999-02-05T10:00"),  # four-digit year, not strftime's "999"
    ("2009-02-05 14:51", "2009-02-05T14:51"),
    ("２００９-02-05", "2009-02-05"),  # non-ASCII digits come out as ASCII ones
    ("٢٠٠٩-٠٢-٠٥T14:51", "2009-02-05T14:51"),
    # full ISO 8601: seconds, fractions, zones; the wall time is kept, the offset dropped
    ("2009-02-05T10:00:00Z", "2009-02-05T10:00"),
    ("2009-02-05T10:00:00+01:00", "2009-02-05T10:00"),
    ("2009-02-05T23:30:00.000-05:00", "2009-02-05T23:30"),
    ("2009-02-05T10:00:00.123456Z", "2009-02-05T10:00"),
    ("2009-02-05T10:00+0100", "2009-02-05T10:00"),
    ("2009-02-05 10:00:59 +01", "2009-02-05T10:00"),
    ("2009-02-05t10:00z", "2009-02-05T10:00"),
    ("2016-12-31T23:59:60Z", "2016-12-31T23:59"),  # a leap second
    ("05/02/2009 à 14:51:30", "2009-02-05T14:51"),
    ("05/02/09", "2009-02-05"),
    ("05/02/99 à 8h05", "1999-02-05T08:05"),
])
def test_dates_come_out_canonical(raw: str, iso: str) -> None:
    assert parse_date(raw, "f.txt", 1) == iso


def test_old_dates_index_and_filter(tmp_path: Path) -> None:
    """A thread dated before year 1000 is indexed (not a failed rebuild) and filterable."""
    from helpers import build_index

    src = tmp_path / "old.jsonl"
    src.write_text('{"id": "old", "post": {"date": "05/02/0999 à 10:00", '
                   '"paragraphs": ["Chronique ancienne"]}}\n', encoding="utf-8")
    read = read_sources([src])
    assert not read.rejected
    build_index(read.threads, tmp_path / "ix")
    backend = embedded(tmp_path / "ix")
    try:
        assert backend.search("chronique avant:1000-01-01").total == 1
        assert backend.search("chronique après:1000-01-01").total == 0
    finally:
        backend.close()


@pytest.mark.parametrize("raw", ["2009-02-30", "2009-02-05T24:00", "2009-02-05T10:61",
                                 "2009-02-05T10:00:61", "2009-02-05T10:00+24:00", "31/02/2009"])
def test_impossible_dates_are_errors(raw: str) -> None:
    with pytest.raises(ThreadParseError, match="invalid date"):
        parse_date(raw, "f.jsonl", 3)


def test_jsonl_text_with_a_raw_lone_surrogate_is_repaired() -> None:
    """parse_jsonl on a str (not decoded by read_file) cleans a raw lone surrogate too."""
    [item] = list(parse_jsonl('{"id": "s", "post": {"paragraphs": ["a \ud800 b"]}}', "s.jsonl"))
    assert isinstance(item, Thread) and item.paragraphs == ("a \ufffd b",)
