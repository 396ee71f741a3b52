"""Speed of the real-model path, measured in one run: raw llama.cpp against citebot end to end.

Used by bot.bench.llm_quality. For each question it records the prompt citebot built and the
answer length, then times:
- cold: the cache cleared, `Answerer.ask` end to end (retrieval, support, prompt, generation
  under the grammar, verification), time to first token and to the first verified statement;
- warm: the same questions in a row, the fixed prompt prefix reused from the KV cache;
- raw: llama.cpp alone on the same prompt and the same number of tokens: prompt evaluation
  from an empty cache, then free greedy decoding (argmax of the logits, no grammar);
- free vs constrained decoding speed on the same prompt.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator

import numpy as np

from bot.llm.base import Generator


class Recording(Generator):
    """Wraps a generator to keep the last answer's messages and grammar."""

    def __init__(self, generator: Generator) -> None:
        self.inner = generator
        self.n_ctx = generator.n_ctx
        self.messages: list[dict] = []
        self.grammar: str | None = None

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def stream(self, messages: list[dict], grammar: str | None, max_tokens: int) -> Iterator[str]:
        """Record, then stream as the wrapped generator does."""
        if grammar is not None and "id ::=" in grammar:  # the answer, not a follow-up rewrite
            self.messages, self.grammar = messages, grammar
        return self.inner.stream(messages, grammar, max_tokens)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def chat_tokens(self, messages: list[dict]) -> int:
        return self.inner.chat_tokens(messages)


def raw_time(llm, tokens: list[int], n_gen: int) -> tuple[float, float]:
    """Seconds of prompt evaluation from an empty cache, and of `n_gen` free greedy decoding steps."""
    import llama_cpp

    llm.reset()
    started = time.perf_counter()
    llm.eval(tokens)
    prompt = time.perf_counter() - started
    n_vocab = llm.n_vocab()
    started = time.perf_counter()
    for _ in range(n_gen):
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(n_vocab,))
        llm.eval([int(np.argmax(logits))])
    return prompt, time.perf_counter() - started


def _ask(answerer, question: str) -> dict:
    first: list[float] = []
    started = time.perf_counter()

    def on_statement(*_: object) -> None:
        if not first:
            first.append(time.perf_counter() - started)

    answer = answerer.ask(question, on_statement=on_statement)
    wall = time.perf_counter() - started
    stats = answerer.generator.inner.last
    return {"wall": wall, "first_statement": first[0] if first else None, "ttft": stats.first_token_seconds,
            "prompt_tokens": stats.prompt_tokens, "cached": stats.cached_tokens,
            "generated": stats.generated_tokens, "decode": stats.decode_seconds,
            "statements": len(answer.statements), "fallback": answer.fallback, "abstained": answer.abstained}


def measure(answerer, questions: list[str]) -> dict:
    """Every timing of the module docstring over `questions` (answered ones only)."""
    generator = answerer.generator
    llm = generator.inner.llm
    rows = []
    for question in questions:  # cold: nothing in the KV cache
        llm.reset()
        row = _ask(answerer, question)
        if row["abstained"] or not row["generated"]:
            continue
        row["question"], row["messages"], row["grammar"] = question, generator.messages, generator.grammar
        rows.append(row)
    for row in rows:  # warm: the previous question's prompt is in the cache
        row["warm"] = _ask(answerer, row["question"])  # the cache holds the previous question's prompt
    for row in rows:
        tokens = generator.inner.prompt_tokens(row["messages"])
        row["raw_prompt"], row["raw_decode"] = raw_time(llm, tokens, row["generated"])
        llm.reset()
        generator.inner.generate(row["messages"], None, row["generated"])
        free = generator.inner.last
        row["free_tps"] = free.generated_tokens / free.decode_seconds if free.decode_seconds else 0.0
        row["grammar_tps"] = row["generated"] / row["decode"] if row["decode"] else 0.0
    return summarize(rows)


def summarize(rows: list[dict]) -> dict:
    """Medians and ratios over the measured questions."""
    def med(key: str, src: str | None = None) -> float:
        return statistics.median((r[src][key] if src else r[key]) for r in rows) if rows else 0.0
    raw = [r["raw_prompt"] + r["raw_decode"] for r in rows]
    return {
        "questions": len(rows),
        "prompt_tokens_p50": med("prompt_tokens"),
        "cached_tokens_warm_p50": med("cached", "warm"),
        "generated_tokens_p50": med("generated"),
        "ttft_cold_p50_s": med("ttft"),
        "ttft_warm_p50_s": med("ttft", "warm"),
        "ttft_warm_over_cold": statistics.median(r["warm"]["ttft"] / r["ttft"] for r in rows) if rows else 0.0,
        "first_statement_cold_p50_s": statistics.median(
            r["first_statement"] for r in rows if r["first_statement"] is not None) if any(
            r["first_statement"] is not None for r in rows) else None,
        "end_to_end_cold_p50_s": med("wall"),
        "end_to_end_warm_p50_s": med("wall", "warm"),
        "raw_llama_cpp_p50_s": statistics.median(raw) if raw else 0.0,
        "end_to_end_cold_over_raw": statistics.median(r["wall"] / x for r, x in zip(rows, raw)) if rows else 0.0,
        "free_decode_tok_s": med("free_tps"),
        "constrained_decode_tok_s": med("grammar_tps"),
        "constrained_over_free": statistics.median(r["grammar_tps"] / r["free_tps"] for r in rows
                                                   if r["free_tps"]) if rows else 0.0,
    }
