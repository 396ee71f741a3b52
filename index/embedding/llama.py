"""Embeddings from a GGUF embedding model (BERT, XLM-RoBERTa, …) run in-process by llama.cpp.

The same computation llama.cpp's server does for /v1/embeddings, so it is the local twin of an
index built through such a server (tests/test_embed_server.py compares them).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from index.embedding.base import Embedder
from index.embedding.known_models import Prefixes
from index.errors import ModelError

N_CTX = 2048  # tokens per text at most; longer texts are truncated, as llama.cpp's server does


class LlamaEmbedder(Embedder):
    """A GGUF embedding model in llama.cpp; passages in batches, vectors normalised."""

    def __init__(self, path: str, batch_size: int, prefixes: Prefixes) -> None:
        if not Path(path).is_file():
            raise ModelError(f"embedding model {path} not found (a .gguf file)")
        self.name, self.path, self.batch_size, self.prefixes = path, path, batch_size, prefixes
        self._llm = None

    def _model(self):
        """The llama.cpp model, loaded on first use."""
        if self._llm is None:
            from llama_cpp import Llama

            try:
                self._llm = Llama(self.path, embedding=True, n_ctx=N_CTX, n_batch=N_CTX, n_ubatch=N_CTX,
                                  verbose=False)
            except (ValueError, RuntimeError) as exc:
                raise ModelError(f"cannot load embedding model {self.path}: {exc}") from None
        return self._llm

    @property
    def dim(self) -> int:
        """Length of the vectors."""
        return int(self._model().n_embd())

    def encode(self, texts: list[str], progress: Callable[[int], None] | None = None,
               bulk: bool = False) -> np.ndarray:
        """Passage vectors with the passage prefix."""
        out = [np.zeros((0, self.dim), dtype=np.float32)]
        for i in range(0, len(texts), self.batch_size):
            out.append(self._embed([self.prefixes.passage + t for t in texts[i:i + self.batch_size]]))
            if progress:
                progress(len(out[-1]))
        return np.concatenate(out)

    def encode_query(self, text: str) -> np.ndarray:
        """The vector of one question, with the query prefix."""
        return self._embed([self.prefixes.query + text])[0]

    def _embed(self, texts: list[str]) -> np.ndarray:
        vectors = np.asarray(self._model().embed(texts), dtype=np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
