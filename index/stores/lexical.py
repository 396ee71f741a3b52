"""BM25 over analyzer terms (bm25s), saved beside each generation."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

# Lower than the usual 1.2 / 0.75: a term repeated in a passage adds little, and long passages
# are barely penalised; best on PIAF next to the dense signal (docs/BENCHMARKS.md). A change
# needs an ANALYZER_VERSION bump, as saved indexes keep the values they were built with.
BM25_K1 = 0.5
BM25_B = 0.5


class Lexical:
    """A BM25 index whose `scores` covers every chunk, so scores can be z-normalised."""

    def __init__(self, retriever, size: int) -> None:
        self.retriever = retriever
        self.size = size

    @classmethod
    def build(cls, documents: list[list[str]]) -> Lexical:
        """A BM25 index over tokenised documents."""
        import bm25s

        retriever = bm25s.BM25(k1=BM25_K1, b=BM25_B)
        if documents:
            retriever.index(documents, show_progress=False)
        return cls(retriever, len(documents))

    def save(self, folder: Path) -> None:
        """Write the index into a folder."""
        if self.size:
            self.retriever.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path, size: int) -> Lexical:
        """Read an index written by save(); `size` is the number of chunks it covers."""
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.ERROR)
        if not size:
            return cls(None, 0)
        return cls(bm25s.BM25.load(str(folder), mmap=True, show_progress=False), size)

    def scores(self, terms: list[str]) -> np.ndarray:
        """BM25 score of every chunk for these query terms (zeros when none is known)."""
        if not self.size:
            return np.zeros(0, dtype=np.float32)
        vocab = self.retriever.vocab_dict
        known = [t for t in terms if t in vocab]
        if not known:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self.retriever.get_scores(known), dtype=np.float32)

    def document_frequency(self, terms: list[str]) -> dict[str, int]:
        """How many chunks contain each term (0 for unknown terms)."""
        if not self.size:
            return {t: 0 for t in terms}
        vocab = self.retriever.vocab_dict
        indptr = self.retriever.scores["indptr"]
        return {t: int(indptr[vocab[t] + 1] - indptr[vocab[t]]) if t in vocab else 0 for t in terms}
