"""citebot's side of bench_llm.py: the seeds index, the fixed questions, and the prompts Answerer.ask builds."""

from __future__ import annotations

import json
import time
from pathlib import Path

from bot.llm import LlamaGenerator
from bot.pipeline import Answerer
from index.builder import build_index
from index.errors import IndexMismatchError
from index.search import Searcher
from index.settings import PROJECT_ROOT, Settings

QUESTION_IDS = ("a02", "a04", "a11", "a14", "a16", "a26", "a36", "a41")
QUESTIONS_FILE = PROJECT_ROOT / "tests" / "data" / "questions_seeds.jsonl"


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
