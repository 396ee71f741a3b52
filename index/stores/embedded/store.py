"""The embedded IndexStore: generations of SQLite, NumPy, FAISS and BM25 files in a home folder.

home.py lays the home folder out (pointer, lock, publish, prune); view.py reads one generation.
This module ties them into the IndexStore interface and writes new generations.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import IndexCorruptError
from index.records import Article
from index.stores.base import GenerationWriter, IndexStore
from index.stores.embedded import dense
from index.stores.embedded import home as layout
from index.stores.embedded.view import IndexReader, verify_folder
from index.stores.lexical import Lexical


class EmbeddedStore(IndexStore):
    """The index in one home folder; the lock is an flock, generations are folders."""

    def __init__(self, home: Path) -> None:
        self.home = home

    @classmethod
    def open(cls, home: Path, create: bool = False) -> EmbeddedStore:
        """The store of a home folder (created when asked); InputError for an unusable folder."""
        return cls(layout.check_home(Path(home), create))

    def live_generation(self) -> str | None:
        """Name of the folder CURRENT names, or None."""
        folder = layout.current_generation(self.home, strict=False)
        return folder.name if folder else None

    def open_live(self) -> IndexReader | None:
        """The live generation, or None when none was published."""
        return IndexReader.open_current(self.home)

    def open_for_update(self) -> tuple[IndexReader | None, str | None]:
        """The verified live generation, or (None, what is broken)."""
        return IndexReader.open_for_update(self.home)

    def lock(self, wait: bool = False) -> layout.HomeLock:
        """The home folder's flock."""
        return layout.HomeLock(self.home, wait)

    def recover(self) -> str | None:
        """Point CURRENT at the newest generation that verifies, when CURRENT is gone but generations remain."""
        # A writer killed between renaming its folder and swapping the pointer, on the very first
        # run, leaves a generation and no CURRENT; so does a user who deletes the file.
        if layout.has_pointer(self.home):
            return None
        folders = layout.generations(self.home)
        if not folders:
            return None
        for folder in reversed(folders):
            try:
                verify_folder(folder)
            except IndexCorruptError:
                continue
            layout.point_to(self.home, folder)
            return (f"the index in {self.home} had lost its {layout.POINTER} file: recovered {folder.name}, "
                    "its newest complete generation")
        raise IndexCorruptError(f"the index in {self.home} has lost its {layout.POINTER} file and holds no "
                                "complete generation; run: citebot index --rebuild")

    @contextmanager
    def writer(self) -> Iterator[FolderWriter]:
        """A temp folder to write; removed unless published (a full disk becomes one InputError)."""
        with layout.writing(self.home) as tmp:
            writer = FolderWriter(self.home, tmp)
            try:
                yield writer
            finally:
                writer.close()
            if not writer.published:
                shutil.rmtree(tmp, ignore_errors=True)

    def prune(self, strict: bool = True) -> None:
        """Remove temp folders and generations older than the live one's predecessor."""
        layout.prune(self.home, strict)


class FolderWriter(GenerationWriter):
    """Writes one generation folder: SQLite rows as articles come, the rest at publish."""

    def __init__(self, home: Path, folder: Path) -> None:
        self.home = home
        self.folder = folder
        self.published = False
        self._db: sqlite3.Connection | None = layout.connect(folder / "store.sqlite", readonly=False)
        self._articles = 0
        self._chunks = 0

    def add_article(self, article: Article, chunks: list[tuple[int, int, str]]) -> None:
        """Insert an article row and its chunk rows."""
        if self._db is None:
            raise RuntimeError("the generation was already published")
        article_id = self._articles
        self._db.execute("INSERT INTO articles VALUES (?,?,?,?,?,?,?,?,?,?)", (
            article_id, article.path, article.kind, article.encoding, article.sha256, article.title,
            article.date, article.body_start, article.body_end, article.text))
        rows = [(self._chunks + i, article_id, start, end, article.text[start:end], sha)
                for i, (start, end, sha) in enumerate(chunks)]
        self._db.executemany("INSERT INTO chunks VALUES (?,?,?,?,?,?)", rows)
        self._articles += 1
        self._chunks += len(rows)

    def publish(self, vectors: np.ndarray, terms: list[list[str]], manifest: dict[str, Any]) -> None:
        """Write the vectors, FAISS, BM25 and manifest, read everything back, then swap CURRENT."""
        self.close()
        np.save(self.folder / "vectors.npy", vectors)
        mean, cov = dense.score_stats(vectors)
        np.savez(self.folder / "dense_stats.npz", mean=mean, cov=cov)
        dense.save_faiss(dense.build_faiss(vectors), self.folder / "dense.faiss")
        Lexical.build(terms).save(self.folder / "bm25")
        layout.write_manifest(self.folder, {**manifest, "faiss": dense.index_kind(len(vectors))})
        verify_folder(self.folder)  # a full disk can leave a short file without an error
        layout.publish(self.home, self.folder)
        self.published = True

    def close(self) -> None:
        """Commit and close the SQLite file (once)."""
        if self._db is not None:
            self._db.commit()
            self._db.close()
            self._db = None
