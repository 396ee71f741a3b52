"""A language model behind an OpenAI-compatible chat completions server (llama.cpp's server, vLLM, Ollama).

Requests are streamed at temperature 0 with the answer's constraint in the request body: the
GBNF grammar (`grammar`, llama.cpp's servers), or its JSON schema as `response_format` (OpenAI's
json_schema form for vLLM, Ollama and hosted APIs; llama.cpp's json_object form); "auto" (the
default) sends GBNF to the servers whose tokenizer endpoint shows them to be llama.cpp's, the JSON
schema to any other, since vLLM and Ollama silently ignore a `grammar` field. JSON output is
parsed whole and turned into the grammar's text, so streaming is per answer there; JSON that
breaks the schema is a fault like the others. Faults (connection refused, timeout, HTTP 429 and
5xx, broken schema) get one retry after a short pause, then a one-line ModelError naming the
server; a stream that breaks off mid-answer is a ModelError too, never a partial answer. The API
key comes from CITEBOT_LLM_API_KEY only and never appears in a message.

Prompt sizes are counted by the server's own tokenizer (bot/llm/server_info.py), and the context
window and parallel slots are read from the server where it says them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any, cast

from bot.llm.base import Generator, first_line
from bot.llm.constraint import Grammar, SchemaBroken
from bot.llm.server_info import ServerInfo
from index.errors import ModelError

API_KEY_VARIABLE = "CITEBOT_LLM_API_KEY"
RETRY_PAUSE = 0.5  # seconds before the one retry
RETRYABLE_STATUS = frozenset({408, 409, 425, 429}) | frozenset(range(500, 600))
CONSTRAINTS = ("auto", "grammar", "json_schema", "json_object")


class _Retryable(Exception):
    """A fault worth one more try; its message is the reason, without the URL."""


class ServerGenerator(Generator):
    """Chat completions from an OpenAI-compatible server, streamed, with the grammar sent along."""

    def __init__(self, url: str, model: str = "", timeout: float = 60.0, n_ctx: int = 4096,
                 retry_pause: float = RETRY_PAUSE, constraint: str = "auto") -> None:
        try:
            import openai
        except ImportError as exc:
            raise ModelError(f"the openai package is needed for a model server ({exc})") from None
        self.openai = openai
        if constraint not in CONSTRAINTS:
            raise ValueError(f"constraint must be one of {CONSTRAINTS}")
        self.url = url.rstrip("/")
        self.model = model
        self.timeout = timeout
        self.constraint = constraint
        self.retry_pause = retry_pause
        self._key = os.environ.get(API_KEY_VARIABLE, "")
        self.info = ServerInfo(self.url, self._key, timeout)
        self._n_ctx = n_ctx
        # Retries are ours (one, for the faults above), so the client makes none of its own.
        self.client = openai.OpenAI(base_url=self.url, api_key=self._key or "none", timeout=timeout,
                                    max_retries=0)
        self.calls = 0

    @property
    def n_ctx(self) -> int:
        """The configured context window, or the server's (per slot) when it says a smaller one."""
        served = self.info.context_size()
        return min(self._n_ctx, served) if served else self._n_ctx

    @n_ctx.setter
    def n_ctx(self, value: int) -> None:
        """Set the configured context window (the server's may still be smaller)."""
        self._n_ctx = value

    def count_tokens(self, text: str) -> int:
        """Tokens of a text by the server's tokenizer (a conservative estimate when it has none)."""
        return self.info.count_tokens(text, self._model_name)

    def chat_tokens(self, messages: list[dict]) -> int:
        """Tokens of the formatted chat: exact where the server applies its template for us."""
        exact = self.info.chat_tokens(messages, self._model_name)
        if exact is not None:
            return exact
        return sum(self.count_tokens(m["content"]) + 8 for m in messages)

    def slots(self) -> int:
        """How many requests the server answers at once (1 when it does not say)."""
        return self.info.slots()

    def _kind(self) -> str:
        """The constraint sent: the setting, or for "auto" GBNF on llama.cpp's servers and the JSON schema elsewhere."""
        if self.constraint != "auto":
            return self.constraint
        gbnf = self.info.takes_gbnf(self._model_name)
        if gbnf is None:  # not answering yet: this request reports the fault, the next one asks again
            return "grammar"
        self.constraint = "grammar" if gbnf else "json_schema"
        return self.constraint

    def _json(self, grammar: str | None) -> Grammar | None:
        """The grammar when its JSON schema, not its GBNF, is what the server is sent."""
        if isinstance(grammar, Grammar) and self._kind() != "grammar":
            return grammar
        return None

    def _constraint(self, grammar: str | None) -> dict:
        """The request body fields that constrain the answer."""
        if grammar is None:
            return {}
        schema = self._json(grammar)
        if schema is None:
            # The body field of llama.cpp's server and of llama-cpp-python's server.
            return {} if self._kind() != "grammar" else {"grammar": grammar}
        if self._kind() == "json_object":  # llama.cpp's form (llama-server, llama-cpp-python's server)
            return {"response_format": {"type": "json_object", "schema": schema.schema}}
        return {"response_format": {"type": "json_schema",   # OpenAI's form (vLLM, Ollama, hosted APIs)
                                    "json_schema": {"name": "answer", "schema": schema.schema, "strict": True}}}

    def _error(self, reason: str) -> ModelError:
        message = f"the model server at {self.url} failed: {reason}"
        if self._key:
            message = message.replace(self._key, "***")
        return ModelError(message)

    def _model_name(self) -> str:
        """The configured model name, else the server's first model (vLLM wants an exact name)."""
        if not self.model:
            try:
                models = self.client.models.list()
                self.model = next((m.id for m in models), "") or "default"
            except Exception:
                return "default"  # the completion request reports the fault itself
        return self.model

    def stream(self, messages: list[dict], grammar: str | None, max_tokens: int) -> Iterator[str]:
        """The server's reply, piece by piece; ModelError on a fault (after one retry when nothing was shown)."""
        self.calls += 1
        for attempt in (1, 2):
            shown = False
            try:
                for piece in self._pieces(messages, grammar, max_tokens):
                    shown = True
                    yield piece
                return
            except _Retryable as exc:
                if shown or attempt == 2:
                    raise self._error(str(exc)) from None
            time.sleep(self.retry_pause)

    def _pieces(self, messages: list[dict], grammar: str | None, max_tokens: int) -> Iterator[str]:
        """One attempt's text: streamed as it comes, or (JSON constraint) parsed whole, then rendered."""
        constrained = self._json(grammar)
        if constrained is None:
            yield from self._attempt(messages, grammar, max_tokens)
            return
        raw = "".join(self._attempt(messages, grammar, max_tokens))
        try:
            yield constrained.from_json(raw)
        except SchemaBroken as exc:
            raise _Retryable(f"the output broke the answer schema ({exc})") from None

    def _attempt(self, messages: list[dict], grammar: str | None, max_tokens: int) -> Iterator[str]:
        openai = self.openai
        try:
            response = self.client.chat.completions.create(
                model=self._model_name(), messages=cast(Any, messages),
                temperature=0, max_tokens=max_tokens, stream=True, extra_body=self._constraint(grammar))
        except openai.APITimeoutError:
            raise _Retryable(f"no answer within {self.timeout:g} s") from None
        except openai.APIConnectionError as exc:
            raise _Retryable(f"cannot connect ({_cause(exc)})") from None
        except openai.APIStatusError as exc:
            if exc.status_code in RETRYABLE_STATUS:
                raise _Retryable(f"HTTP {exc.status_code}") from None
            raise self._error(f"HTTP {exc.status_code}: {first_line(exc)}") from None
        except openai.OpenAIError as exc:
            raise self._error(first_line(exc)) from None
        finished = False
        try:
            for chunk in response:
                for choice in chunk.choices:
                    if choice.delta and choice.delta.content:
                        yield choice.delta.content
                    if choice.finish_reason:
                        finished = True
        except openai.APITimeoutError:
            raise _Retryable(f"no answer within {self.timeout:g} s") from None
        except Exception as exc:  # httpx stream errors (the server went away) are not wrapped by openai
            raise _Retryable(f"the answer broke off ({_cause(exc)})") from None
        finally:
            response.close()
        if not finished:
            raise _Retryable("the answer broke off (the stream ended early)")


def _cause(exc: BaseException) -> str:
    """The innermost cause of a transport error, as one line (e.g. 'Connection refused')."""
    for _ in range(10):  # a chain can loop
        inner = exc.__cause__ or exc.__context__
        if inner is None:
            break
        exc = inner
    return first_line(exc)
