"""The `citebot` command line: parses input, calls the pipeline, formats output. No pipeline logic.

Errors become exit codes inside the group (bot/cli/errors.py); option groups and the settings
they build are in bot/cli/options.py; stdin is read by bot/cli/inputs.py; one question or a
'-' batch of them is run, and printed, by bot/cli/batch.py.

Dependencies can be handed in through click's context object, a dict (tests, embedding programs):
    "embedder": an index.embedding.base.Embedder to reuse instead of loading the model again;
    "answerer": a factory, settings → Answerer, used instead of Answerer.open.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from bot.cli.batch import echo, emit_json, run_each
from bot.cli.errors import CitebotGroup, error_line, note
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
@click.argument("sources", nargs=-1, type=str)
@click.option("--urls", "url_file", type=click.Path(path_type=Path),
              help="A file listing article or feed URLs, one a line (# starts a comment).")
@click.option("--rebuild", is_flag=True, help="Discard the existing index and build from scratch.")
@click.option("--watch", is_flag=True, help="Keep indexing: re-index whenever files in SOURCES are added, "
                                            "changed or deleted (one line per run; Ctrl-C stops).")
@setting("--embed-model", help="Embedding model: a sentence-transformers name or path, a .gguf file (llama.cpp), "
                               "or the model an --embed-url server is asked for.")
@json_option("Print one JSON report.")
@common_options
def index_command(settings: Settings, progress: Progress, sources, url_file, rebuild, watch, as_json):
    """Index articles (.txt, .md, .html) from files and folders, and web pages and RSS/Atom feeds from URLs.

    SOURCES are paths and http(s) URLs (default: seeds/). The index holds what they name now:
    articles no longer there, in a folder or a feed, leave it.
    """
    from bot.cli.render import index_report
    from index.builder import build_index
    from index.web.pages import is_url, read_url_list

    urls = [s for s in sources if is_url(s)] + (read_url_list(url_file) if url_file else [])
    paths = [Path(s) for s in sources if not is_url(s)]
    if watch:
        if rebuild or as_json or urls:
            raise click.UsageError("--watch excludes --rebuild, --json and URLs")
        from bot.cli.watching import watch_command

        watch_command(settings, paths, injected("embedder"))
        return
    if url_file and not urls and not paths:
        raise InputError(f"the URL list {url_file} lists no URL")
    report = build_index(settings, paths or ([] if urls else settings.index.corpus_paths), rebuild=rebuild,
                         embedder=injected("embedder"), progress=progress, urls=urls)
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
