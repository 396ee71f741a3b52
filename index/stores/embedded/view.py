"""The embedded store's IndexView: one generation folder's SQLite, vectors, FAISS and BM25 files."""

from __future__ import annotations

import sqlite3
import zipfile
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from index.errors import IndexCorruptError
from index.records import Article, Chunk
from index.stores.base import Ids, IndexView
from index.stores.embedded import dense
from index.stores.embedded import home as layout
from index.stores.lexical import Lexical

_ARTICLE_COLUMNS = "path, kind, encoding, sha256, text, title, date, body_start, body_end"
# A date the period filter can compare as text (an index written before dates were normalised may hold others).
_DATED = "date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*'"
# What numpy, FAISS (RuntimeError, MemoryError for absurd sizes), bm25s and SQLite raise on
# missing, truncated or garbled files.
_UNREADABLE = (OSError, ValueError, RuntimeError, KeyError, IndexError, TypeError, EOFError,
               MemoryError, zipfile.BadZipFile, sqlite3.Error)
_T = TypeVar("_T")


def _article(row: tuple[Any, ...]) -> Article:
    return Article(*row)


def verify_folder(folder: Path) -> None:
    """Check a just-written generation before publishing it; DamagedGeneration names a broken part."""
    # FAISS only prints a failed close and numpy can lose a short write: a full disk may leave a
    # truncated file behind without any error, which reading everything back catches.
    reader = IndexReader(folder)
    try:
        reader.verify()
    finally:
        reader.db.close()


