"""GBNF grammars that constrain what a llama.cpp model may write.

Answers are lines "[id][id] statement": the passages are shown with numbered sentences and the
model cites sentence ids, which the code maps back to the sentences (so every quote is verbatim
by construction, and still verified against the file after). Statement text excludes newlines,
brackets and control characters and is bounded, so a small model cannot loop.
The follow-up rewriter answers {"question": str}, a JSON string written by hand rather than
converted from a schema, so whitespace and length stay bounded.
"""

from __future__ import annotations

_CHAR = r'[^"\\\x00-\x1F\x7F] | "\\" ["\\/bfnrt]'


def literal(text: str) -> str:
    """A GBNF terminal matching exactly `text`."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


MAX_TEXT = 250  # characters of one statement


def answer_grammar(n_sentences: int, max_statements: int, min_statements: int = 0, max_text: int = MAX_TEXT) -> str:
    """Grammar for lines "[id][id] statement": statements citing sentence ids 1..n_sentences."""
    # The model writes ids, never the quotes: they are a few tokens instead of a whole copied
    # sentence, and the code maps each id to its sentence (quotes verbatim by construction).
    if n_sentences < 1 or max_statements < 1:
        raise ValueError("an answer needs at least one sentence to cite and one statement")
    low = min(max(min_statements, 0), max_statements)
    ids = " | ".join(literal(str(i)) for i in range(1, n_sentences + 1))
    # A blank line ends the answer early (then only end-of-text is allowed); a statement cannot
    # open with "#", which marks titles in the prompt, nor hold "…", which stands for left-out text.
    return "\n".join([
        f'root ::= line{{{low},{max_statements}}} "\\n"?',
        'line ::= cite cite? " " text "\\n"',
        f"text ::= [^#\\n\\[\\] …\\x00-\\x1F] [^\\n\\[\\]…\\x00-\\x1F]{{3,{max_text}}}",
        'cite ::= "[" id "]"',
        f"id ::= {ids}",
    ]) + "\n"


def question_grammar(max_chars: int = 300) -> str:
    """Grammar for {"question": str}."""
    return "\n".join([
        'root ::= "{" ws "\\"question\\"" ws ":" ws text ws "}"',
        f'text ::= "\\"" char{{1,{max_chars}}} "\\""',
        f"char ::= {_CHAR}",
        "ws ::= [ ]?",
    ]) + "\n"
