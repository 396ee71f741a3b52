"""A GGUF model run in process by llama.cpp: safe loading, prompt-prefix reuse, streamed greedy decoding."""

from __future__ import annotations

import codecs
import contextlib
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.llm.base import Generator, check_gguf, first_line
from bot.llm.decoding import GrammarChecker
from index.errors import ModelError


@dataclass
class CallStats:
    """What the last call cost: prompt tokens (and how many came from the KV cache), times."""

    prompt_tokens: int = 0
    cached_tokens: int = 0
    prompt_seconds: float = 0.0
    first_token_seconds: float = 0.0   # prompt evaluation and the choice of the first token
    generated_tokens: int = 0
    decode_seconds: float = 0.0


def extra_buffers_safe(system_info: str) -> bool:
    """False when llama.cpp was compiled with AMX kernels, which VMs may refuse (SIGILL)."""
    # CPUs can list AMX in /proc/cpuinfo while the hypervisor refuses the tile instructions;
    # K-quant weights repacked into AMX buffers then kill the process in llama_decode. Our build
    # (scripts/install_llama.sh) leaves AMX out; for a wheel built elsewhere we skip the extra
    # buffer types instead, at the cost of the repacked kernels.
    return "AMX_INT8 = 1" not in system_info


_SILENT = None


def _quiet(llama_cpp) -> None:
    """Drop llama.cpp's log lines: llama-cpp-python maps newer ggml levels wrongly and prints warnings."""
    global _SILENT
    if _SILENT is None:
        _SILENT = llama_cpp.llama_log_callback(lambda level, text, data: None)  # kept alive: C holds it
    llama_cpp.llama_log_set(_SILENT, None)


@contextlib.contextmanager
def _model_params(use_extra_bufts: bool):
    """Llama() builds its model parameters inside __init__: adjust the defaults it starts from."""
    import llama_cpp.llama_cpp as lib

    original = lib.llama_model_default_params

    def params():
        value = original()
        value.use_extra_bufts = use_extra_bufts
        return value

    lib.llama_model_default_params = params
    try:
        yield
    finally:
        lib.llama_model_default_params = original


