"""The PostgreSQL IndexStore: generations as tables, published and locked by the database.

A generation is written in one transaction (its tables, rows and indexes, its row in
citebot_generations and the live pointer), so a killed indexer leaves the previous generation
live and nothing behind, and a reader sees a generation whole or not at all. The transaction
opens only once everything is embedded (the rows wait in memory until then): a long embedding
never holds a transaction open. The one writer is serialised by a session advisory lock,
released by the server when the writer's connection ends. Database errors reach the user as
domain errors (pg_schema.db_errors). Schema: index/stores/postgres/schema.py; reads: index/stores/postgres/view.py.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from index.errors import IndexCorruptError, IndexLockedError
from index.manifest import check_format
from index.records import Article
from index.secrets import redact_url
from index.stores.base import GenerationWriter, IndexStore
from index.stores.embedded import dense
from index.stores.postgres.schema import (
    HNSW_THRESHOLD,
    LOCK_KEY,
    Link,
    connect,
    db_errors,
    ensure_schema,
    generation_name,
    generation_tables,
    search_indexes,
    table,
)
from index.stores.postgres.view import PgView

_CHUNK_COLUMNS = 'id, article_id, start, "end", text, text_sha, title, date, terms, embedding'
_CHUNK_TYPES = ["int4", "int4", "int4", "int4", "text", "text", "text", "text", "int4", "vector"]


def _has_schema(conn: Any) -> bool:
    """Whether the shared tables exist; once they do, the connection learns the vector type."""
    from pgvector.psycopg import register_vector

    ready = bool(conn.execute("SELECT to_regclass('citebot_live') IS NOT NULL").fetchone()[0])
    if ready:
        register_vector(conn)
    return ready


class PgStore(IndexStore):
    """The index in one PostgreSQL database (with pgvector and unaccent)."""

    def __init__(self, url: str, link: Link, ready: bool, hnsw_threshold: int = HNSW_THRESHOLD) -> None:
        self.url = url
        self.where = redact_url(url)
        self.hnsw_threshold = hnsw_threshold  # chunks above which a generation gets an HNSW index
        self._link = link  # shared with the views it opens
        self._ready = ready  # only True is cached: an index may be created after this store opened

    @classmethod
    def open(cls, url: str, create: bool = False, hnsw_threshold: int = HNSW_THRESHOLD) -> PgStore:
        """Connect; with create, make the schema if missing (a read-only replica is opened without it)."""
        link = Link(url, connect(url))
        try:
            if create:
                link.run(lambda conn: ensure_schema(conn, url))
            ready = link.run(_has_schema)
        except BaseException:
            link.conn.close()
            raise
        return cls(url, link, ready, hnsw_threshold)

    def _live(self) -> tuple[int, dict[str, Any]] | None:
        if not self._ready:
            self._ready = self._link.run(_has_schema)
            if not self._ready:
                return None
        row = self._link.run(lambda conn: conn.execute("SELECT g.number, g.manifest FROM citebot_live l "
                                                       "JOIN citebot_generations g USING (number)").fetchone())
        return (int(row[0]), row[1]) if row else None

    def live_generation(self) -> str | None:
        """Name of the live generation, or None."""
        live = self._live()
        return generation_name(live[0]) if live else None

    def open_live(self) -> PgView | None:
        """The live generation, or None when none was published."""
        live = self._live()
        if live is None:
            return None
        check_format(live[1], self.where)
        return PgView(self._link, live[0], live[1])

    def open_for_update(self) -> tuple[PgView | None, str | None]:
        """The live generation checked against its manifest, or (None, what is wrong)."""
        view = self.open_live()
        if view is not None and view.counts() != (view.manifest.get("chunks"), view.manifest.get("articles")):
            return None, f"{view.generation} does not match its manifest"
        return view, None

    @contextmanager
    def lock(self, wait: bool = False) -> Iterator[None]:
        """A session advisory lock on its own connection (released by the server if the process dies)."""
        conn = connect(self.url)
        try:
            with db_errors(self.url):
                if wait:
                    conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
                elif not conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()[0]:
                    raise IndexLockedError(f"another 'citebot index' run holds the lock on {self.where}; "
                                           "wait for it to finish and run the command again")
            yield
        finally:
            conn.close()  # ends the session, which releases the lock

    def recover(self) -> str | None:
        """Nothing to recover: the live pointer changes in the same transaction as the generation."""
        return None

    @contextmanager
    def writer(self) -> Iterator[PgWriter]:
        """A new generation, buffered until publish writes it in one transaction."""
        if not self._ready:
            self._link.run(lambda conn: ensure_schema(conn, self.url))
            self._ready = True
        yield PgWriter(self.url, self.hnsw_threshold)

    def prune(self, strict: bool = True) -> None:
        """Drop generations older than the live one's predecessor (a reader may still use that one)."""
        if self._ready:
            self._link.run(_prune)


def _prune(conn: Any) -> None:
    with conn.transaction():
        live = conn.execute("SELECT number FROM citebot_live").fetchone()
        if live is None:
            return
        old = [r[0] for r in conn.execute(
            "SELECT number FROM citebot_generations WHERE number < %s ORDER BY number DESC OFFSET 1", (live[0],))]
        for number in old:
            for part in ("postings", "chunks", "articles"):
                conn.execute(f"DROP TABLE IF EXISTS {table(number, part)}")
        conn.execute("DELETE FROM citebot_generations WHERE number = ANY(%s)", (old,))


