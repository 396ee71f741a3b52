"""The embedder interface: texts in, unit vectors out (open_embedder, in index/embedding/factory.py, picks one).

Implementations: index/embedding/e5.py (the bundled multilingual-e5-small, the default, whose
passages go through OpenVINO, index/embedding/openvino.py, or sentence-transformers) and
index/embedding/sentence.py (any sentence-transformers model), index/embedding/llama.py (a GGUF
embedding model in llama.cpp) and index/embedding/server.py (an OpenAI-compatible embeddings
server, settings.index.embed_url). The model name, its prefixes and
the passage engine are recorded in each index manifest, so an index is only ever searched with
the model that built it (index/manifest.py).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

CACHE_SIZE = 20_000  # short texts whose vectors are kept (about 30 MB at 384 dimensions)


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
        """Passage vectors, (len(texts), dim) float32; progress(n) after each n texts; bulk for indexing."""

    def encode_query(self, text: str) -> np.ndarray:
        """The vector of one question."""
        return self.encode([text])[0]


class VectorCache:
    """Vectors of recent short texts: sentences of popular passages come back question after question."""

    def __init__(self, batch_size: int, size: int = CACHE_SIZE) -> None:
        self.batch_size, self.size = batch_size, size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()

    def __contains__(self, text: str) -> bool:
        return text in self._vectors

    def get(self, texts: list[str], compute: Callable[[list[str]], np.ndarray]) -> np.ndarray:
        """The vectors of texts, computing (in length-sorted batches) only those not remembered."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        order = sorted(missing, key=len, reverse=True)  # similar lengths pad less
        for i in range(0, len(order), self.batch_size):
            chunk = order[i:i + self.batch_size]
            self._vectors.update(zip(chunk, compute(chunk)))
        out = np.stack([self._vectors[t] for t in texts])
        for t in texts:
            self._vectors.move_to_end(t)
        while len(self._vectors) > self.size:
            self._vectors.popitem(last=False)
        return out

