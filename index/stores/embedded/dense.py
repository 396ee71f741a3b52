"""FAISS vector index, chosen by corpus size, plus the statistics used to normalise its scores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

# Below this many chunks an exact (flat) search is fast enough and has perfect recall;
# above it HNSW keeps latency flat at the cost of a slower build (docs/BENCHMARKS.md).
EXACT_LIMIT = 200_000
HNSW_M = 32
HNSW_EF_SEARCH = 128


def index_kind(n_vectors: int) -> str:
    """The FAISS index type used for a corpus of this many chunks."""
    return "flat" if n_vectors <= EXACT_LIMIT else "hnsw"


def build_faiss(vectors: np.ndarray, kind: str | None = None) -> Any:
    """Build an inner-product index over normalised vectors."""
    import faiss

    dim = vectors.shape[1]
    kind = kind or index_kind(len(vectors))
    index: Any
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
    else:
        raise ValueError(f"unknown FAISS index kind {kind!r}")
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def save_faiss(index: Any, path: Path) -> None:
    """Write a FAISS index to a file."""
    import faiss

    faiss.write_index(index, str(path))


def load_faiss(path: Path) -> Any:
    """Read an index for querying."""
    import faiss

    # One query at a time is too little work to split: two OpenMP threads made single-query
    # search 1.6-6x slower here (bot/bench/scale.py).
    faiss.omp_set_num_threads(1)
    index = faiss.read_index(str(path))
    if hasattr(index, "hnsw"):
        index.hnsw.efSearch = HNSW_EF_SEARCH
    return index


def score_stats(vectors: np.ndarray, block: int = 65536) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of the corpus vectors."""
    # For any query q the mean of q·x over the corpus is q·mean and its variance is qᵀ·cov·q,
    # so dense scores can be z-normalised exactly without scoring every chunk.
    dim = vectors.shape[1]
    n = len(vectors)
    if n == 0:
        return np.zeros(dim), np.zeros((dim, dim))
    total = np.zeros(dim)
    gram = np.zeros((dim, dim))
    for i in range(0, n, block):
        part = np.asarray(vectors[i:i + block], dtype=np.float64)
        total += part.sum(0)
        gram += part.T @ part
    mean = total / n
    return mean, gram / n - np.outer(mean, mean)
