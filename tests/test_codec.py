"""The fil1 codec (store/whoosh/codec.py) and the numpy postings builder (postings.py).

The same passages are indexed twice, by ``build_index`` (fil1 segments) and by Whoosh's
own writer (its default codec); Whoosh's public reader and searcher API must answer the
same on both. The builder must give exactly ``FrenchAnalyzer.positions`` for every passage.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest
from helpers import SEED_FILE, build_index, embedded, segment_dirs
from helpers import whoosh_index as segment_whoosh
from test_index import synthetic_threads
from whoosh import query as wq
from whoosh import scoring
from whoosh.filedb.filestore import FileStorage
from whoosh.index import Index
from whoosh.matching import ReadTooFar
from whoosh.qparser import QueryParser
from whoosh.reading import IndexReader, TermNotFound
from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length, length_to_byte

from indexer.analysis import analyzer
from indexer.errors import IndexDamagedError
from indexer.ingest.model import Comment, Thread
from indexer.ingest.parsing import read_sources
from indexer.store.records import thread_record
from indexer.store.whoosh import postings
from indexer.store.whoosh.codec import FieldData, FilCodec
from indexer.store.whoosh.postings import PostingsBuilder
from indexer.store.whoosh.segment import SegmentReader, passage_schema
from indexer.store.whoosh.store import EmbeddedStore

EDGE_TEXTS = ["", "le la les de et", "Très haut-débit pour l'entreprise",
              "Le Web 2.0, le 1.012 et 2,5 %", "c'est-à-dire peut-être là-bas",
              "aujourd'hui L’entreprise qu’il", "bla-bla-bla bla", "中国 𝔘nicode ﬁn",
              "«\u00a0Lippi\u00a0» : 2.0,haut-débit;l'entreprise…\tfin\u2028encore"]
EDGE = Thread(id="edge", title="Cas limites", paragraphs=tuple(EDGE_TEXTS),
              comments=(Comment(1, None, None, ("encore et encore", "")),))


@dataclass
class Built:
    """The same passages indexed by build_index and by Whoosh's own writer."""

    fil: Index  # passages, fil1 codec
    std: Index  # passages, Whoosh's default codec
    store: EmbeddedStore  # the whole embedded index (thread records)


@pytest.fixture(scope="module")
def seed() -> Thread:
    """The seed thread."""
    [t] = read_sources([SEED_FILE]).threads
    return t


@pytest.fixture(scope="module")
def threads(seed: Thread) -> list[Thread]:
    """The seed, 60 synthetic threads and a thread of edge cases (about 380 passages)."""
    return [seed, *synthetic_threads(seed), EDGE]


def whoosh_index(threads: list[Thread], folder: Path) -> Index:
    """Write every passage with Whoosh's standard writer, in build_index's order."""
    ix = FileStorage(str(folder)).create_index(passage_schema(), indexname="passages")
    with ix.writer() as w:
        for t in threads:
            for p in t.passages():
                w.add_document(content=p.text, thread_id=p.thread_id, title=p.thread_title,
                               kind=p.kind, position=p.position, author=p.author,
                               date=p.date)
    return ix


