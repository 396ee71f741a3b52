"""The `citebot` command line: parses input, calls the pipeline, formats output. No pipeline logic."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import click

from index.errors import CitebotError
from index.progress import Progress
from bot.settings import Settings, load_settings

EXIT_USAGE = 2


def fail(message: str) -> None:
    """Print one line on stderr and exit 2."""
    click.echo(f"citebot: error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def note(message: str) -> None:
    """Print a `citebot:` line on stderr."""
    click.echo(f"citebot: {message}", err=True)


def emit_json(obj: dict) -> None:
    """Print one JSON object on a line (UTF-8 text, not escaped)."""
    click.echo(json.dumps(obj, ensure_ascii=False))


def common_options(func):
    """--home, --config and --quiet on every command, turned into a Settings object."""

    @click.option("--home", type=click.Path(path_type=Path), help="Index folder (env CITEBOT_HOME, default .citebot).")
    @click.option("--config", type=click.Path(path_type=Path), help="Settings file (TOML; env CITEBOT_CONFIG).")
    @click.option("--quiet", "-q", is_flag=True, help="No progress output on stderr.")
    @functools.wraps(func)
    def wrapper(home, config, quiet, **kwargs):
        """Build Settings from the common options and call the command."""
        flag_names = [n for n in ("k", "model", "embed_model") if n in kwargs]
        flags = {"home": home, **{n: kwargs[n] for n in flag_names}}
        if kwargs.get("extractive"):
            flags["extractive"] = True
        settings = load_settings(flags, config=config)
        return func(settings, Progress(enabled=not quiet), **kwargs)

    return wrapper


def model_options(func):
    """--model and --extractive: which language model answers, if any."""
    func = click.option("--extractive", is_flag=True, help="Answer with quotes only, without a language model.")(func)
    return click.option("--model", help="Path to a GGUF model (env CITEBOT_MODEL).")(func)


def answering_options(func):
    """--k, --model and --extractive, for the commands that answer questions."""
    return click.option("--k", type=int, help="Number of passages to retrieve (default 5).")(model_options(func))


def questions(question: str):
    """One question, or one per non-blank stdin line when the question is '-'."""
    if question != "-":
        yield question
        return
    for line in sys.stdin:
        if line.strip():
            yield line.rstrip("\n")


def run_each(question: str, settings: Settings, open_worker, call, as_json: bool, to_text) -> None:
    """Run `call(worker, text)` for QUESTION, or for each stdin line when it is '-' (JSON lines)."""
    # The worker (searcher, answerer) is opened once, at the first question; a setup problem
    # (index, model) ends the run with one line. In batch mode a bad question only gets an
    # {"question", "error"} object, and the exit code is 2 at the end.
    from index.search import check_question

    batch = question == "-"
    if not batch:
        check_question(question, settings)  # fail fast, before loading any model
    worker, failed = None, False
    for text in questions(question):
        if worker is None:
            worker = open_worker()
        try:
            result = call(worker, text)
        except CitebotError as exc:
            if not batch:
                raise
            emit_json({"question": text, "error": str(exc)})
            failed = True
            continue
        if as_json or batch:
            emit_json(result.to_json())
        else:
            click.echo(to_text(result))
    if failed:
        sys.exit(EXIT_USAGE)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="citebot")
def cli() -> None:
    """citebot: answers from your news articles, with citations you can check."""


@cli.command("index")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--rebuild", is_flag=True, help="Discard the existing index and build from scratch.")
@click.option("--embed-model", help="sentence-transformers model name or path.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON report.")
@common_options
def index_command(settings: Settings, progress: Progress, paths, rebuild, embed_model, as_json):
    """Index articles (.txt, .md, .html) from PATHS (default: seeds/)."""
    from bot.cli.render import index_report
    from index.builder import build_index

    report = build_index(settings, list(paths) or settings.index.corpus_paths, rebuild=rebuild, progress=progress)
    for warning in report.warnings:
        note(f"warning: {warning}")
    if as_json:
        emit_json(report.to_json())
    else:
        click.echo(index_report(report))


@cli.command("search")
@click.argument("question")
@click.option("--k", type=int, help="Number of passages (default 5).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (always JSON lines when QUESTION is '-').")
@common_options
def search_command(settings: Settings, progress: Progress, question, k, as_json):
    """Show the passages that best match QUESTION ('-' reads one per stdin line)."""
    from bot.cli.render import search_text
    from index.service import open_searcher

    run_each(question, settings, lambda: open_searcher(settings, progress, note),
             lambda searcher, text: searcher.search(text, k), as_json, search_text)


def _answerer(settings: Settings, progress: Progress):
    from bot.answer.pipeline import Answerer

    # Tests (and embedding programs) pass their own factory as click's context object.
    context = click.get_current_context(silent=True)
    factory = (context.find_object(dict) if context else None) or {}
    if "answerer" in factory:
        return factory["answerer"](settings)
    return Answerer.open(settings, progress, note)


@cli.command("ask")
@click.argument("question")
@answering_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON (always JSON lines when QUESTION is '-').")
@common_options
def ask_command(settings: Settings, progress: Progress, question, k, model, extractive, as_json):
    """Answer QUESTION with verified citations ('-' reads one per stdin line)."""
    from bot.cli.render import StatementPrinter

    printer = StatementPrinter(click.echo)

    def call(answerer, text):
        printer.shown = 0
        # Text output shows each statement as soon as it is verified; JSON waits for the whole answer.
        return answerer.ask(text, on_statement=None if as_json or question == "-" else printer)

    run_each(question, settings, lambda: _answerer(settings, progress), call, as_json, printer.rest)


@cli.command("chat")
@answering_options
@common_options
def chat_command(settings: Settings, progress: Progress, k, model, extractive):
    """Ask questions one after another; follow-ups use the conversation. Ctrl-D or 'exit' quits."""
    from bot.answer.condense import Turn
    from bot.cli.render import StatementPrinter

    answerer = _answerer(settings, progress)
    history: list[Turn] = []
    interactive = sys.stdin.isatty()
    if interactive:
        click.echo(f"citebot ({answerer.mode} mode). Ask a question; Ctrl-D to quit.")
    while True:
        try:
            line = input("> " if interactive else "")
        except EOFError:
            break
        if line.strip().lower() in ("exit", "quit", ":q"):
            break
        if not line.strip():
            continue
        printer = StatementPrinter(click.echo)
        try:
            answer = answerer.ask(line, history, on_statement=printer)
        except CitebotError as exc:
            note(f"error: {exc}")  # the chat goes on
            continue
        history.append(Turn(answer.question, answer.standalone, answer.text))
        click.echo(printer.rest(answer) + "\n")


@cli.command("eval")
@click.argument("file", type=click.Path(path_type=Path))
@answering_options
@click.option("--json", "as_json", is_flag=True, help="Print every metric and each question's answer as JSON.")
@common_options
def eval_command(settings: Settings, progress: Progress, file, k, model, extractive, as_json):
    """Measure citation accuracy on FILE (JSON Lines: question, sources, keys, answerable)."""
    from bot.answer.evaluate import load_questions, run_eval
    from bot.cli.render import eval_table

    if model and extractive:
        raise click.UsageError("--model and --extractive exclude each other")
    items = load_questions(file)
    report = run_eval(_answerer(settings, progress), items, progress)
    if as_json:
        emit_json(report)
    else:
        click.echo(eval_table(report["metrics"]))


@cli.command("discord")
@model_options
@common_options
def discord_command(settings: Settings, progress: Progress, model, extractive):
    """Run the Discord bot (token from the DISCORD_TOKEN environment variable)."""
    import os

    token = os.environ.get("DISCORD_TOKEN", "").strip()
    if not token:
        fail("DISCORD_TOKEN is not set; create a bot token in the Discord Developer Portal (see README)")
    from bot.discord.run import run

    run(settings, token, progress, note)


def main() -> None:
    """Entry point: domain errors become one line on stderr and exit code 2."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("citebot: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except CitebotError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        click.echo("citebot: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
