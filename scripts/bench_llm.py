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
import ctypes
import gc
import hashlib
import json
import os
import re
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from statistics import median

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from benchdoc import machine, write_section  # noqa: E402
from gguf_factory import SPECIAL, write_llama_gguf  # noqa: E402
from piaf import load_piaf  # noqa: E402

from bot.llm import LlamaGenerator  # noqa: E402
from bot.pipeline import Answerer  # noqa: E402
from index.builder import build_index  # noqa: E402
from index.errors import IndexMismatchError  # noqa: E402
from index.search import Searcher  # noqa: E402
from index.settings import PROJECT_ROOT, Settings  # noqa: E402

QWEN_VOCAB = 151936
# Qwen2's pre-tokenizer split (llama.cpp's "qwen2" pre-tokenizer): digits one by one, etc.
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
               r"|\s*[\r\n]+|\s+(?!\S)|\s+")
QUESTION_IDS = ("a02", "a04", "a11", "a14", "a16", "a26", "a36", "a41")
QUESTIONS_FILE = PROJECT_ROOT / "tests" / "data" / "questions_seeds.jsonl"
THREADS = 2
TYPICAL_ANSWER = 200  # tokens: three statements with their quotes, for the latency split


@dataclass(frozen=True)
class Shape:
    like: str
    n_embd: int
    n_layer: int
    n_head: int
    n_head_kv: int
    n_ff: int
    quant: str

    def filename(self, vocab_hash: str) -> str:
        return (f"random-{self.like.lower()}-e{self.n_embd}-l{self.n_layer}-h{self.n_head}-kv{self.n_head_kv}"
                f"-ff{self.n_ff}-v{QWEN_VOCAB}-tied-{self.quant.lower()}-bpe{vocab_hash}.gguf")


SHAPES = {
    "0.5b": Shape("Qwen2.5-0.5B-Instruct", 896, 24, 14, 2, 4864, "Q8_0"),
    "1.5b": Shape("Qwen2.5-1.5B-Instruct", 1536, 28, 12, 2, 8960, "Q4_0"),
}


def training_texts(piaf: Path) -> tuple[list[str], str]:
    """French text for the BPE: PIAF contexts, or the seed articles when PIAF is missing."""
    if piaf.is_file():
        contexts, _ = load_piaf(piaf)
        return [f"{title}\n\n{text}" for title, text in contexts], f"{len(contexts)} PIAF contexts"
    print(f"warning: {piaf} not found: training the BPE on seeds/ (optimistic token counts)", file=sys.stderr)
    return [p.read_text(encoding="utf-8") for p in sorted((PROJECT_ROOT / "seeds").glob("*.txt"))], "seeds/"


def train_bpe(texts: list[str], size: int) -> tuple[list[str], list[str]]:
    """A byte-level BPE with Qwen2's pre-tokenizer: its tokens in id order, padded to Qwen's size, and merges."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    trainer = trainers.BpeTrainer(vocab_size=size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=[], show_progress=False)
    tokenizer.train_from_iterator(texts, trainer)
    model = json.loads(tokenizer.to_str())["model"]
    vocab = sorted(model["vocab"], key=model["vocab"].get)
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    return vocab + filler_tokens(vocab, QWEN_VOCAB - len(vocab) - len(SPECIAL)), merges


def filler_tokens(vocab: list[str], count: int) -> list[str]:
    """Padding tokens no merge produces, as long as the trained ones: grammar checks walk every token's text."""
    rng = np.random.default_rng(0)
    lengths = np.array([n for n in (len(t.lstrip("Ġ")) for t in vocab[256:]) if n])
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    taken, out = set(vocab), []
    while len(out) < count:
        token = ("Ġ" if rng.random() < 0.5 else "") + "".join(rng.choice(letters, rng.choice(lengths)))
        if token not in taken:
            taken.add(token)
            out.append(token)
    return out


