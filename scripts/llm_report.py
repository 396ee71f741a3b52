"""Markdown of bench_llm.py: per-question and per-model tables, memory, and the docs section."""

from __future__ import annotations

import shlex
import sys
from statistics import median

from benchdoc import machine
from llm_models import QWEN_VOCAB
from llm_prompts import load_questions
from llm_timing import THREADS

TYPICAL_ANSWER = 200  # tokens: three statements with their quotes, for the latency split


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
