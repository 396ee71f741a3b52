"""Index compatibility: what a generation's manifest records and when settings may use it.

A manifest is a flat dict stored with each generation (the embedded store writes it as
manifest.json): the format version, the settings that shape the index (index_identity), the
vector dimension and the article and chunk counts. Stores may add keys of their own.
The passage engine is recorded too (embed_engine); an index is searchable with settings naming
another engine only when both give the same vectors (known_models.vector_space). An index built
through an embeddings server records engine "server", the model name the server was asked for,
the prefixes and the server's host (embed_host, informative: not compared).
"""

from __future__ import annotations

import time
from typing import Any

from index.embedding.known_models import LEGACY_ENGINE, SERVER, Prefixes, prefixes_for, resolve_engine, vector_space
from index.errors import IndexCorruptError, IndexMismatchError
from index.search.analyzer import ANALYZER_VERSION
from index.secrets import redact
from index.settings import SearchSettings

# Bumped when a generation written by this code cannot be read by older code or the reverse.
FORMAT_VERSION = 1


def index_identity(settings: SearchSettings) -> dict[str, Any]:
    """What an index must share with the settings to be searchable with them."""
    prefixes = embed_prefixes(settings)
    return {"embed_model": settings.index.embed_model, "embed_engine": embed_engine(settings),
            "query_prefix": prefixes.query, "passage_prefix": prefixes.passage,
            "chunk_chars": settings.index.chunk_chars,
            "chunk_overlap": settings.index.chunk_overlap, "language": settings.index.language,
            "analyzer": ANALYZER_VERSION}


def embed_prefixes(settings: SearchSettings) -> Prefixes:
    """The query and passage prefixes the settings give the embedding model."""
    return prefixes_for(settings.index.embed_model, settings.index.query_prefix, settings.index.passage_prefix)


def embed_engine(settings: SearchSettings) -> str:
    """The engine the settings embed passages with ("auto" resolved; "server" when embed_url is set)."""
    if settings.index.embed_url:
        return SERVER
    return resolve_engine(settings.index.embed_model, settings.index.embed_engine)


def new_manifest(settings: SearchSettings, dim: int, articles: int, chunks: int,
                 dates: list[str] | None = None) -> dict[str, Any]:
    """The manifest of a generation about to be written with these settings (`dates`: its articles' known dates)."""
    manifest = {"format": FORMAT_VERSION, **index_identity(settings), "dim": int(dim), "articles": articles,
                "chunks": chunks, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    if dates is not None:  # informative: how many articles are dated, and the span of their dates
        manifest.update(dated_articles=len(dates), first_date=min(dates, default=None),
                        last_date=max(dates, default=None))
    if settings.index.embed_url:
        # Where the vectors came from, for the record only: a server may move and keep its model.
        # The host alone: the URL's user information or query may hold a key.
        from index.embedding.server import url_host

        manifest["embed_host"] = redact(url_host(settings.index.embed_url))
    return manifest


def check_format(manifest: dict[str, Any], where: object) -> None:
    """Raise IndexCorruptError when a manifest (of the index in `where`) is of another format."""
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexCorruptError(f"the index in {where} has an older format; run: citebot index --rebuild")


def check_compatible(manifest: dict[str, Any], settings: SearchSettings) -> None:
    """Raise IndexMismatchError when the index was built with other indexing settings."""
    wanted = index_identity(settings)
    built = {**manifest, "embed_engine": manifest.get("embed_engine", LEGACY_ENGINE)}
    diffs = [f"{k}={built.get(k)!r} (settings say {v!r})" for k, v in wanted.items()
             if built.get(k) != v and not (k == "embed_engine" and _same_vectors(built, wanted))]
    if diffs:
        raise IndexMismatchError(f"the index in {settings.index.location} was built with {', '.join(diffs)}; "
                                 "rebuild it with: citebot index --rebuild")


def _same_vectors(built: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """Whether the index's passage engine and the settings' one give interchangeable vectors."""
    model = wanted["embed_model"]
    return vector_space(model, built["embed_engine"]) == vector_space(model, wanted["embed_engine"])