def postings(terms: list[list[str]]) -> Iterator[tuple[str, int, bytes, bytes]]:
    """Each term's posting list: (term, document frequency, chunk ids as int32, term counts as uint16)."""
    lists: dict[str, tuple[list[int], list[int]]] = {}
    for chunk_id, chunk_terms in enumerate(terms):
        for term, tf in Counter(chunk_terms).items():
            ids, tfs = lists.setdefault(term, ([], []))
            ids.append(chunk_id)
            tfs.append(min(tf, 65535))
    for term, (ids, tfs) in lists.items():
        yield term, len(ids), np.asarray(ids, np.int32).tobytes(), np.asarray(tfs, np.uint16).tobytes()


class PgWriter(GenerationWriter):
    """Buffers one generation's rows; publish writes them in one transaction and commits it."""

    def __init__(self, url: str, hnsw_threshold: int = HNSW_THRESHOLD) -> None:
        self.url = url
        self.where = redact_url(url)
        self.hnsw_threshold = hnsw_threshold
        self.published = False
        self._articles: list[tuple[Any, ...]] = []
        self._chunks: list[tuple[Any, ...]] = []

    def add_article(self, article: Article, chunks: list[tuple[int, int, str]]) -> None:
        """Queue an article row and its chunk rows (sent, with their vectors, at publish)."""
        if self.published:
            raise RuntimeError("the generation was already published")
        article_id = len(self._articles)
        self._articles.append((article_id, article.path, article.kind, article.encoding, article.sha256,
                               article.title, article.date, article.body_start, article.body_end, article.text))
        self._chunks += [(len(self._chunks) + i, article_id, start, end, article.text[start:end], sha,
                          article.title, article.date) for i, (start, end, sha) in enumerate(chunks)]

    def publish(self, vectors: np.ndarray, terms: list[list[str]], manifest: dict[str, Any]) -> None:
        """In one transaction: the tables, rows, vectors, postings and indexes, checked, then live; commit."""
        if self.published:
            raise RuntimeError("the generation was already published")
        conn = connect(self.url, autocommit=False)
        try:
            with db_errors(self.url):
                self._write(conn, vectors, terms, manifest)
                conn.commit()
            self.published = True
        finally:
            conn.close()  # without a commit the server rolls the transaction back: nothing is left

    def _write(self, conn: Any, vectors: np.ndarray, terms: list[list[str]], manifest: dict[str, Any]) -> None:
        number = int(conn.execute("SELECT nextval('citebot_generation_seq')").fetchone()[0])
        conn.execute(generation_tables(number))
        with conn.cursor().copy(f"COPY {table(number, 'articles')} FROM STDIN") as copy:
            for row in self._articles:
                copy.write_row(row)
        size, dim = len(self._chunks), int(vectors.shape[1])
        chunks = table(number, "chunks")
        conn.execute("SET LOCAL maintenance_work_mem = '512MB'")
        conn.execute(f"ALTER TABLE {chunks} ADD COLUMN embedding vector({dim}) NOT NULL")
        with conn.cursor().copy(f"COPY {chunks} ({_CHUNK_COLUMNS}) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(_CHUNK_TYPES)
            for row, chunk_terms, vector in zip(self._chunks, terms, vectors):
                copy.write_row((*row, len(chunk_terms), np.asarray(vector, dtype=np.float32)))
        with conn.cursor().copy(f"COPY {table(number, 'postings')} FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["text", "int4", "bytea", "bytea"])
            for posting in postings(terms):
                copy.write_row(posting)
        indexes = search_indexes(number, size, self.hnsw_threshold)
        for statement in indexes:
            conn.execute(statement)
        conn.execute(f"ANALYZE {chunks}")
        mean, cov = dense.score_stats(vectors)
        lengths = np.asarray([len(t) for t in terms], dtype=np.int32)
        manifest = {**manifest, "store": "postgresql", "vectors": "hnsw" if any("hnsw" in s for s in indexes)
                    else "exact"}
        conn.execute("INSERT INTO citebot_generations (number, manifest, lengths, dense_mean, dense_cov) "
                     "VALUES (%s, %s, %s, %s, %s)", (number, json.dumps(manifest), lengths.tobytes(),
                                                     np.asarray(mean, np.float64).tobytes(),
                                                     np.asarray(cov, np.float64).tobytes()))
        self._check(conn, number, manifest)
        conn.execute("INSERT INTO citebot_live (number) VALUES (%s) "
                     "ON CONFLICT (one) DO UPDATE SET number = EXCLUDED.number", (number,))

    def _check(self, conn: Any, number: int, manifest: dict[str, Any]) -> None:
        """The rows written are those the manifest counts (else nothing is published)."""
        view = PgView(Link(self.url, conn, reconnect=False), number, manifest)
        if view.counts() != (manifest["chunks"], manifest["articles"]):
            raise IndexCorruptError(f"the generation written to {self.where} does not match its manifest; "
                                    "nothing was published")
