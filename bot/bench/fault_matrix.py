"""The fault-injection matrix: run the fault-injection suites, write their measured outcomes to docs/SCALING.md.

Each case of the suite appends its outcome and time to a file (CITEBOT_FAULT_MATRIX); this
script runs the suite with that file set and renders the rows as the `fault-matrix` section.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from bot.bench.doc import machine, write_section
from index.settings import PROJECT_ROOT

DOC = PROJECT_ROOT / "docs" / "SCALING.md"
SUITES = ("tests/test_fault_injection.py", "tests/test_fault_injection_embed.py")


def run_suite(rows: Path) -> int:
    """Run the suites with the outcome file set; their exit status."""
    env = {**os.environ, "CITEBOT_FAULT_MATRIX": str(rows)}
    return subprocess.run([sys.executable, "-m", "pytest", *SUITES, "-q", "-p", "no:cacheprovider"],
                          cwd=PROJECT_ROOT, env=env).returncode


def _general(outcome: str) -> str:
    """An outcome without the run's own ports and database names."""
    outcome = re.sub(r"/faults\d+", "/DB", outcome)
    return re.sub(r"(127\.0\.0\.1:|port )\d+", r"\1PORT", outcome)


def table(rows: list[dict]) -> str:
    """The matrix as a Markdown table."""
    lines = ["| server | fault | outcome | time (s) |", "|---|---|---|---:|"]
    lines += [f"| {r['server']} | {r['case']} | {_general(r['outcome'])} | {r['seconds']:.2f} |" for r in rows]
    return "\n".join(lines)


def main() -> int:
    """Run the suite and write the section; exit 1 when a case failed (nothing written then)."""
    with tempfile.TemporaryDirectory() as folder:
        rows_file = Path(folder) / "rows.jsonl"
        status = run_suite(rows_file)
        rows = [json.loads(line) for line in rows_file.read_text().splitlines()] if rows_file.exists() else []
    if status or not rows:
        print("the fault-injection suite failed: nothing written", file=sys.stderr)
        return 1
    body = (f"### The fault-injection matrix\n\nWritten by `make fault-matrix` (bot/bench/fault_matrix.py) from "
            f"{' and '.join(SUITES)}: a TCP proxy (tests/fault_proxy.py) between citebot and a real "
            "`python -m llama_cpp.server` (tiny random GGUF, its default settings; `llm_read_timeout` 3 s), "
            "the embedded PostgreSQL 18 holding the index (`store_timeout` 2 s), or a real `python -m "
            "llama_cpp.server --embedding true` (random-weight BERT GGUF; `embed_read_timeout` 6 s, "
            "`embed_retries` 2, `embed_batch` 2, `embed_concurrency` 2) serving both `citebot index` "
            "(a new article's chunks, into an index built through that server) and `citebot ask --extractive` "
            "(the question and the sentences it scores). \"answer\" is the clean path's answer, whole and "
            "identical; \"index updated\" is the clean update's articles, chunks and vectors; every other "
            "outcome is the one line printed, exit 2, and then the index home was byte for byte as before "
            "(the previous generation live). In every case no thread, child process or database session "
            "was left. A stall lasts until the proxy stops, longer than any timeout. Time: the whole command "
            f"in process. Machine: {machine()}.\n\n{table(rows)}")
    write_section("fault-matrix", body, DOC)
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
