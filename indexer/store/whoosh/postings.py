"""Turn many analysed passages into sorted postings with positions, with numpy.

Adding a passage costs one ``str.split`` and one dictionary lookup per
whitespace-separated chunk: each distinct chunk ("l'entreprise," or "(haut-débit)") is
analysed once (:meth:`FrenchAnalyzer.chunk`) into its terms and their relative
positions — tokens never span whitespace, so this is the same as analysing the whole
text — and a passage is kept as the list of its chunk numbers.
Every ``FLUSH_CHARS`` characters, the pending passages are expanded, vectorised, into
(term, document, position) triples; :meth:`PostingsBuilder.finish` sorts all triples by
term once (a stable sort keeps documents and positions in order) and cuts them into
postings. The positions are exactly those of :meth:`FrenchAnalyzer.positions`.
"""

from __future__ import annotations

from array import array

import numpy as np

from ...analysis import FrenchAnalyzer
from .codec import FieldData

FLUSH_CHARS = 1 << 23  # characters of text buffered before they are expanded into triples
SEPARATOR = "\x00"  # the chunk put between passages when they are split together


class PostingsBuilder:
    """Collects passages (document numbers in add order) and builds one field's postings."""

    def __init__(self, analyzer: FrenchAnalyzer) -> None:
        self.analyzer = analyzer
        self._word_ids: dict[str, int] = {}
        self._term_ids: dict[str, int] = {}
        self.terms: list[str] = []  # term number -> term, in first-seen order
        # per word number: how far it moves the position, its terms and their offsets
        self._advance = array("i")
        self._wstart = array("q", [0])
        self._wterm = array("i")
        self._wrel = array("i")
        self._pending: list[str] = []
        self._pending_chars = 0
        self._triples: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.doc_count = 0
        self._new_word(SEPARATOR)  # word number 0: between passages, no term

    def add(self, text: str) -> None:
        """Add the next passage."""
        self._pending.append(text)
        self._pending_chars += len(text)
        if self._pending_chars >= FLUSH_CHARS:
            self._flush()

    def add_many(self, texts: list[str]) -> None:
        """Add several passages, in order."""
        self._pending.extend(texts)
        self._pending_chars += sum(map(len, texts))
        if self._pending_chars >= FLUSH_CHARS:
            self._flush()

    def terms_of(self, text: str) -> list[str]:
        """The analysed terms of a text, in order (chunks met in passages are not re-read)."""
        out: list[str] = []
        for chunk in text.split():
            wid = self._word_ids.get(chunk)
            if wid is None:  # not in any passage: analyse it without adding its terms
                out.extend(term for term, _, _, _ in self.analyzer.analyse_chunk(chunk)[0])
            else:
                out.extend(self.terms[t] for t in self._wterm[self._wstart[wid]:
                                                               self._wstart[wid + 1]])
        return out

    def _split(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The chunk numbers of all the texts, and how many chunks each text has.

        One ``split`` of the texts joined by a separator chunk; a text holding that
        chunk itself is caught by the count and the texts are split one by one.
        """
        words = f" {SEPARATOR} ".join(texts).split()
        codes = self._codes(words)
        bounds = np.flatnonzero(codes == 0)
        if len(bounds) == len(texts) - 1:
            counts = np.diff(np.concatenate(([-1], bounds, [len(codes)]))) - 1
            return codes[codes != 0], counts.astype(np.int32)
        per_text = [t.split() for t in texts]
        codes = self._codes([w for ws in per_text for w in ws])
        return codes, np.array([len(ws) for ws in per_text], dtype=np.int32)

    def _codes(self, words: list[str]) -> np.ndarray:
        """Chunk numbers of ``words`` (new chunks are analysed first)."""
        for chunk in set(words).difference(self._word_ids):
            self._new_word(chunk)
        return np.fromiter(map(self._word_ids.__getitem__, words), dtype=np.int32,
                           count=len(words))

    def _new_word(self, chunk: str) -> int:
        """Analyse a new whitespace-separated chunk (as FrenchAnalyzer.positions would)."""
        wid = self._word_ids[chunk] = len(self._advance)
        entries, advance = (self.analyzer.analyse_chunk(chunk) if chunk != SEPARATOR
                            else ((), 0))
        # in position order, so that each posting's positions ascend (see positions())
        for term, rel, _, _ in sorted(entries, key=lambda e: e[1]):
            tid = self._term_ids.get(term)
            if tid is None:
                tid = self._term_ids[term] = len(self.terms)
                self.terms.append(term)
            self._wterm.append(tid)
            self._wrel.append(rel)
        self._advance.append(advance)
        self._wstart.append(len(self._wterm))
        return wid

    def _flush(self) -> None:
        """Expand the pending passages into (term, doc, position) triples."""
        if not self._pending:
            return
        codes, counts = self._split(self._pending)
        n_docs = len(counts)
        docs = np.repeat(np.arange(self.doc_count, self.doc_count + n_docs, dtype=np.int32),
                         counts)
        advance = np.frombuffer(self._advance, dtype=np.int32)[codes]
        # position of each word: advances of the words before it in the same passage
        before = np.cumsum(advance, dtype=np.int64) - advance
        first = np.zeros(n_docs, dtype=np.int64)
        np.cumsum(counts[:-1], out=first[1:])
        start_of_doc = np.append(before, 0)[first]
        base = before - np.repeat(start_of_doc, counts)
        wstart = np.frombuffer(self._wstart, dtype=np.int64)
        nterms = (wstart[1:] - wstart[:-1])[codes]
        word_of = np.repeat(np.arange(len(codes), dtype=np.int64), nterms)
        out_first = np.cumsum(nterms) - nterms
        flat = wstart[codes][word_of] + (np.arange(len(word_of), dtype=np.int64)
                                         - out_first[word_of])
        terms = np.frombuffer(self._wterm, dtype=np.int32)[flat]
        positions = (base[word_of] + np.frombuffer(self._wrel, dtype=np.int32)[flat])
        self._triples.append((terms, docs[word_of], positions.astype(np.uint32)))
        self.doc_count += n_docs
        self._pending = []
        self._pending_chars = 0

    def finish(self) -> FieldData:
        """Sort everything by term and cut it into postings."""
        self._flush()
        n_terms = len(self.terms)
        if self._triples:
            terms = np.concatenate([t[0] for t in self._triples])
            docs = np.concatenate([t[1] for t in self._triples])
            positions = np.concatenate([t[2] for t in self._triples])
        else:
            terms = np.empty(0, dtype=np.int32)
            docs = np.empty(0, dtype=np.int32)
            positions = np.empty(0, dtype=np.uint32)
        self._triples = []
        order_of_terms = sorted(range(n_terms), key=self.terms.__getitem__)
        rank = np.empty(n_terms, dtype=np.int32)
        rank[order_of_terms] = np.arange(n_terms, dtype=np.int32)
        terms = rank[terms]
        order = np.argsort(terms, kind="stable")
        terms, docs, positions = terms[order], docs[order], positions[order]
        del order
        lengths = np.bincount(docs, minlength=self.doc_count).astype(np.uint32)
        new = np.ones(len(terms), dtype=bool)
        if len(terms):
            new[1:] = (terms[1:] != terms[:-1]) | (docs[1:] != docs[:-1])
        heads = np.flatnonzero(new)
        freqs = np.diff(np.append(heads, len(terms))).astype(np.uint32)
        ids = docs[heads]
        term_of_posting = terms[heads]
        wanted = np.arange(n_terms + 1, dtype=np.int32)
        tstart = np.searchsorted(term_of_posting, wanted).astype(np.int64)
        pstart = np.searchsorted(terms, wanted).astype(np.int64)
        return FieldData(terms=[self.terms[i] for i in order_of_terms], tstart=tstart,
                         ids=ids, freqs=freqs, lengths=lengths, positions=positions,
                         pstart=pstart)
