"""The `citebot` command line: parses input, calls the pipeline, formats output. No pipeline logic."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import click

from index.errors import CitebotError
from index.progress import Progress
from index.settings import Settings, load_settings

EXIT_USAGE = 2


def fail(message: str) -> None:
    """Print one line on stderr and exit 2."""
    click.echo(f"citebot: error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def note(message: str) -> None:
    click.echo(f"citebot: {message}", err=True)


def emit_json(obj: dict) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False))


def common_options(func):
    """--home, --config and --quiet on every command, turned into a Settings object."""

    @click.option("--home", type=click.Path(path_type=Path), help="Index folder (env CITEBOT_HOME, default .citebot).")
    @click.option("--config", type=click.Path(path_type=Path), help="Settings file (TOML; env CITEBOT_CONFIG).")
    @click.option("--quiet", "-q", is_flag=True, help="No progress output on stderr.")
    @functools.wraps(func)
    def wrapper(home, config, quiet, **kwargs):
        flag_names = [n for n in ("k", "model", "embed_model") if n in kwargs]
        flags = {"home": home, **{n: kwargs[n] for n in flag_names}}
        if kwargs.get("extractive"):
            flags["extractive"] = True
        settings = load_settings(flags, config=config)
        return func(settings, Progress(enabled=not quiet), **kwargs)

    return wrapper


def questions(question: str):
    """One question, or one per non-blank stdin line when the question is '-'."""
    if question != "-":
        yield question
        return
    for line in sys.stdin:
        if line.strip():
            yield line.rstrip("\n")


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
    from bot.render import index_report
    from index.builder import build_index

    report = build_index(settings, list(paths) or settings.corpus_paths, rebuild=rebuild, progress=progress)
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
    from bot.render import search_text
    from index.service import open_searcher

    searcher = None
    failed = False
    for text in questions(question):
        try:
            searcher = searcher or open_searcher(settings, progress, note)
            result = searcher.search(text, k)
        except CitebotError as exc:
            if question != "-":
                raise
            emit_json({"question": text, "error": str(exc)})
            failed = True
            continue
        if as_json or question == "-":
            emit_json(result.to_json())
        else:
            click.echo(search_text(result))
    if failed:
        sys.exit(EXIT_USAGE)


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
