"""The records one question travels in: the Question (built once per ask) and its Evidence.

Every stage after retrieval reads the same Question: the text as admitted, the standalone form
retrieval used, the language (detected once, with one default), the stems, the expected answer
type, the answer's shape (list, why, yes/no, summary, plain) and the focus. Stages take it instead
of a question string, a language and an analyzer threaded separately, so no stage detects the
language or analyses the question again with other defaults.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from bot.answer.answer_type import QuestionShape, analyse, question_entities
from bot.answer.focus import Focus, question_focus
from bot.answer.language import detect_language
from bot.answer.records import Sentence
from index.articles.text import fold
from index.records import Hit
from index.search.analyzer import Analyzer

_LIST_QUESTION = re.compile(r"^\W*(?:et\s+)?(?:quels|quelles|lesquels|lesquelles|qui sont)\b|"
                            r"^\W*(?:and\s+)?(?:which|what)\s+(?:\w+\s+)?(?!(?:is|was|does|has)\b)\w{3,}s\b|"
                            r"\b(?:list|liste|enumere)", re.I)
_WHY = re.compile(r"^\W*(?:et\s+)?(?:pourquoi|pour quelle raison|why|for what reason)\b", re.I)
_YES_NO = re.compile(r"^\W*(?:et\s+)?(?:est-ce qu|est-il|est-elle|a-t-il|a-t-elle|ont-ils|"
                     r"(?:is|are|was|were|did|does|do|has|have|had|can|could|will|would)\s)", re.I)
_INVERTED = re.compile(r"\w-(?:t-)?(?:il|elle|ils|elles|on)\b", re.I)
_WH = re.compile(r"\b(?:qui|que|quoi|qu'|quand|ou|comment|combien|pourquoi|quel\w*|lequel\w*|laquelle|"
                r"who|whom|whose|what|when|where|which|how|why)\b")
_SUMMARY = re.compile(r"^\W*(?:resume\w*|summari[sz]e|que disent les articles|what do the articles say)", re.I)


def question_form(question: str) -> str:
    """'list', 'why', 'yesno', 'summary' or 'plain': how the answer is shaped."""
    folded = fold(question)
    if _SUMMARY.search(folded):
        return "summary"
    if _WHY.search(folded):
        return "why"
    if _LIST_QUESTION.search(question):
        return "list"
    if not _WH.search(folded) and (_YES_NO.search(question) or _INVERTED.search(question)):
        return "yesno"
    return "plain"


@dataclass(frozen=True)
class Question:
    """One question as every answering stage reads it (the standalone form is what they answer)."""

    text: str                  # as asked and admitted
    standalone: str            # follow-ups rewritten to stand alone; retrieval and answering read this
    language: str              # bot/answer/language.py: "fr", "en" or OTHER, detected once
    stems: frozenset[str]      # the standalone form's analyzer stems
    shape: QuestionShape       # the expected answer type and interrogative words
    form: str                  # question_form: list, why, yesno, summary or plain
    focus: Focus | None        # what the question asks for, when the focus gate can check it
    entities: tuple[str, ...]  # folded proper names
    # The language text of names alone (a heading, "Poutine ?") is taken to be in: the corpus's.
    default_language: str = "fr"

    @classmethod
    def build(cls, text: str, analyzer: Analyzer, standalone: str | None = None,
              language: str | None = None, default_language: str = "fr") -> Question:
        """The record for an admitted question (its language detected here unless given)."""
        standalone = standalone or text
        return cls(text=text, standalone=standalone,
                   language=language or detect_language(text, default=default_language),
                   stems=frozenset(analyzer.stems(standalone)), shape=analyse(standalone),
                   form=question_form(standalone), focus=question_focus(standalone),
                   entities=tuple(question_entities(standalone)), default_language=default_language)

    def other_language(self, text: str) -> bool:
        """Whether `text` (a sentence) is in another language than the question."""
        return detect_language(text, default=self.default_language) != self.language


@dataclass(frozen=True, eq=False)
class Evidence:
    """What retrieval and support scoring found for one question: passages, sentences and their support."""

    hits: tuple[Hit, ...]
    sentences: tuple[Sentence, ...]
    probabilities: np.ndarray  # support of each sentence, in `sentences` order

    @property
    def support(self) -> float:
        """The best sentence's support probability (the abstention signal)."""
        return float(self.probabilities.max()) if len(self.probabilities) else 0.0
