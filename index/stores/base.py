"""The store interface: what search, the answerer and the builder need from wherever an index lives.

An index is a series of immutable generations; one is live. Readers get an IndexView of a
generation; the builder, holding the store's lock, reads the live view and writes the next
generation through a GenerationWriter. The embedded implementation keeps each generation as
SQLite, FAISS and BM25 files in the home folder (index/stores/embedded/store.py, index/stores/embedded/view.py,
index/stores/embedded/home.py); another store (PostgreSQL, say) implements these three classes and is chosen
in open_store (index/stores/factory.py).

Chunk ids are 0..size-1 within a generation, in the order the builder added them.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import numpy as np

from index.records import Article, Chunk

Ids = Sequence[int] | np.ndarray  # chunk ids, as a list or a NumPy integer array
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")  # a stored date the period filter can compare (its first 10 characters)


class IndexView(ABC):
    """A read-only view of one published generation; safe to share between threads."""

    generation: str          # the generation's name, as IndexStore.live_generation gives it
    manifest: dict[str, Any]  # see index/manifest.py
    size: int                # number of chunks

    @property
    def dim(self) -> int:
        """Dimension of the stored vectors."""
        return int(self.manifest["dim"])

    @abstractmethod
    def article_count(self) -> int:
        """Number of indexed articles."""

    @abstractmethod
    def article(self, path: str) -> Article | None:
        """One article by path, or None."""

    @abstractmethod
    def article_hashes(self) -> dict[str, str]:
        """Content hash of every indexed article, by path."""

    @abstractmethod
    def article_with_chunks(self, path: str) -> tuple[Article, list[Chunk]]:
        """An indexed article and its chunks in order; KeyError when it is not indexed."""

    @abstractmethod
    def chunks(self, ids: Ids) -> list[Chunk]:
        """Chunks by id, in the order asked."""

    @abstractmethod
    def vector_ids_by_text(self, paths: list[str]) -> dict[str, int]:
        """Chunk ids of these articles keyed by the sha of their indexed text (for reusing vectors)."""

    @abstractmethod
    def chunk_vectors(self, ids: Ids) -> np.ndarray:
        """The stored vectors of these chunks, in the order asked."""

    @abstractmethod
    def lexical_scores(self, terms: list[str]) -> np.ndarray:
        """BM25 score of every chunk (indexed by chunk id) for these analyzer terms."""

    @abstractmethod
    def document_frequency(self, terms: list[str]) -> dict[str, int]:
        """How many chunks contain each analyzer term (0 for unknown terms)."""

    @abstractmethod
    def dense_candidates(self, vector: np.ndarray, n: int) -> np.ndarray:
        """Ids of (up to) the n chunks whose vectors are nearest to a unit vector."""

    @abstractmethod
    def dense_moments(self, vector: np.ndarray) -> tuple[float, float]:
        """Mean and standard deviation of vector·x over every chunk vector x (for z-scores)."""

    def dense_similarities(self, vector: np.ndarray, ids: Ids) -> np.ndarray:
        """Inner product of a vector with each of these chunks' vectors, in the order asked."""
        return np.asarray(self.chunk_vectors(ids) @ vector)

    # Publication dates. These defaults read every chunk and article through the methods above; the
    # stores answer them with one query each. Dates are compared as YYYY-MM-DD text.

    def dated_articles(self) -> tuple[int, str | None]:
        """How many articles have a publication date, and the newest of those dates (None when none has)."""
        dates = [d for d in (_iso(self.article(p)) for p in self.article_hashes()) if d]
        return len(dates), max(dates, default=None)

    def chunk_ids_dated(self, since: str | None, until: str | None) -> np.ndarray:
        """Sorted ids of the chunks whose article is dated within [since, until] (None: open; undated: out)."""
        chunks = self.chunks(range(self.size))
        dates = {path: _iso(self.article(path)) for path in {c.path for c in chunks}}
        return np.array([c.id for c in chunks if _within(dates[c.path], since, until)], dtype=np.int64)


def _iso(article: Article | None) -> str | None:
    """An article's date as YYYY-MM-DD, None when it has none (or an older index kept it in another form)."""
    date = article.date if article is not None else None
    return date[:10] if date and ISO_DATE.match(date) else None


def _within(date: str | None, since: str | None, until: str | None) -> bool:
    return date is not None and (since is None or since <= date) and (until is None or date <= until)


class GenerationWriter(ABC):
    """A generation being written: articles and chunks first, then vectors and terms, then publish."""

    @abstractmethod
    def add_article(self, article: Article, chunks: list[tuple[int, int, str]]) -> None:
        """Store an article and its chunks as (start, end, sha of the indexed text); ids follow on."""

    @abstractmethod
    def publish(self, vectors: np.ndarray, terms: list[list[str]], manifest: dict[str, Any]) -> None:
        """Build the search structures from each chunk's vector and terms, check them, make them live."""


class IndexStore(ABC):
    """Where an index's generations live: the live view, the writer lock and new generations."""

    @abstractmethod
    def live_generation(self) -> str | None:
        """Name of the live generation, None when there is none or it cannot be told (a cheap check)."""

    @abstractmethod
    def open_live(self) -> IndexView | None:
        """The live generation or None; IndexCorruptError if damaged, LiveGenerationLost if none is marked live."""

    @abstractmethod
    def open_for_update(self) -> tuple[IndexView | None, str | None]:
        """(the checked live view, None), or (None, what is broken) when it must be rebuilt."""

    @abstractmethod
    def lock(self, wait: bool = False) -> AbstractContextManager[Any]:
        """The one-writer lock; IndexLockedError when another holds it and wait is False."""

    @abstractmethod
    def recover(self) -> str | None:
        """With the lock held: mark the newest complete generation live if none is; says so, else None."""

    @abstractmethod
    def writer(self) -> AbstractContextManager[GenerationWriter]:
        """With the lock held: a new generation to write; discarded unless published inside the block."""

    @abstractmethod
    def prune(self, strict: bool = True) -> None:
        """With the lock held: drop unpublished leftovers and generations no reader can still use."""
