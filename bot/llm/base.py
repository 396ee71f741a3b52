"""The local language model: finding the GGUF file, loading it once, grammar-constrained generation."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path

from index.errors import ModelError

GGUF_MAGIC = b"GGUF"


class Generator(ABC):
    """What the pipeline needs from a model: chat messages in, grammar-constrained text out."""

    n_ctx: int = 4096

    @abstractmethod
    def stream(self, messages: list[dict], grammar: str | None, max_tokens: int) -> Iterator[str]:
        """The model's reply to a chat at temperature 0, piece by piece, constrained by a GBNF grammar."""

    def generate(self, messages: list[dict], grammar: str | None, max_tokens: int) -> str:
        """The whole reply at once."""
        return "".join(self.stream(messages, grammar, max_tokens))

    def count_tokens(self, text: str) -> int:
        """Tokens of a text in the model's vocabulary (about 4 characters each unless overridden)."""
        return max(1, len(text) // 4)

    def chat_tokens(self, messages: list[dict]) -> int:
        """Tokens of the formatted chat prompt."""
        return sum(self.count_tokens(m["content"]) + 8 for m in messages)


def check_gguf(path: Path) -> None:
    """ModelError unless `path` is a readable GGUF file."""
    if path.is_dir():
        raise ModelError(f"{path} is a folder, not a GGUF file")
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise ModelError(f"cannot read model file {path}: {exc.strerror}") from None
    if magic != GGUF_MAGIC:
        raise ModelError(f"{path} is not a GGUF model file")


def first_line(exc: BaseException) -> str:
    """An exception as one short line (its type when it has no message)."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def parse_json(raw: str) -> dict | None:
    """Parse a JSON object from model output (control characters in strings tolerated), or None."""
    try:
        value = json.loads(raw.strip(), strict=False)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
