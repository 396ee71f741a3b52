"""Embeddings through an OpenAI-compatible `/v1/embeddings` server.

Any such server will do: llama.cpp's, text-embeddings-inference, vLLM, a hosted API.
Passages go in batches of settings.index.embed_batch texts, up to embed_concurrency batches at
once; a batch answered 429 or 5xx, or lost to a connection fault or a timeout, is sent again
after a growing pause (embed_retries times at most). Any other failure is one ModelError whose
text never holds the key (index/secrets.py). The key comes only from CITEBOT_EMBED_API_KEY and
is sent as a Bearer token. Vectors are normalised to unit length here: servers differ on it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import httpx
import numpy as np

from index.embedding.base import Embedder
from index.embedding.known_models import Prefixes
from index.errors import ModelError
from index.secrets import redact, redact_url

API_KEY_VARIABLE = "CITEBOT_EMBED_API_KEY"
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_PAUSE = 8.0  # seconds: the longest wait between two tries, Retry-After included


def url_host(url: str) -> str:
    """The host[:port] of a server URL, without user information: what a manifest records."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{host}:{parts.port}" if parts.port else host


def endpoint(url: str) -> str:
    """The embeddings endpoint of a base URL (`http://h:8080/v1` or the full `/v1/embeddings`)."""
    url = url.rstrip("/")
    return url if url.endswith("/embeddings") else url + "/embeddings"


class ServerEmbedder(Embedder):
    """Embeds through a remote OpenAI-compatible embeddings endpoint."""

    def __init__(self, url: str, model: str, prefixes: Prefixes, batch_size: int = 32, concurrency: int = 1,
                 connect_timeout: float = 10.0, read_timeout: float = 120.0, retries: int = 4,
                 backoff: float = 0.5) -> None:
        self.name, self.url, self.prefixes = model, endpoint(url), prefixes
        self.batch_size, self.concurrency, self.retries, self.backoff = batch_size, concurrency, retries, backoff
        key = os.environ.get(API_KEY_VARIABLE, "").strip()
        self._secrets = [key] if key else []
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        self._client = httpx.Client(headers=headers, timeout=timeout,
                                    limits=httpx.Limits(max_connections=max(concurrency, 1)))
        self._dim: int | None = None

    @property
    def dim(self) -> int:
        """Length of the vectors, asked of the server once."""
        if self._dim is None:
            self._dim = int(self._batch([self.prefixes.passage + "dimension"]).shape[1])
        return self._dim

    def encode(self, texts: list[str], progress: Callable[[int], None] | None = None,
               bulk: bool = False) -> np.ndarray:
        """Passage vectors, batches sent concurrently, returned in order."""
        batches = [[self.prefixes.passage + t for t in texts[i:i + self.batch_size]]
                   for i in range(0, len(texts), self.batch_size)]
        if not batches:
            return np.zeros((0, self.dim), dtype=np.float32)
        out: list[np.ndarray] = []
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="embed")
        try:
            for vectors in pool.map(self._batch, batches):  # in order; the first failure is raised here
                out.append(vectors)
                if progress:
                    progress(len(vectors))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # a failure leaves no batch running behind it
        return np.concatenate(out)

    def encode_query(self, text: str) -> np.ndarray:
        """The vector of one question, with the query prefix."""
        return self._batch([self.prefixes.query + text])[0]

    def _batch(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of one batch, tried again on a retryable failure."""
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self._client.post(self.url, json={"model": self.name, "input": texts})
            except httpx.TransportError as exc:  # refused, reset, timed out
                if last:
                    raise self._error(f"cannot reach it ({type(exc).__name__}: {exc})") from None
                self._pause(attempt, None)
                continue
            if response.status_code in RETRY_STATUS and not last:
                self._pause(attempt, response.headers.get("retry-after"))
                continue
            if response.status_code != 200:
                raise self._error(f"HTTP {response.status_code}: {response.text[:300]}")
            return self._vectors(response, len(texts))
        raise AssertionError("unreachable")  # the last try returns or raises

    def _vectors(self, response: httpx.Response, count: int) -> np.ndarray:
        """The answer's vectors in input order, normalised; a malformed answer is a ModelError."""
        try:
            data = sorted(response.json()["data"], key=lambda d: d["index"])
            vectors = np.asarray([d["embedding"] for d in data], dtype=np.float32)
        except (ValueError, KeyError, TypeError) as exc:
            raise self._error(f"its answer is not an embeddings list ({exc})") from None
        if vectors.ndim != 2 or len(vectors) != count or not np.isfinite(vectors).all():
            raise self._error(f"it answered {len(vectors)} vectors of shape {vectors.shape[1:]} for {count} texts")
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)

    def _pause(self, attempt: int, retry_after: str | None) -> None:
        """Wait before the next try: the server's Retry-After when it gives seconds, else doubling."""
        pause = self.backoff * 2 ** attempt
        if retry_after and retry_after.strip().isdigit():
            pause = float(retry_after)
        time.sleep(min(pause, MAX_PAUSE))

    def _error(self, why: str) -> ModelError:
        """One line naming the server (never its secrets) and why."""
        return ModelError(redact(f"the embeddings server {redact_url(self.url)} failed: {why}", self._secrets))
