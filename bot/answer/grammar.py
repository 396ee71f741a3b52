"""GBNF grammars that constrain what a llama.cpp model may write.

Answers are lines "[id][id] statement": the passages are shown with numbered sentences and the
model cites sentence ids, which the code maps back to the sentences (so every quote is verbatim
by construction, and still verified against the file after). Statement text excludes newlines,
brackets and control characters and is bounded, so a small model cannot loop.
The follow-up rewriter answers {"question": str}, a JSON string written by hand rather than
converted from a schema, so whitespace and length stay bounded.
"""

from __future__ import annotations

import json
import re

from bot.llm.constraint import Grammar, require

_CHAR = r'[^"\\\x00-\x1F\x7F] | "\\" ["\\/bfnrt]'


def literal(text: str) -> str:
    """A GBNF terminal matching exactly `text`."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


MAX_TEXT = 250  # characters of one statement
_FORBIDDEN = re.compile(r"[\[\]…\x00-\x1F\x7F]")  # never in a statement's text
_TEXT_PATTERN = r'^[^#\[\]… "\\\x00-\x1F\x7F][^\[\]…"\\\x00-\x1F\x7F]{{3,{}}}$'


def answer_grammar(n_sentences: int, max_statements: int, min_statements: int = 0,
                   max_text: int = MAX_TEXT) -> Grammar:
    """Grammar for lines "[id][id] statement": statements citing sentence ids 1..n_sentences."""
    # The model writes ids, never the quotes: they are a few tokens instead of a whole copied
    # sentence, and the code maps each id to its sentence (quotes verbatim by construction).
    if n_sentences < 1 or max_statements < 1:
        raise ValueError("an answer needs at least one sentence to cite and one statement")
    low = min(max(min_statements, 0), max_statements)
    ids = " | ".join(literal(str(i)) for i in range(1, n_sentences + 1))
    # A blank line ends the answer early (then only end-of-text is allowed); a statement cannot
    # open with "#", which marks titles in the prompt, nor hold "…", which stands for left-out text.
    text = "\n".join([
        f'root ::= line{{{low},{max_statements}}} "\\n"?',
        'line ::= cite cite? " " text "\\n"',
        f"text ::= [^#\\n\\[\\] …\\x00-\\x1F] [^\\n\\[\\]…\\x00-\\x1F]{{3,{max_text}}}",
        'cite ::= "[" id "]"',
        f"id ::= {ids}",
    ]) + "\n"
    return Grammar(text, answer_schema(n_sentences, max_statements, low, max_text),
                   lambda value: answer_lines(value, n_sentences, max_statements, max_text, low))


def answer_schema(n_sentences: int, max_statements: int, min_statements: int, max_text: int = MAX_TEXT) -> dict:
    """The JSON schema equivalent of answer_grammar: {"statements": [{"cites": [id, id?], "text": str}]}."""
    # Properties in this order: the model names its evidence before it writes (as in the grammar).
    statement = {"type": "object", "properties": {
        "cites": {"type": "array", "items": {"enum": list(range(1, n_sentences + 1))}, "minItems": 1, "maxItems": 2},
        # The grammar's text rule (no leading "#" or space, no brackets, "…" or control characters),
        # quotes and backslashes excluded too: a pattern's characters go into the JSON string as they are.
        "text": {"type": "string", "pattern": _TEXT_PATTERN.format(max_text)},
    }, "required": ["cites", "text"], "additionalProperties": False}
    return {"type": "object", "properties": {
        "statements": {"type": "array", "items": statement, "minItems": min_statements, "maxItems": max_statements},
    }, "required": ["statements"], "additionalProperties": False}


def statement_text(text: str, max_text: int = MAX_TEXT) -> str:
    """A JSON statement's text on one line, if the grammar's `text` rule would allow it; else SchemaBroken."""
    line = " ".join(text.split())
    # As the GBNF: 4 to max_text + 1 characters, no brackets (they would read as citations), no
    # "…" (left-out text), no control characters, and no leading "#" (titles in the prompt).
    require(4 <= len(line) <= max_text + 1, f"a statement text of {len(line)} characters")
    require(not _FORBIDDEN.search(line), "a statement text with brackets, an ellipsis or a control character")
    require(not line.startswith("#"), "a statement text opening with #")
    return line


def answer_lines(value: object, n_sentences: int, max_statements: int, max_text: int = MAX_TEXT,
                 min_statements: int = 0) -> str:
    """answer_schema JSON as the grammar's lines "[id][id] statement"; SchemaBroken when it breaks the schema."""
    require(isinstance(value, dict) and isinstance(value.get("statements"), list), "no statements list")
    assert isinstance(value, dict)
    statements = value["statements"]
    require(len(statements) <= max_statements, f"more than {max_statements} statements")
    require(len(statements) >= min_statements, f"fewer than {min_statements} statements")
    lines = []
    for item in statements:
        require(isinstance(item, dict), "a statement is not an object")
        cites, text = item.get("cites"), item.get("text")
        require(isinstance(cites, list) and 1 <= len(cites) <= 2, "a statement without one or two cites")
        require(all(type(c) is int and 1 <= c <= n_sentences for c in cites), "a cite is not a sentence id")
        require(isinstance(text, str), "a statement without text")
        # One statement per line, as the grammar writes them, held to the grammar's text rules.
        lines.append("".join(f"[{c}]" for c in cites) + " " + statement_text(str(text), max_text) + "\n")
    return "".join(lines)


def question_grammar(max_chars: int = 300) -> Grammar:
    """Grammar for {"question": str}."""
    text = "\n".join([
        'root ::= "{" ws "\\"question\\"" ws ":" ws text ws "}"',
        f'text ::= "\\"" char{{1,{max_chars}}} "\\""',
        f"char ::= {_CHAR}",
        "ws ::= [ ]?",
    ]) + "\n"
    schema = {"type": "object", "properties": {"question": {"type": "string", "minLength": 1, "maxLength": max_chars}},
              "required": ["question"], "additionalProperties": False}
    return Grammar(text, schema, _question_json)


def _question_json(value: object) -> str:
    """The question_schema JSON, checked, as the grammar writes it."""
    require(isinstance(value, dict) and isinstance(value.get("question"), str), "no question string")
    return json.dumps(value, ensure_ascii=False)
