"""Prompt templates from prompts/, checked at start-up, and the passages block they embed."""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

from bot.answer.records import Sentence
from index.errors import ConfigError

# Every template and the exact placeholders it must use: a typo fails at start-up.
TEMPLATES = {
    "answer_system": {"language", "max_statements"},
    "answer_user": {"passages", "question"},
    "condense": {"history", "question", "language"},
}


def placeholders(template: str) -> set[str]:
    """The {names} a template uses."""
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


@dataclass(frozen=True)
class Prompts:
    texts: dict[str, str]

    @classmethod
    def load(cls, folder: Path) -> Prompts:
        """Read and validate every template; ConfigError names the file and the problem."""
        texts = {}
        for name, wanted in TEMPLATES.items():
            path = Path(folder) / f"{name}.txt"
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"prompt template {path} cannot be read: {exc.strerror}") from None
            try:
                found = placeholders(text)
            except ValueError as exc:
                raise ConfigError(f"prompt template {path} is malformed: {exc}") from None
            if found != wanted:
                problems = [f"unknown {{{p}}}" for p in sorted(found - wanted)]
                problems += [f"missing {{{p}}}" for p in sorted(wanted - found)]
                raise ConfigError(f"prompt template {path}: {', '.join(problems)}")
            texts[name] = text
        return cls(texts)

    def render(self, name: str, **values) -> str:
        """A template with its placeholders filled."""
        return self.texts[name].format(**values).strip()


def passages_block(sentences: list[Sentence], titles: dict[int, str]) -> str:
    """Passages under their titles, each sentence on its own line after its id ([1], [2], … in list order)."""
    blocks = []
    for number in sorted({s.passage for s in sentences}):
        lines = [f"[{i}] {s.text}" for i, s in enumerate(sentences, 1) if s.passage == number]
        blocks.append(f"# {titles[number]}\n" + "\n".join(lines))
    return "\n".join(blocks)


def history_block(turns: list[tuple[str, str]]) -> str:
    """Earlier turns as Q:/A: lines for the condense prompt."""
    return "\n".join(f"Q: {q}\nA: {a}" for q, a in turns)
