"""Scale: exact against approximate FAISS search at 100k+ chunks, and the whole pipeline at that size.

    python -m bot.bench.scale [--n 120000] [--queries 1000] [--chunks 100000] [--questions 300]
                              [--piaf ../shared/datasets/piaf/piaf-v1.1.json] [--skip-e2e] [--no-doc]

Part A (index only): seeded clustered unit vectors stand in for sentence embeddings; exact
`IndexFlatIP`, the shipped HNSW (index/stores/embedded/dense.py) and an IVF index are compared for build time,
size, single-query latency and recall@10 against exact search.

Part B (end to end): PIAF contexts plus seeded French filler (PIAF sentences recombined) are
indexed with the real pipeline into .citebot/bench/scale, then hybrid searches are timed. The
embedder there is a stand-in that hashes each text to a random unit vector, so only build and
search times mean anything, not retrieval quality.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from bot.bench.doc import write_section
from bot.bench.piaf import load_piaf, write_corpus
from bot.bench.scale_data import HashEmbedder, chunk_count, write_filler
from bot.bench.scale_index import part_a
from bot.bench.scale_report import command_line, e2e_table, index_table, render
from bot.settings import Settings
from index.builder import build_index
from index.progress import Progress
from index.search.hybrid import Searcher
from index.stores.embedded import dense
from index.stores.embedded.view import IndexReader

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def folder_bytes(folder: Path) -> int:
    """Total size of the files under a folder."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def time_searches(searcher: Searcher, questions: list[str]) -> np.ndarray:
    """Milliseconds of each hybrid search, one question at a time."""
    ms = np.empty(len(questions))
    for i, question in enumerate(questions):
        start = time.perf_counter()
        searcher.search(question, mode="hybrid")
        ms[i] = (time.perf_counter() - start) * 1000
    return ms


def part_b(args) -> dict:
    """The real pipeline (chunking, SQLite, BM25, FAISS) on 100k+ chunks with synthetic vectors."""
    import faiss

    contexts, questions = load_piaf(args.piaf)
    settings = Settings().replace(home=args.workdir / "home", embed_model=HashEmbedder.name)
    corpus = args.workdir / "corpus"
    start = time.perf_counter()
    write_corpus(contexts, corpus / "piaf")
    piaf_chunks = chunk_count(sorted((corpus / "piaf").glob("*.txt")), settings)
    articles = write_filler(corpus / "filler", contexts, args.chunks - piaf_chunks, settings, args.seed)
    print(f"part B: corpus of {len(contexts)} PIAF contexts + {articles} filler articles written in "
          f"{time.perf_counter() - start:.1f} s", file=sys.stderr)

    embedder = HashEmbedder()
    full = build_index(settings, [corpus], rebuild=True, embedder=embedder, progress=Progress())
    again = build_index(settings, [corpus], embedder=embedder, progress=Progress())
    reader = IndexReader.open_current(settings.index.home)
    if reader is None:
        raise SystemExit(f"no index in {settings.index.home} after building it")
    searcher = Searcher(reader, settings, embedder)
    step = max(1, len(questions) // args.questions)
    sample = [q.question.strip() for q in questions[::step][:args.questions]]
    start = time.perf_counter()
    searcher.search(sample[0], mode="hybrid")  # opens FAISS, BM25 and the vectors lazily
    first_ms = (time.perf_counter() - start) * 1000
    default_threads = faiss.omp_get_max_threads()
    time_searches(searcher, sample)  # warm the caches so that both settings start alike
    timings = {}
    # One setting after the other: alternating them per question lets OpenMP workers that are
    # still spinning after a parallel search slow down the next single-threaded one.
    for threads in dict.fromkeys([default_threads, 1]):
        faiss.omp_set_num_threads(threads)
        timings[threads] = time_searches(searcher, sample)
    faiss.omp_set_num_threads(default_threads)
    return {"chunks": full.chunks, "articles": full.articles, "embedded": full.embedded_chunks,
            "build_s": full.seconds, "kind": reader.manifest["faiss"], "disk": folder_bytes(reader.folder),
            "again_s": again.seconds, "again_embedded": again.embedded_chunks, "first_ms": first_ms,
            "questions": len(sample), "default_threads": default_threads, "timings": timings}


def run(args, command: str) -> tuple[str, str]:
    """Both parts; returns the markdown tables and the docs section."""
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    a = part_a(args)
    tables = index_table(a["rows"])
    b = None
    if not args.skip_e2e:
        b = part_b(args)
        tables += "\n\n" + e2e_table(b)
    seconds, load_after = time.perf_counter() - started, os.getloadavg()[0]
    return tables, render(args, command, a, b, seconds, load_before, load_after)


def int_list(text: str) -> list[int]:
    """A comma-separated list of integers."""
    return [int(v) for v in text.split(",") if v]


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bot.bench.scale", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=120_000, help="vectors in the index-only comparison")
    parser.add_argument("--queries", type=int, default=1000, help="queries in the index-only part")
    parser.add_argument("--threads", type=int, default=1, help="OpenMP threads for the index-only searches")
    parser.add_argument("--flat-at", type=int, default=dense.EXACT_LIMIT,
                        help="also time exact search at this many vectors (0: skip)")
    parser.add_argument("--ef", type=int_list, default=[64, 256],
                        help="HNSW efSearch values to try besides the shipped one, e.g. 64,256")
    parser.add_argument("--nprobe", type=int_list, default=[16, 32],
                        help="IVF nprobe values to try, e.g. 16,32 (the build is charged to the first)")
    parser.add_argument("--chunks", type=int, default=100_000, help="chunks in the end-to-end index")
    parser.add_argument("--questions", type=int, default=300, help="PIAF questions timed end to end")
    parser.add_argument("--piaf", type=Path, default=Path("../shared/datasets/piaf/piaf-v1.1.json"))
    parser.add_argument("--workdir", type=Path, default=Path(".citebot/bench/scale"),
                        help="corpus files and index of the end-to-end part (reused between runs)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-e2e", action="store_true", help="only the index-only part")
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/BENCHMARKS.md")
    args = parser.parse_args()
    tables, doc = run(args, command_line(args, parser))
    print(tables)
    if not args.no_doc:
        write_section("scale", doc)


if __name__ == "__main__":
    main()
