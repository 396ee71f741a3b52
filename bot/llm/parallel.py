"""Several questions at once against a model server, with the rest of the pipeline one at a time.

Search, support scoring and verification share objects that are not safe to use from several
threads at once (the embedder's tokenizer, the SQLite connection, the stemmer, lazily opened
index generations). They are also fast next to the model. So `SharedAnswerer.ask` runs the
whole pipeline under one lock, and the generator releases that lock only while it waits on the
server: N threads then overlap exactly where the time goes — in the server's parallel slots —
and nothing else ever runs concurrently. The in-process llama.cpp model gets one worker.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
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
    """A generator whose waits on the server run with `lock` released, when this thread holds it.

    `held.value` is set by SharedAnswerer.ask on the thread that holds the lock: a direct
    `answerer.ask` (no lock taken) goes straight through, and no thread ever releases a hold
    that is not its own (threading.Lock has no owner to check).
    """

    def __init__(self, inner: Generator, lock: threading.Lock, held: threading.local) -> None:
        self.inner = inner
        self.lock = lock
        self.held = held

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)  # slots, url, calls…: the wrapper is invisible

    @property
    def n_ctx(self) -> int:
        """The inner generator's context window, asked with the lock released."""
        return self._outside(lambda: self.inner.n_ctx)  # a server may be asked for it

    @n_ctx.setter
    def n_ctx(self, value: int) -> None:
        """Set the inner generator's context window."""
        self.inner.n_ctx = value

    def _outside(self, call: Callable[[], T]) -> T:
        """`call()` with the lock released if this thread holds it."""
        if not getattr(self.held, "value", False):
            return call()
        self.held.value = False
        self.lock.release()
        try:
            return call()
        finally:
            self.lock.acquire()
            self.held.value = True

    def count_tokens(self, text: str) -> int:
        """The inner generator's token count of a text, with the lock released."""
        return self._outside(lambda: self.inner.count_tokens(text))

    def chat_tokens(self, messages: list[dict]) -> int:
        """The inner generator's token count of a chat, with the lock released."""
        return self._outside(lambda: self.inner.chat_tokens(messages))

    def stream(self, messages: list[dict], grammar: str | None, max_tokens: int) -> Iterator[str]:
        """The inner generator's pieces, each awaited with the lock released."""
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
        generator = getattr(answerer, "generator", None)
        if isinstance(generator, _Unlocked):  # wrapped before: share its lock
            self.lock, self.held = generator.lock, generator.held
        else:
            self.lock, self.held = threading.Lock(), threading.local()
            if generator is not None:
                answerer.generator = _Unlocked(generator, self.lock, self.held)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.answerer, name)  # mode, settings, searcher…

    def ask(self, *args: Any, **kwargs: Any) -> Any:
        """Answerer.ask, safe to call from several threads."""
        with self.lock:
            self.held.value = True
            try:
                return self.answerer.ask(*args, **kwargs)
            finally:
                self.held.value = False


class DaemonPool:
    """Up to `width` calls at once on daemon threads, so an interrupted program need not wait for them.

    concurrent.futures' pool joins its threads at exit: after Ctrl-C a question waiting on a slow
    server would hold the exit for up to two request timeouts (one retry).
    """

    def __init__(self, width: int, name: str = "citebot-pool") -> None:
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.threads = [threading.Thread(target=self._run, name=f"{name}-{n}", daemon=True) for n in range(width)]
        for thread in self.threads:
            thread.start()

    def submit(self, call: Callable[..., T], *args: Any) -> Future:
        """The future result of `call(*args)`, run when a thread is free."""
        future: Future = Future()
        self.jobs.put((future, call, args))
        return future

    def _run(self) -> None:
        while (job := self.jobs.get()) is not None:
            future, call, args = job
            if not future.set_running_or_notify_cancel():
                continue  # cancelled while it waited
            try:
                result = call(*args)
            except BaseException as exc:  # kept for the caller, as concurrent.futures does
                future.set_exception(exc)
            else:
                future.set_result(result)

    def shutdown(self, wait: bool = True) -> None:
        """Cancel the calls not started; with `wait`, let the running ones finish first."""
        while True:
            try:
                job = self.jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job[0].cancel()
        for _ in self.threads:
            self.jobs.put(None)
        if wait:
            for thread in self.threads:
                thread.join()
