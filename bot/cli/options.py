"""Option groups shared by the commands, as decorators (`@answering_options`, `@common_options`).

An option declared with `setting(...)` IS a setting: its parameter name is the setting's flat
name (bot.settings), and `common_options` hands every such value to `load_settings` as a flag,
so a bad value is refused naming the flag (`invalid setting retrieval.k = 0 in the flag --k`).
The command then receives the Settings, not the raw values. `common_options` must be the
innermost option decorator (written last, just above the function).
"""

from __future__ import annotations

import functools
from pathlib import Path

import click

from bot.settings import load_settings
from index.progress import Progress


class SettingOption(click.Option):
    """A flag for the setting of the same flat name; not given, it is None: the file, environment or default decides."""


def setting(*decls: str, **attrs):
    """Declare an option whose value goes to load_settings under its parameter name."""
    return click.option(*decls, cls=SettingOption, **attrs)


def common_options(func):
    """--home, --store, --embed-url, --config and --quiet on every command; it gets (settings, progress, **rest)."""

    # A string, not click.Path: Path("") is "." and an empty --home must be refused, not mean here.
    @setting("--home", type=str, help="Index folder (env CITEBOT_HOME, default .citebot).")
    @setting("--store", type=str, help="postgresql://… URL of a PostgreSQL + pgvector database holding the "
                                       "index instead of the home folder (env CITEBOT_STORE).")
    @setting("--embed-url", type=str,
             help="Base URL of an OpenAI-compatible embeddings server, e.g. http://gpu:8080/v1, instead of a "
                  "local engine (env CITEBOT_EMBED_URL; API key from CITEBOT_EMBED_API_KEY).")
    @click.option("--config", type=click.Path(path_type=Path), help="Settings file (TOML; env CITEBOT_CONFIG).")
    @click.option("--quiet", "-q", is_flag=True, help="No progress output on stderr.")
    @functools.wraps(func)
    def wrapper(config, quiet, **kwargs):
        """Build Settings from the setting options and call the command with the other ones."""
        command = click.get_current_context().command
        flags = {p.name: kwargs.pop(p.name) for p in command.params if isinstance(p, SettingOption)}
        settings = load_settings(flags, config=config)
        return func(settings, Progress(enabled=not quiet), **kwargs)

    return wrapper


def k_option(func):
    """--k: how many passages are retrieved, and --since/--until: from articles of which dates."""
    func = setting("--until", type=str, help="Only articles published on or before this date (YYYY-MM-DD; "
                                             "YYYY-MM or YYYY: to its end; env CITEBOT_UNTIL).")(func)
    func = setting("--since", type=str, help="Only articles published on or after this date (YYYY-MM-DD; "
                                             "YYYY-MM or YYYY: from its start; env CITEBOT_SINCE).")(func)
    return setting("--k", "k", type=int, help="Number of passages to retrieve (default 5, at most 50).")(func)


def model_options(func):
    """--model, --lora, --llm-url and --extractive: which language model answers, if any (extractive excludes them)."""

    @setting("--model", help="Path to a GGUF model (env CITEBOT_MODEL).")
    @setting("--lora", help="A LoRA adapter GGUF applied on the model (env CITEBOT_LORA).")
    @setting("--llm-url", help="Base URL of an OpenAI-compatible model server, e.g. http://127.0.0.1:8080/v1 "
                               "(env CITEBOT_LLM_URL; API key from CITEBOT_LLM_API_KEY).")
    @setting("--extractive", is_flag=True, default=None, help="Answer with quotes only, without a language model.")
    @functools.wraps(func)
    def wrapper(**kwargs):
        """Refuse a contradiction before anything is loaded."""
        if kwargs.get("model") and kwargs.get("extractive"):
            raise click.UsageError("--model and --extractive exclude each other")
        if kwargs.get("llm_url") and kwargs.get("extractive"):
            raise click.UsageError("--llm-url and --extractive exclude each other")
        return func(**kwargs)

    return wrapper


def answering_options(func):
    """--k, --model and --extractive, for the commands that answer questions."""
    return k_option(model_options(func))


def json_option(help: str):
    """--json, with the command's own description of what it prints."""
    return click.option("--json", "as_json", is_flag=True, help=help)
