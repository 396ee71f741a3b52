"""Replace one named section of docs/BENCHMARKS.md, keeping the others."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

from index.settings import PROJECT_ROOT

DOC = PROJECT_ROOT / "docs" / "BENCHMARKS.md"
HEADER = "# Benchmarks\n\nEvery section is written by the script named in it; rerun it to refresh the numbers.\n"


def machine() -> str:
    """One line describing where the numbers were measured."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem = int(Path("/proc/meminfo").read_text().split()[1]) // (1024 * 1024)
    except (OSError, ValueError, IndexError):
        mem = 0
    return f"{cpu}, {os.cpu_count()} cores, {mem} GiB RAM, Python {platform.python_version()}"


def write_section(name: str, body: str, doc: Path = DOC) -> None:
    """Insert or replace the section delimited by <!-- name:start --> ... <!-- name:end -->."""
    text = doc.read_text(encoding="utf-8") if doc.exists() else HEADER
    block = f"<!-- {name}:start -->\n{body.rstrip()}\n<!-- {name}:end -->"
    pattern = re.compile(rf"<!-- {re.escape(name)}:start -->.*?<!-- {re.escape(name)}:end -->", re.DOTALL)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text, encoding="utf-8")
