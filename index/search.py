"""Hybrid retrieval: French-aware BM25 fused with dense FAISS scores.

Fusion adds z-normalised scores, BM25 at weight 1 and dense at `dense_weight`. Rank fusion
(RRF) with equal weights loses to BM25 alone on PIAF because the English MiniLM is the weaker
signal; standardised scores keep each signal's confidence and let BM25 lead
(docs/BENCHMARKS.md has the numbers).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from index import store
from index.analyzer import Analyzer
from index.builder import check_compatible
from index.embedder import Embedder
from index.errors import IndexMismatchError, IndexMissingError, InputError
from index.models import Hit, SearchResult
from index.question import admit_question
from index.reader import IndexReader
from index.settings import SearchSettings

MODES = ("hybrid", "lexical", "dense")


def check_question(question: str, settings: SearchSettings) -> str:
    """Admit a question under the retrieval settings' length limit."""
    return admit_question(question, settings.retrieval.max_question_chars)


def _zscore(values: np.ndarray, mean: float, std: float) -> np.ndarray:
    return (values - mean) / std if std > 1e-9 else np.zeros_like(values)


def fuse(ids: np.ndarray, lexical: np.ndarray, dense: np.ndarray, dense_weight: float,
         k: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the k best candidates by fused score (ties broken by chunk id), and the scores."""
    fused = lexical + dense_weight * dense
    return np.lexsort((ids, -fused))[:k], fused


class Searcher:
    """Answers `search` queries against one index generation, models loaded once."""

    def __init__(self, reader: IndexReader, settings: SearchSettings, embedder: Embedder | None = None) -> None:
        check_compatible(reader.manifest, settings)
        self.reader = reader
        self.settings = settings
        self.analyzer = Analyzer(settings.index.language)
        self.embedder = embedder or Embedder(settings.index.embed_model, settings.index.embed_batch)
        self._dim_checked = False

    @classmethod
    def open(cls, settings: SearchSettings, embedder: Embedder | None = None) -> "Searcher":
        """Open the live index of settings.index.home; IndexMissingError when there is none."""
        reader = IndexReader.open_current(Path(settings.index.home))
        if reader is None:
            raise IndexMissingError(f"no index in {settings.index.home}; run: citebot index")
        return cls(reader, settings, embedder)

    def refresh(self) -> None:
        """Follow the live generation, so a long-running chat or bot sees a re-index."""
        home = Path(self.settings.index.home)
        if self.reader.folder.parent.resolve() != home.resolve():
            return  # opened on a generation outside the home folder (scripts)
        folder = store.current_generation(home, strict=False)
        if folder is None or folder == self.reader.folder:
            return
        reader = IndexReader.open_current(home)
        if reader is not None:
            check_compatible(reader.manifest, self.settings)
            self.reader, self._dim_checked = reader, False

    def _query_vector(self, question: str) -> np.ndarray:
        vector = self.embedder.encode_query(question)
        if not self._dim_checked:
            if vector.shape[0] != self.reader.dim:
                raise IndexMismatchError(
                    f"the embedding model gives {vector.shape[0]}-dimensional vectors but the index "
                    f"holds {self.reader.dim}; rebuild it with: citebot index --rebuild")
            self._dim_checked = True
        return vector

    def _lexical(self, question: str) -> np.ndarray:
        scores = self.reader.lexical.scores(self.analyzer.terms(question))
        return _zscore(scores, float(scores.mean()), float(scores.std()))

    def _dense_candidates(self, vector: np.ndarray, n: int) -> np.ndarray:
        _, ids = self.reader.faiss.search(vector[None, :].astype(np.float32), n)
        return ids[0][ids[0] >= 0]

    def _dense_z(self, vector: np.ndarray, ids: np.ndarray) -> np.ndarray:
        mean, cov = self.reader.dense_stats
        sims = np.asarray(self.reader.vectors[np.sort(ids)] @ vector)
        order = np.argsort(np.argsort(ids))  # undo the sort needed for memmap fancy indexing
        sims = sims[order]
        return _zscore(sims, float(vector @ mean), float(np.sqrt(max(vector @ cov @ vector, 0.0))))

    def scores(self, question: str, mode: str = "hybrid") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Candidate chunk ids with their lexical and dense z-scores."""
        size = self.reader.size
        n = min(self.settings.retrieval.candidates, size)
        lexical = dense_ids = None
        if mode in ("hybrid", "lexical"):
            lexical = self._lexical(question)
            lex_ids = np.argpartition(-lexical, n - 1)[:n] if n < size else np.arange(size)
        if mode == "lexical":
            return lex_ids, lexical[lex_ids], np.zeros(len(lex_ids))
        vector = self._query_vector(question)
        dense_ids = self._dense_candidates(vector, n)
        ids = dense_ids if mode == "dense" else np.union1d(lex_ids, dense_ids)
        lex = lexical[ids] if lexical is not None else np.zeros(len(ids))
        return ids, lex, self._dense_z(vector, ids)

    def search(self, question: str, k: int | None = None, mode: str = "hybrid") -> SearchResult:
        """The k best chunks for a question."""
        question = check_question(question, self.settings)
        if mode not in MODES:
            raise InputError(f"unknown search mode {mode!r} (one of {', '.join(MODES)})")
        k = k or self.settings.retrieval.k
        if k < 1:
            raise InputError("k must be at least 1")
        self.refresh()
        if self.reader.size == 0:
            return SearchResult(question, ())
        ids, lex, dense = self.scores(question, mode)
        if mode == "dense":
            lex = np.zeros_like(dense)
        weight = {"hybrid": self.settings.retrieval.dense_weight, "lexical": 0.0, "dense": 1.0}[mode]
        order, fused = fuse(ids, lex, dense, weight, k)
        chunks = self.reader.chunks([int(ids[i]) for i in order])
        hits = tuple(Hit(rank=r + 1, chunk=c, score=float(fused[i]), lexical=float(lex[i]), dense=float(dense[i]))
                     for r, (i, c) in enumerate(zip(order, chunks)))
        return SearchResult(question, hits)
