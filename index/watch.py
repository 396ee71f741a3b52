"""`citebot index --watch`: keep an index in line with its folders as files come, change and go.

watchfiles (inotify, or polling where the file system gives no events) reports changes; a burst
of them is one batch: it closes after `watch_debounce` seconds without a new change (at most
WINDOW_FACTOR times that in all). Each batch is one incremental run of the builder, which
publishes a new generation atomically, so answers never stop nor see a half-built index.

Nothing is lost: the watcher is listening before the first scan starts (a file written during a
run is the next batch), and that first scan catches up with whatever happened while no watcher
ran, as the builder skips unchanged articles by content hash. One line per run says what
changed and how long it took. The CLI and the Discord bot both call `watch_index`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from index.articles.loader import KINDS
from index.builder import build_index
from index.embedding.base import Embedder
from index.embedding.factory import embedder_for
from index.errors import CitebotError, InputError
from index.records import IndexReport
from index.settings import SearchSettings

log = logging.getLogger("citebot.watch")
# A stream of changes that never pauses is still indexed: a batch closes after this many quiet periods.
WINDOW_FACTOR = 10
# How often the waiting watcher wakes to check for a stop request or a due rescan.
WAKE_MS = 250


@dataclass(frozen=True)
class WatchRun:
    """One update of the index: why it ran, what it did (or why it failed) and how long it took."""

    trigger: str                 # "start", "changes" or "rescan"
    changes: int                 # file events in the batch (0 for a start or a rescan)
    report: IndexReport | None
    error: str | None
    seconds: float

    def line(self) -> str:
        """The one log line of this run."""
        why = {"start": "first scan", "rescan": "rescan"}.get(self.trigger, f"{self.changes} file change"
                                                               + ("s" if self.changes != 1 else ""))
        if self.report is None:
            return f"watch: {why}: failed after {self.seconds:.1f} s: {self.error}"
        r = self.report
        skipped = f", {len(r.skipped)} skipped" if r.skipped else ""
        return (f"watch: {why}: {r.added} added, {r.updated} updated, {r.removed} removed, "
                f"{r.unchanged} unchanged{skipped}; {r.articles} articles, {r.embedded_chunks} chunks embedded, "
                f"in {self.seconds:.1f} s")


class ArticleFilter:
    """Which file events may change the index: article files and folders, not hidden, not the home."""

    def __init__(self, roots: list[Path], home: Path | None) -> None:
        self.roots = [root.resolve() for root in roots]
        self.home = home.resolve() if home is not None else None

    def __call__(self, change: object, path: str) -> bool:
        """True when the event concerns something the loader would read (or a folder that held some)."""
        target = Path(path)
        if self.home is not None and target.is_relative_to(self.home):
            return False  # the index's own writes would otherwise trigger the next run, forever
        root = next((r for r in self.roots if target.is_relative_to(r)), None)
        parts = target.relative_to(root).parts if root is not None else (target.name,)
        if any(part.startswith(".") for part in parts):
            return False  # hidden names are skipped by the loader (editors' swap files, partial downloads)
        if target.suffix.lower() in KINDS:
            return True
        # A folder moved in or out (or deleted) may hold articles; a deleted path is no longer a folder to ask.
        return not target.suffix and (not target.exists() or target.is_dir())


def _check_paths(paths: list[Path]) -> None:
    if not paths:
        raise InputError("nothing to watch: give a folder or set the corpus setting")
    for path in paths:
        if not path.exists():
            raise InputError(f"path does not exist: {path}")


def _run(settings: SearchSettings, paths: list[Path], embedder: Embedder, trigger: str, changes: int) -> WatchRun:
    """One incremental update; a failure is reported in the run, and the watcher goes on."""
    started = time.perf_counter()
    try:
        report = build_index(settings, paths, embedder=embedder, wait=True)
    except CitebotError as exc:  # a folder emptied by mistake, a full disk: the previous index stays live
        return WatchRun(trigger, changes, None, str(exc), time.perf_counter() - started)
    except Exception as exc:  # never let one bad run end a watcher that others rely on
        log.exception("indexing failed")
        return WatchRun(trigger, changes, None, f"{type(exc).__name__}: {exc}", time.perf_counter() - started)
    return WatchRun(trigger, changes, report, None, time.perf_counter() - started)


def _log_run(run: WatchRun) -> None:
    (log.warning if run.error else log.info)("%s", run.line())


def watch_index(settings: SearchSettings, paths: list[Path] | None = None, *, embedder: Embedder | None = None,
                stop: threading.Event | None = None, on_run: Callable[[WatchRun], None] = _log_run,
                ready: Callable[[], None] | None = None) -> None:
    """Index `paths` (default: the corpus setting) now, then after each batch of changes, until `stop` is set.

    `on_run` gets every run (default: one log line); `ready` is called once the first scan is done.
    """
    import watchfiles

    paths = list(paths) if paths else settings.index.corpus_paths
    _check_paths(paths)
    stop = stop or threading.Event()
    embedder = embedder or embedder_for(settings.index)
    quiet_ms = max(1, round(settings.index.watch_debounce * 1000))
    rescan = settings.index.watch_rescan
    home = None if settings.index.store else settings.index.home
    events = watchfiles.watch(*paths, watch_filter=ArticleFilter(paths, home), step=quiet_ms,
                              debounce=quiet_ms * WINDOW_FACTOR, stop_event=stop, rust_timeout=WAKE_MS,
                              yield_on_timeout=True, raise_interrupt=True)
    started = False
    last = time.monotonic()
    for batch in events:  # the first (empty) batch comes once the watcher listens
        if stop.is_set():
            break
        if not started:
            trigger = "start"
        elif batch:
            trigger = "changes"
        elif rescan and time.monotonic() - last >= rescan:
            trigger = "rescan"
        else:
            continue
        on_run(_run(settings, paths, embedder, trigger, len(batch)))
        last = time.monotonic()
        if not started:
            started = True
            if ready is not None:
                ready()


def start_watcher(settings: SearchSettings, paths: list[Path] | None = None, *,
                  embedder: Embedder | None = None, name: str = "citebot-watch") -> tuple[threading.Thread,
                                                                                         threading.Event]:
    """watch_index on a daemon thread (for the Discord bot); set the returned event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(target=watch_index, args=(settings, paths), name=name, daemon=True,
                              kwargs={"embedder": embedder, "stop": stop})
    thread.start()
    return thread, stop
