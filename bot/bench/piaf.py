"""PIAF v1.1 (SQuAD format) as a citebot corpus: one article file per context."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PiafQuestion:
    id: str
    question: str
    context: int          # index of the gold context
    answers: tuple[str, ...]


def load_piaf(path: Path) -> tuple[list[tuple[str, str]], list[PiafQuestion]]:
    """Contexts as (title, text) and every question with its gold context."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError) as exc:
        raise SystemExit(f"cannot read PIAF from {path}: {exc}") from None
    contexts: list[tuple[str, str]] = []
    questions: list[PiafQuestion] = []
    for article in data:
        for paragraph in article["paragraphs"]:
            index = len(contexts)
            # Some titles carry Wikipedia markup such as <i>…</i>.
            contexts.append((re.sub(r"<[^>]+>", "", article["title"]), paragraph["context"]))
            for qa in paragraph["qas"]:
                answers = tuple(dict.fromkeys(a["text"] for a in qa.get("answers", [])))
                questions.append(PiafQuestion(qa["id"], qa["question"], index, answers))
    return contexts, questions


def context_file(folder: Path, index: int) -> Path:
    return folder / f"piaf_{index:04d}.txt"


def write_corpus(contexts: list[tuple[str, str]], folder: Path) -> Path:
    """Write each context as `title` + blank line + text; unchanged files are left alone."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, (title, text) in enumerate(contexts):
        path = context_file(folder, index)
        content = f"{title}\n\n{text}\n"
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8")
    return folder
