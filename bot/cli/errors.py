"""What a failure looks like on the command line: one `citebot:` line on stderr and an exit code.

The mapping lives in the click group itself (`CitebotGroup`), so that click's CliRunner and
embedding programs see exactly what a user sees:

    domain error (CitebotError), usage error    citebot: error: <message>    exit 2
    file-system error (OSError)                  citebot: error: <problem>: <path>    exit 2
    Ctrl-C (KeyboardInterrupt, click's Abort)    citebot: interrupted    exit 130
    closed stdout (BrokenPipeError)              nothing    exit 0

Every line on stderr goes through `note`, which masks secrets (index/secrets.py) whatever their
source: a flag, the environment, a settings file, a server's own error text.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from index.errors import CitebotError
from index.secrets import redact

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

# Problems a user can fix on their side, said the way `ls` or `cp` would.
_OS_PROBLEMS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
}


def printable(text: str) -> str:
    """Text safe to write as UTF-8: lone surrogates (undecodable input bytes) become U+FFFD."""
    return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)


def note(message: str) -> None:
    """Print a `citebot:` line on stderr, with any secret in it masked (index/secrets.py)."""
    click.echo(printable(redact(f"citebot: {message}")), err=True)


def error_line(message: str) -> None:
    """Print a `citebot: error:` line on stderr."""
    note(f"error: {message}")


def os_problem(exc: OSError) -> str:
    """An OSError as one line: the problem, then the file it concerns."""
    what = _OS_PROBLEMS.get(exc.errno or 0) or (exc.strerror or str(exc) or type(exc).__name__)
    what = what[:1].lower() + what[1:]
    paths = [os.fsdecode(p) for p in (exc.filename, exc.filename2) if p is not None]
    return f"{what}: {' -> '.join(paths)}" if paths else what


class _Stop(click.exceptions.Exit):
    """An exit whose message has already been printed."""


def _drop_stdout() -> None:
    """Stdout is gone (closed pipe, full disk): let the interpreter's last flush go nowhere, quietly."""
    stdout = sys.__stdout__
    if stdout is None or sys.stdout is not stdout:
        return  # no stdout at all, a test runner's capture, or an embedding program's stream: not ours
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _stdout_failed() -> bool:
    """Whether stdout can no longer take what it holds."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        return True
    return False


@contextmanager
def exit_codes() -> Iterator[None]:
    """Turn the errors a user can meet into one line on stderr and click's Exit with the code."""
    try:
        yield
    except click.exceptions.Exit:
        raise
    except click.exceptions.NoArgsIsHelpError:
        raise  # `citebot` alone: click prints the help
    except click.ClickException as exc:
        message = exc.format_message().strip().rstrip(".")
        hint = ""
        if isinstance(exc, click.UsageError) and exc.ctx is not None:
            hint = f" (see '{exc.ctx.command_path} --help')"
        error_line(message[:1].lower() + message[1:] + hint)
        raise _Stop(EXIT_USAGE if isinstance(exc, click.UsageError) else exc.exit_code) from None
    except CitebotError as exc:
        error_line(str(exc))
        raise _Stop(EXIT_USAGE) from None
    except (click.exceptions.Abort, KeyboardInterrupt):
        if sys.stderr.isatty():
            click.echo(err=True)  # end the terminal's "^C" line first
        note("interrupted")
        raise _Stop(EXIT_INTERRUPTED) from None
    except BrokenPipeError:
        # The reader went away (`citebot search - < questions | head -1`): a normal end.
        _drop_stdout()
        raise _Stop(EXIT_OK) from None
    except OSError as exc:
        if exc.errno is None:
            raise  # not the file system speaking: a bug, shown with its traceback
        error_line(os_problem(exc))
        if _stdout_failed():
            _drop_stdout()
        raise _Stop(EXIT_USAGE) from None


class CitebotGroup(click.Group):
    """The `citebot` group: every command's errors leave through `exit_codes`."""

    def make_context(self, info_name, args, parent=None, **extra):
        """Parse the group's own options (a bad one is a usage error like any other)."""
        with exit_codes():
            return super().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: click.Context):
        """Run the command; whatever it printed is flushed here, where a closed pipe is still ours."""
        with exit_codes():
            result = super().invoke(ctx)
            sys.stdout.flush()
            return result
