"""Model answers: build the prompt within the context window, generate under a grammar, read drafts."""

from __future__ import annotations

from pathlib import Path

from bot.grammar import answer_grammar
from bot.injection import is_instruction
from bot.language import NAMES
from bot.llm import Generator, parse_json
from bot.prompting import Prompts, passages_block
from bot.records import DraftCitation, DraftStatement, Sentence
from index.errors import ModelError
from index.models import Hit
from index.settings import Settings


def answer_messages(prompts: Prompts, question: str, language: str, sentences: list[Sentence],
                    hits: tuple[Hit, ...], settings: Settings) -> list[dict]:
    """The chat messages that ask the model to answer from the numbered passages."""
    # A title is the article's first line: it passes the injection filter like any sentence.
    titles = {n: Path(h.chunk.path).name if is_instruction(h.chunk.title) else h.chunk.title
              for n, h in enumerate(hits, 1)}
    return [
        {"role": "system", "content": prompts.render("answer_system", language=NAMES.get(language, "the question's language"),
                                                     max_statements=settings.max_statements)},
        {"role": "user", "content": prompts.render("answer_user", passages=passages_block(sentences, titles),
                                                   question=question)},
    ]


def fit_to_context(generator: Generator, prompts: Prompts, question: str, language: str,
                   sentences: list[Sentence], hits: tuple[Hit, ...], settings: Settings):
    """Drop the lowest-ranked passages (then the last sentences) until prompt and answer fit."""
    budget = getattr(generator, "n_ctx", settings.n_ctx) - settings.max_tokens
    kept = list(sentences)
    count = getattr(generator, "chat_tokens", None)
    while True:
        messages = answer_messages(prompts, question, language, kept, hits, settings)
        tokens = count(messages) if count else sum(generator.count_tokens(m["content"]) for m in messages)
        if tokens <= budget:
            return messages, kept, tokens
        if not kept:
            raise ModelError(f"the question does not fit the model's context window ({tokens} tokens, "
                             f"{budget} available); raise n_ctx or ask a shorter question")
        last = max(s.passage for s in kept)
        if last > 1:
            kept = [s for s in kept if s.passage != last]
        else:
            kept = kept[:-1]


def _drafts(data: dict | None) -> list[DraftStatement]:
    statements = []
    for item in (data or {}).get("statements", []) or []:
        if not isinstance(item, dict):
            continue
        citations = []
        for cite in item.get("citations", []) or []:
            try:
                citations.append(DraftCitation(int(cite.get("passage")), str(cite.get("quote", ""))))
            except (TypeError, ValueError, AttributeError):
                continue
        statements.append(DraftStatement(str(item.get("text", "")), tuple(citations)))
    return statements


def generate_drafts(generator: Generator, prompts: Prompts, question: str, language: str,
                    sentences: list[Sentence], hits: tuple[Hit, ...], settings: Settings) -> tuple[list[DraftStatement], int, list[str]]:
    """Ask the model; return its (unverified) statements, the prompt's token count and problems."""
    messages, kept, tokens = fit_to_context(generator, prompts, question, language, sentences, hits, settings)
    by_passage: dict[int, list[str]] = {}
    for s in kept:
        by_passage.setdefault(s.passage, []).append(s.text)
    grammar = answer_grammar(by_passage, settings.max_statements, settings.min_statements, settings.quote_mode)
    raw = generator.generate(messages, grammar, settings.max_tokens)
    data = parse_json(raw)
    problems = [] if data is not None or not raw.strip() else [f"model output is not valid JSON: {raw[:60]!r}"]
    return _drafts(data), tokens, problems
