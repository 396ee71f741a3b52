"""What a model server says about itself: its tokenizer, its context window, its parallel slots.

None of this is in the OpenAI API, so each server has its own endpoints, tried in turn and the
one that answers remembered:
- llama.cpp's llama-server: POST /tokenize {"content"}, POST /apply-template {"messages"},
  GET /props (total_slots; default_generation_settings.n_ctx, the context of one slot);
- vLLM: POST /tokenize {"model", "prompt"} or {"model", "messages"} (count with the chat
  template), GET /v1/models (max_model_len);
- llama-cpp-python's server: POST /extras/tokenize {"input"}; one request at a time.
A server with none of them (Ollama, hosted APIs) gets a conservative estimate: one token per
3 bytes of UTF-8, plus 8 per chat message, counts French news text high (about 4 characters a
token with Gemma's and Qwen's tokenizers), so prompts cut to it fit.
The endpoints live at the server's root, not under /v1.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

BYTES_PER_TOKEN = 3
PROBE_TIMEOUT = 5.0  # seconds; these are small local requests, never worth a long wait


def estimate_tokens(text: str) -> int:
    """A token count no smaller than the real one for ordinary prose (3 UTF-8 bytes a token)."""
    return max(1, -(-len(text.encode("utf-8")) // BYTES_PER_TOKEN))


class ServerInfo:
    """Lazily probed facts about the server at `url` (an OpenAI base URL, usually ending in /v1)."""

    def __init__(self, url: str, key: str = "", timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.root = self.url[:-3] if self.url.endswith("/v1") else self.url
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.timeout = min(timeout, PROBE_TIMEOUT)
        self.lock = threading.Lock()
        self._tokenizer: str | None = None   # "llama-server", "vllm", "llama-cpp-python" or "none"
        self._props: dict[str, Any] | None = None
        self._context: tuple[int | None] | None = None  # (size or None,) once asked

    def _post(self, path: str, body: dict) -> tuple[bool, dict | None]:
        """(whether the server answered for good, the JSON object it returned or None)."""
        return self._request(self.root + path, json.dumps(body).encode("utf-8"))

    def _get(self, url: str) -> tuple[bool, dict | None]:
        return self._request(url, None)

    def _request(self, url: str, data: bytes | None) -> tuple[bool, dict | None]:
        # The standard library: these are a few small local requests, outside the OpenAI API.
        headers = {**self.headers, **({"Content-Type": "application/json"} if data is not None else {})}
        try:
            with urllib.request.urlopen(urllib.request.Request(url, data, headers), timeout=self.timeout) as response:
                value = json.loads(response.read())
        except urllib.error.HTTPError as exc:  # 404, 400: not this server's endpoint; 503: still loading
            return exc.code < 500, None
        except Exception:  # down, or not JSON: ask again later
            return False, None
        return True, value if isinstance(value, dict) else None

    def _tokens(self, kind: str, text: str, model: str) -> tuple[bool, int | None]:
        """The text's token count through one kind of endpoint (None if it has none), and whether that is final."""
        if kind == "llama-server":
            answered, reply = self._post("/tokenize", {"content": text, "add_special": False})
        elif kind == "vllm":
            answered, reply = self._post("/tokenize", {"model": model, "prompt": text, "add_special_tokens": False})
        else:
            answered, reply = self._post("/extras/tokenize", {"input": text})
        if reply is None or not isinstance(reply.get("tokens"), list):
            return answered, None
        return True, len(reply["tokens"])

    def count_tokens(self, text: str, model: Callable[[], str]) -> int:
        """Tokens of `text` by the server's tokenizer; the estimate when it has none (or is not up yet)."""
        with self.lock:
            kinds = [self._tokenizer] if self._tokenizer else ["llama-server", "vllm", "llama-cpp-python"]
        settled = True
        for kind in kinds:
            if kind == "none":
                break
            answered, count = self._tokens(kind, text, model() if kind == "vllm" else "")
            if count is not None:
                with self.lock:
                    self._tokenizer = kind
                return count
            settled = settled and answered
        if settled:  # every endpoint answered that it is not there: remember
            with self.lock:
                if self._tokenizer is None:
                    self._tokenizer = "none"
        return estimate_tokens(text)

    def chat_tokens(self, messages: list[dict], model: Callable[[], str]) -> int | None:
        """Tokens of the chat as the server formats it, where the server can say; else None."""
        if self._tokenizer is None:
            self.count_tokens("probe", model)
        if self._tokenizer == "llama-server":
            _, applied = self._post("/apply-template", {"messages": messages})
            if applied is not None and isinstance(applied.get("prompt"), str):
                # The template writes BOS as text; parsing special tokens counts it as one token.
                _, reply = self._post("/tokenize", {"content": applied["prompt"], "add_special": False,
                                                    "parse_special": True})
                if reply is not None and isinstance(reply.get("tokens"), list):
                    return len(reply["tokens"])
        elif self._tokenizer == "vllm":
            _, reply = self._post("/tokenize", {"model": model(), "messages": messages,
                                                "add_generation_prompt": True})
            if reply is not None and isinstance(reply.get("count"), int):
                return int(reply["count"])
        return None

    def takes_gbnf(self, model: Callable[[], str]) -> bool | None:
        """True for llama.cpp's servers (llama-server, llama-cpp-python's), which honour a GBNF `grammar`;
        False for others; None while the server does not answer."""
        if self._tokenizer is None:
            self.count_tokens("probe", model)  # which tokenizer endpoint answers tells the server apart
        if self._tokenizer is None:
            return None
        return self._tokenizer in ("llama-server", "llama-cpp-python")

    def props(self) -> dict[str, Any]:
        """llama-server's GET /props (empty for other servers), asked until the server answers."""
        with self.lock:
            if self._props is not None:
                return self._props
        answered, props = self._get(self.root + "/props")
        with self.lock:
            if answered:
                self._props = props or {}
            return props or {}

    def slots(self) -> int:
        """Requests the server runs at once: llama-server's total_slots, else 1."""
        value = self.props().get("total_slots")
        return value if isinstance(value, int) and value > 0 else 1

    def context_size(self) -> int | None:
        """The context window of one request (one slot), when the server says it; asked until it answers."""
        if self._context is None:
            answered, size = self._context_size()
            if not answered:
                return size
            self._context = (size,)
        return self._context[0]

    def _context_size(self) -> tuple[bool, int | None]:
        props = self.props()
        settings = props.get("default_generation_settings")
        if isinstance(settings, dict) and isinstance(settings.get("n_ctx"), int) and settings["n_ctx"] > 0:
            return True, int(settings["n_ctx"])
        if props:
            return True, None
        answered, models = self._get(self.url + "/models")
        for model in (models or {}).get("data") or []:
            if isinstance(model, dict) and isinstance(model.get("max_model_len"), int):  # vLLM
                return True, int(model["max_model_len"])
        return answered and self._props is not None, None
