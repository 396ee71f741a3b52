"""The PostgreSQL store's schema: shared tables, one set of tables per generation, connections.

Shared (created on first use):
    citebot_generations  one row per published generation: number, manifest, BM25 document
                         lengths and the dense mean/covariance (packed NumPy arrays)
    citebot_live         one row: the number of the live generation
Per generation N (written and published in one transaction, so never seen half-written):
    citebot_gN_articles  id, path, kind, encoding, sha256, title, date, body offsets, text
    citebot_gN_chunks    id, article_id, start, end, text, text_sha, title, date, terms (BM25 length),
                         embedding vector(dim) (HNSW vector_cosine_ops above HNSW_THRESHOLD chunks),
                         tsv: French full text (unaccent, elisions l'/d'/qu'… removed), GIN-indexed
    citebot_gN_postings  term, df, ids, tfs: the index/search/analyzer.py terms' posting lists, packed
                         (BM25 is scored client-side from them: ts_rank_cd is not BM25, see
                         docs/BENCHMARKS.md)
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from index.errors import CitebotError, IndexCorruptError, InputError
from index.secrets import redact, redact_url

_T = TypeVar("_T")

# Below this many chunks an exact scan is fast and has perfect recall, as FAISS flat in the
# embedded store; above it HNSW keeps latency flat (docs/BENCHMARKS.md, PostgreSQL section).
HNSW_THRESHOLD = 50_000
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64
HNSW_EF_SEARCH = 128
LOCK_KEY = 0x63697465626F74  # "citebot": the advisory lock of the one writer
TS_CONFIG = "citebot_fr"
# French elided articles and pronouns, as index/search/analyzer.py drops them (PostgreSQL's parser
# splits l'économie into "l" and "économie" but keeps "jusqu", "lorsqu"…).
ELISION = r"\m(l|d|j|m|n|s|t|c|qu|jusqu|lorsqu|puisqu|quoiqu|presqu)['’](?=\w)"

SHARED = f"""
CREATE EXTENSION IF NOT EXISTS vector;
CREATE EXTENSION IF NOT EXISTS unaccent;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = '{TS_CONFIG}') THEN
    CREATE TEXT SEARCH CONFIGURATION {TS_CONFIG} (COPY = french);
    ALTER TEXT SEARCH CONFIGURATION {TS_CONFIG}
      ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem;
  END IF;
END $$;
CREATE TABLE IF NOT EXISTS citebot_generations (
    number bigint PRIMARY KEY, manifest jsonb NOT NULL, lengths bytea NOT NULL,
    dense_mean bytea NOT NULL, dense_cov bytea NOT NULL, published timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS citebot_live (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    number bigint NOT NULL REFERENCES citebot_generations
);
CREATE SEQUENCE IF NOT EXISTS citebot_generation_seq;
"""


def table(number: int, part: str) -> str:
    """Name of one of a generation's tables."""
    return f"citebot_g{number}_{part}"


def generation_name(number: int) -> str:
    """The generation's name, as the embedded store names its folders."""
    return f"gen-{number:06d}"


def generation_tables(number: int) -> str:
    """DDL of a generation's article and chunk tables (the vector column's dimension comes at publish)."""
    articles, chunks = table(number, "articles"), table(number, "chunks")
    return f"""
CREATE TABLE {articles} (
    id integer PRIMARY KEY, path text UNIQUE NOT NULL, kind text NOT NULL, encoding text NOT NULL,
    sha256 text NOT NULL, title text NOT NULL, date text, body_start integer NOT NULL,
    body_end integer NOT NULL, text text NOT NULL
);
CREATE TABLE {chunks} (
    id integer PRIMARY KEY, article_id integer NOT NULL, start integer NOT NULL, "end" integer NOT NULL,
    text text NOT NULL, text_sha text NOT NULL, title text NOT NULL, date text, terms integer NOT NULL,
    tsv tsvector GENERATED ALWAYS AS (
        to_tsvector('{TS_CONFIG}', regexp_replace(title || ' ' || text, '{ELISION.replace("'", "''")}', ' ', 'gi'))
    ) STORED
);
CREATE TABLE {table(number, "postings")} (term text PRIMARY KEY, df integer NOT NULL, ids bytea NOT NULL,
                                          tfs bytea NOT NULL);
"""


def search_indexes(number: int, size: int, hnsw_threshold: int = HNSW_THRESHOLD) -> list[str]:
    """Indexes built at publish, after the rows are in (much faster than row by row)."""
    chunks = table(number, "chunks")
    statements = [f"CREATE INDEX ON {chunks} (article_id)", f"CREATE INDEX ON {chunks} USING gin (tsv)"]
    if size > hnsw_threshold:
        statements.append(f"CREATE INDEX ON {chunks} USING hnsw (embedding vector_cosine_ops) "
                          f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})")
    return statements