class LlamaCppGenerator(Generator):
    """One llama.cpp model in the process; calls are serialised (the model is not reentrant)."""

    def __init__(self, path: Path, n_ctx: int = 4096, n_threads: int = 0, seed: int = 0,
                 lora: Path | None = None) -> None:
        path = Path(path)
        check_gguf(path)
        if lora is not None:
            check_gguf(Path(lora))
        try:
            import llama_cpp
            from llama_cpp import Llama
        except ImportError as exc:
            raise ModelError(f"llama-cpp-python is not installed ({exc})") from None
        self.lib = llama_cpp
        _quiet(llama_cpp)
        self.extra_buffers = extra_buffers_safe(llama_cpp.llama_print_system_info().decode(errors="replace"))
        # Generation on all cores: llama-cpp-python's default (half of them) is 20-33 % slower here.
        threads = n_threads or os.cpu_count() or 1
        try:
            with _model_params(self.extra_buffers):
                # swa_full: sliding-window models (Gemma 3) can then drop a suffix of the KV cache,
                # which prompt-prefix reuse needs.
                self.llm = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads,
                                 seed=seed, verbose=False, swa_full=True,
                                 lora_path=str(lora) if lora is not None else None)
        except Exception as exc:
            raise ModelError(f"cannot load model {path}: {first_line(exc)}") from None
        self.path = path
        self.n_ctx = self.llm.n_ctx()
        self.n_vocab = self.llm.n_vocab()
        self.vocab = llama_cpp.llama_model_get_vocab(self.llm.model)
        self.lock = threading.Lock()
        self.calls = 0
        self.last = CallStats()
        self._formatter = self._chat_formatter()

    def _chat_formatter(self):
        template = self.llm.metadata.get("tokenizer.chat_template")
        if not template:
            return None
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        text = self.llm._model.token_get_text
        eos, bos = self.llm.token_eos(), self.llm.token_bos()
        return Jinja2ChatFormatter(template=template, eos_token=text(eos) if eos != -1 else "",
                                   bos_token=text(bos) if bos != -1 else "")

    def prompt_text(self, messages: list[dict]) -> str:
        """The chat as the model reads it: its own template, else plain paragraphs."""
        if self._formatter is not None:
            try:
                return self._formatter(messages=messages).prompt
            except Exception:  # a template that refuses these roles: fall back to plain text
                pass
        return "\n\n".join(m["content"] for m in messages) + "\n"

    def prompt_tokens(self, messages: list[dict]) -> list[int]:
        """The formatted chat as tokens, with BOS when the model wants one and the template left it out."""
        tokens = self.llm.tokenize(self.prompt_text(messages).encode("utf-8"), add_bos=False, special=True)
        bos = self.llm.token_bos()
        if self.lib.llama_vocab_get_add_bos(self.vocab) and bos != -1 and tokens[:1] != [bos]:
            tokens.insert(0, bos)
        return tokens

    def count_tokens(self, text: str) -> int:
        """Tokens of a text in this model's vocabulary."""
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def chat_tokens(self, messages: list[dict]) -> int:
        """Tokens of the formatted chat prompt, exactly."""
        return len(self.prompt_tokens(messages))

    def _evaluate_prompt(self, tokens: list[int]) -> int:
        """Evaluate the prompt, reusing the longest prefix already in the KV cache; the reused count."""
        llm = self.llm
        cached = llm.input_ids[:llm.n_tokens]
        same = cached[:len(tokens)] == np.asarray(tokens[:len(cached)], dtype=cached.dtype)
        prefix = len(same) if same.all() else int(np.argmin(same))
        prefix = min(prefix, len(tokens) - 1)  # the last token is evaluated again for its logits
        if prefix > 0 and llm._ctx.kv_cache_seq_rm(-1, prefix, -1):
            llm.n_tokens = prefix
        else:
            prefix = 0
            llm.reset()
        llm.eval(tokens[prefix:])
        return prefix

    def _logits(self) -> np.ndarray:
        pointer = self.lib.llama_get_logits_ith(self.llm.ctx, -1)
        return np.ctypeslib.as_array(pointer, shape=(self.n_vocab,))

    def stream(self, messages: list[dict], grammar: str | None, max_tokens: int) -> Iterator[str]:
        """Greedy decoding, constrained by `grammar` when given; text pieces as they are decoded."""
        with self.lock:
            self.calls += 1
            tokens = self.prompt_tokens(messages)
            if len(tokens) + max_tokens > self.n_ctx:
                raise ModelError(f"the prompt ({len(tokens)} tokens) and the answer ({max_tokens}) do not fit "
                                 f"the model's context window ({self.n_ctx}); raise n_ctx or lower k")
            try:
                checker = GrammarChecker(self.lib, self.vocab, grammar, self.n_vocab) if grammar else None
            except ValueError as exc:
                raise ModelError(f"the answer grammar is invalid: {exc}") from None
            try:
                yield from self._decode(tokens, checker, max_tokens)
            except ModelError:
                raise
            except Exception as exc:  # llama.cpp reports decode failures as plain exceptions
                raise ModelError(f"the model failed to answer: {first_line(exc)}") from exc
            finally:
                if checker is not None:
                    checker.close()

    def _decode(self, tokens: list[int], checker: GrammarChecker | None, max_tokens: int) -> Iterator[str]:
        stats = self.last = CallStats(prompt_tokens=len(tokens))
        started = time.perf_counter()
        stats.cached_tokens = self._evaluate_prompt(tokens)
        stats.prompt_seconds = time.perf_counter() - started
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        for _ in range(max_tokens):
            step = time.perf_counter()
            logits = self._logits()
            token = checker.best(logits) if checker is not None else int(np.argmax(logits))
            if not stats.first_token_seconds:
                stats.first_token_seconds = time.perf_counter() - started
            if self.lib.llama_vocab_is_eog(self.vocab, token):
                break
            if checker is not None:
                checker.accept(token)
            piece = decoder.decode(self.llm.detokenize([token]))
            self.llm.eval([token])
            stats.generated_tokens += 1
            stats.decode_seconds += time.perf_counter() - step
            if piece:
                yield piece
