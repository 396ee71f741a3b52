"""Citation accuracy of extractive mode on the project's question files, through `citebot eval`.

    python -m bot.bench.citations [tests/data/questions_seeds.jsonl ...]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from bot.answer.evaluate import load_questions, run_eval
from bot.answer.pipeline import Answerer
from bot.bench.doc import machine, write_section
from bot.settings import Settings
from index.builder import build_index
from index.settings import PROJECT_ROOT

os.environ.setdefault("HF_HUB_OFFLINE", "1")

FILES = ["tests/data/questions_seeds.jsonl", "tests/data/questions_seeds_dev.jsonl",
         "tests/data/questions_seeds_en.jsonl", "tests/data/questions_seeds_en_dev.jsonl",
         "tests/data/questions_seeds_more.jsonl", "tests/data/questions_seeds_more_dev.jsonl"]


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bot.bench.citations", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", default=FILES,
                        help="question files, relative to the project root (default: both seeds files)")
    files = parser.parse_args().files
    with tempfile.TemporaryDirectory() as home:
        settings = Settings().replace(home=Path(home), extractive=True)
        build_index(settings, [PROJECT_ROOT / "seeds"])
        answerer = Answerer.open(settings)
        reports = {f: run_eval(answerer, load_questions(PROJECT_ROOT / f))["metrics"] for f in files}
    names = [k for k in next(iter(reports.values())) if k not in ("k", "mode")]
    head = "| metric | " + " | ".join(Path(f).name for f in files) + " |\n|---|" + "---|" * len(files) + "\n"
    rows = "\n".join(f"| {n} | " + " | ".join(str(reports[f][n]) for f in files) + " |" for n in names)
    text = f"""## Citation accuracy (extractive mode, seeds/)

`python -m bot.bench.citations` — the same numbers as `citebot eval FILE --extractive`.
`questions_seeds.jsonl`, `questions_seeds_en.jsonl` and `questions_seeds_more.jsonl` are scored by tests;
the `_dev` files are not (`questions_seeds_dev.jsonl` calibrated the threshold). `questions_seeds_more*.jsonl`
(issue 18): lists, why, day/date, yes/no, summaries, a disagreement, English, and tempting unanswerable questions.
Machine: {machine()}.

{head}{rows}
"""
    print(text)
    write_section("citations", text)


if __name__ == "__main__":
    main()
