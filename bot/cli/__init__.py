"""The `citebot` command line: parses input, formats output, maps errors to exit codes."""

from bot.cli.main import cli, main

__all__ = ["cli", "main"]