@pytest.fixture(scope="module")
def built(threads: list[Thread], tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Both indexes of ``threads``."""
    idx = tmp_path_factory.mktemp("fil") / "index"
    build_index(threads, idx)
    return Built(segment_whoosh(idx), whoosh_index(threads, tmp_path_factory.mktemp("std")),
                 EmbeddedStore(idx))


@pytest.fixture(scope="module")
def searchers(built: Built) -> Iterator[tuple[Searcher, Searcher]]:
    """A searcher on each passages index (fil1, standard), BM25F."""
    with built.fil.searcher() as fil, built.std.searcher() as std:
        yield fil, std


def readers(searchers: tuple[Searcher, Searcher]) -> tuple[IndexReader, IndexReader]:
    """The searchers' readers."""
    return searchers[0].reader(), searchers[1].reader()


def terms(words: str) -> list[str]:
    """The analysed terms of ``words``."""
    return analyzer().terms(words)


def term(word: str) -> wq.Term:
    """A Term query on ``content`` for one word."""
    [t] = terms(word)
    return wq.Term("content", t)


# -- documents, terms, lengths, stored fields -------------------------------------------


def test_same_lexicon_and_term_statistics(searchers: tuple[Searcher, Searcher]) -> None:
    """Same documents and sorted terms, with the same frequencies and term infos."""
    fil, std = readers(searchers)
    assert fil.doc_count() == std.doc_count() == fil.doc_count_all() > 300
    lexicon = list(fil.lexicon("content"))
    assert lexicon == list(std.lexicon("content")) == sorted(set(lexicon))
    assert {b"hautdeb", b"2.0", b"2,5", b"encor", b"zhongguo"} <= set(lexicon)
    for t in lexicon:
        assert fil.doc_frequency("content", t) == std.doc_frequency("content", t), t
        assert fil.frequency("content", t) == std.frequency("content", t), t
        a, b = fil.term_info("content", t), std.term_info("content", t)
        assert (a.weight(), a.doc_frequency(), a.min_id(), a.max_id(), a.max_weight()) == (
            b.weight(), b.doc_frequency(), b.min_id(), b.max_id(), b.max_weight()), t
    assert fil.most_frequent_terms("content", 5) == std.most_frequent_terms("content", 5)
    assert fil.doc_frequency("content", "absent") == fil.frequency("content", "absent") == 0
    with pytest.raises(TermNotFound):
        fil.postings("content", "absent")


def test_same_field_lengths(searchers: tuple[Searcher, Searcher]) -> None:
    """fil1 keeps exact lengths; Whoosh keeps them quantised to a byte, and the same total."""
    fil, std = readers(searchers)
    assert fil.field_length("content") == std.field_length("content") > 0
    quantised = 0
    for d in range(fil.doc_count_all()):
        exact = fil.doc_field_length(d, "content")
        text = fil.stored_fields(d)["content"]
        assert exact == sum(map(len, analyzer().positions(text).values())), d
        stored = std.doc_field_length(d, "content") or 0  # Whoosh answers None for 0
        assert stored == byte_to_length(length_to_byte(exact)), d
        quantised += stored != exact
    assert quantised  # the tolerance on scores below comes from here
    assert fil.doc_field_length(0, "title") == 0  # a stored-only field has no length


def test_same_stored_fields(searchers: tuple[Searcher, Searcher], threads: list[Thread]) -> None:
    """Every document stores the same fields (None values are left out by both)."""
    fil, std = readers(searchers)
    passages = [p for t in threads for p in t.passages()]
    assert fil.doc_count_all() == len(passages)
    for d, p in enumerate(passages):
        assert fil.stored_fields(d) == std.stored_fields(d), d
        assert fil.stored_fields(d)["content"] == p.text
    last = fil.stored_fields(len(passages) - 1)
    assert last["content"] == "encore et encore\n" and "author" not in last


# -- postings --------------------------------------------------------------------------


def test_same_postings_and_positions(searchers: tuple[Searcher, Searcher]) -> None:
    """Every term's postings: same ids, weights, frequencies, positions and encoded values."""
    fil, std = readers(searchers)

    def walk(r: IndexReader, t: bytes) -> list[tuple[object, ...]]:
        m, out = r.postings("content", t), []
        while m.is_active():
            out.append((m.id(), m.weight(), m.value_as("frequency"),
                        m.value_as("positions"), m.value()))
            m.next()
        return out

    for t in fil.lexicon("content"):
        assert walk(fil, t) == walk(std, t), t
    [(_, top)] = fil.most_frequent_terms("content", 1)
    assert len(walk(fil, top)) > 100
    assert [p[3] for p in walk(fil, b"bla")] == [[0, 1, 2, 3]]


def test_skip_to(searchers: tuple[Searcher, Searcher]) -> None:
    """skip_to lands on the same postings, stays put going back, and runs off the end."""
    fil, std = readers(searchers)
    n = fil.doc_count_all()
    for _, t in fil.most_frequent_terms("content", 5):
        a, b = fil.postings("content", t), std.postings("content", t)
        for target in [0, 3, 3, 1, 40, 41, 150, n // 2, n - 40, n - 1, n + 5]:
            before = a.id()
            a.skip_to(target)
            b.skip_to(target)
            assert a.is_active() == b.is_active(), (t, target)
            if not a.is_active():
                break
            assert a.id() == b.id(), (t, target)
            if target <= before:  # skipping backwards leaves the matcher where it was
                assert a.id() == before, (t, target)
            else:
                assert a.id() >= target, (t, target)
            assert a.value_as("positions") == b.value_as("positions"), (t, target)
        assert not a.is_active() and not b.is_active()
        for m in (a, b):
            with pytest.raises(ReadTooFar):
                m.skip_to(n + 10)


# -- searches --------------------------------------------------------------------------

PARSER = QueryParser("content", passage_schema())
QUERIES = {
    "term": term("entreprise"),
    "frequent term": term("tout"),
    "and": wq.And([term("entreprise"), term("Lippi")]),
    "or": wq.Or([term("entreprise"), term("Lippi"), term("web")]),
    "not": wq.And([term("entreprise"), wq.Not(term("Lippi"))]),
    "prefix": wq.Prefix("content", "entr"),
    "wildcard": wq.Wildcard("content", "cl*nt"),
    "fuzzy": wq.FuzzyTerm("content", "clien", maxdist=1),
    "phrase 2": wq.Phrase("content", terms("haut débit")),
    "phrase 3": wq.Phrase("content", terms("très haut débit")),
    "phrase repeated": wq.Phrase("content", terms("encore et encore")),
    "phrase 3 repeated": wq.Phrase("content", terms("découvrir encore et encore")),
    "compound repeated": wq.Phrase("content", terms("assistants/assistantes")),
    "number": term("2.0"),
    "parsed": PARSER.parse('"haut débit" OR entreprise* -Lippi'),
    "parsed and": PARSER.parse("entreprises clients"),
}


@pytest.mark.parametrize("name", list(QUERIES))
def test_same_hits_and_close_scores(searchers: tuple[Searcher, Searcher], name: str) -> None:
    """Same documents and matched terms; BM25F scores within 5 % (lengths are quantised)."""
    fil, std = searchers
    a = fil.search(QUERIES[name], limit=None, terms=True)
    b = std.search(QUERIES[name], limit=None, terms=True)
    scores_a = {h.docnum: h.score for h in a}
    scores_b = {h.docnum: h.score for h in b}
    assert scores_a and set(scores_a) == set(scores_b)
    for d, score in scores_a.items():
        assert score == pytest.approx(scores_b[d], rel=0.05), d
    assert a.matched_terms() == b.matched_terms()


def test_phrases_use_positions(searchers: tuple[Searcher, Searcher]) -> None:
    """A phrase finds fewer passages than its words, none in the wrong order."""
    fil, _ = searchers

    def docs(q: wq.Query) -> set[int]:
        return set(fil.search(q, limit=None).docs())

    assert docs(wq.Phrase("content", terms("entreprise Lippi"))) < docs(QUERIES["and"])
    assert docs(wq.Phrase("content", terms("Lippi entreprise"))) == set()
    assert docs(QUERIES["phrase 2"]) and not docs(wq.Phrase("content", terms("débit haut")))
    assert docs(QUERIES["phrase repeated"]) < docs(term("encore"))


def test_same_ranking_without_length_normalisation(built: Built) -> None:
    """With BM25F's B=0 (field lengths unused) scores and rankings are identical."""
    flat = scoring.BM25F(B=0)
    with built.fil.searcher(weighting=flat) as fil, built.std.searcher(weighting=flat) as std:
        for name, q in QUERIES.items():
            a, b = fil.search(q, limit=None), std.search(q, limit=None)
            assert [h.docnum for h in a] == [h.docnum for h in b], name
            assert [h.score for h in a] == pytest.approx([h.score for h in b]), name


def test_top_k_search_matches_the_full_ranking(searchers: tuple[Searcher, Searcher]) -> None:
    """Whoosh's pruned top-10 search (term infos' bounds) returns the full ranking's head."""
    fil, _ = searchers
    for name in ["term", "frequent term", "and", "or", "parsed"]:
        full = [(h.docnum, h.score) for h in fil.search(QUERIES[name], limit=None)]
        assert [(h.docnum, h.score) for h in fil.search(QUERIES[name], limit=10)] == full[:10]


def test_prefix_expansion_and_fuzzy_terms(searchers: tuple[Searcher, Searcher]) -> None:
    """expand_prefix and terms_within (Levenshtein automata over the term cursor) agree."""
    fil, std = readers(searchers)
    for prefix in ["entr", "cl", "2", "a", "zz", ""]:
        assert list(fil.expand_prefix("content", prefix)) == list(
            std.expand_prefix("content", prefix)), prefix
    assert list(fil.expand_prefix("content", "entr")) == [b"entreprenariat", b"entrepreneur",
                                                          b"entrepris"]
    for word in ["client", "clien", "entrepris", "lipp", "tout", "2.0", "xyzzy"]:
        for dist in (1, 2):
            assert set(fil.terms_within("content", word, dist)) == set(
                std.terms_within("content", word, dist)), (word, dist)
    assert set(fil.terms_within("content", "clien", 1)) == {"client"}


# -- the thread store ------------------------------------------------------------------


def test_thread_store_finds_every_thread(built: Built, threads: list[Thread]) -> None:
    """The store finds each thread by id (texts read back from the passages)."""
    segment = EmbeddedStore(built.store.index_dir)
    try:
        for t in threads:
            assert segment.thread(t.id) == replace(t, source=""), t.id
        assert segment.thread("synth-999") is None
    finally:
        segment.close()
    [folder] = segment_dirs(built.store.index_dir)
    records = SegmentReader(folder).thread_records
    assert len(records) == len(threads)
    assert all(len(records[i]) < len(thread_record(t)) for i, t in enumerate(threads)), \
        "texts are not stored twice"


def test_comment_paragraphs_with_line_breaks_are_kept(tmp_path: Path) -> None:
    """A comment whose paragraphs hold line breaks keeps them (stored, not split)."""
    t = Thread(id="nl", title="Retours", paragraphs=("Un", "Deux"),
               comments=(Comment(1, "A", None, ("ligne 1\nligne 2", "fin")),
                         Comment(2, "B", None, ()), Comment(3, "C", None, ("seul",))))
    build_index([t], tmp_path / "index")
    assert EmbeddedStore(tmp_path / "index").thread("nl") == t


# -- fil1 segments are immutable -------------------------------------------------------


def test_codec_refuses_to_write(built: Built) -> None:
    """The codec's writers refuse with a message that says to rebuild."""
    [segment] = built.fil._segments()  # noqa: SLF001 - Whoosh has no public accessor
    for make in (FilCodec().per_document_writer, FilCodec().field_writer):
        with pytest.raises(NotImplementedError, match="immutable.*build_index"):
            make(built.fil.storage, segment)


def test_deleting_from_a_fil1_index_fails_and_changes_nothing(tmp_path: Path) -> None:
    """Deletes and updates through Whoosh's writer raise; the segment is left as it was."""
    build_index([EDGE], tmp_path / "index")
    ix = segment_whoosh(tmp_path / "index")
    w = ix.writer()
    with pytest.raises(NotImplementedError, match="immutable"):
        w.delete_document(0)
    w.cancel()
    assert segment_whoosh(tmp_path / "index").doc_count() == len(EDGE.passages())
    assert EmbeddedStore(tmp_path / "index").thread("edge") == replace(EDGE, source="")


def test_adding_to_a_fil1_index_through_whoosh_makes_fil_refuse_it(tmp_path: Path) -> None:
    """ix.writer() does not refuse: it adds a default-codec segment beside the fil1 one.

    Whoosh's answers stay right, but the segment no longer matches Fil's columns, so
    Fil refuses to open it (IndexDamagedError: rebuild) instead of serving part of it.
    """
    build_index([EDGE], tmp_path / "index")
    ix = segment_whoosh(tmp_path / "index")
    with ix.writer() as w:
        w.add_document(content="Les frelons attaquent le rucher.", thread_id="new")
    ix = segment_whoosh(tmp_path / "index")
    codecs = [type(s.codec()).__name__ for s in ix._segments()]  # noqa: SLF001
    assert codecs == ["FilCodec", "W3Codec"]
    with ix.searcher() as s:
        assert s.doc_count() == len(EDGE.passages()) + 1
        assert s.stored_fields(0)["content"] == EDGE_TEXTS[0]
        [hit] = s.search(term("frelons"), limit=None)
        assert hit["thread_id"] == "new"
        assert len(s.search(QUERIES["phrase repeated"], limit=None)) == 1
    with pytest.raises(IndexDamagedError, match="Whoosh"):
        embedded(tmp_path / "index").search("frelons")


# -- the postings builder --------------------------------------------------------------


def per_document(fd: FieldData, doc_count: int) -> list[dict[str, list[int]]]:
    """Rebuild each document's {term: positions} from a FieldData's arrays."""
    assert fd.positions is not None and fd.pstart is not None
    docs: list[dict[str, list[int]]] = [{} for _ in range(doc_count)]
    for i, t in enumerate(fd.terms):
        at = int(fd.pstart[i])
        ids = fd.ids[fd.tstart[i]:fd.tstart[i + 1]]
        assert len(ids) and np.all(np.diff(ids) > 0), t  # each document once, ascending
        for d, f in zip(ids.tolist(), fd.freqs[fd.tstart[i]:fd.tstart[i + 1]].tolist(),
                        strict=True):
            docs[d][t] = fd.positions[at:at + f].tolist()
            at += f
        assert at == fd.pstart[i + 1], t
    return docs


def build(texts: list[str]) -> tuple[FieldData, int]:
    """Postings of ``texts``, and how many passages were flushed before ``finish``."""
    builder = PostingsBuilder(analyzer())
    for text in texts:
        builder.add(text)
    flushed = builder.doc_count
    fd = builder.finish()
    assert builder.doc_count == len(texts)
    return fd, flushed


@pytest.mark.parametrize("flush_chars", [postings.FLUSH_CHARS, 40, 1])
def test_builder_gives_the_analyzer_positions(
        threads: list[Thread], monkeypatch: pytest.MonkeyPatch, flush_chars: int) -> None:
    """Every passage's postings are exactly FrenchAnalyzer.positions, however it flushes."""
    monkeypatch.setattr(postings, "FLUSH_CHARS", flush_chars)
    long = " ".join(threads[0].paragraphs)  # about 900 words: more than a flush
    texts = [*EDGE_TEXTS, long, *(p.text for t in threads for p in t.passages()), "", ""]
    fd, flushed = build(texts)
    assert fd.positions is not None
    # with a small buffer most passages are flushed before finish() (not the last, empty ones)
    assert (flushed > 0) == (flush_chars < len(long)) and flushed <= len(texts) - 2
    assert fd.terms == sorted(set(fd.terms))
    assert len(fd.tstart) == len(fd.pstart) == len(fd.terms) + 1
    expected = [analyzer().positions(text) for text in texts]
    assert per_document(fd, len(texts)) == expected
    assert fd.lengths.tolist() == [sum(map(len, e.values())) for e in expected]
    assert fd.freqs.sum() == len(fd.positions) == fd.lengths.sum()
    assert expected[0] == expected[1] == {} and expected[2]["hautdeb"] == [1]


def test_flushing_does_not_change_the_arrays(threads: list[Thread],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Several flushes give the very arrays of one flush."""
    texts = [p.text for t in threads for p in t.passages()]
    once, _ = build(texts)
    monkeypatch.setattr(postings, "FLUSH_CHARS", 300)
    several, flushed = build(texts)
    assert 0 < flushed < len(texts) and once.terms == several.terms
    for name in ["tstart", "ids", "freqs", "lengths", "positions", "pstart"]:
        assert np.array_equal(getattr(once, name), getattr(several, name)), name


@pytest.mark.parametrize("texts", [
    ["avant \x00 après", "le \x00", "\x00", "fin"],  # the separator chunk inside texts
    ["x\x00y débit", "débits"],
])
def test_builder_with_the_separator_in_the_text(texts: list[str]) -> None:
    """Texts holding the chunk put between passages still get their own positions."""
    fd, _ = build(texts)
    assert per_document(fd, len(texts)) == [analyzer().positions(t) for t in texts]


def test_add_many_is_add_one_by_one(threads: list[Thread]) -> None:
    """Adding a thread's passages at once gives the same arrays as one at a time."""
    texts = [p.text for t in threads for p in t.passages()]
    one, _ = build(texts)
    builder = postings.PostingsBuilder(analyzer())
    builder.add_many(texts[:7])
    builder.add_many(texts[7:])
    many = builder.finish()
    assert one.terms == many.terms
    for name in ["tstart", "ids", "freqs", "lengths", "positions", "pstart"]:
        assert np.array_equal(getattr(one, name), getattr(many, name)), name


@pytest.mark.parametrize("texts", [[], [""], ["le la les", "", "de et"]])
def test_builder_without_terms(texts: list[str]) -> None:
    """No passages, or passages without a term: no terms, zero lengths."""
    fd, _ = build(texts)
    assert fd.positions is not None and fd.pstart is not None
    assert fd.terms == [] and fd.tstart.tolist() == fd.pstart.tolist() == [0]
    assert len(fd.ids) == len(fd.positions) == 0
    assert fd.lengths.tolist() == [0] * len(texts)


def test_positions_ascend_when_a_compound_part_folds_away(tmp_path: Path) -> None:
    """'𠀀-débit' repeats 'deb' (part, then joined form at the first position): sorted."""
    assert analyzer().positions("𠀀-débit débit") == {"deb": [0, 1, 2]}
    build_index([Thread(id="cjk", title="t", paragraphs=("𠀀-débit débit",))], tmp_path / "ix")
    with segment_whoosh(tmp_path / "ix").searcher() as s:
        m = s.reader().postings("content", "deb")
        assert m.value_as("positions") == [0, 1, 2]


def test_code_tables_and_missing_values_round_trip(tmp_path: Path) -> None:
    """Code tables and text columns keep None apart from "" when written and opened again."""
    from indexer.store.whoosh.codec import (
        CodeColumn,
        SegmentData,
        SegmentStore,
        TextColumn,
        write_segment,
    )

    storage = FileStorage(str(tmp_path)).create()
    storage.create_index(passage_schema(), "t")
    table = ["Élodie", None, "", "zoé"]
    data = SegmentData(doc_count=4, fields={}, stored={
        "who": CodeColumn(np.array([0, -1, 2, 1], dtype=np.int32), table),
        "when": TextColumn([None, "2009-02-05", "", None]),
    })
    seg = write_segment(storage, "t", data)
    store = SegmentStore(str(tmp_path), seg.make_filename(""))
    col = store.stored["who"]
    assert list(col.table) == table  # type: ignore[union-attr]
    assert [col.table[i] for i in range(4)] == table  # type: ignore[union-attr]
    assert [store.text("when", d) for d in range(4)] == [None, "2009-02-05", "", None]
    assert [store.stored_fields(d) for d in range(4)] == [
        {"who": "Élodie"}, {"when": "2009-02-05"}, {"who": "", "when": ""}, {}]
