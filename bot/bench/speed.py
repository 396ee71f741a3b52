"""Indexing throughput, re-index cost, query latency (warm and cold) and extractive quality on PIAF.

    python -m bot.bench.speed ../shared/datasets/piaf/piaf-v1.1.json [--parts indexing,latency,extractive]

All comparisons are measured in one run on the same machine, so read the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from pathlib import Path

from bot.answer.evaluate import has_key
from bot.answer.pipeline import Answerer
from bot.bench.doc import machine, write_section
from bot.bench.latency import bench_latency, run_cli
from bot.bench.piaf import load_piaf, write_corpus
from bot.settings import Settings
from index.articles.chunker import chunk_spans
from index.articles.loader import discover, load_article
from index.builder import build_index, index_text
from index.embedding.base import Embedder
from index.embedding.factory import open_embedder
from index.errors import IndexMismatchError

os.environ.setdefault("HF_HUB_OFFLINE", "1")

def chunk_texts(corpus: Path, settings: Settings) -> list[str]:
    """The texts the pipeline embeds (chunk under its title), computed the same way."""
    texts = []
    for path in discover([corpus])[0]:
        article = load_article(path)
        for start, end in chunk_spans(article, settings.index.chunk_chars, settings.index.chunk_overlap):
            texts.append(index_text(article.title, article.text[start:end]))
    return texts


def passage_model(embedder) -> Embedder:
    """The engine an embedder indexes passages with (the default one wraps OpenVINO or sentence-transformers)."""
    return getattr(embedder, "passage_model", embedder)


def bench_indexing(corpus: Path, work: Path, flags: str = "") -> str:
    """Pipeline chunks/s against the passage engine's own encode of the same texts; unchanged re-index."""
    settings = Settings().replace(home=work / "speed-home")
    texts = chunk_texts(corpus, settings)
    embedder = open_embedder(settings.index.embed_model, settings.index.embed_batch,
                             query_prefix=settings.index.query_prefix, passage_prefix=settings.index.passage_prefix)
    engine = passage_model(embedder)
    engine.encode(texts[:8], bulk=True)  # load (and convert) the model outside both timings
    started = time.perf_counter()
    engine.encode(texts, bulk=True)  # the same engine on the same chunk texts, nothing else
    raw = time.perf_counter() - started
    started = time.perf_counter()
    report = build_index(settings, [corpus], rebuild=True, embedder=embedder)
    pipeline = time.perf_counter() - started
    cold_full = run_cli("index", str(corpus), "--home", str(work / "cold-home"), "--rebuild", "--quiet")
    unchanged = [run_cli("index", str(corpus), "--home", str(settings.index.home), "--quiet") for _ in range(3)]
    n, batch = report.chunks, settings.index.embed_batch
    return f"""## Indexing throughput

`python -m bot.bench.speed PIAF --parts indexing{flags}` — {report.articles} PIAF contexts, {n} chunks,
model `{settings.index.embed_model}` (passages through {type(engine).__name__}).

| measure | seconds | chunks/s |
|---|---|---|
| the passage engine alone on the same {n} chunk texts (batch {batch}) | {raw:.1f} | {n / raw:.1f} |
| citebot pipeline in-process (read, chunk, embed, SQLite, FAISS, BM25, publish) | {pipeline:.1f} | {n / pipeline:.1f} |
| `citebot index --rebuild` as a new process (imports and model load included) | {cold_full:.1f} | {n / cold_full:.1f} |
| `citebot index` of the unchanged corpus (new process, median of 3; embeds nothing) | {sorted(unchanged)[1]:.2f} | — |

Pipeline throughput is **{raw / pipeline:.2f}×** that of the raw encoding (target ≥ 0.90): embedding is
length-sorted across the whole run, so batches pad little, and everything else is a few seconds.
"""


def bench_extractive(piaf: Path, work: Path, sample: int) -> str:
    """Share of a fixed random PIAF sample whose top citation holds the gold answer span."""
    contexts, questions = load_piaf(piaf)
    rng = random.Random(0)
    chosen = rng.sample(questions, min(sample, len(questions)))
    settings = Settings().replace(home=work / "piaf" / "home", extractive=True)
    corpus = write_corpus(contexts, work / "piaf" / "corpus")
    try:
        build_index(settings, [corpus])
    except IndexMismatchError:
        build_index(settings, [corpus], rebuild=True)
    answerer = Answerer.open(settings)
    top = anywhere = abstained = 0
    for q in chosen:
        answer = answerer.ask(q.question.strip())
        abstained += answer.abstained
        quotes = [c.quote for c in answer.citations]
        top += bool(quotes) and has_key(quotes[0], q.answers)
        anywhere += any(has_key(x, q.answers) for x in quotes)
    n = len(chosen)
    return f"""## Extractive answers on PIAF

`python -m bot.bench.speed PIAF --parts extractive` — a fixed random sample (seed 0) of {n} PIAF
questions, extractive mode over the whole PIAF corpus (k = {settings.retrieval.k}).

| measure | share |
|---|---|
| top citation contains the gold answer span | {top / n:.3f} |
| some citation contains it | {anywhere / n:.3f} |
| abstained (every PIAF question is answerable) | {abstained / n:.3f} |
"""


def main() -> None:
    """Parse the arguments, run the chosen parts, print them and write the docs section."""
    parser = argparse.ArgumentParser(
        prog="python -m bot.bench.speed", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("piaf", type=Path)
    parser.add_argument("--parts", default="indexing,latency,extractive")
    parser.add_argument("--workdir", type=Path, default=Path(".citebot/bench"))
    parser.add_argument("--sample", type=int, default=500)
    parser.add_argument("--index-contexts", type=int, default=0,
                        help="index only the first N PIAF contexts in the indexing part (0: all)")
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    contexts, questions = load_piaf(args.piaf)
    corpus = write_corpus(contexts, args.workdir / "piaf" / "corpus")
    rng = random.Random(1)
    sample = [q.question.strip() for q in rng.sample(questions, 300)]
    sections = {}
    if "indexing" in parts:
        small = args.index_contexts and args.index_contexts < len(contexts)
        indexed = (write_corpus(contexts[:args.index_contexts], args.workdir / f"piaf-{args.index_contexts}" / "corpus")
                   if small else corpus)
        flags = f" --index-contexts {args.index_contexts}" if small else ""
        sections["indexing"] = bench_indexing(indexed, args.workdir, flags)
    if "latency" in parts:
        sections["latency"] = bench_latency(corpus, args.workdir, sample)
    if "extractive" in parts:
        sections["extractive_piaf"] = bench_extractive(args.piaf, args.workdir, args.sample)
    for name, text in sections.items():
        print(text)
        if not args.no_doc:
            write_section(name, text + f"\nMachine: {machine()}.\n")


if __name__ == "__main__":
    main()
