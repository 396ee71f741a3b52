"""Progress reporting on stderr (tqdm bars and spinners), silent when disabled."""

from __future__ import annotations

import contextlib
import itertools
import sys
import threading


class _NullBar:
    def update(self, n: int = 1) -> None:
        """Ignore progress."""
        pass


class Progress:
    """Bars and spinners for long work; the core takes one and never prints otherwise."""

    def __init__(self, enabled: bool = True, stream=None) -> None:
        self.enabled = enabled
        self.stream = stream or sys.stderr

    def iter(self, items, desc: str, unit: str = "file"):
        """Iterate over items with a progress bar."""
        if not self.enabled or len(items) < 2:
            return iter(items)
        from tqdm import tqdm

        return iter(tqdm(items, desc=desc, unit=unit, file=self.stream, leave=False, dynamic_ncols=True))

    @contextlib.contextmanager
    def bar(self, total: int, desc: str, unit: str = "item"):
        """A progress bar for `total` units of work."""
        if not self.enabled or total == 0:
            yield _NullBar()
            return
        from tqdm import tqdm

        with tqdm(total=total, desc=desc, unit=unit, file=self.stream, dynamic_ncols=True) as bar:
            yield bar

    @contextlib.contextmanager
    def spinner(self, desc: str):
        """A spinner for work of unknown length (model loading, generation).

        Yields a function that stops and erases it early (before streamed output is printed).
        """
        if not self.enabled:
            yield lambda: None
            return
        stop = threading.Event()
        interactive = self.stream.isatty()

        def spin() -> None:
            """Draw the spinner until stopped."""
            for frame in itertools.cycle("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"):
                if stop.wait(0.1):
                    break
                self.stream.write(f"\r{frame} {desc}…")
                self.stream.flush()

        def halt() -> None:
            if stop.is_set():
                return
            stop.set()
            if interactive:
                thread.join()
                self.stream.write("\r\033[K")
                self.stream.flush()

        if interactive:
            thread = threading.Thread(target=spin, daemon=True)
            thread.start()
        else:
            self.stream.write(f"{desc}…\n")
            self.stream.flush()
        try:
            yield halt
        finally:
            halt()
