"""open_embedder: the embedder a model name asks for, each implementation imported only when chosen."""

from __future__ import annotations

from index.embedding.base import Embedder


def open_embedder(name: str, batch_size: int = 32, query_prefix: str | None = None,
                  passage_prefix: str | None = None, engine: str = "auto") -> Embedder:
    """The embedder for a model name or folder (settings.index.embed_model), loaded on first use.

    Prefixes left as None are the model's known ones (index/embedding/known_models.py); engine is
    settings.index.embed_engine, "auto" being the fastest one the model has.
    """
    from index.embedding.known_models import BUNDLED_E5, prefixes_for, resolve_engine

    prefixes = prefixes_for(name, query_prefix, passage_prefix)
    engine = resolve_engine(name, engine)
    if name.lower() == BUNDLED_E5:
        from index.embedding.e5 import BundledE5Embedder

        return BundledE5Embedder(batch_size, prefixes, engine)
    from index.embedding.sentence import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(name, batch_size, prefixes)
