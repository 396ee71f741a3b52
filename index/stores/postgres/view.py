"""The PostgreSQL store's IndexView: one published generation's tables, read-only."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np

from index.records import Article, Chunk
from index.stores.base import Ids, IndexView
from index.stores.lexical import BM25_B, BM25_K1
from index.stores.postgres.schema import HNSW_EF_SEARCH, TS_CONFIG, Link, generation_name, table

_ARTICLE_COLUMNS = "path, kind, encoding, sha256, text, title, date, body_start, body_end"
_EF_SEARCH_MAX = 1000  # pgvector's bound on hnsw.ef_search
# A date the period filter can compare as text (an index written before dates were normalised may hold others).
_DATED = "a.date ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}'"


def bm25(tfs: np.ndarray, df: int, size: int, lengths: np.ndarray, avgdl: float) -> np.ndarray:
    """BM25 contribution of one term to the chunks it occurs in, as bm25s scores it (Lucene idf)."""
    idf = np.log(1 + (size - df + 0.5) / (df + 0.5))
    return idf * tfs / (BM25_K1 * ((1 - BM25_B) + BM25_B * lengths / avgdl) + tfs)


def hnsw_settings(n: int) -> list[str]:
    """SET LOCALs for an HNSW scan that returns n rows: it stops at hnsw.ef_search (at most 1,000) rows
    unless pgvector 0.8's iterative scan goes on (strict_order keeps the exact distance order)."""
    settings = [f"SET LOCAL hnsw.ef_search = {min(max(HNSW_EF_SEARCH, n), _EF_SEARCH_MAX)}"]
    if n > _EF_SEARCH_MAX:
        settings += ["SET LOCAL hnsw.iterative_scan = strict_order",
                     f"SET LOCAL hnsw.max_scan_tuples = {max(20_000, 4 * n)}"]
    return settings


