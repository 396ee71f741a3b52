"""Question admission: the one rule for what the pipeline, the CLI and Discord accept as a question."""

from __future__ import annotations

import unicodedata

from index.errors import InputError


def admit_question(question: str | None, max_chars: int) -> str:
    """The stripped question; InputError when it is empty, too long or not valid text."""
    question = (question or "").strip()
    if not question:
        raise InputError("the question is empty")
    try:
        question.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates: bytes that were not UTF-8 (argv, stdin) or a JSON "\ud800" escape.
        raise InputError("the question is not valid UTF-8 text") from None
    if any(unicodedata.category(c) == "Cc" and c not in "\t\n\r" for c in question):
        raise InputError("the question contains control characters")
    if len(question) > max_chars:
        raise InputError(f"the question is too long ({len(question)} characters, at most {max_chars})")
    return question
