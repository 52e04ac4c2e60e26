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
BLOCK = 1 << 22  # elements handled at a time where a whole-array temporary would be big
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
        self._runs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # flushed passages
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
        """Expand the pending passages into (term, position) pairs and per-passage counts."""
        if not self._pending:
            return
        codes, counts = self._split(self._pending)
        n_docs = len(counts)
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
        # terms each passage holds (its length): the words' term counts, summed per passage
        cum = np.concatenate(([0], np.cumsum(nterms, dtype=np.int64)))
        per_doc = cum[first + counts] - cum[first]
        self._runs.append((terms, positions.astype(np.uint32), per_doc.astype(np.int32)))
        self.doc_count += n_docs
        self._pending = []
        self._pending_chars = 0

    def finish(self) -> FieldData:
        """Place every (term, position) pair at its final index, run after run, and cut postings.

        A counting placement, not a global sort: the number of pairs of each term gives
        where its postings start; each run (passages in order) is sorted by term on its
        own (stable: passages, then positions, ascend) and written at the next free
        places of its terms. Memory: the runs, shrinking, plus the two output arrays.
        """
        self._flush()
        n_terms = len(self.terms)
        order_of_terms = sorted(range(n_terms), key=self.terms.__getitem__)
        counts = np.zeros(n_terms, dtype=np.int64)
        for terms, _, _ in self._runs:
            counts += np.bincount(terms, minlength=n_terms)
        total = int(counts.sum())
        starts_ranked = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(counts[order_of_terms], out=starts_ranked[1:])
        cursor = np.empty(n_terms, dtype=np.int64)
        cursor[order_of_terms] = starts_ranked[:-1]
        docs = np.empty(total, dtype=np.int32)
        positions = np.empty(total, dtype=np.uint32)
        lengths = np.empty(self.doc_count, dtype=np.uint32)
        doc0 = 0
        runs, self._runs = self._runs, []
        runs.reverse()
        while runs:
            terms, pos, per_doc = runs.pop()
            n = len(per_doc)
            lengths[doc0:doc0 + n] = per_doc
            run_docs = np.repeat(np.arange(doc0, doc0 + n, dtype=np.int32), per_doc)
            doc0 += n
            o = np.argsort(terms, kind="stable")
            t = terms[o]
            head = np.ones(len(t), dtype=bool)
            head[1:] = t[1:] != t[:-1]
            run_start = np.flatnonzero(head)
            run_len = np.diff(np.append(run_start, len(t)))
            rank = np.arange(len(t), dtype=np.int64) - np.repeat(run_start, run_len)
            dest = cursor[t] + rank
            docs[dest] = run_docs[o]
            positions[dest] = pos[o]
            cursor += np.bincount(terms, minlength=n_terms)
            del terms, pos, per_doc, run_docs, o, t, head, dest, rank, run_len
        new = np.ones(total, dtype=bool)
        if total:
            new[1:] = docs[1:] != docs[:-1]
            new[starts_ranked[:-1][counts[order_of_terms] > 0]] = True
        heads = _flatnonzero32(new)
        del new
        freqs = np.empty(len(heads), dtype=np.uint32)
        for a in range(0, len(heads), BLOCK):  # block by block: no int64 copy of it all
            b = min(a + BLOCK, len(heads))
            nxt = heads[b] if b < len(heads) else total
            freqs[a:b] = np.diff(np.append(heads[a:b], nxt))
        ids = docs[heads]
        del docs
        tstart = np.searchsorted(heads, starts_ranked).astype(np.int64)
        return FieldData(terms=[self.terms[i] for i in order_of_terms], tstart=tstart,
                         ids=ids, freqs=freqs, lengths=lengths, positions=positions,
                         pstart=starts_ranked)


def _flatnonzero32(mask: np.ndarray) -> np.ndarray:
    """Indexes of the True values of a big mask, as int32, found block by block."""
    parts = [np.flatnonzero(mask[a:a + BLOCK]).astype(np.int32) + np.int32(a)
             for a in range(0, len(mask), BLOCK)]
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int32)