class PgView(IndexView):
    """A published generation in PostgreSQL; its tables are never modified, only dropped by prune."""

    def __init__(self, link: Link, number: int, manifest: dict[str, Any]) -> None:
        self.number = number
        self.generation = generation_name(number)
        self.manifest = manifest
        self.size = int(manifest.get("chunks", 0))
        self._link = link  # the store's connection, shared by the searcher's threads
        self._articles, self._chunks = table(number, "articles"), table(number, "chunks")
        self._posting_table = table(number, "postings")

    def _rows(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        # Binary results: vectors and packed arrays arrive without text parsing.
        return self._link.run(lambda c: c.execute(sql, params, binary=True).fetchall())

    @cached_property
    def _stats(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """BM25 document lengths and the dense mean and covariance, stored with the generation."""
        lengths, mean, cov = self._rows("SELECT lengths, dense_mean, dense_cov FROM citebot_generations "
                                        "WHERE number = %s", (self.number,))[0]
        dim = self.dim
        return (np.frombuffer(lengths, dtype=np.int32).astype(np.float32),
                np.frombuffer(mean, dtype=np.float64).reshape(dim),
                np.frombuffer(cov, dtype=np.float64).reshape(dim, dim))

    def counts(self) -> tuple[int, int]:
        """(chunks, articles) actually stored, to check against the manifest."""
        chunks = self._rows(f"SELECT count(*) FROM {self._chunks}")[0][0]
        return chunks, self.article_count()

    def article_count(self) -> int:
        """Number of indexed articles."""
        return int(self._rows(f"SELECT count(*) FROM {self._articles}")[0][0])

    def article(self, path: str) -> Article | None:
        """One article by path, or None."""
        rows = self._rows(f"SELECT {_ARTICLE_COLUMNS} FROM {self._articles} WHERE path = %s", (path,))
        return Article(*rows[0]) if rows else None

    def article_hashes(self) -> dict[str, str]:
        """Content hash of every indexed article, by path."""
        return dict(self._rows(f"SELECT path, sha256 FROM {self._articles}"))

    def dated_articles(self) -> tuple[int, str | None]:
        """How many articles have a publication date, and the newest one."""
        count, newest = self._rows(f"SELECT count(*), max(substr(date, 1, 10)) FROM {self._articles} a "
                                   f"WHERE {_DATED}")[0]
        return int(count), newest

    def chunk_ids_dated(self, since: str | None, until: str | None) -> np.ndarray:
        """Sorted ids of the chunks whose article is dated within [since, until]."""
        rows = self._rows(f"SELECT c.id FROM {self._chunks} c JOIN {self._articles} a ON a.id = c.article_id "
                          f"WHERE {_DATED} AND substr(a.date, 1, 10) BETWEEN %s AND %s ORDER BY c.id",
                          (since or "0000-00-00", until or "9999-99-99"))
        return np.array([r[0] for r in rows], dtype=np.int64)

    def article_with_chunks(self, path: str) -> tuple[Article, list[Chunk]]:
        """An article and its chunks in order; KeyError when it is not indexed."""
        article = self.article(path)
        if article is None:
            raise KeyError(path)
        rows = self._rows(f'SELECT c.id, c.start, c."end", c.text FROM {self._chunks} c JOIN {self._articles} a '
                          "ON a.id = c.article_id WHERE a.path = %s ORDER BY c.id", (path,))
        return article, [Chunk(i, path, article.title, s, e, t, article.date) for i, s, e, t in rows]

    def vector_ids_by_text(self, paths: list[str]) -> dict[str, int]:
        """Chunk ids keyed by the sha of their indexed text, for the given articles."""
        rows = self._rows(f"SELECT c.text_sha, c.id FROM {self._chunks} c JOIN {self._articles} a "
                          "ON a.id = c.article_id WHERE a.path = ANY(%s) ORDER BY c.id", (list(paths),))
        return dict(rows)

    def chunks(self, ids: Ids) -> list[Chunk]:
        """Chunks by id, in the order asked."""
        wanted = [int(i) for i in ids]
        if not wanted:
            return []
        rows = self._rows(f'SELECT c.id, a.path, a.title, c.start, c."end", c.text, a.date FROM {self._chunks} c '
                          f"JOIN {self._articles} a ON a.id = c.article_id WHERE c.id = ANY(%s)", (wanted,))
        by_id = {row[0]: Chunk(*row) for row in rows}
        return [by_id[i] for i in wanted]

    def chunk_vectors(self, ids: Ids) -> np.ndarray:
        """The stored vectors of these chunks, in the order asked."""
        wanted = [int(i) for i in ids]
        out = np.empty((len(wanted), self.dim), dtype=np.float32)
        if wanted:
            rows = self._rows(f"SELECT id, embedding FROM {self._chunks} WHERE id = ANY(%s)", (wanted,))
            by_id = dict(rows)
            for row, i in enumerate(wanted):
                vector = by_id[i]
                out[row] = vector.to_numpy() if hasattr(vector, "to_numpy") else vector
        return out

    def dense_similarities(self, vector: np.ndarray, ids: Ids) -> np.ndarray:
        """Inner product of a vector with these chunks' vectors, computed by the server (no vectors sent)."""
        wanted = [int(i) for i in ids]
        query = np.asarray(vector, dtype=np.float32)
        rows = self._rows(f"SELECT id, -(embedding <#> %s) FROM {self._chunks} WHERE id = ANY(%s)", (query, wanted))
        by_id = dict(rows)
        return np.array([by_id[i] for i in wanted], dtype=np.float64)

    def _postings(self, terms: list[str]) -> dict[str, tuple[int, np.ndarray, np.ndarray]]:
        rows = self._rows(f"SELECT term, df, ids, tfs FROM {self._posting_table} WHERE term = ANY(%s)",
                          (sorted(set(terms)),))
        return {term: (df, np.frombuffer(ids, dtype=np.int32), np.frombuffer(tfs, dtype=np.uint16))
                for term, df, ids, tfs in rows}

    def lexical_scores(self, terms: list[str]) -> np.ndarray:
        """BM25 score of every chunk, from the stored posting lists (a repeated query term counts twice)."""
        scores = np.zeros(self.size, dtype=np.float32)
        postings = self._postings(terms) if self.size else {}
        if not postings:
            return scores
        lengths = self._stats[0]
        avgdl = float(lengths.mean())
        for term in terms:
            if term in postings:
                df, ids, tfs = postings[term]
                scores[ids] += bm25(tfs.astype(np.float32), df, self.size, lengths[ids], avgdl).astype(np.float32)
        return scores

    def document_frequency(self, terms: list[str]) -> dict[str, int]:
        """How many chunks contain each analyzer term."""
        found = dict(self._rows(f"SELECT term, df FROM {self._posting_table} WHERE term = ANY(%s)", (list(terms),)))
        return {t: int(found.get(t, 0)) for t in terms}

    def dense_candidates(self, vector: np.ndarray, n: int) -> np.ndarray:
        """Ids of the n chunks nearest to a unit vector (HNSW above the threshold, else an exact scan)."""
        sql = f"SELECT id FROM {self._chunks} ORDER BY embedding <=> %s LIMIT %s"
        params = (np.asarray(vector, dtype=np.float32), int(n))
        if self.manifest.get("vectors") != "hnsw":
            return np.array([r[0] for r in self._rows(sql, params)], dtype=np.int64)

        def search(conn: Any) -> list[tuple[Any, ...]]:
            with conn.transaction():
                for setting in hnsw_settings(int(n)):
                    conn.execute(setting)
                return conn.execute(sql, params, binary=True).fetchall()

        return np.array([r[0] for r in self._link.run(search)], dtype=np.int64)

    def dense_moments(self, vector: np.ndarray) -> tuple[float, float]:
        """Mean and standard deviation of vector·x over the chunk vectors, from their mean and covariance."""
        _, mean, cov = self._stats
        return float(vector @ mean), float(np.sqrt(max(float(vector @ cov @ vector), 0.0)))

    def fulltext_ranked(self, question: str, n: int) -> np.ndarray:
        """Ids of the n best chunks by PostgreSQL's own ts_rank_cd (any query word may match), for comparison."""
        sql = (f"WITH q AS (SELECT replace(plainto_tsquery('{TS_CONFIG}', %s)::text, '&', '|') AS t) "
               f"SELECT id FROM {self._chunks}, q WHERE t <> '' AND tsv @@ t::tsquery "
               f"ORDER BY ts_rank_cd(tsv, t::tsquery) DESC, id LIMIT %s")
        return np.array([r[0] for r in self._rows(sql, (question, int(n)))], dtype=np.int64)
