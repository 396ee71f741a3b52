"""Follow-up questions made standalone from the conversation before retrieval."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.grammar import question_grammar
from bot.language import NAMES
from bot.llm import Generator, parse_json
from bot.prompting import Prompts, history_block
from index.analyzer import Analyzer

# Words that point back into the conversation ("Et lui, quand est-il venu ?").
_ANAPHORA = re.compile(
    r"^\W*(et|puis|alors|ensuite|and|then|also)\b|\b(il|elle|ils|elles|lui|eux|leur|celui|celle|ceux|celles|"
    r"ce|cet|cette|ces|son|sa|ses|ça|cela|là|he|she|it|they|him|her|them|his|its|their|this|that|these|"
    r"those|there)\b", re.I)
MAX_TURNS = 3


@dataclass(frozen=True)
class Turn:
    question: str      # as asked
    standalone: str    # as used for retrieval
    answer: str


def needs_context(question: str, analyzer: Analyzer) -> bool:
    """A follow-up: it refers back (pronouns, "et ...") or says too little on its own."""
    return bool(_ANAPHORA.search(question)) or len(analyzer.stems(question)) <= 1


def standalone_question(question: str, history: list[Turn], analyzer: Analyzer, language: str,
                        generator: Generator | None = None, prompts: Prompts | None = None) -> str:
    """The question rewritten to stand alone (unchanged when it already does)."""
    if not history or not needs_context(question, analyzer):
        return question
    recent = history[-MAX_TURNS:]
    if generator is not None and prompts is not None:
        messages = [{"role": "user", "content": prompts.render(
            "condense", history=history_block([(t.question, t.answer) for t in recent]),
            question=question, language=NAMES.get(language, "the question's language"))}]
        data = parse_json(generator.generate(messages, question_grammar(), 160))
        rewritten = str((data or {}).get("question", "")).strip()
        if len(analyzer.stems(rewritten)) > len(analyzer.stems(question)):
            return rewritten
    # Without a model: carry the previous standalone question along for retrieval.
    return f"{question} ({recent[-1].standalone})"
