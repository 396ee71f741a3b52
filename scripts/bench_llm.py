"""Speed and memory of the LLM path on random-weight GGUFs shaped like Qwen2.5-0.5B/1.5B-Instruct.

    python scripts/bench_llm.py [--piaf ../shared/datasets/piaf/piaf-v1.1.json] [--models 0.5b,1.5b]
                                [--questions 6] [--max-tokens 48]

llama.cpp's speed does not depend on the weight values, so random weights with the real shapes
time the real path. The vocabulary is a byte-level BPE trained on PIAF's French contexts,
padded to Qwen's 151,936 tokens, so prompts have realistic token counts and the output layer
its real cost. For each model: raw llama.cpp prompt processing and generation speed (like
llama-bench), then citebot's own prompts and grammars (captured from Answerer.ask) streamed at
temperature 0, with and without reuse of the fixed prompt prefix in the KV cache; last, peak
RSS of `citebot ask --json` in extractive mode and with each model. Generated files live under
.citebot/bench/llm and are reused between runs.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # gguf_factory, the GGUF writer
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from benchdoc import write_section  # noqa: E402
from llm_models import SHAPES, Shape, ensure_model, train_bpe, training_texts  # noqa: E402
from llm_prompts import QUESTION_IDS, capture_prompts, load_questions, open_index  # noqa: E402
from llm_report import answers_table, render  # noqa: E402
from llm_timing import (THREADS, BufferLog, chars_per_token, citebot_runs, common_prefix,  # noqa: E402
                        cpu_seconds, others_share, raw_speed)

from bot.llm import LlamaGenerator  # noqa: E402
from index.search import Searcher  # noqa: E402
from index.settings import PROJECT_ROOT, Settings  # noqa: E402


def bench_model(name: str, shape: Shape, path: Path, written_s: float | None, settings: Settings,
                questions: list[dict], args) -> dict:
    """Raw llama.cpp speed and citebot's answers for one generated model."""
    import llama_cpp

    clock = cpu_seconds()
    started = time.perf_counter()
    with BufferLog() as log:
        generator = LlamaGenerator(path, n_ctx=4096, n_threads=THREADS)
    load_s = time.perf_counter() - started
    llm = generator.llm
    # A fresh searcher: the embedder caches query vectors, which would hide retrieval time.
    captured = capture_prompts(settings, Searcher.open(settings), generator, questions)
    llm.eval([0] * 16)  # fault the weights in before timing anything
    llama_cpp.llama_synchronize(llm._ctx.ctx)  # llama.cpp counts unsynchronised tokens into the next prompt
    llm.reset()
    rows = citebot_runs(llm, captured, args.max_tokens)
    n_prompt = round(median(len(r["tokens"]) for r in rows))
    pp, tg = raw_speed(llm, n_prompt, args.raw_gen, args.bpe_vocab, args.reps)
    _, tg1 = raw_speed(llm, 16, args.raw_gen, args.bpe_vocab, args.reps, threads=1)
    result = dict(name=name, shape=shape, path=path, size=path.stat().st_size, written_s=written_s, load_s=load_s,
                  rows=rows, n_prompt=n_prompt, pp=pp, tg=tg, tg1=tg1,
                  prefix=min(common_prefix(rows[0]["tokens"], r["tokens"]) for r in rows[1:]) if len(rows) > 1 else 0,
                  system_tokens=len(llm.tokenize(captured[0]["messages"][0]["content"].encode("utf-8"), add_bos=False)),
                  chars=sum(len(m["content"]) for m in rows[0]["messages"]), first_tokens=len(rows[0]["tokens"]),
                  passage_chars_per_token=chars_per_token(llm, rows[0]["messages"][1]["content"]),
                  system_chars_per_token=chars_per_token(llm, rows[0]["messages"][0]["content"]),
                  others=others_share(clock), buffers=log.sizes)
    del generator, llm
    gc.collect()
    return result


