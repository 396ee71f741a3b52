"""A GBNF grammar that also carries its JSON-schema equivalent, for servers that take no GBNF.

llama.cpp (in process, llama-server, llama-cpp-python's server) constrains output with a GBNF
grammar; vLLM, Ollama and hosted APIs take a JSON schema instead. A Grammar is the GBNF text
itself (a str, so every GBNF path is unchanged) plus the schema and a `render` function that
turns JSON satisfying the schema into the text the grammar would have produced. The pipeline
thus parses one format whichever constraint the server used.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


class SchemaBroken(ValueError):
    """Model output that is not JSON satisfying the schema (a fault, never an answer)."""


class Grammar(str):
    """GBNF text with `schema` (a JSON schema) and `render` (schema-valid JSON → the grammar's text)."""

    schema: dict[str, Any]
    render: Callable[[Any], str]

    def __new__(cls, text: str, schema: dict[str, Any], render: Callable[[Any], str]) -> Grammar:
        value = super().__new__(cls, text)
        value.schema = schema
        value.render = render
        return value

    def from_json(self, raw: str) -> str:
        """The grammar's text for a model's JSON output; SchemaBroken when it breaks the schema."""
        try:
            value = json.loads(raw.strip(), strict=False)
        except ValueError:
            raise SchemaBroken(f"the output is not JSON: {raw[:60]!r}") from None
        return self.render(value)


def require(condition: bool, what: str) -> None:
    """SchemaBroken(what) unless the condition holds."""
    if not condition:
        raise SchemaBroken(what)
