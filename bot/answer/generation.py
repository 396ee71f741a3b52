"""Model answers: build the prompt within the context window, stream the model's lines as drafts."""

from __future__ import annotations

import re
from collections.abc import Generator as PyGenerator
from collections.abc import Iterator
from pathlib import Path

from bot.answer.grammar import MAX_TEXT, answer_grammar
from bot.answer.injection import is_instruction
from bot.answer.language import NAMES
from bot.answer.prompting import Prompts, passages_block
from bot.answer.question import Question
from bot.answer.records import DraftCitation, DraftStatement, Sentence
from bot.llm.base import Generator
from bot.settings import Settings
from index.records import Hit

# "[3][7] statement text": the ids that open a line are the sentences it cites. The model names
# its evidence first, then writes what it says (a small model then tends to stay close to it).
_LINE = re.compile(r"^(?P<ids>(?:\[\s*\d+\s*\]\s*)+)(?P<text>.*)$")
_ID = re.compile(r"\d+")
# A line opening like the prompt's own parts means the model has moved on to a new example
# (base models continue the pattern): the answer is over.
STOP_PREFIXES = ("#", "Question:", "Passages:", "Answer:", "Example")
# A fragment after the statement's last full stop ("… soit signé. Il,"): the model was cut off
# by the length bound or drifted into the next sentence.
_ENDS = (".", "!", "?", "»", "”", '"', ")")
_TAIL = re.compile(r"(?:(?<=[a-zà-ÿ0-9]{2}[.!?])|(?<=[»”]))\s+(\S+\s?){1,2}$")


def answer_messages(prompts: Prompts, question: Question, sentences: list[Sentence],
                    hits: tuple[Hit, ...], settings: Settings) -> list[dict]:
    """The chat messages that ask the model to answer from the numbered sentences."""
    # A title is the article's first line: it passes the injection filter like any sentence.
    titles = {n: Path(h.chunk.path).name if is_instruction(h.chunk.title) else " ".join(h.chunk.title.split())
              for n, h in enumerate(hits, 1)}
    return [
        {"role": "system", "content": prompts.render(
            "answer_system", language=NAMES.get(question.language, "the question's language"),
            max_statements=settings.answer.max_statements)},
        {"role": "user", "content": prompts.render("answer_user", passages=passages_block(sentences, titles),
                                                   question=question.standalone)},
    ]


def fit_to_context(generator: Generator, prompts: Prompts, question: Question,
                   sentences: list[Sentence], hits: tuple[Hit, ...],
                   settings: Settings) -> tuple[list[dict], list[Sentence]]:
    """Drop the lowest-ranked passages (then the last sentences) until prompt and answer fit.

    Returns the messages and the sentences kept (possibly none: then there is nothing to ask).
    """
    budget = generator.n_ctx - settings.model.max_tokens
    kept = list(sentences)
    while True:
        messages = answer_messages(prompts, question, kept, hits, settings)
        if generator.chat_tokens(messages) <= budget or not kept:
            return messages, kept
        passages = {s.passage for s in kept}
        if len(passages) > 1:
            kept = [s for s in kept if s.passage != max(passages)]
        else:
            kept = kept[:-1]


def parse_line(line: str, kept: list[Sentence], problems: list[str]) -> DraftStatement | None:
    """One answer line as a draft statement citing the sentences its ids name (None when blank)."""
    line = line.strip()
    if not line:
        return None
    match = _LINE.match(line)
    if match is None:
        return DraftStatement(line, ())
    citations = []
    for number in (int(n) for n in _ID.findall(match["ids"])):
        if 1 <= number <= len(kept):
            sentence = kept[number - 1]
            citations.append(DraftCitation(sentence.passage, sentence.text))
        else:
            problems.append(f"sentence [{number}] does not exist")
    text = match["text"].strip()
    if not text.endswith(_ENDS):
        text = _TAIL.sub("", text)
        if not text.endswith(_ENDS) and len(text) >= MAX_TEXT:
            problems.append(f"statement cut off at the length limit dropped: {text[:60]!r}")
            return None
    return DraftStatement(text, tuple(dict.fromkeys(citations)))


def split_lines(pieces: Iterator[str]) -> PyGenerator[str, None, None]:
    """Complete lines from a stream of text pieces (the last one even without a newline).

    Stops reading (which stops the model) at a line that opens like a part of the prompt.
    """
    buffer = ""
    try:
        for piece in pieces:
            buffer += piece
            while "\n" in buffer:
                line, buffer = buffer.split("\n", 1)
                if line.lstrip().startswith(STOP_PREFIXES):
                    return
                yield line
            if buffer.lstrip().startswith(STOP_PREFIXES):
                return
        if buffer.strip():
            yield buffer
    finally:
        close = getattr(pieces, "close", None)
        if close is not None:
            close()  # ends the model's decoding loop at once


def stream_drafts(generator: Generator, messages: list[dict], kept: list[Sentence], settings: Settings,
                  problems: list[str]) -> Iterator[DraftStatement]:
    """Ask the model; yield each (unverified) statement as soon as its line is complete."""
    grammar = None
    if settings.answer.quote_mode == "sentences":
        grammar = answer_grammar(len(kept), settings.answer.max_statements, settings.answer.min_statements)
    seen: set[str] = set()
    lines = split_lines(generator.stream(messages, grammar, settings.model.max_tokens))
    try:
        for line in lines:
            draft = parse_line(line, kept, problems)
            if draft is None:
                continue
            if draft.text in seen or len(seen) == settings.answer.max_statements:
                return  # a model repeating itself has nothing more to say
            seen.add(draft.text)
            yield draft
    finally:
        lines.close()  # stops the model's decoding loop at once