def ensure_model(folder: Path, shape: Shape, vocab: list[str], merges: list[str]) -> tuple[Path, float | None]:
    """The cached GGUF for this shape and vocabulary, written first if missing (seconds, or None)."""
    digest = hashlib.sha256("\n".join(vocab + ["--"] + merges).encode("utf-8")).hexdigest()[:10]
    path = folder / shape.filename(digest)
    if path.is_file():
        return path, None
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(shape.filename("*").replace(".gguf", ".*")):  # another vocabulary: never read again
        stale.unlink()
    partial = path.with_suffix(".partial")
    print(f"writing {path.name} (once)", file=sys.stderr)
    started = time.perf_counter()
    write_llama_gguf(partial, n_embd=shape.n_embd, n_layer=shape.n_layer, n_head=shape.n_head,
                     n_head_kv=shape.n_head_kv, n_ff=shape.n_ff, n_ctx=32768, quant=shape.quant,
                     vocab=vocab, merges=merges, tokenizer_pre="qwen2", pad_vocab_to=QWEN_VOCAB,
                     tie_embeddings=True)
    partial.rename(path)  # a run killed mid-write leaves no file that looks complete
    return path, time.perf_counter() - started


def open_index(home: Path) -> Settings:
    """Settings on an index of seeds/ in `home`, built or brought up to date."""
    settings = Settings(home=home)
    try:
        build_index(settings, [PROJECT_ROOT / "seeds"])
    except IndexMismatchError:  # the bench's own index, built by an older version: start over
        build_index(settings, [PROJECT_ROOT / "seeds"], rebuild=True)
    return settings


def load_questions(count: int) -> list[dict]:
    """The first `count` of the fixed answerable questions."""
    rows = {r["id"]: r for r in map(json.loads, QUESTIONS_FILE.read_text(encoding="utf-8").splitlines()) if r}
    return [rows[i] for i in QUESTION_IDS[:count]]


class Recorder:
    """Stands in for the model inside Answerer.ask: keeps what the pipeline sends, answers nothing."""

    def __init__(self, generator: LlamaGenerator) -> None:
        self.inner = generator
        self.calls: list[tuple[list[dict], str, int]] = []

    @property
    def n_ctx(self) -> int:
        return self.inner.n_ctx

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def chat_tokens(self, messages: list[dict]) -> int:
        return self.inner.chat_tokens(messages)

    def generate(self, messages: list[dict], grammar: str, max_tokens: int) -> str:
        self.calls.append((messages, grammar, max_tokens))
        return '{"statements": []}'


def capture_prompts(settings: Settings, searcher: Searcher, generator: LlamaGenerator,
                    questions: list[dict]) -> list[dict]:
    """Run Answerer.ask on each question; return the messages and grammar it gave the model."""
    recorder = Recorder(generator)
    answerer = Answerer(settings, searcher, generator=recorder)
    captured = []
    for q in questions:
        started = time.perf_counter()
        answerer.ask(q["question"])
        elapsed = time.perf_counter() - started
        if len(recorder.calls) != len(captured) + 1:
            raise SystemExit(f"{q['id']}: the pipeline did not call the model (support gate?)")
        messages, grammar, _ = recorder.calls[-1]
        captured.append(dict(id=q["id"], messages=messages, grammar=grammar, before_llm_s=elapsed,
                             estimate=answerer.last_prompt_tokens))
    return captured


