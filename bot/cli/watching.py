"""`citebot index --watch`: the watch loop of index/watch.py on the command line, stopped by Ctrl-C or SIGTERM."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

from bot.cli.batch import echo
from bot.cli.errors import note
from bot.settings import Settings
from index.records import display_path
from index.secrets import redact
from index.watch import WatchRun, watch_index


def watch_command(settings: Settings, paths: list[Path], embedder=None) -> None:
    """Watch PATHS (default: the corpus setting) until stopped; a run's line on stdout, its warnings on stderr."""
    paths = paths or settings.index.corpus_paths
    stop = threading.Event()
    # SIGTERM (a service manager) ends the watcher after the current run, never in the middle of one.
    main = threading.current_thread() is threading.main_thread()  # only there can a handler be installed
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop.set()) if main else None

    def on_run(run: WatchRun) -> None:
        if run.report is not None:
            for warning in run.report.warnings:
                note(f"warning: {warning}")
            for skipped in run.report.skipped:
                note(f"skipped {display_path(skipped.path)}: {redact(skipped.reason)}")
        if run.error:
            note(f"error: {run.line()}")
        else:
            echo(run.line())

    def ready() -> None:
        shown = ", ".join(display_path(str(p)) for p in paths)
        note(f"watching {shown} for changes (index in {settings.index.location}); Ctrl-C stops")

    try:
        watch_index(settings, paths, embedder=embedder, stop=stop, on_run=on_run, ready=ready)
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
    note("stopped watching")