def connect(url: str, autocommit: bool = True) -> Any:
    """A psycopg connection with the pgvector types; InputError naming the URL without its password."""
    import psycopg
    from pgvector.psycopg import register_vector

    try:
        conn = psycopg.connect(url, autocommit=autocommit, connect_timeout=10)
    except psycopg.Error as exc:
        raise InputError(f"cannot connect to {redact_url(url)}: {clean_error(exc, url)}") from None
    with contextlib.suppress(psycopg.ProgrammingError):
        register_vector(conn)  # without the extension yet: ensure_schema creates it, then registers
    return conn


def clean_error(exc: BaseException, url: str) -> str:
    """The first line of a database error, with the URL's passwords (and any other secret) never shown."""
    from urllib.parse import parse_qs, urlsplit

    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    try:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        passwords = [parts.password, *query.get("password", []), *query.get("sslpassword", [])]
    except ValueError:  # not a URL urllib can split (a bad port, an unclosed [): the rule alone masks it
        passwords = []
    return redact(text, [p for p in passwords if p])


def _domain_error(exc: Exception, where: str, url: str) -> CitebotError:
    """The domain error a database error means for the user (the interfaces print it as one line)."""
    import psycopg

    text = clean_error(exc, url)
    if isinstance(exc, psycopg.errors.UndefinedTable):
        return IndexCorruptError(f"a table of the index in {where} is gone ({text}); it was probably replaced "
                                 "by a newer 'citebot index' run: run the command again")
    if isinstance(exc, psycopg.errors.ReadOnlySqlTransaction):
        return InputError(f"{where} is read-only ({text}); index into the primary server, not a replica")
    if isinstance(exc, psycopg.errors.InsufficientPrivilege | psycopg.errors.FeatureNotSupported):
        return InputError(f"not allowed on {where}: {text} (the store needs the vector and unaccent "
                          "extensions and the right to create tables; see docs/SCALING.md)")
    if isinstance(exc, psycopg.OperationalError):
        return InputError(f"lost the connection to {where}: {text}")
    return InputError(f"database error on {where}: {text}")


@contextlib.contextmanager
def db_errors(url: str) -> Iterator[None]:
    """Turn psycopg errors into the project's domain errors, naming the URL without its password."""
    import psycopg

    try:
        yield
    except psycopg.Error as exc:
        raise _domain_error(exc, redact_url(url), url) from None


class Link:
    """A connection shared by a store and its views: one query at a time, reopened once when lost."""

    def __init__(self, url: str, conn: Any, reconnect: bool = True) -> None:
        self.url = url
        self.conn = conn
        self.lock = threading.Lock()  # the searcher's threads share the connection
        self._reconnect = reconnect  # never inside a writer's transaction: its work would be lost

    def run(self, query: Callable[[Any], _T]) -> _T:
        """query(connection) under the lock, domain errors out; a dropped connection is reopened once."""
        import psycopg

        with db_errors(self.url), self.lock:
            if self.conn.closed and self._reconnect:
                self.conn = connect(self.url)
            try:
                return query(self.conn)
            except psycopg.OperationalError:
                if not (self._reconnect and (self.conn.closed or self.conn.broken)):
                    raise
            self.conn.close()
            self.conn = connect(self.url)  # a server restart or a terminated backend: one new try
            return query(self.conn)


def ensure_schema(conn: Any, url: str) -> None:
    """Create the shared tables, extensions and text search configuration if missing (concurrent-safe)."""
    from pgvector.psycopg import register_vector

    with db_errors(url):
        with conn.transaction():
            # Two first runs at once would race on CREATE ... IF NOT EXISTS: serialise them.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY + 1,))
            conn.execute(SHARED)
        register_vector(conn)
