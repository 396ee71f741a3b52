"""Follow-up questions made standalone from the conversation before retrieval."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.answer.answer_type import question_entities
from bot.answer.grammar import question_grammar
from bot.answer.language import NAMES
from bot.answer.prompting import Prompts, history_block
from bot.llm.base import Generator, parse_json
from index.search.analyzer import Analyzer

# A question that opens on a connective continues the conversation ("Et en 2024 ?").
_CONTINUATION = re.compile(r"^\W*(et|puis|alors|ensuite|and|then|also)\b", re.I)
# Words that point back into the conversation ("Quand est-il venu ?"); they do not count when a
# name comes before them ("Quand Poutine est-il venu ?" stands alone, "Qu'a-t-il dit à Moscou ?"
# does not).
_ANAPHORA = re.compile(
    r"\b(il|elle|ils|elles|lui|eux|leur|celui|celle|ceux|celles|ce|cet|cette|ces|son|sa|ses|ça|cela|là|"
    r"he|she|it|they|him|her|them|his|its|their|this|that|these|those|there)\b", re.I)
MAX_TURNS = 3
# Without a model, earlier questions are appended for retrieval; bounded so a long chat cannot
# grow the question past the length limit.
CONTEXT_CHARS = 300


@dataclass(frozen=True)
class Turn:
    question: str      # as asked
    standalone: str    # as used for retrieval
    answer: str


def needs_context(question: str, analyzer: Analyzer) -> bool:
    """A follow-up: it continues ("et ..."), refers back without naming anyone, or says too little."""
    if _CONTINUATION.search(question) or len(analyzer.stems(question)) <= 1:
        return True
    pointer = _ANAPHORA.search(question)
    return pointer is not None and not question_entities(question[:pointer.start()])


def standalone_question(question: str, history: list[Turn], analyzer: Analyzer, language: str,
                        generator: Generator | None = None, prompts: Prompts | None = None,
                        max_chars: int = 2000) -> str:
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
        if len(analyzer.stems(rewritten)) > len(analyzer.stems(question)) and len(rewritten) <= max_chars:
            return rewritten
    # Without a model: the conversation's subject, appended for retrieval.
    context = _context(history, max_chars - len(question) - 3)
    return f"{question} ({context})" if context else question


def _context(history: list[Turn], room: int) -> str:
    """The last question that stood alone and the follow-ups since, within `room` characters."""
    # Questions as asked, never earlier rewrites (which would nest); the anchor keeps the subject.
    room = min(CONTEXT_CHARS, room)
    anchor = max((i for i, t in enumerate(history) if t.standalone == t.question), default=0)
    follow_ups = [t.question for t in history[anchor + 1:]][-(MAX_TURNS - 1):]
    while follow_ups and len(" ".join([history[anchor].question, *follow_ups])) > room:
        follow_ups.pop(0)  # the oldest follow-up goes first: the anchor holds the subject
    context = " ".join([history[anchor].question, *follow_ups])
    if len(context) > room:
        context = context[:max(room, 0)].rpartition(" ")[0]
    return context
