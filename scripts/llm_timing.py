"""llama.cpp measurements of bench_llm.py: raw speed, streamed answers, CPU share of others, buffer sizes."""

from __future__ import annotations

import ctypes
import os
import re
import resource
import sys
import time
from pathlib import Path

import numpy as np

from gguf_factory import SPECIAL

THREADS = 2


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


def chars_per_token(llm, text: str) -> float:
    """Characters per token of `text` with the model's vocabulary."""
    return len(text) / len(llm.tokenize(text.encode("utf-8"), add_bos=False))
