"""BM25 over analyzer terms: built and saved by bm25s, read back and scored with NumPy alone.

bm25s precomputes each (term, chunk) BM25 weight into a compressed sparse column matrix. A query
only sums the columns of its terms, so the search path reads those arrays directly (memory-mapped)
and never imports bm25s and SciPy, about a sixth of a cold `citebot ask` (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

# Lower than the usual 1.2 / 0.75: a term repeated in a passage adds little, and long passages
# are barely penalised; best on PIAF next to the dense signal (docs/BENCHMARKS.md). A change
# needs an ANALYZER_VERSION bump, as saved indexes keep the values they were built with.
BM25_K1 = 0.5
BM25_B = 0.5

# The files bm25s writes (format of bm25s 0.2–0.3, "lucene" method: no non-occurrence scores).
_ARRAYS = ("data", "indices", "indptr")
_VOCAB = "vocab.index.json"
_PARAMS = "params.index.json"


class Lexical:
    """A BM25 index whose `scores` covers every chunk, so scores can be z-normalised."""

    def __init__(self, vocab: dict[str, int], columns: dict[str, np.ndarray], size: int,
                 retriever: object | None = None) -> None:
        self.vocab = vocab
        self.columns = columns  # data, indices, indptr of the term × chunk weight matrix
        self.size = size
        self._retriever = retriever  # the bm25s object of a fresh build, kept to save it

    @classmethod
    def build(cls, documents: list[list[str]]) -> Lexical:
        """A BM25 index over tokenised documents."""
        import bm25s

        retriever = bm25s.BM25(k1=BM25_K1, b=BM25_B)
        if not documents:
            return cls({}, {}, 0)
        retriever.index(documents, show_progress=False)
        columns = {name: np.asarray(retriever.scores[name]) for name in _ARRAYS}
        vocab = {t: i for t, i in retriever.vocab_dict.items() if i < len(columns["indptr"]) - 1}
        return cls(vocab, columns, len(documents), retriever)

    def save(self, folder: Path) -> None:
        """Write the index into a folder (bm25s's own format, so bm25s can read it too)."""
        if self.size and self._retriever is not None:
            logging.getLogger("bm25s").setLevel(logging.ERROR)
            self._retriever.save(str(folder), show_progress=False)  # type: ignore[attr-defined]

    @classmethod
    def load(cls, folder: Path, size: int) -> Lexical:
        """Read an index written by save(); `size` is the number of chunks it covers."""
        if not size:
            return cls({}, {}, 0)
        folder = Path(folder)
        params = json.loads((folder / _PARAMS).read_text(encoding="utf-8"))
        if params.get("method", "lucene") not in {"lucene", "robertson", "atire"}:
            raise ValueError(f"unsupported BM25 variant {params.get('method')!r}")
        vocab: dict[str, int] = json.loads((folder / _VOCAB).read_text(encoding="utf-8"))
        columns = {name: np.load(folder / f"{name}.csc.index.npy", mmap_mode="r") for name in _ARRAYS}
        if int(params.get("num_docs", size)) != size:
            raise ValueError("the BM25 files do not match the generation")
        # bm25s lists an empty token past the last column; keep only terms that have one.
        columns_n = len(columns["indptr"]) - 1
        return cls({t: i for t, i in vocab.items() if i < columns_n}, columns, size)

    def scores(self, terms: list[str]) -> np.ndarray:
        """BM25 score of every chunk for these query terms (zeros when none is known)."""
        out = np.zeros(self.size, dtype=np.float32)
        data, indices, indptr = (self.columns.get(name) for name in _ARRAYS)
        for term in terms:  # a repeated query term counts again, as in bm25s
            column = self.vocab.get(term)
            if column is not None and data is not None and indices is not None and indptr is not None:
                start, end = int(indptr[column]), int(indptr[column + 1])
                np.add.at(out, indices[start:end], data[start:end])
        return out

    def fits(self, chunks: int) -> bool:
        """Whether every posting names one of `chunks` chunks (reads the whole index: a damage check)."""
        indices = self.columns.get("indices")
        return self.size == 0 or (indices is not None and int(np.max(indices, initial=-1)) < chunks)

    def document_frequency(self, terms: list[str]) -> dict[str, int]:
        """How many chunks contain each term (0 for unknown terms)."""
        indptr = self.columns.get("indptr")
        if indptr is None:
            return {t: 0 for t in terms}
        return {t: int(indptr[self.vocab[t] + 1] - indptr[self.vocab[t]]) if t in self.vocab else 0 for t in terms}
