"""The answering workers: threads own the pipeline, a bounded queue feeds them, the event loop awaits.

llama.cpp and the embedding model are slow and not reentrant; running them on the event
loop would stop Discord heartbeats. With the in-process model one worker thread answers
questions one at a time; with a model server, `workers` threads answer at once through a
SharedAnswerer (bot/llm/parallel.py: only the waits on the server overlap). When the queue of
waiting questions is full, callers are told to retry instead of piling up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from bot.answer.condense import Turn
from bot.answer.records import Answer, Statement
from bot.llm.parallel import SharedAnswerer

log = logging.getLogger("citebot.discord")
T = TypeVar("T")


class QueueFull(Exception):
    """More questions are waiting than the queue holds."""


class AnswerService:
    """Runs `answerer.ask`, and the bot's other index work, on `workers` threads (1 for the in-process model).

    Several corpora share the workers (bot/discord/corpora.py): a question names the answerer of
    its channel's corpus, and every answerer shares one model, one embedder and, with several
    workers, one lock (share()). Adding an article (call()) runs on the same threads, so the
    embedder is never used by two threads at once.
    """

    def __init__(self, answerer, maxsize: int = 8, workers: int = 1) -> None:
        self.workers = max(1, workers)
        self.answerer = self.share(answerer)
        self.jobs: queue.Queue = queue.Queue(maxsize=max(1, maxsize))
        self.threads = [threading.Thread(target=self._run, name=f"citebot-answerer-{n}", daemon=True)
                        for n in range(self.workers)]

    def share(self, answerer):
        """The answerer as the workers call it: with several workers, under the lock its model's wrapper holds.

        An answerer built on `self.answerer.generator` (already wrapped) shares the service's lock.
        """
        return SharedAnswerer(answerer, self.workers) if self.workers > 1 else answerer

    def start(self) -> None:
        """Start the worker threads (once)."""
        for thread in self.threads:
            if not thread.is_alive() and thread.ident is None:
                thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Let the current questions finish, then end the workers."""
        alive = [thread for thread in self.threads if thread.is_alive()]
        for _ in alive:
            try:
                self.jobs.put(None, timeout=timeout)
            except queue.Full:
                return
        for thread in alive:
            thread.join(timeout)

    def full(self) -> bool:
        """True when another question would be refused (QueueFull)."""
        return self.jobs.full()

    async def ask(self, question: str, history: list[Turn],
                  on_statement: Callable[[Statement], None] | None = None, answerer=None) -> Answer:
        """Queue a question and wait for its answer without blocking the event loop.

        `on_statement` runs on the event loop with each verified statement as it arrives;
        `answerer` (one share() gave) answers instead of the service's own.
        """
        chosen = answerer or self.answerer
        history = list(history)
        return await self._submit(lambda relay: chosen.ask(question, history, on_statement=relay), on_statement)

    async def call(self, work: Callable[[], T]) -> T:
        """Run `work()` on a worker thread, alone with the pipeline's shared objects; QueueFull when full."""
        lock = getattr(self.answerer, "lock", None)

        def locked(relay) -> T:
            with lock if lock is not None else contextlib.nullcontext():
                return work()

        return await self._submit(locked, None)

    async def _submit(self, work: Callable, on_statement: Callable | None):
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        try:
            self.jobs.put_nowait((work, loop, future, on_statement))
        except queue.Full:
            raise QueueFull from None
        return await future

    def _run(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                return
            work, loop, future, on_statement = job
            started = time.perf_counter()
            relay = None
            if on_statement is not None:
                def relay(statement, citations, loop=loop, callback=on_statement, future=future):
                    if not future.cancelled():  # the asker gave up: show nothing more
                        _call_soon(loop, callback, statement)
            try:
                outcome, failed = work(relay), False
            except Exception as exc:  # reported to the asker; the worker keeps going
                outcome, failed = exc, True
            log.info("answered in %.1f s", time.perf_counter() - started)
            _call_soon(loop, _settle, future, outcome, failed)


def _call_soon(loop: asyncio.AbstractEventLoop, callback, *args) -> None:
    """Schedule `callback` on the loop from the worker thread; nothing when the loop has closed."""
    with contextlib.suppress(RuntimeError):  # closed between the answer and now: nobody is waiting any more
        loop.call_soon_threadsafe(callback, *args)


def _settle(future: asyncio.Future, outcome, failed: bool) -> None:
    if future.cancelled():
        return
    if failed:
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