class IndexReader(IndexView):
    """An immutable generation folder; safe to share between threads (reads only)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.generation = folder.name
        self.manifest = layout.read_manifest(folder)
        # Parts are loaded on first use; a missing one is reported now rather than mid-search.
        self._require("store.sqlite", "vectors.npy", "dense.faiss", "dense_stats.npz")
        self.db = self._load("store.sqlite", lambda: layout.connect(folder / "store.sqlite", readonly=True))
        self.size = self._load("store.sqlite", lambda: self.db.execute("SELECT count(*) FROM chunks").fetchone()[0])
        if self.size:
            self._require("bm25")  # not written for an empty index

    @classmethod
    def open_current(cls, home: Path) -> IndexReader | None:
        """The live generation of a home folder, or None when there is none yet."""
        folder = layout.current_generation(home)
        for _ in range(2):
            if folder is None:
                return None
            try:
                return cls(folder)
            except IndexCorruptError:
                # A writer may have pruned the folder between reading the pointer and opening it.
                moved = layout.current_generation(home)
                if moved == folder:
                    raise
                folder = moved
        return cls(folder) if folder else None

    @classmethod
    def open_for_update(cls, home: Path) -> tuple[IndexReader | None, str | None]:
        """The verified live generation and None, or (None, what is broken) when it must be rebuilt."""
        # A damaged pointer or an older format still raises: those need an explicit --rebuild.
        try:
            reader = cls.open_current(home)
            if reader is not None:
                reader.verify()
        except layout.DamagedGeneration as exc:
            return None, exc.problem
        return reader, None

    def verify(self) -> None:
        """Open every part and check it against the manifest; DamagedGeneration names the broken one."""
        chunks, dim = self.manifest.get("chunks"), self.manifest.get("dim")
        if not (isinstance(chunks, int) and isinstance(dim, int)):
            raise layout.DamagedGeneration(self.folder, "manifest.json lacks the chunk count or dimension")
        counts = (self.size, self._load("store.sqlite", self.article_count))
        checks = [
            ("store.sqlite", lambda: counts == (chunks, self.manifest.get("articles"))),
            ("vectors.npy", lambda: self.vectors.shape == (chunks, dim) and self.vectors.dtype == np.float32),
            ("dense.faiss", lambda: (self.faiss.ntotal, self.faiss.d) == (chunks, dim)),
            ("bm25", lambda: self.lexical.fits(chunks)),
            ("dense_stats.npz", lambda: tuple(m.shape for m in self.dense_stats) == ((dim,), (dim, dim))),
        ]
        for part, matches in checks:
            if not matches():
                raise layout.DamagedGeneration(self.folder, f"{part} does not match manifest.json")

    def _require(self, *parts: str) -> None:
        """Raise DamagedGeneration for the first of these parts missing from the folder."""
        for part in parts:
            if not (self.folder / part).exists():
                raise layout.DamagedGeneration(self.folder, f"{part} is missing")

    def _load(self, part: str, load: Callable[[], _T]) -> _T:
        """Run one read of a part, turning the library's error into DamagedGeneration."""
        try:
            return load()
        except FileNotFoundError:
            raise layout.DamagedGeneration(self.folder, f"{part} is missing") from None
        except _UNREADABLE:
            raise layout.DamagedGeneration(self.folder, f"{part} cannot be read") from None

    @cached_property
    def vectors(self) -> np.ndarray:
        """All chunk vectors, memory-mapped."""
        return self._load("vectors.npy", lambda: np.load(self.folder / "vectors.npy", mmap_mode="r"))

    @cached_property
    def faiss(self) -> Any:
        """The FAISS index, loaded on first use."""
        return self._load("dense.faiss", lambda: dense.load_faiss(self.folder / "dense.faiss"))

    @cached_property
    def lexical(self) -> Lexical:
        """The BM25 index, loaded on first use."""
        return self._load("bm25", lambda: Lexical.load(self.folder / "bm25", self.size))

    @cached_property
    def dense_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and covariance of the vectors, for dense z-scores."""
        def load() -> tuple[np.ndarray, np.ndarray]:
            with np.load(self.folder / "dense_stats.npz") as stats:
                return stats["mean"], stats["cov"]

        return self._load("dense_stats.npz", load)

    def article_hashes(self) -> dict[str, str]:
        """Content hash of every indexed article, by path."""
        return dict(self.db.execute("SELECT path, sha256 FROM articles"))

    def article(self, path: str) -> Article | None:
        """One article by path, or None."""
        row = self.db.execute(f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE path = ?", (path,)).fetchone()
        return _article(row) if row else None

    def article_with_chunks(self, path: str) -> tuple[Article, list[Chunk]]:
        """An article and its chunks in order; KeyError when it is not indexed."""
        article = self.article(path)
        if article is None:
            raise KeyError(path)
        rows = self.db.execute(
            'SELECT c.id, c.start, c."end", c.text FROM chunks c JOIN articles a ON a.id = c.article_id '
            "WHERE a.path = ? ORDER BY c.id", (path,))
        return article, [Chunk(i, path, article.title, s, e, t, article.date) for i, s, e, t in rows]

    def vector_ids_by_text(self, paths: list[str]) -> dict[str, int]:
        """Chunk ids keyed by the sha of their indexed text, for the given articles."""
        found: dict[str, int] = {}
        for path in paths:
            rows = self.db.execute("SELECT c.text_sha, c.id FROM chunks c JOIN articles a ON a.id = c.article_id "
                                   "WHERE a.path = ?", (path,))
            found.update(rows)
        return found

    def chunks(self, ids: Ids) -> list[Chunk]:
        """Chunks by id, in the order asked."""
        if len(ids) == 0:
            return []
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f'SELECT c.id, a.path, a.title, c.start, c."end", c.text, a.date FROM chunks c '
            f"JOIN articles a ON a.id = c.article_id WHERE c.id IN ({marks})", [int(i) for i in ids])
        by_id = {row[0]: Chunk(*row) for row in rows}
        return [by_id[int(i)] for i in ids]

    def article_count(self) -> int:
        """Number of indexed articles."""
        return self.db.execute("SELECT count(*) FROM articles").fetchone()[0]

    def dated_articles(self) -> tuple[int, str | None]:
        """How many articles have a publication date, and the newest one."""
        count, newest = self.db.execute(f"SELECT count(*), max(substr(date, 1, 10)) FROM articles WHERE {_DATED}"
                                        ).fetchone()
        return int(count), newest

    def chunk_ids_dated(self, since: str | None, until: str | None) -> np.ndarray:
        """Sorted ids of the chunks whose article is dated within [since, until]."""
        rows = self.db.execute(
            f"SELECT c.id FROM chunks c JOIN articles a ON a.id = c.article_id WHERE {_DATED} "
            "AND substr(a.date, 1, 10) BETWEEN ? AND ? ORDER BY c.id", (since or "0000-00-00", until or "9999-99-99"))
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def chunk_vectors(self, ids: Ids) -> np.ndarray:
        """The stored vectors of these chunks, in the order asked."""
        wanted = np.asarray(ids, dtype=np.int64)
        order = np.argsort(wanted, kind="stable")  # a memory map is read fastest in file order
        out = np.empty((len(wanted), self.dim), dtype=np.float32)
        out[order] = self.vectors[wanted[order]]
        return out

    def lexical_scores(self, terms: list[str]) -> np.ndarray:
        """BM25 score of every chunk for these analyzer terms."""
        return self.lexical.scores(terms)

    def document_frequency(self, terms: list[str]) -> dict[str, int]:
        """How many chunks contain each analyzer term."""
        return self.lexical.document_frequency(terms)

    def dense_candidates(self, vector: np.ndarray, n: int) -> np.ndarray:
        """Ids of the n chunks FAISS finds nearest to a unit vector."""
        _, ids = self.faiss.search(np.asarray(vector, dtype=np.float32)[None, :], n)
        return ids[0][ids[0] >= 0]

    def dense_moments(self, vector: np.ndarray) -> tuple[float, float]:
        """Mean and standard deviation of vector·x over the chunk vectors, from their mean and covariance."""
        # For any query q the mean of q·x over the corpus is q·mean and its variance qᵀ·cov·q.
        mean, cov = self.dense_stats
        return float(vector @ mean), float(np.sqrt(max(float(vector @ cov @ vector), 0.0)))
