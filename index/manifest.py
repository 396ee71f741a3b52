"""Index compatibility: what a generation's manifest records and when settings may use it.

A manifest is a flat dict stored with each generation (the embedded store writes it as
manifest.json): the format version, the settings that shape the index (index_identity), the
vector dimension and the article and chunk counts. Stores may add keys of their own.
"""

from __future__ import annotations

import time
from typing import Any

from index.analyzer import ANALYZER_VERSION
from index.errors import IndexCorruptError, IndexMismatchError
from index.known_models import Prefixes, prefixes_for
from index.settings import SearchSettings

# Bumped when a generation written by this code cannot be read by older code or the reverse.
FORMAT_VERSION = 1


def index_identity(settings: SearchSettings) -> dict[str, Any]:
    """What an index must share with the settings to be searchable with them."""
    prefixes = embed_prefixes(settings)
    return {"embed_model": settings.index.embed_model, "query_prefix": prefixes.query,
            "passage_prefix": prefixes.passage, "chunk_chars": settings.index.chunk_chars,
            "chunk_overlap": settings.index.chunk_overlap, "language": settings.index.language,
            "analyzer": ANALYZER_VERSION}


def embed_prefixes(settings: SearchSettings) -> Prefixes:
    """The query and passage prefixes the settings give the embedding model."""
    return prefixes_for(settings.index.embed_model, settings.index.query_prefix, settings.index.passage_prefix)


def new_manifest(settings: SearchSettings, dim: int, articles: int, chunks: int) -> dict[str, Any]:
    """The manifest of a generation about to be written with these settings."""
    return {"format": FORMAT_VERSION, **index_identity(settings), "dim": int(dim), "articles": articles,
            "chunks": chunks, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def check_format(manifest: dict[str, Any], where: object) -> None:
    """Raise IndexCorruptError when a manifest (of the index in `where`) is of another format."""
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexCorruptError(f"the index in {where} has an older format; run: citebot index --rebuild")


def check_compatible(manifest: dict[str, Any], settings: SearchSettings) -> None:
    """Raise IndexMismatchError when the index was built with other indexing settings."""
    wanted = index_identity(settings)
    diffs = [f"{k}={manifest.get(k)!r} (settings say {v!r})" for k, v in wanted.items() if manifest.get(k) != v]
    if diffs:
        raise IndexMismatchError(f"the index in {settings.index.location} was built with {', '.join(diffs)}; "
                                 "rebuild it with: citebot index --rebuild")
