"""Read access to one published generation: articles, chunks, vectors and search structures."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np

from index import dense, store
from index.errors import IndexCorruptError
from index.lexical import Lexical
from index.models import Article, Chunk

_ARTICLE_COLUMNS = "path, kind, encoding, sha256, text, title, date, body_start, body_end"


def _article(row) -> Article:
    return Article(*row)


class IndexReader:
    """An immutable generation; safe to share between threads (reads only)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.manifest = store.read_manifest(folder)
        try:
            self.db = store.connect(folder / "store.sqlite", readonly=True)
            self.size = self.db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        except Exception as exc:
            raise IndexCorruptError(f"cannot read the index in {folder.parent} ({exc}); "
                                    "run: citebot index --rebuild") from None

    @classmethod
    def open_current(cls, home: Path) -> "IndexReader | None":
        """The live generation of a home folder, or None when there is none yet."""
        for attempt in range(3):
            folder = store.current_generation(home)
            if folder is None:
                return None
            try:
                return cls(folder)
            except IndexCorruptError:
                # A writer may have pruned the folder between reading the pointer and opening it.
                if attempt == 2 or store.current_generation(home) == folder:
                    raise
        return None

    @property
    def dim(self) -> int:
        """Dimension of the stored vectors."""
        return int(self.manifest["dim"])

    @cached_property
    def vectors(self) -> np.ndarray:
        """All chunk vectors, memory-mapped."""
        return np.load(self.folder / "vectors.npy", mmap_mode="r")

    @cached_property
    def faiss(self):
        """The FAISS index, loaded on first use."""
        return dense.load_faiss(self.folder / "dense.faiss")

    @cached_property
    def lexical(self) -> Lexical:
        """The BM25 index, loaded on first use."""
        return Lexical.load(self.folder / "bm25", self.size)

    @cached_property
    def dense_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and covariance of the vectors, for dense z-scores."""
        stats = np.load(self.folder / "dense_stats.npz")
        return stats["mean"], stats["cov"]

    def article_hashes(self) -> dict[str, str]:
        """Content hash of every indexed article, by path."""
        return dict(self.db.execute("SELECT path, sha256 FROM articles"))

    def article(self, path: str) -> Article | None:
        """One article by path, or None."""
        row = self.db.execute(f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE path = ?", (path,)).fetchone()
        return _article(row) if row else None

    def article_with_chunks(self, path: str) -> tuple[Article, list[Chunk]]:
        """An article and its chunks in order."""
        article = self.article(path)
        rows = self.db.execute(
            'SELECT c.id, c.start, c."end", c.text FROM chunks c JOIN articles a ON a.id = c.article_id '
            "WHERE a.path = ? ORDER BY c.id", (path,))
        return article, [Chunk(i, path, article.title, s, e, t) for i, s, e, t in rows]

    def vector_ids_by_text(self, paths: list[str]) -> dict[str, int]:
        """Chunk ids keyed by the sha of their indexed text, for the given articles."""
        found: dict[str, int] = {}
        for path in paths:
            rows = self.db.execute("SELECT c.text_sha, c.id FROM chunks c JOIN articles a ON a.id = c.article_id "
                                   "WHERE a.path = ?", (path,))
            found.update(rows)
        return found

    def chunks(self, ids: list[int]) -> list[Chunk]:
        """Chunks by id, in the order asked."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f'SELECT c.id, a.path, a.title, c.start, c."end", c.text FROM chunks c '
            f"JOIN articles a ON a.id = c.article_id WHERE c.id IN ({marks})", [int(i) for i in ids])
        by_id = {row[0]: Chunk(*row) for row in rows}
        return [by_id[int(i)] for i in ids]

    def article_count(self) -> int:
        """Number of indexed articles."""
        return self.db.execute("SELECT count(*) FROM articles").fetchone()[0]
