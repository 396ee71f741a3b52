"""open_embedder: the embedder a model name asks for, each implementation imported only when chosen."""

from __future__ import annotations

from index.embedding.base import Embedder
from index.settings import IndexSettings


def open_embedder(name: str, batch_size: int = 32, query_prefix: str | None = None,
                  passage_prefix: str | None = None, engine: str = "auto", query_engine: str = "auto") -> Embedder:
    """The embedder for a model name or folder (settings.index.embed_model), loaded on first use.

    Prefixes left as None are the model's known ones (index/embedding/known_models.py); engine is
    settings.index.embed_engine, "auto" being the fastest one the model has; query_engine
    (settings.index.query_engine) is the bundled e5's engine of questions (index/embedding/e5.py).
    """
    from index.embedding.known_models import BUNDLED_E5, LLAMA_CPP, prefixes_for, resolve_engine

    prefixes = prefixes_for(name, query_prefix, passage_prefix)
    engine = resolve_engine(name, engine)
    if engine == LLAMA_CPP:
        from index.embedding.llama import LlamaEmbedder

        return LlamaEmbedder(name, batch_size, prefixes)
    if name.lower() == BUNDLED_E5:
        from index.embedding.e5 import BundledE5Embedder

        return BundledE5Embedder(batch_size, prefixes, engine, query_engine)
    from index.embedding.sentence import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(name, batch_size, prefixes)


def embedder_for(index: IndexSettings) -> Embedder:
    """The embedder the index settings ask for: an embeddings server when embed_url is set, else a local engine."""
    if index.embed_url:
        from index.embedding.known_models import prefixes_for
        from index.embedding.server import ServerEmbedder

        return ServerEmbedder(index.embed_url, index.embed_model,
                              prefixes_for(index.embed_model, index.query_prefix, index.passage_prefix),
                              batch_size=index.embed_batch, concurrency=index.embed_concurrency,
                              connect_timeout=index.embed_connect_timeout, read_timeout=index.embed_read_timeout,
                              retries=index.embed_retries)
    return open_embedder(index.embed_model, index.embed_batch, query_prefix=index.query_prefix,
                         passage_prefix=index.passage_prefix, engine=index.embed_engine,
                         query_engine=index.query_engine)
