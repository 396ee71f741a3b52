"""Output of the commands, and `QUESTION` or '-' batches: one question, or one per stdin line at once.

`ask -` and `search -` answer up to N lines at once through a daemon pool, print the JSON lines in
input order, and report a bad line without ending the run (exit code 2 at the end).
"""

from __future__ import annotations

import json
from collections import deque
from concurrent.futures import Future

import click

from bot.cli.errors import EXIT_USAGE, error_line, printable
from bot.cli.inputs import stdin_lines
from bot.settings import Settings
from index.errors import CitebotError, InputError
from index.progress import Progress


def echo(text: str) -> None:
    """Print text on stdout (undecodable input shown as U+FFFD rather than crashing the output)."""
    click.echo(printable(text))


def emit_json(obj: dict) -> None:
    """Print one JSON object on a line (UTF-8 text, not escaped)."""
    echo(json.dumps(obj, ensure_ascii=False))


def run_each(question: str, settings: Settings, open_worker, call, as_json: bool, to_text,
             parallel=lambda worker: 1, progress: Progress | None = None) -> None:
    """Run `call(worker, text)` for QUESTION, or for each stdin line when it is '-' (JSON lines).

    With '-', up to `parallel(worker)` lines are worked on at once; outputs keep the input order,
    and `progress` (when it draws on a terminal) shows one "answered k/n" line for them all.
    """
    from bot.llm.parallel import DaemonPool
    from index.search.hybrid import check_question

    if question != "-":
        text = check_question(question, settings)  # fail fast, before loading any model
        result = call(open_worker(), text)
        echo(json.dumps(result.to_json(), ensure_ascii=False) if as_json else to_text(result))
        return
    # The worker (searcher, answerer) is opened at the first admitted question; a setup problem
    # (index, model) ends the run with one line. A bad question only gets an {"question", "error"}
    # line and a note on stderr; the exit code is 2 at the end.
    worker, pool, width = None, None, 1
    pending: deque[tuple[int, str, Future]] = deque()  # in input order; printed from the head
    failed, completed, read = False, False, 0
    counter = _Counter(progress)

    def emit_head() -> None:
        nonlocal failed
        counter.clear()  # the answer (stdout) or its error (stderr) starts on a clean line
        failed = _emit(*pending.popleft()) or failed
        counter.show(read - len(pending), read, pool is not None)

    try:
        for number, line in stdin_lines():
            if not line.strip():
                continue
            outcome: Future = Future()
            try:
                text = check_question(line, settings)
            except InputError as exc:
                outcome.set_exception(exc)
            else:
                if worker is None:
                    worker = open_worker()
                    width = max(1, parallel(worker))
                    pool = DaemonPool(width, "citebot-ask") if width > 1 else None
                if pool is None:
                    _settle_now(outcome, call, worker, text)
                else:
                    outcome = pool.submit(call, worker, text)
            pending.append((number, line, outcome))
            read += 1
            # Up to 2 × width lines queued: a slow answer at the head does not leave the pool idle.
            while len(pending) > (2 * width if pool is not None else 0):
                emit_head()
        while pending:
            emit_head()
        completed = True
    finally:
        counter.clear()
        if pool is not None:
            # Interrupted (Ctrl-C) or failed: drop the questions not started, wait for none.
            pool.shutdown(wait=completed)
    if failed:
        click.get_current_context().exit(EXIT_USAGE)


class _Counter:
    """One "answered k/n" line on a terminal for questions answered at once (their spinners are off)."""

    def __init__(self, progress: Progress | None) -> None:
        self.stream = progress.stream if progress is not None and progress.enabled else None
        self.drawn = False

    def show(self, done: int, read: int, parallel: bool) -> None:
        """Redraw the line (only with several questions at once, on a terminal)."""
        if parallel and self.stream is not None and self.stream.isatty():
            self.stream.write(f"\ranswered {done}/{read}\033[K")
            self.stream.flush()
            self.drawn = True

    def clear(self) -> None:
        """Erase the line."""
        if self.drawn and self.stream is not None:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.drawn = False


def _settle_now(outcome: Future, call, worker, text: str) -> None:
    """Run the call here and now, its result or domain error kept in `outcome`."""
    try:
        outcome.set_result(call(worker, text))
    except CitebotError as exc:
        outcome.set_exception(exc)


def _emit(number: int, line: str, outcome: Future) -> bool:
    """Print one line's answer, or its error (then True); other exceptions propagate."""
    try:
        emit_json(outcome.result().to_json())
    except CitebotError as exc:
        _refuse_line(number, line, exc)
        return True
    return False


def _refuse_line(number: int, line: str, exc: CitebotError) -> None:
    """Report a batch line that got no answer: a note on stderr, an error object on stdout."""
    error_line(f"line {number}: {exc}")
    emit_json({"question": printable(line), "error": str(exc)})