def prompt_tokens(llm, messages: list[dict]) -> list[int]:
    """The tokens create_chat_completion evaluates for `messages` (the GGUF's chat template)."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    formatter = Jinja2ChatFormatter(llm.metadata["tokenizer.chat_template"], eos_token=SPECIAL[2], bos_token=SPECIAL[0])
    text = formatter(messages=messages).prompt
    return llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)


def common_prefix(a: list[int], b: list[int]) -> int:
    """Length of the longest common prefix of two token lists."""
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def raw_speed(llm, n_prompt: int, n_gen: int, normal_tokens: int, reps: int,
              threads: int = THREADS) -> tuple[float, float]:
    """llama-bench style pp and tg tokens/s (best of `reps`): random tokens, decode only, tg right after the prompt."""
    import llama_cpp

    rng = np.random.default_rng(0)
    llama_cpp.llama_set_n_threads(llm._ctx.ctx, threads, threads)
    pp, tg = 0.0, 0.0
    for _ in range(reps):  # best of: other processes on a small machine only ever slow a run down
        llm.reset()
        started = time.perf_counter()
        llm.eval(rng.integers(0, normal_tokens, n_prompt).tolist())
        llama_cpp.llama_synchronize(llm._ctx.ctx)
        pp = max(pp, n_prompt / (time.perf_counter() - started))
        started = time.perf_counter()
        for token in rng.integers(0, normal_tokens, n_gen).tolist():
            llm.eval([token])
            llama_cpp.llama_synchronize(llm._ctx.ctx)  # sampling would wait for the logits too
        tg = max(tg, n_gen / (time.perf_counter() - started))
    llm.reset()
    llama_cpp.llama_set_n_threads(llm._ctx.ctx, THREADS, THREADS)
    return pp, tg


def cpu_seconds() -> tuple[float, float, float]:
    """Wall clock, busy CPU seconds of the machine (/proc/stat) and of this process with its children."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    busy = (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")
    own = sum(getattr(resource.getrusage(who), name) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
              for name in ("ru_utime", "ru_stime"))
    return time.perf_counter(), busy, own


def others_share(start: tuple[float, float, float]) -> float:
    """Share of the machine's CPUs that other processes used since `start` (0 on a quiet machine)."""
    wall, busy, own = (b - a for a, b in zip(start, cpu_seconds()))
    return max(0.0, (busy - own) / (wall * (os.cpu_count() or 1)))


def stream_answer(llm, messages: list[dict], grammar: str, max_tokens: int) -> dict:
    """One answer the way LlamaGenerator.generate makes it, but streamed to time the first token."""
    import llama_cpp
    from llama_cpp import LlamaGrammar

    llama_cpp.llama_perf_context_reset(llm._ctx.ctx)
    clock = cpu_seconds()
    started = time.perf_counter()
    compiled = LlamaGrammar.from_string(grammar, verbose=False)
    first, finish = None, None
    for chunk in llm.create_chat_completion(messages=messages, grammar=compiled, temperature=0.0,
                                            max_tokens=max_tokens, seed=0, stream=True):
        first = first or time.perf_counter()
        finish = chunk["choices"][0]["finish_reason"] or finish
    ended = time.perf_counter()
    perf = llama_cpp.llama_perf_context(llm._ctx.ctx)
    # Every sampled token but the last is decoded once: n_eval decodes after the first token.
    return dict(ttft=first - started, evaluated=perf.n_p_eval, generated=perf.n_eval + (finish == "length"),
                gen_tps=perf.n_eval / (ended - first) if perf.n_eval else 0.0, others=others_share(clock))


def citebot_runs(llm, captured: list[dict], max_tokens: int) -> list[dict]:
    """Each question without prefix reuse (cache cleared), then all again with it."""
    rows = [dict(c, tokens=prompt_tokens(llm, c["messages"])) for c in captured]
    for row in rows:
        llm.reset()
        row["cold"] = stream_answer(llm, row["messages"], row["grammar"], max_tokens)
    # The cache now holds the last question: every question of this pass shares a prefix with the one before.
    previous = rows[-1]["tokens"]
    for row in rows:
        row["shared"] = common_prefix(previous, row["tokens"])
        row["warm"] = stream_answer(llm, row["messages"], row["grammar"], max_tokens)
        if len(row["tokens"]) - row["warm"]["evaluated"] != row["shared"]:
            print(f"warning: {row['id']}: llama.cpp reused {len(row['tokens']) - row['warm']['evaluated']} tokens, "
                  f"the prompts share {row['shared']}", file=sys.stderr)
        previous = row["tokens"]
    return rows


