"""Several questions at once against a model server, with the rest of the pipeline one at a time.

Search, support scoring and verification share objects that are not safe to use from several
threads at once (the embedder's tokenizer, the SQLite connection, the stemmer, lazily opened
index generations). They are also fast next to the model. So `SharedAnswerer.ask` runs the
whole pipeline under one lock, and the generator releases that lock only while it waits on the
server: N threads then overlap exactly where the time goes — in the server's parallel slots —
and nothing else ever runs concurrently. The in-process llama.cpp model gets one worker.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from bot.llm.base import Generator

T = TypeVar("T")


def parallel_questions(answerer: Any, configured: int) -> int:
    """How many questions to answer at once: 1 in process, else `configured` or the server's slots."""
    generator = getattr(answerer, "generator", None)
    slots = getattr(generator, "slots", None)
    if slots is None:
        return 1  # the in-process model (or none): one question at a time
    return configured or slots()


class _Unlocked(Generator):
    """A generator whose waits on the server run with `lock` released."""

    def __init__(self, inner: Generator, lock: threading.Lock) -> None:
        self.inner = inner
        self.lock = lock

    @property
    def n_ctx(self) -> int:
        return self._outside(lambda: self.inner.n_ctx)  # a server may be asked for it

    @n_ctx.setter
    def n_ctx(self, value: int) -> None:
        self.inner.n_ctx = value

    def _outside(self, call: Callable[[], T]) -> T:
        """`call()` with the lock released (the caller holds it)."""
        self.lock.release()
        try:
            return call()
        finally:
            self.lock.acquire()

    def count_tokens(self, text: str) -> int:
        return self._outside(lambda: self.inner.count_tokens(text))

    def chat_tokens(self, messages: list[dict]) -> int:
        return self._outside(lambda: self.inner.chat_tokens(messages))

    def stream(self, messages: list[dict], grammar: str | None, max_tokens: int) -> Iterator[str]:
        pieces = self.inner.stream(messages, grammar, max_tokens)
        try:
            while True:
                piece = self._outside(lambda: next(pieces, None))
                if piece is None:
                    return
                yield piece
        finally:
            pieces.close()  # type: ignore[attr-defined]  # a generator: stops the request


class SharedAnswerer:
    """An Answerer that several threads may call: only the model's waits overlap."""

    def __init__(self, answerer: Any, parallel: int) -> None:
        self.answerer = answerer
        self.parallel = parallel  # how many threads its callers run
        self.lock = threading.Lock()
        generator = getattr(answerer, "generator", None)
        if generator is not None and not isinstance(generator, _Unlocked):
            answerer.generator = _Unlocked(generator, self.lock)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.answerer, name)  # mode, settings, searcher…

    def ask(self, *args: Any, **kwargs: Any) -> Any:
        """Answerer.ask, safe to call from several threads."""
        with self.lock:
            return self.answerer.ask(*args, **kwargs)