def peak_rss(question: str, home: Path, max_tokens: int, model: Path | None) -> dict:
    """Peak RSS and wall time of one `citebot ask --json` process (extractive without a model)."""
    command = [sys.executable, "-m", "bot", "ask", question, "--home", str(home), "--json", "--quiet"]
    command += ["--model", str(model)] if model else ["--extractive"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CITEBOT_MAX_TOKENS": str(max_tokens)}
    with tempfile.NamedTemporaryFile("r") as report:
        started = time.perf_counter()
        # Not wait4/RUSAGE_CHILDREN: Linux keeps a forked child's peak RSS across exec, so a child of
        # this big process would report this process's size; /usr/bin/time's child starts small.
        done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", report.name, *command], capture_output=True,
                              text=True, cwd=PROJECT_ROOT, env=env)
        wall = time.perf_counter() - started
        peak_kib = int(report.read().split()[-1]) if done.returncode == 0 else 0
    if done.returncode != 0:
        raise SystemExit(f"citebot ask failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    return dict(rss_mib=peak_kib / 1024, wall_s=wall, mode=answer["mode"], abstained=answer["abstained"])


def parse_models(text: str) -> list[tuple[str, Shape]]:
    """`0.5b,1.5b` or with a quantisation override such as `1.5b:q8_0`."""
    chosen = []
    for item in filter(None, text.split(",")):
        name, _, quant = item.strip().lower().partition(":")
        if name not in SHAPES:
            raise argparse.ArgumentTypeError(f"unknown model {name!r} (choose from {', '.join(SHAPES)})")
        shape = SHAPES[name]
        if quant:
            shape = Shape(**{**shape.__dict__, "quant": quant.upper()})
        chosen.append((name, shape))
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--piaf", type=Path, default=Path("../shared/datasets/piaf/piaf-v1.1.json"),
                        help="PIAF v1.1 JSON whose contexts train the BPE vocabulary (read, never copied)")
    parser.add_argument("--models", type=parse_models, default=parse_models("0.5b,1.5b"),
                        help="models to bench: 0.5b (Q8_0), 1.5b (Q4_0); NAME:QUANT overrides, e.g. 1.5b:q8_0")
    parser.add_argument("--questions", type=int, default=6, help=f"questions per model (at most {len(QUESTION_IDS)})")
    parser.add_argument("--max-tokens", type=int, default=48, help="generation cap per answer in the bench")
    parser.add_argument("--raw-gen", type=int, default=32, help="tokens decoded for raw generation speed")
    parser.add_argument("--reps", type=int, default=3, help="raw speed: best of this many runs")
    parser.add_argument("--bpe-vocab", type=int, default=32000, help="size of the trained BPE vocabulary")
    parser.add_argument("--no-rss", action="store_true", help="skip the `citebot ask` memory runs")
    parser.add_argument("--workdir", type=Path, default=Path(".citebot/bench/llm"),
                        help="generated models and the seeds index (reused between runs)")
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/BENCHMARKS.md")
    args = parser.parse_args()
    args.workdir = args.workdir.resolve()  # `citebot ask` runs from the project root
    clock = cpu_seconds()
    texts, source = training_texts(args.piaf)
    vocab, merges = train_bpe(texts, args.bpe_vocab)
    settings = open_index(args.workdir / "home")
    questions = load_questions(args.questions)
    results = []
    for name, shape in args.models:
        path, written_s = ensure_model(args.workdir / "models", shape, vocab, merges)
        if written_s is not None:
            print(f"wrote {path.name} in {written_s:.0f} s", file=sys.stderr)
        print(f"benchmarking {name} ({shape.quant})", file=sys.stderr)
        results.append(bench_model(name, shape, path, written_s, settings, questions, args))
        print(answers_table(results[-1]), file=sys.stderr)
    rss = {}
    if not args.no_rss:
        question = questions[0]["question"]
        rss["extractive"] = peak_rss(question, settings.home, args.max_tokens, None)
        for r in results:
            rss[r["name"]] = peak_rss(question, settings.home, args.max_tokens, r["path"])
    elapsed, others = time.perf_counter() - clock[0], others_share(clock)
    body = render(results, rss, args, source, elapsed, others)
    print(body)
    if not args.no_doc:
        write_section("llm", body)


if __name__ == "__main__":
    main()