class BufferLog:
    """Collects llama.cpp's buffer sizes while a model loads (LlamaGenerator loads it with verbose=False)."""

    def __enter__(self) -> "BufferLog":
        import llama_cpp

        self.sizes: dict[str, float] = {}

        @llama_cpp.llama_log_callback
        def collect(level, text, user_data):
            found = re.search(r"(\S+) +(model|KV|compute|output) buffer size *= *([\d.]+) MiB",
                              text.decode("utf-8", "replace"))
            if found:
                key = f"{found[1]} {found[2]}"
                self.sizes[key] = self.sizes.get(key, 0.0) + float(found[3])

        self.callback = collect  # ctypes callbacks must outlive their registration
        llama_cpp.llama_log_set(collect, ctypes.c_void_p(0))
        return self

    def __exit__(self, *exc) -> None:
        import llama_cpp
        from llama_cpp import _logger

        llama_cpp.llama_log_set(_logger.llama_log_callback, ctypes.c_void_p(0))


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


def chars_per_token(llm, text: str) -> float:
    """Characters per token of `text` with the model's vocabulary."""
    return len(text) / len(llm.tokenize(text.encode("utf-8"), add_bos=False))


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


def f1(x: float) -> str:
    return f"{x:.1f}"


def f2(x: float) -> str:
    return f"{x:.2f}"


def answers_table(result: dict) -> str:
    """One row per question: prompt tokens, first-token time and generation, both cache modes."""
    head = ("| question | prompt tokens (pipeline estimate) | reused from cache | TTFT cold (s) | TTFT reuse (s) "
            "| generated tokens | gen tokens/s cold | gen tokens/s reuse |\n|---|---|---|---|---|---|---|---|\n")
    lines = []
    for r in result["rows"]:
        cold, warm = r["cold"], r["warm"]
        lines.append(f"| {r['id']} | {len(r['tokens'])} ({r['estimate']}) | {len(r['tokens']) - warm['evaluated']} "
                     f"| {f2(cold['ttft'])}{busy(cold)} | {f2(warm['ttft'])}{busy(warm)} "
                     f"| {cold['generated']} / {warm['generated']} | {f1(cold['gen_tps'])}{busy(cold)} "
                     f"| {f1(warm['gen_tps'])}{busy(warm)} |")
    s = summary(result)
    lines.append(f"| **median** | {s['prompt']:.0f} ({s['estimate']:.0f}) | {s['reused']:.0f} | {f2(s['ttft_cold'])} "
                 f"| {f2(s['ttft_warm'])} | {s['generated']:.0f} | {f1(s['gen_cold'])} | {f1(s['gen_warm'])} |")
    return head + "\n".join(lines)


def written(result: dict) -> str:
    """When the model file was made and how long loading it took."""
    made = (f"written in {result['written_s']:.0f} s by this run" if result["written_s"] is not None
            else "reused from an earlier run")
    return f"GGUF {made}, loaded in {f1(result['load_s'])} s."


def busy(run: dict) -> str:
    """A mark for answers during which other processes took at least a tenth of the CPUs."""
    return " *" if run["others"] >= 0.1 else ""


def summary(result: dict) -> dict:
    """Medians over the questions of one model (robust to an answer slowed by another process)."""
    rows = result["rows"]
    return dict(
        prompt=median(len(r["tokens"]) for r in rows), estimate=median(r["estimate"] for r in rows),
        reused=median(len(r["tokens"]) - r["warm"]["evaluated"] for r in rows),
        ttft_cold=median(r["cold"]["ttft"] for r in rows), ttft_warm=median(r["warm"]["ttft"] for r in rows),
        generated=median(r[m]["generated"] for r in rows for m in ("cold", "warm")),
        gen_cold=median(r["cold"]["gen_tps"] for r in rows), gen_warm=median(r["warm"]["gen_tps"] for r in rows),
        pp_citebot=median(len(r["tokens"]) / r["cold"]["ttft"] for r in rows),
        before_llm_s=median(r["before_llm_s"] for r in rows[1:] or rows))


