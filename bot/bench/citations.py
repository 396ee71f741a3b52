"""Citation accuracy of extractive mode on the project's question files, through `citebot eval`.

    python scripts/bench_citations.py [tests/data/questions_seeds.jsonl ...]
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchdoc import machine, write_section  # noqa: E402

from bot.answer.evaluate import load_questions, run_eval  # noqa: E402
from bot.answer.pipeline import Answerer  # noqa: E402
from index.builder import build_index  # noqa: E402
from bot.settings import Settings
from index.settings import PROJECT_ROOT  # noqa: E402

FILES = ["tests/data/questions_seeds.jsonl", "tests/data/questions_seeds_dev.jsonl"]


def main() -> None:
    files = sys.argv[1:] or FILES
    with tempfile.TemporaryDirectory() as home:
        settings = Settings().replace(home=Path(home), extractive=True)
        build_index(settings, [PROJECT_ROOT / "seeds"])
        answerer = Answerer.open(settings)
        reports = {f: run_eval(answerer, load_questions(PROJECT_ROOT / f))["metrics"] for f in files}
    names = [k for k in next(iter(reports.values())) if k not in ("k", "mode")]
    head = "| metric | " + " | ".join(Path(f).name for f in files) + " |\n|---|" + "---|" * len(files) + "\n"
    rows = "\n".join(f"| {n} | " + " | ".join(str(reports[f][n]) for f in files) + " |" for n in names)
    text = f"""## Citation accuracy (extractive mode, seeds/)

`python scripts/bench_citations.py` — the same numbers as `citebot eval FILE --extractive`.
`questions_seeds.jsonl` is the test file; `questions_seeds_dev.jsonl` calibrated the threshold.
Machine: {machine()}.

{head}{rows}
"""
    print(text)
    write_section("citations", text)


if __name__ == "__main__":
    main()
