"""A language model behind an OpenAI-compatible chat completions server (llama.cpp's server, vLLM, Ollama).

Requests are streamed at temperature 0 with the answer's constraint in the request body: the
GBNF grammar (`grammar`, llama.cpp's servers), or its JSON schema as `response_format` (OpenAI's
json_schema form for vLLM, Ollama and hosted APIs; llama.cpp's json_object form); "auto" (the
default) sends GBNF to the servers whose tokenizer endpoint shows them to be llama.cpp's, the JSON
schema to any other, since vLLM and Ollama silently ignore a `grammar` field. JSON output is
parsed whole and turned into the grammar's text, so streaming is per answer there; JSON that
breaks the schema is a fault like the others.

Faults and what they cost:
- HTTP 429 and 5xx, a stream that ends early (llama-cpp-python's server ends a running stream
  with [DONE] and no finish reason when another request arrives, its `interrupt_requests`
  default) or breaks off: up to `retries` more tries (three times as many for a stream ended
  early: preemption is contention, and passes), after a pause that doubles each time (at
  most MAX_PAUSE), with jitter (several preempted askers must not all come back at once);
- connection refused: one retry (a server that is down is said at once);
- a retry after part of the answer was streamed asks the same question again: at temperature 0
  the server writes the same text, so what was already yielded is checked and skipped, never
  yielded twice; a retry that writes something else is a ModelError;
- JSON that breaks the schema: one retry;
- nothing received for `read_timeout` seconds (no token, no keep-alive), or no connection within
  `timeout`: a ModelError at once (a stalled server would stall the retry too).
Every error is one line naming the server, with its key and any credential masked
(index/secrets.py). The API key comes from CITEBOT_LLM_API_KEY only.

Prompt sizes are counted by the server's own tokenizer (bot/llm/server_info.py), and the context
window and parallel slots are read from the server where it says them.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

from bot.llm.base import Generator, first_line
from bot.llm.constraint import Grammar, SchemaBroken
from bot.llm.server_info import ServerInfo
from index.errors import ModelError
from index.secrets import redact

if TYPE_CHECKING:
    from bot.settings import ModelSettings

API_KEY_VARIABLE = "CITEBOT_LLM_API_KEY"
RETRY_PAUSE = 0.5  # seconds before the first retry; doubled for each next one
MAX_PAUSE = 8.0  # the longest pause between two tries (before jitter)
RETRIES = 5  # tries after the first for a busy server or a stream cut short: about 15 s of pauses
PREEMPTED_FACTOR = 3  # a stream ended early ([DONE] without a finish reason) gets this many times RETRIES
# Seconds without a byte from the server: a 2-core CPU reads a 1,100-token prompt in 10 to 20 s
# (docs/SCALING.md), and llama-cpp-python's server sends a keep-alive every 15 s while it waits.
READ_TIMEOUT = 30.0
RETRYABLE_STATUS = frozenset({408, 409, 425, 429}) | frozenset(range(500, 600))
CONSTRAINTS = ("auto", "grammar", "json_schema", "json_object")


class _Retryable(Exception):
    """A fault worth another try; its message is the reason, without the URL."""

    def __init__(self, reason: str, once: bool = False, preempted: bool = False) -> None:
        super().__init__(reason)
        self.once = once  # retried once only (a deterministic fault would just repeat)
        self.preempted = preempted  # cut off for another request: contention, which passes


class ServerGenerator(Generator):
    """Chat completions from an OpenAI-compatible server, streamed, with the grammar sent along."""

    def __init__(self, url: str, model: str = "", timeout: float = 60.0, n_ctx: int = 4096,
                 retry_pause: float = RETRY_PAUSE, constraint: str = "auto",
                 read_timeout: float = READ_TIMEOUT, retries: int = RETRIES) -> None:
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
        self.read_timeout = read_timeout
        self.constraint = constraint
        self.retry_pause = retry_pause
        self.retries = retries
        self._key = os.environ.get(API_KEY_VARIABLE, "")
        self.info = ServerInfo(self.url, self._key, timeout)
        self._n_ctx = n_ctx
        # Retries are ours (see the module's docstring), so the client makes none of its own.
        # The HTTP client's read timeout bounds every wait for the server's next bytes: the stalled stream.
        self.client = openai.OpenAI(base_url=self.url, api_key=self._key or "none", max_retries=0,
                                    timeout=openai.Timeout(timeout, read=read_timeout))
        self.calls = 0

    @classmethod
    def from_settings(cls, model: ModelSettings) -> ServerGenerator:
        """The generator the [model] settings describe."""
        return cls(model.llm_url, model.llm_model, model.llm_timeout, model.n_ctx,
                   retry_pause=model.llm_retry_pause, constraint=model.llm_constraint,
                   read_timeout=model.llm_read_timeout, retries=model.llm_retries)

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
        return ModelError(redact(f"the model server at {self.url} failed: {reason}", [self._key]))

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
        """The server's reply, piece by piece, each piece once; ModelError on a fault that retries did not mend."""
        self.calls += 1
        shown = ""  # what the caller already has: a retry's text must start with it
        attempt = 0
        while True:
            attempt += 1
            text = ""
            try:
                for piece in self._pieces(messages, grammar, max_tokens):
                    text += piece
                    fresh = self._beyond(shown, text)
                    if fresh:
                        shown += fresh
                        yield fresh
                if len(text) < len(shown):  # a retry that ended before what was already shown
                    raise self._changed()
                return
            except _Retryable as exc:
                if attempt > self._tries(exc):
                    raise self._error(str(exc)) from None
            time.sleep(self._pause(attempt))

    def _tries(self, exc: _Retryable) -> int:
        """Retries allowed for this fault: one for a deterministic one, more for a preempted stream."""
        if exc.once:
            return min(1, self.retries)
        # Each asker of a busy interrupting server is cut about once per other asker (8 processes:
        # 34 cuts in all, up to 5 or 6 for one): the plain budget would run out under load.
        return self.retries * PREEMPTED_FACTOR if exc.preempted else self.retries

    def _beyond(self, shown: str, text: str) -> str:
        """What `text` adds to `shown`; ModelError when one is not the start of the other."""
        if text.startswith(shown):
            return text[len(shown):]
        if shown.startswith(text):
            return ""
        raise self._changed()

    def _changed(self) -> ModelError:
        return self._error("the answer changed when it was asked again after a break "
                           "(the server is not deterministic at temperature 0); nothing was repeated")

    def _pause(self, attempt: int) -> float:
        """Seconds before try `attempt + 1`: doubling, capped, with jitter so preempted askers spread out."""
        return min(MAX_PAUSE, self.retry_pause * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5)

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
            raise _Retryable(f"the output broke the answer schema ({exc})", once=True) from None

    def _attempt(self, messages: list[dict], grammar: str | None, max_tokens: int) -> Iterator[str]:
        openai = self.openai
        try:
            response = self.client.chat.completions.create(
                model=self._model_name(), messages=cast(Any, messages),
                temperature=0, max_tokens=max_tokens, stream=True, extra_body=self._constraint(grammar))
        except openai.APITimeoutError as exc:
            raise self._error(self._timed_out(exc)) from None
        except openai.APIConnectionError as exc:
            raise _Retryable(f"cannot connect ({_cause(exc)})", once=True) from None
        except openai.APIStatusError as exc:
            if exc.status_code in RETRYABLE_STATUS:
                raise _Retryable(f"HTTP {exc.status_code}") from None
            raise self._error(f"HTTP {exc.status_code}: {first_line(exc)}") from None
        except openai.OpenAIError as exc:
            raise self._error(first_line(exc)) from None
        yield from self._read(response)

    def _read(self, response: Any) -> Iterator[str]:
        """The content of a started stream; a stall is an error, an early end or a break is retryable."""
        finished = False
        try:
            for chunk in response:
                for choice in chunk.choices:
                    if choice.delta and choice.delta.content:
                        yield choice.delta.content
                    if choice.finish_reason:
                        finished = True
        except Exception as exc:  # httpx stream errors (a stall, the server gone) are not wrapped by openai
            if _caused_by(exc, "APITimeoutError", "TimeoutException"):
                raise self._error(self._timed_out(exc)) from None
            raise _Retryable(f"the answer broke off ({_cause(exc)})") from None
        finally:
            response.close()
        if not finished:  # a preempted stream ([DONE] without a finish reason) or a closed connection
            raise _Retryable("the answer broke off (the stream ended early)", preempted=True)

    def _timed_out(self, exc: BaseException) -> str:
        """The reason for a timeout: no connection in time, or a stall."""
        if _caused_by(exc, "ConnectTimeout", "PoolTimeout"):
            return f"no connection within {self.timeout:g} s"
        return f"the server sent nothing for {self.read_timeout:g} s (stalled)"


def _cause(exc: BaseException) -> str:
    """The innermost cause of a transport error, as one line (e.g. 'Connection refused')."""
    for _ in range(10):  # a chain can loop
        inner = exc.__cause__ or exc.__context__
        if inner is None:
            break
        exc = inner
    return first_line(exc)


def _caused_by(exc: BaseException, *kinds: str) -> bool:
    """Whether `exc` or an exception in its chain is of a class named in `kinds` (or derived from one)."""
    # By name: the openai package ships on httpx or on httpx2, whose exception classes differ.
    for _ in range(10):  # a chain can loop
        if any(kind.__name__ in kinds for kind in type(exc).__mro__):
            return True
        inner = exc.__cause__ or exc.__context__
        if inner is None:
            return False
        exc = inner
    return False
