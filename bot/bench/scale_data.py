"""Synthetic data of bot.bench.scale: clustered unit vectors, a hashing embedder, French filler articles."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np

from bot.settings import Settings
from index.articles.chunker import chunk_spans
from index.articles.loader import load_article
from index.articles.text import sentence_spans
from index.embedding.base import Embedder

DIM = 384
# Mixture shape, tuned so that a query's top-1 cosine is about 0.65-0.8 and its 10th about
# 0.5-0.7, as for MiniLM sentence embeddings of news text.
CLUSTERS = 2000
CLUSTER_RANK = 16      # each cluster spreads along its own 16-d subspace (low intrinsic dimension)
SPREAD = 0.8           # length of the within-cluster variation, relative to the unit centre
NOISE = 0.5            # length of the isotropic noise
FILLER_SENTENCES = 60  # sentences per synthetic article (about a dozen chunks)


def unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length."""
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def mixture(n: int, seed: int, draw: int = 0) -> np.ndarray:
    """n float32 unit vectors from a seeded Gaussian mixture on the sphere (uneven cluster sizes).

    Every draw of the same seed comes from the same clusters, with different points.
    """
    structure = np.random.default_rng(seed)
    rng = np.random.default_rng([seed, draw + 1])
    centres = unit(structure.standard_normal((CLUSTERS, DIM))).astype(np.float32)
    bases = structure.standard_normal((CLUSTERS, CLUSTER_RANK, DIM)).astype(np.float32) / np.sqrt(DIM)
    weights = structure.lognormal(0.0, 1.0, CLUSTERS)
    labels = rng.choice(CLUSTERS, size=n, p=weights / weights.sum())
    out = np.empty((n, DIM), dtype=np.float32)
    for k in np.unique(labels):
        rows = np.flatnonzero(labels == k)
        coords = rng.standard_normal((len(rows), CLUSTER_RANK)).astype(np.float32) / np.sqrt(CLUSTER_RANK)
        out[rows] = centres[k] + SPREAD * (coords @ bases[k])
    out += NOISE * rng.standard_normal((n, DIM)).astype(np.float32) / np.sqrt(DIM)
    return unit(out)


class HashEmbedder(Embedder):
    """Stand-in for the embedding model: a pseudo-random unit vector per text, from its hash."""

    name = "synthetic-hash-384"
    dim = DIM
    batch_size = 1024

    def vector(self, text: str) -> np.ndarray:
        """The text's vector: the same text always gives the same vector."""
        seed = int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")
        v = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
        return v / np.linalg.norm(v)

    def encode(self, texts: list[str], progress=None, bulk: bool = False) -> np.ndarray:
        """Vectors of many texts, reporting progress per batch like the real embedder."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i in range(0, len(texts), self.batch_size):
            batch = texts[i:i + self.batch_size]
            out[i:i + len(batch)] = [self.vector(t) for t in batch]
            if progress:
                progress(len(batch))
        return out

    def encode_query(self, text: str) -> np.ndarray:
        """Vector of one question."""
        return self.vector(text)


def sentence_pool(contexts: list[tuple[str, str]]) -> list[str]:
    """Every sentence of the PIAF contexts, in order."""
    return [text[s:e] for _, text in contexts for s, e in sentence_spans(text)]


def filler_text(index: int, titles: list[str], pool: list[str], seed: int) -> str:
    """One synthetic French article: a PIAF title and paragraphs of randomly drawn PIAF sentences."""
    rng = np.random.default_rng([seed, index])
    title = f"{titles[rng.integers(len(titles))]} : dossier {index}"
    picks = [pool[i] for i in rng.integers(len(pool), size=FILLER_SENTENCES)]
    cuts = np.cumsum(rng.integers(3, 9, size=FILLER_SENTENCES))
    paragraphs = [" ".join(picks[a:b]) for a, b in zip(np.r_[0, cuts], cuts) if a < FILLER_SENTENCES]
    return f"{title}\n\n" + "\n\n".join(paragraphs) + "\n"


def write_if_changed(path: Path, content: str) -> None:
    """Write a file unless it already holds exactly this content (keeps reruns incremental)."""
    if not path.exists() or path.read_text(encoding="utf-8") != content:
        path.write_text(content, encoding="utf-8")


def chunk_count(paths: list[Path], settings: Settings) -> int:
    """Chunks the pipeline would cut from these files."""
    size, overlap = settings.index.chunk_chars, settings.index.chunk_overlap
    return sum(len(chunk_spans(load_article(p), size, overlap)) for p in paths)


def write_filler(folder: Path, contexts, target_chunks: int, settings: Settings, seed: int) -> int:
    """Write enough filler articles for about target_chunks chunks; returns how many."""
    folder.mkdir(parents=True, exist_ok=True)
    titles = sorted({title for title, _ in contexts})
    pool = sentence_pool(contexts)

    def path(i: int) -> Path:
        return folder / f"filler_{i:05d}.txt"

    sample = 50
    for i in range(sample):
        write_if_changed(path(i), filler_text(i, titles, pool, seed))
    per_article = chunk_count([path(i) for i in range(sample)], settings) / sample
    count = max(0, math.ceil(target_chunks / per_article * 1.02))  # a margin for the estimate
    for i in range(sample, count):
        write_if_changed(path(i), filler_text(i, titles, pool, seed))
    for stale in folder.glob("filler_*.txt"):  # left by a run with a larger --chunks
        if int(stale.stem.split("_")[1]) >= count:
            stale.unlink()
    return count
