"""The embedder interface: texts in, unit vectors out. Implementations: index/sentence_embedder.py.

An embedder is chosen by name with open_embedder; the name is recorded in each index manifest
(embed_model), so an index is only ever searched with the model that built it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

import numpy as np


class Embedder(ABC):
    """Turns texts into L2-normalised float32 vectors, so that cosine similarity is an inner product."""

    name: str  # the model name an index manifest records as embed_model

    @property
    @abstractmethod
    def dim(self) -> int:
        """Length of the vectors."""

    @abstractmethod
    def encode(self, texts: list[str], progress: Callable[[int], None] | None = None,
               bulk: bool = False) -> np.ndarray:
        """A (len(texts), dim) float32 array; progress(n) after each n texts; bulk for indexing runs."""

    def encode_query(self, text: str) -> np.ndarray:
        """The vector of one question."""
        return self.encode([text])[0]


def open_embedder(name: str, batch_size: int = 32) -> Embedder:
    """The embedder for a model name or folder (settings.index.embed_model), loaded on first use."""
    from index.sentence_embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(name, batch_size)