def speed_table(results: list[dict]) -> str:
    """Raw llama.cpp speed next to citebot's, one row per model."""
    head = ("| model (random weights) | file | raw pp t/s | citebot cold prompt t/s | raw tg t/s (1 thread) "
            "| citebot gen t/s | median TTFT cold → reuse (s) |\n|---|---|---|---|---|---|---|\n")
    lines = []
    for r in results:
        s = summary(r)
        lines.append(f"| {r['shape'].like} shape, {r['shape'].quant} | {r['size'] / 2**20:.0f} MiB "
                     f"| {f1(r['pp'])} (pp{r['n_prompt']}) | {f1(s['pp_citebot'])} | {f1(r['tg'])} ({f1(r['tg1'])}) "
                     f"| {f1(s['gen_warm'])} | {f2(s['ttft_cold'])} → {f2(s['ttft_warm'])} |")
    return head + "\n".join(lines)


def buffers_table(results: list[dict]) -> str:
    """llama.cpp's own allocations per model, from its load log."""
    names = {"CPU_Mapped model": "mapped weights", "CPU_REPACK model": "repacked weights", "CPU KV": "KV cache",
             "CPU compute": "compute", "CPU output": "output"}
    found = {k for r in results for k in r["buffers"]}
    kinds = [k for k in names if k in found] + sorted(found - set(names))
    head = ("| model | " + " | ".join(f"{names.get(k, k)} (MiB)" for k in kinds) + " |\n"
            + "|---|" + "---|" * len(kinds) + "\n")
    return head + "\n".join(f"| {r['name']} {r['shape'].quant} | " + " | ".join(
        f"{r['buffers'].get(k, 0):.0f}" for k in kinds) + " |" for r in results)


def rss_table(rss: dict[str, dict]) -> str:
    head = "| `citebot ask --json` | mode | peak RSS (MiB) | wall (s) |\n|---|---|---|---|\n"
    return head + "\n".join(f"| {name} | {r['mode']} | {r['rss_mib']:.0f} | {f1(r['wall_s'])} |"
                             for name, r in rss.items())


def interpretation(results: list[dict], rss: dict[str, dict]) -> str:
    """A few sentences reading the tables."""
    out = []
    for r in results:
        s = summary(r)
        gen_s = TYPICAL_ANSWER / s["gen_warm"] if s["gen_warm"] else float("nan")
        share = s["ttft_warm"] / (s["ttft_warm"] + gen_s)
        grammar_ms = 1000 / s["gen_warm"] - 1000 / r["tg"] if s["gen_warm"] else float("nan")
        out.append(
            f"{r['shape'].like} shape: with prefix reuse the first token comes after {f1(s['ttft_warm'])} s "
            f"({f1(s['ttft_cold'])} s without, {s['reused']:.0f} of {s['prompt']:.0f} prompt tokens reused); "
            f"a {TYPICAL_ANSWER}-token answer at {f1(s['gen_warm'])} tokens/s adds {f1(gen_s)} s, so prompt "
            f"processing is {share:.0%} of the answer time. Generation under the grammar runs at "
            f"{s['gen_warm'] / r['tg']:.0%} of raw decode speed ({grammar_ms:.0f} ms more per token).")
    ext = rss.get("extractive")
    for r in results:
        m = rss.get(r["name"])
        if ext and m:
            out.append(f"The {r['name'].upper()} model adds {m['rss_mib'] - ext['rss_mib']:.0f} MiB of peak RSS "
                       f"to `citebot ask` ({r['size'] / 2**20:.0f} MiB file).")
    return "\n".join(out)


