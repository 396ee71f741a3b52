"""The `citebot` command line: parses input, calls the pipeline, formats output. No pipeline logic.

Errors become exit codes inside the group (bot/cli/errors.py); option groups and the settings
they build are in bot/cli/options.py; stdin is read by bot/cli/inputs.py.

Dependencies can be handed in through click's context object, a dict (tests, embedding programs):
    "embedder": an index.embedder.Embedder to reuse instead of loading the model again;
    "answerer": a factory, settings → Answerer, used instead of Answerer.open.
"""

from __future__ import annotations

import json
import sys
from collections import deque
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import click

from bot.cli.errors import EXIT_USAGE, CitebotGroup, error_line, note, printable
from bot.cli.inputs import stdin_lines
from bot.cli.options import answering_options, common_options, json_option, k_option, model_options, setting
from bot.settings import Settings
from index.errors import CitebotError, InputError
from index.progress import Progress


def injected(name: str) -> Any:
    """The dependency `name` from click's context object, or None."""
    context = click.get_current_context(silent=True)
    obj = context.find_object(dict) if context else None
    return (obj or {}).get(name)


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
    from index.search import check_question

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


def open_answerer(settings: Settings, progress: Progress):
    """The injected answerer factory's Answerer, else the real one (index and model opened)."""
    factory = injected("answerer")
    if factory is not None:
        return factory(settings)
    from bot.answer.pipeline import Answerer

    return Answerer.open(settings, progress, note, embedder=injected("embedder"))


@click.group(cls=CitebotGroup, name="citebot", context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="citebot")
def cli() -> None:
    """citebot: answers from your news articles, with citations you can check."""


@cli.command("index")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--rebuild", is_flag=True, help="Discard the existing index and build from scratch.")
@setting("--embed-model", help="sentence-transformers model name or path.")
@json_option("Print one JSON report.")
@common_options
def index_command(settings: Settings, progress: Progress, paths, rebuild, as_json):
    """Index articles (.txt, .md, .html) from PATHS (default: seeds/)."""
    from bot.cli.render import index_report
    from index.builder import build_index

    report = build_index(settings, list(paths) or settings.index.corpus_paths, rebuild=rebuild,
                         embedder=injected("embedder"), progress=progress)
    for warning in report.warnings:
        note(f"warning: {warning}")
    if as_json:
        emit_json(report.to_json())
    else:
        echo(index_report(report))


@cli.command("search")
@click.argument("question")
@k_option
@json_option("Print JSON (always JSON lines when QUESTION is '-').")
@common_options
def search_command(settings: Settings, progress: Progress, question, as_json):
    """Show the passages that best match QUESTION ('-' reads one per stdin line)."""
    from bot.cli.render import search_text
    from index.service import open_searcher

    run_each(question, settings, lambda: open_searcher(settings, progress, note, embedder=injected("embedder")),
             lambda searcher, text: searcher.search(text), as_json, search_text)


@cli.command("ask")
@click.argument("question")
@answering_options
@json_option("Print JSON (always JSON lines when QUESTION is '-').")
@common_options
def ask_command(settings: Settings, progress: Progress, question, as_json):
    """Answer QUESTION with verified citations ('-' reads one per stdin line).

    With '-' and a model server (--llm-url), up to CITEBOT_LLM_PARALLEL questions (default: the
    server's parallel slots) are answered at once; the JSON lines keep the input order and each
    is printed when its answer is complete.
    """
    from bot.cli.render import StatementPrinter
    from bot.llm.parallel import SharedAnswerer, parallel_questions

    printer = StatementPrinter(echo)

    def call(answerer, text):
        # Text output shows each statement as soon as it is verified; JSON waits for the whole answer.
        return answerer.ask(text, on_statement=None if as_json or question == "-" else printer)

    def open_worker():
        answerer = open_answerer(settings, progress)
        width = parallel_questions(answerer, settings.model.llm_parallel) if question == "-" else 1
        if width > 1 and hasattr(answerer, "progress"):
            answerer.progress = Progress(enabled=False)  # N spinners would overwrite each other: one counter
        return SharedAnswerer(answerer, width) if width > 1 else answerer

    run_each(question, settings, open_worker, call, as_json, printer.rest,
             lambda answerer: getattr(answerer, "parallel", 1), progress)


@cli.command("chat")
@answering_options
@common_options
def chat_command(settings: Settings, progress: Progress):
    """Ask questions one after another; follow-ups use the conversation. Ctrl-D or 'exit' quits."""
    from bot.answer.condense import Turn
    from bot.cli.render import StatementPrinter

    answerer = open_answerer(settings, progress)
    history: list[Turn] = []
    interactive = sys.stdin.isatty()
    if interactive:
        echo(f"citebot ({answerer.mode} mode). Ask a question; Ctrl-D to quit.")
    for _, line in stdin_lines(prompt="> "):
        if line.strip().lower() in ("exit", "quit", ":q"):
            break
        if not line.strip():
            continue
        printer = StatementPrinter(echo)
        try:
            answer = answerer.ask(line, history, on_statement=printer)
        except CitebotError as exc:
            error_line(str(exc))  # the chat goes on
            continue
        history.append(Turn(answer.question, answer.standalone, answer.text))
        echo(printer.rest(answer) + "\n")


@cli.command("eval")
@click.argument("file", type=click.Path(path_type=Path))
@answering_options
@json_option("Print every metric and each question's answer as JSON.")
@common_options
def eval_command(settings: Settings, progress: Progress, file, as_json):
    """Measure citation accuracy on FILE (JSON Lines: question, sources, keys, answerable)."""
    from bot.answer.evaluate import load_questions, run_eval
    from bot.cli.render import eval_table

    items = load_questions(file, settings.retrieval.max_question_chars)
    report = run_eval(open_answerer(settings, progress), items, progress)
    if as_json:
        emit_json(report)
    else:
        echo(eval_table(report["metrics"]))


@cli.command("discord")
@model_options
@common_options
def discord_command(settings: Settings, progress: Progress):
    """Run the Discord bot (token from the DISCORD_TOKEN environment variable)."""
    import os

    token = os.environ.get("DISCORD_TOKEN", "").strip()
    if not token:
        raise InputError("DISCORD_TOKEN is not set; create a bot token in the Discord Developer Portal (see README)")
    from bot.discord.run import run

    run(settings, token, progress, note)


def main() -> None:
    """Entry point (`citebot`, `python -m bot`): the group maps errors to exit codes itself."""
    cli()
