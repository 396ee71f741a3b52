"""GBNF grammars that force a llama.cpp model to answer in citebot's JSON format.

Written by hand rather than converted from a JSON schema: llama-cpp-python's converter
mis-escapes quotes inside enum strings, and the grammar must bound whitespace and string
length so a small model cannot loop. Strings exclude control characters.

In "sentences" mode a quote can only be one of the sentences shown under the cited passage,
so every quote the model writes is verbatim by construction (and still verified after).
In "free" mode quotes are any string and verification alone decides.
"""

from __future__ import annotations

import json

_CHAR = r'[^"\\\x00-\x1F\x7F] | "\\" ["\\/bfnrt]'


def literal(text: str) -> str:
    """A GBNF terminal matching exactly `text`."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def json_string(text: str) -> str:
    """A GBNF terminal matching `text` written as a JSON string."""
    return literal(json.dumps(text, ensure_ascii=False))


def _repeat(rule: str, low: int, high: int) -> str:
    """`rule` repeated low..high times, separated by commas."""
    if high <= 0:
        return '""'
    first = rule if low >= 1 else f"({rule})?"
    rest = f'(ws "," ws {rule}){{{max(low - 1, 0)},{high - 1}}}'
    return f"{first} {rest}" if low >= 1 else f"({rule} {rest})?"


def answer_grammar(sentences_by_passage: dict[int, list[str]], max_statements: int,
                   min_statements: int = 0, quote_mode: str = "sentences", max_text: int = 300) -> str:
    """Grammar for {"statements": [{"text": str, "citations": [{"passage": n, "quote": str}]}]}."""
    passages = sorted(n for n, sents in sentences_by_passage.items() if sents)
    rules = [
        'root ::= "{" ws "\\"statements\\"" ws ":" ws "[" ws statements ws "]" ws "}"',
        f"statements ::= {_repeat('statement', min_statements, max_statements)}",
        'statement ::= "{" ws "\\"text\\"" ws ":" ws text ws "," ws "\\"citations\\"" ws ":" ws '
        f'"[" ws {_repeat("citation", 1, 2)} ws "]" ws "}}"',
        f'text ::= "\\"" char{{1,{max_text}}} "\\""',
        f"char ::= {_CHAR}",
        "ws ::= [ ]?",
    ]
    if quote_mode == "free" or not passages:
        rules += [
            'citation ::= "{" ws "\\"passage\\"" ws ":" ws [0-9]{1,2} ws "," ws "\\"quote\\"" ws ":" ws text ws "}"',
        ]
    else:
        rules.append("citation ::= " + " | ".join(f"cite{n}" for n in passages))
        for n in passages:
            rules.append(f'cite{n} ::= "{{" ws "\\"passage\\"" ws ":" ws "{n}" ws "," ws "\\"quote\\"" ws ":" ws quote{n} ws "}}"')
            rules.append(f"quote{n} ::= " + " | ".join(json_string(s) for s in sentences_by_passage[n]))
    return "\n".join(rules) + "\n"


def question_grammar(max_chars: int = 300) -> str:
    """Grammar for {"question": str}."""
    return "\n".join([
        'root ::= "{" ws "\\"question\\"" ws ":" ws text ws "}"',
        f'text ::= "\\"" char{{1,{max_chars}}} "\\""',
        f"char ::= {_CHAR}",
        "ws ::= [ ]?",
    ]) + "\n"