def tokenisation_line(r: dict, source: str, size: int) -> str:
    """How realistic the generated vocabulary's token counts are."""
    return (f"Vocabulary: byte-level BPE with Qwen2's pre-tokenizer, {size} tokens trained on {source}, padded "
            f"to {QWEN_VOCAB} with tokens no merge produces but as long as the trained ones (the grammar sampler "
            f"reads every token's text at every step, so their length matters). The first question's prompt is "
            f"{r['chars']} characters → {r['first_tokens']} tokens "
            f"({r['chars'] / r['first_tokens']:.2f} chars/token; French passages {r['passage_chars_per_token']:.2f}, "
            f"English system prompt {r['system_chars_per_token']:.2f}; Qwen2.5's own vocabulary gives roughly "
            f"3.5-4 on French and ~4.5 on English). Fixed prefix shared by every prompt: {r['prefix']} tokens "
            f"(system message alone {r['system_tokens']}).")


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


def render(results: list[dict], rss: dict, args, source: str, elapsed: float, others: float) -> str:
    """The markdown section: command, set-up, tables and their reading."""
    command = " ".join(["python scripts/bench_llm.py", *map(shlex.quote, sys.argv[1:])])
    parts = [f"""## LLM path: prompt size, time to first token, generation speed, memory

`{command}`

Random-weight llama GGUFs with the shapes of {" and ".join(f"{s.like} ({s.quant})" for _, s in args.models)}:
real layer, head and feed-forward sizes, tied output layer, {QWEN_VOCAB}-token vocabulary; llama.cpp's speed
does not depend on the weight values. Everything runs with {THREADS} threads and a 4096-token context.
Machine: {machine()}; whole run {elapsed / 60:.1f} min, during which other processes used {others:.0%} of the CPUs
(a {THREADS}-thread llama.cpp slows down sharply when another process takes a core).
"""]
    if results:
        parts.append(tokenisation_line(results[0], source, args.bpe_vocab) + "\n")
        parts.append(f"""Raw speed is llama-bench style (`Llama.eval` on random tokens, decode only, best of
{args.reps}): pp over as many tokens as citebot's median prompt, then tg{args.raw_gen} right after it (in
brackets: 1 thread, what llama-cpp-python would use for generation on a 2-core machine if citebot did not
pass all cores explicitly). citebot's numbers come from the messages and grammar `Answerer.ask` builds for
{len(results[0]['rows'])} answerable questions of `tests/data/questions_seeds.jsonl`, streamed through
`create_chat_completion` at temperature 0 as `LlamaGenerator.generate` calls it, capped at {args.max_tokens}
generated tokens (random weights under the grammar write long nonsense; some close the JSON early).
*Cold*: the KV cache is cleared before each question; *reuse*: consecutive questions on the same model, so
llama-cpp-python keeps the common prefix. TTFT runs from grammar compilation to the first streamed token
(retrieval, support scoring and prompt building come before it); citebot's cold prompt speed is prompt tokens /
cold TTFT; its generation speed includes the grammar sampler.

{speed_table(results)}
""")
        for r in results:
            s = summary(r)
            parts.append(f"""### {r['shape'].like} shape, {r['shape'].quant}

{written(r)} Other processes used {r['others']:.0%} of the CPUs while this model was measured.
Retrieval, support scoring and prompt building before the model: {f2(s['before_llm_s'])} s per question (median).
Generated tokens: cold / reuse; * marks an answer during which other processes took ≥ 10 % of the CPUs.

{answers_table(r)}
""")
    if rss:
        parts.append(f"""### Peak memory

Peak RSS (`/usr/bin/time -f %M`) of one `citebot ask "{load_questions(1)[0]['question']}" --json` process on the
seeds index, with `CITEBOT_MAX_TOKENS={args.max_tokens}`; wall time includes start-up and model loading.

{rss_table(rss)}
""")
    if results:
        parts.append(f"""llama.cpp's buffers as its load log reports them: the mapped file (resident as it is
read), weights it repacks into a second, interleaved copy for its AVX2/AVX-512 kernels, the 4096-token KV cache and the
compute buffer (mostly room for the logits of a 512-token batch: 512 × {QWEN_VOCAB} floats).

{buffers_table(results)}
""")
    if results:
        parts.append(interpretation(results, rss))
    return "\n".join(parts)


if __name__ == "__main__":
    main()
