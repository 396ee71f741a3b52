"""Part A of bot.bench.scale: exact, HNSW and IVF FAISS indexes on synthetic vectors, timed and scored."""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from bot.bench.scale_data import DIM, mixture
from index.stores.embedded import dense

if TYPE_CHECKING:
    import faiss

K = 10

IndexT = TypeVar("IndexT", bound="faiss.Index")


def rss() -> int:
    """Resident memory of this process in bytes, after handing freed heap memory back to the system."""
    # Otherwise memory freed by an earlier index stays resident and hides the next one's growth.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def single_queries(index, queries: np.ndarray, k: int = K) -> tuple[np.ndarray, np.ndarray]:
    """Ids found and per-query milliseconds, searching one query at a time as citebot does."""
    ids = np.empty((len(queries), k), dtype=np.int64)
    ms = np.empty(len(queries))
    for i in range(len(queries)):
        start = time.perf_counter()
        _, ids[i:i + 1] = index.search(queries[i:i + 1], k)
        ms[i] = (time.perf_counter() - start) * 1000
    return ids, ms


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean share of the exact top-k that the approximate top-k contains."""
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


def build_ivf(vectors: np.ndarray, nlist: int, seed: int):
    """IVF-Flat over inner product, its k-means trained on a sample of 39 vectors per list."""
    import faiss

    quantizer = faiss.IndexFlatIP(DIM)
    index = faiss.IndexIVFFlat(quantizer, DIM, nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.seed = seed
    sample = np.random.default_rng(seed).choice(len(vectors), min(len(vectors), 39 * nlist), replace=False)
    index.train(vectors[np.sort(sample)])
    index.add(vectors)
    return index


def built(build: Callable[[], IndexT], threads: int) -> tuple[IndexT, dict]:
    """Run an index build with this many OpenMP threads; the index and what it cost."""
    import faiss

    faiss.omp_set_num_threads(threads)
    before, start = rss(), time.perf_counter()
    index = build()
    cost = {"build_s": time.perf_counter() - start, "rss": rss() - before,
            "bytes": len(faiss.serialize_index(index))}
    return index, cost


def searched(name: str, index, queries: np.ndarray, truth: np.ndarray | None, threads: int,
             cost: dict | None = None) -> tuple[dict, np.ndarray]:
    """Time single-query searches and score them against exact; the table row and the ids found."""
    import faiss

    faiss.omp_set_num_threads(threads)
    ids, ms = single_queries(index, queries)
    row = {"index": name, "build_s": None, "bytes": None, "rss": None, **(cost or {}),
           "p50": float(np.percentile(ms, 50)), "p95": float(np.percentile(ms, 95)),
           "recall": 1.0 if truth is None else recall(ids, truth)}
    return row, ids


def part_a(args) -> dict:
    """Index-only comparison on N synthetic vectors."""
    import faiss

    build_threads = faiss.omp_get_max_threads()
    data = mixture(args.n + args.queries, args.seed)
    vectors, queries = data[:args.n], data[args.n:]
    del data
    start = time.perf_counter()
    dense.score_stats(vectors)
    stats_s = time.perf_counter() - start
    print(f"part A: {args.n} vectors, {args.queries} queries; score_stats {stats_s:.2f} s", file=sys.stderr)

    flat, cost = built(lambda: dense.build_faiss(vectors, "flat"), build_threads)
    row, truth = searched("flat (exact)", flat, queries, None, args.threads, cost)
    rows = [row]
    del flat
    if args.flat_at > args.n:
        # Exact search cost grows linearly; measure it where the automatic rule switches.
        extra = mixture(args.flat_at - args.n, args.seed, draw=1)
        big = dense.build_faiss(np.concatenate([vectors, extra]), "flat")
        rows.append(searched(f"flat (exact) at N = {args.flat_at:,}", big, queries, None, args.threads)[0])
        del extra, big
    print("  flat done", file=sys.stderr)

    hnsw, cost = built(lambda: dense.build_faiss(vectors, "hnsw"), build_threads)
    for ef in dict.fromkeys([dense.HNSW_EF_SEARCH, *args.ef]):
        hnsw.hnsw.efSearch = ef  # the shipped value is the one dense.load_faiss sets
        shipped = ef == dense.HNSW_EF_SEARCH
        name = (f"HNSW M={dense.HNSW_M}, efC={hnsw.hnsw.efConstruction}, efSearch={ef}"
                + (" (shipped)" if shipped else ""))
        rows.append(searched(name, hnsw, queries, truth, args.threads, cost if shipped else None)[0])
    ef_construction = hnsw.hnsw.efConstruction
    del hnsw
    print("  HNSW done", file=sys.stderr)

    nlist = max(1, round(4 * math.sqrt(args.n)))
    ivf, cost = built(lambda: build_ivf(vectors, nlist, args.seed), build_threads)
    for i, nprobe in enumerate(args.nprobe):
        ivf.nprobe = nprobe
        rows.append(searched(f"IVF-Flat nlist={nlist}, nprobe={nprobe}", ivf, queries, truth, args.threads,
                             cost if i == 0 else None)[0])
    del ivf
    print("  IVF done", file=sys.stderr)
    faiss.omp_set_num_threads(build_threads)

    sims = np.einsum("qd,qkd->qk", queries, vectors[truth])
    return {"rows": rows, "n": args.n, "flat_at": args.flat_at, "stats_s": stats_s, "nlist": nlist,
            "ef_construction": ef_construction, "build_threads": build_threads,
            "top1": np.percentile(sims[:, 0], [5, 50, 95]), "top10": np.percentile(sims[:, -1], [5, 50, 95])}
