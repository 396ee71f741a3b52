"""Reading questions from stdin: bytes in, one line decoded at a time, so one bad line spoils nothing else."""

from __future__ import annotations

import sys
from collections.abc import Iterator

_BOM = b"\xef\xbb\xbf"


def decode_line(raw: bytes, first: bool = False) -> str:
    """One stdin line as text, without its line ending (and without a BOM on the first line).

    Bytes that are not UTF-8 become lone surrogates (surrogateescape), exactly what Python makes
    of such bytes in argv: question admission (index.search.question) refuses them, for this line only.
    """
    if first and raw.startswith(_BOM):
        raw = raw[len(_BOM):]
    return raw.rstrip(b"\n").rstrip(b"\r").decode("utf-8", "surrogateescape")


def stdin_lines(prompt: str | None = None) -> Iterator[tuple[int, str]]:
    """(line number, text) for each stdin line; with a prompt and a terminal, read interactively."""
    if prompt is not None and sys.stdin.isatty():
        # input() keeps line editing; it decodes with stdin's error handler, made lenient here.
        reconfigure = getattr(sys.stdin, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="surrogateescape")
        number = 0
        while True:
            try:
                line = input(prompt)
            except EOFError:
                return
            number += 1
            yield number, line
    binary = getattr(sys.stdin, "buffer", None)
    if binary is None:  # a text stream an embedding program put there: already decoded
        binary = (line.encode("utf-8", "surrogatepass") for line in sys.stdin)
    for number, raw in enumerate(binary, start=1):
        yield number, decode_line(raw, first=number == 1)
