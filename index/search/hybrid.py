"""Hybrid retrieval: French-aware BM25 fused with dense FAISS scores.

Fusion adds z-normalised scores, BM25 at weight 1 and dense at `dense_weight`. On PIAF it beats
min-max normalisation, z-scores over the candidates only and reciprocal-rank fusion (RRF loses
2-3 points of recall@5): standardised scores keep each signal's confidence, so a rare exact
match can outvote the dense signal and the reverse (docs/BENCHMARKS.md has the numbers).

The Searcher reads the index only through an IndexView (index/stores/base.py), and embeds questions
through an Embedder (index/embedding/base.py).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from index.articles.dating import MONTHS
from index.embedding.base import Embedder
from index.embedding.factory import embedder_for
from index.errors import IndexMismatchError, IndexMissingError, InputError
from index.manifest import check_compatible
from index.records import Hit, Period, SearchResult
from index.search.analyzer import Analyzer
from index.search.period import combine, find_period, flag_period
from index.search.question import admit_question
from index.settings import SearchSettings
from index.stores.base import IndexStore, IndexView
from index.stores.factory import open_store

MODES = ("hybrid", "lexical", "dense")
# A question's exact word forms ('='-prefixed analyzer terms) repeat what its stems already match;
# at half weight they still reward the very word used (+0.2 point recall@5 on PIAF over full weight).
EXACT_WEIGHT = 0.5
# A question's period spanning more years than this is not looked for in the passages' words.
MENTION_YEARS = 3
# A period leaving at most this many chunks is scored exactly against the question's vector; past it,
# ever wider nearest-neighbour searches are filtered until enough chunks of the period are found.
EXACT_DENSE_CHUNKS = 50_000


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
    """Answers `search` queries against one index generation, models loaded once.

    Given the store it was opened from, it follows the store's live generation (refresh).
    """

    def __init__(self, reader: IndexView, settings: SearchSettings, embedder: Embedder | None = None,
                 store: IndexStore | None = None) -> None:
        check_compatible(reader.manifest, settings)
        self.reader = reader
        self.settings = settings
        self.store = store
        self.analyzer = Analyzer(settings.index.language)
        self.embedder = embedder or embedder_for(settings.index)
        self._dim_checked = False
        self._dated: tuple[object, tuple[int, str | None]] | None = None  # (reader, its dated_articles())

    @classmethod
    def open(cls, settings: SearchSettings, embedder: Embedder | None = None,
             store: IndexStore | None = None) -> Searcher:
        """Open the live index of settings.index.home; IndexMissingError when there is none."""
        store = store or open_store(settings)
        reader = store.open_live()
        if reader is None:
            raise IndexMissingError(f"no index in {settings.index.location}; run: citebot index")
        return cls(reader, settings, embedder, store)

    def refresh(self) -> None:
        """Follow the live generation, so a long-running chat or bot sees a re-index."""
        if self.store is None:
            return  # opened on a view given by the caller (scripts)
        live = self.store.live_generation()
        if live is None or live == self.reader.generation:
            return
        reader = self.store.open_live()
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

    def _mentioning(self, period: Period) -> np.ndarray:
        """Chunks that name a year of the period (and, within one year, one of its months, in French or English).

        A question's period may be when the event happened ("rencontré en 2019"), told by a later
        article: passages that name the period are of it too, whatever their article's date.
        """
        if not period.since or not period.until or period.since == period.until:  # open, or one day: dates only
            return np.zeros(0, dtype=np.int64)
        since, until = dt.date.fromisoformat(period.since), dt.date.fromisoformat(period.until)
        if until.year - since.year > MENTION_YEARS:
            return np.zeros(0, dtype=np.int64)
        named = self._any_term([str(y) for y in range(since.year, until.year + 1)])
        if since.year == until.year and (since.month, until.month) != (1, 12):
            names = [m for m, n in MONTHS.items() if since.month <= n <= until.month]
            named &= self._any_term(names)
        return np.flatnonzero(named)

    def _any_term(self, words: list[str]) -> np.ndarray:
        """Whether each chunk holds one of these words (by their exact forms in the BM25 index)."""
        terms = [t for w in words for t in self.analyzer.terms(w) if t.startswith("=")]
        return self.reader.lexical_scores(terms) > 0 if terms else np.zeros(self.reader.size, dtype=bool)

    def _lexical(self, question: str) -> np.ndarray:
        terms = self.analyzer.terms(question)
        exact = [t for t in terms if t.startswith("=")]
        scores = self.reader.lexical_scores([t for t in terms if not t.startswith("=")])
        if exact:
            scores = scores + EXACT_WEIGHT * self.reader.lexical_scores(exact)
        return _zscore(scores, float(scores.mean()), float(scores.std()))

    def _dense_z(self, vector: np.ndarray, ids: np.ndarray) -> np.ndarray:
        mean, std = self.reader.dense_moments(vector)
        return _zscore(self.reader.dense_similarities(vector, ids), mean, std)

    def scores(self, question: str, mode: str = "hybrid",
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Candidate chunk ids with their lexical and dense z-scores; only `allowed` ids (sorted) when given."""
        size = self.reader.size if allowed is None else len(allowed)
        n = min(self.settings.retrieval.candidates, size)
        lexical: np.ndarray | None = None
        if mode in ("hybrid", "lexical"):
            lexical = self._lexical(question)  # z-scores over the whole index, whatever the period
            pool = np.arange(size) if allowed is None else allowed
            lex_ids = pool[np.argpartition(-lexical[pool], n - 1)[:n]] if n < size else pool
            if mode == "lexical":
                return lex_ids, lexical[lex_ids], np.zeros(len(lex_ids))
        vector = self._query_vector(question)
        dense_ids = (self.reader.dense_candidates(vector, n) if allowed is None
                     else self._dense_within(vector, allowed, n))
        if lexical is None:  # dense mode
            return dense_ids, np.zeros(len(dense_ids)), self._dense_z(vector, dense_ids)
        ids = np.union1d(lex_ids, dense_ids)
        return ids, lexical[ids], self._dense_z(vector, ids)

    def _dense_within(self, vector: np.ndarray, allowed: np.ndarray, n: int) -> np.ndarray:
        """The n chunks among `allowed` nearest to the vector."""
        if len(allowed) <= EXACT_DENSE_CHUNKS:
            similarities = self.reader.dense_similarities(vector, allowed)
            return allowed[np.argsort(-similarities, kind="stable")[:n]]
        wanted = n * 4
        while True:  # the nearest chunks overall, filtered: widened until n of the period are among them
            found = self.reader.dense_candidates(vector, wanted)
            kept = found[np.isin(found, allowed)]
            if len(kept) >= n or wanted >= self.reader.size:
                return kept[:n]
            wanted *= 4

    def period(self, question: str) -> Period | None:
        """The publication dates the search is restricted to: --since/--until, and the period the question names.

        A question's period counts only when the index has dated articles; a month or day without
        its year is read against the newest article's date (index/search/period.py says why).
        """
        flags = flag_period(self.settings.retrieval.since, self.settings.retrieval.until)
        if self._dated is None or self._dated[0] is not self.reader:
            self._dated = (self.reader, self.reader.dated_articles())
        count, newest = self._dated[1]
        if not count or newest is None:  # nothing could be of any period: the question's words stay words
            return flags
        return combine(find_period(question, dt.date.fromisoformat(newest), "newest article"), flags)

    def search(self, question: str, k: int | None = None, mode: str = "hybrid") -> SearchResult:
        """The k best chunks for a question, restricted to the period it names or --since/--until give."""
        question = check_question(question, self.settings)
        if mode not in MODES:
            raise InputError(f"unknown search mode {mode!r} (one of {', '.join(MODES)})")
        k = k or self.settings.retrieval.k
        if k < 1:
            raise InputError("k must be at least 1")
        self.refresh()
        period = self.period(question)
        if self.reader.size == 0:
            return SearchResult(question, (), period)
        allowed = None if period is None else self.reader.chunk_ids_dated(period.since, period.until)
        flags = self.settings.retrieval.since or self.settings.retrieval.until
        if allowed is not None and period is not None and not flags:  # the question's own period
            allowed = np.union1d(allowed, self._mentioning(period)).astype(allowed.dtype)
        if allowed is not None and len(allowed) == 0:
            return SearchResult(question, (), period)  # no article of that period: nothing to rank
        ids, lex, dense = self.scores(question, mode, allowed)
        weight = {"hybrid": self.settings.retrieval.dense_weight, "lexical": 0.0, "dense": 1.0}[mode]
        order, fused = fuse(ids, lex, dense, weight, k)
        chunks = self.reader.chunks([int(ids[i]) for i in order])
        hits = tuple(Hit(rank=r + 1, chunk=c, score=float(fused[i]), lexical=float(lex[i]), dense=float(dense[i]))
                     for r, (i, c) in enumerate(zip(order, chunks)))
        return SearchResult(question, hits, period)
