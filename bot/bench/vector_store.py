"""Vectors of texts kept on disk between benchmark runs, one file per (model, prefix).

Embedding PIAF takes minutes on a small CPU; with the vectors kept, re-running a benchmark with
other fusion settings, or re-indexing unchanged chunk texts, embeds nothing.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

SAVE_EVERY = 256  # texts embedded between two saves, so an interrupted run keeps its work


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class DiskVectors:
    """The vectors one model gives texts (with one prefix), remembered in an .npz file."""

    def __init__(self, folder: Path, model: str, prefix: str) -> None:
        slug = re.sub(r"[^A-Za-z0-9]+", "-", f"{model}-{prefix}").strip("-")
        self.path = Path(folder) / f"{slug}-{_key(model + chr(0) + prefix)[:8]}.npz"
        self.vectors: dict[str, np.ndarray] = {}
        if self.path.exists():
            with np.load(self.path) as data:
                self.vectors = dict(zip(data["keys"].tolist(), data["vectors"]))

    def __contains__(self, text: str) -> bool:
        return _key(text) in self.vectors

    def add(self, texts: list[str], vectors: np.ndarray) -> None:
        """Remember vectors computed elsewhere (then call save)."""
        self.vectors.update(zip((_key(t) for t in texts), np.asarray(vectors, dtype=np.float32)))

    def save(self) -> None:
        """Write every known vector (atomically: a killed run leaves the previous file)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = list(self.vectors)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(keys), vectors=np.stack([self.vectors[k] for k in keys]))
        tmp.replace(self.path)

    def get(self, texts: list[str], compute: Callable[[list[str]], np.ndarray],
            progress: Callable[[int], None] | None = None) -> np.ndarray:
        """The vectors of texts, computing and saving only those not on disk yet."""
        missing = list(dict.fromkeys(t for t in texts if t not in self))
        for i in range(0, len(missing), SAVE_EVERY):
            part = missing[i:i + SAVE_EVERY]
            self.add(part, compute(part))
            self.save()
            if progress:
                progress(len(part))
        return np.stack([self.vectors[_key(t)] for t in texts]) if texts else np.zeros((0, 0), np.float32)
