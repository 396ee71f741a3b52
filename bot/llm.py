"""The local language model: finding the GGUF file, loading it once, grammar-constrained generation."""

from __future__ import annotations

import json
import os
import re
import socket
import threading
from pathlib import Path
from typing import Callable, Protocol
from urllib.parse import urlparse

from index.errors import ModelError
from index.settings import Settings

GGUF_MAGIC = b"GGUF"


class Generator(Protocol):
    """What the pipeline needs from a model: chat messages in, grammar-constrained text out."""

    def generate(self, messages: list[dict], grammar: str, max_tokens: int) -> str:
        """The model's reply to a chat, constrained by a GBNF grammar."""

    def count_tokens(self, text: str) -> int:
        """Tokens of a text in the model's vocabulary."""


def _check_gguf(path: Path) -> None:
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise ModelError(f"cannot read model file {path}: {exc.strerror}") from None
    if magic != GGUF_MAGIC:
        raise ModelError(f"{path} is not a GGUF model file")


def find_model(settings: Settings, notify: Callable[[str], None]) -> Path | None:
    """The GGUF to use: the configured path, else the default from the Hugging Face cache or hub."""
    # Returns None when no model can be obtained (offline and nothing cached): the caller then
    # answers in extractive mode.
    if settings.model:
        path = Path(settings.model).expanduser()
        _check_gguf(path)
        return path
    if not settings.download:
        return None
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        return None
    try:
        return Path(hf_hub_download(settings.model_repo, settings.model_file, local_files_only=True))
    except Exception:
        pass
    if os.environ.get("HF_HUB_OFFLINE") or not _hub_reachable():
        return None
    notify(f"downloading the default model {settings.model_repo}/{settings.model_file} (once)")
    try:
        return Path(hf_hub_download(settings.model_repo, settings.model_file))
    except Exception as exc:
        notify(f"download failed ({type(exc).__name__})")
        return None


def _hub_reachable(timeout: float = 3.0) -> bool:
    """A quick TCP check, so an offline machine does not sit through the hub client's retries."""
    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


class LlamaGenerator:
    """One llama.cpp model in the process; calls are serialised (the model is not reentrant)."""

    def __init__(self, path: Path, n_ctx: int = 4096, n_threads: int = 0, seed: int = 0) -> None:
        path = Path(path)
        _check_gguf(path)
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise ModelError(f"llama-cpp-python is not installed ({exc})") from None
        try:
            # llama-cpp-python generates on half the cores by default (1 of 2 here), 20-33 % slower
            # than on all of them (scripts/bench_llm.py).
            threads = n_threads or os.cpu_count() or 1
            self.llm = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads,
                             seed=seed, verbose=False)
        except Exception as exc:
            raise ModelError(f"cannot load model {path}: {first_line(exc)}") from None
        self.path = path
        self.lock = threading.Lock()
        self.calls = 0

    @property
    def n_ctx(self) -> int:
        """The model's context window in tokens."""
        return self.llm.n_ctx()

    def count_tokens(self, text: str) -> int:
        """Tokens of a text in this model's vocabulary."""
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def chat_tokens(self, messages: list[dict]) -> int:
        """Tokens of the formatted chat prompt (approximated from the message texts)."""
        return sum(self.count_tokens(m["content"]) + 8 for m in messages)

    def generate(self, messages: list[dict], grammar: str, max_tokens: int) -> str:
        """The model's reply to a chat at temperature 0, constrained by a GBNF grammar."""
        from llama_cpp import LlamaGrammar

        with self.lock:
            self.calls += 1
            try:
                compiled = LlamaGrammar.from_string(grammar, verbose=False)
                result = self.llm.create_chat_completion(messages=messages, grammar=compiled, temperature=0.0,
                                                         max_tokens=max_tokens, seed=0)
            except Exception as exc:  # llama.cpp reports context overflow and grammar errors as plain exceptions
                raise ModelError(f"the model failed to answer: {first_line(exc)}") from exc
        return result["choices"][0]["message"]["content"] or ""


def first_line(exc: BaseException) -> str:
    """An exception as one short line (its type when it has no message)."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def parse_json(raw: str) -> dict | None:
    """Parse model output; tolerate control characters and output cut short by max_tokens."""
    text = raw.strip()
    try:
        value = json.loads(text, strict=False)
        return value if isinstance(value, dict) else None
    except ValueError:
        pass
    # Cut after the last complete statement object and close the brackets.
    for match in reversed(list(re.finditer(r"\}\s*\]\s*\}|\}", text))):
        candidate = text[:match.end()]
        for suffix in ("", "]}", "]}]}"):
            try:
                value = json.loads(candidate + suffix, strict=False)
            except ValueError:
                continue
            if isinstance(value, dict):
                return value
    return None
