"""Set the abstention threshold on a development question file (not the test file).

    python -m bot.bench.calibrate_threshold [tests/data/questions_seeds_dev.jsonl] [--corpus seeds]
    python -m bot.bench.calibrate_threshold --cross [tests/data/questions_seeds_en_dev.jsonl]

Runs the real extractive pipeline on every question and records its support (the best sentence's
probability). The threshold is the midpoint, in log-odds, of the widest gap that abstains on as
many unanswerable questions as possible while no answerable question abstains
(--max-false-abstain relaxes that). Writes it to bot/answer/support_model.json.

With --cross the questions are in another language than the articles (English over French) and the
threshold set is the cross-language model's (support.py maps its probabilities onto the first
model's threshold; here the mapping is made the identity, so the supports are its own).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import math
import os
import tempfile
from pathlib import Path

from bot.answer.pipeline import Answerer
from bot.answer.support import MODEL_PATH, SupportModel
from bot.bench.doc import write_section
from bot.settings import Settings
from index.builder import build_index
from index.settings import PROJECT_ROOT

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))


def choose(answerable: list[float], unanswerable: list[float], max_false: float) -> tuple[float, int, int]:
    """(threshold, false abstentions, unanswerable answered) by the rule in the module doc."""
    points = sorted({logit(x) for x in answerable + unanswerable})
    cuts = [points[0] - 1.0] + [(a + b) / 2 for a, b in itertools.pairwise(points)] + [points[-1] + 1.0]
    allowed = int(max_false * len(answerable))
    best: tuple[tuple[int, float], float, int, int] | None = None
    for cut in cuts:
        false = sum(logit(x) < cut for x in answerable)
        answered = sum(logit(x) >= cut for x in unanswerable)
        if false > allowed:
            continue
        gap = min([abs(logit(x) - cut) for x in answerable + unanswerable])
        key = (answered, -gap)
        if best is None or key < best[0]:
            best = (key, cut, false, answered)
    assert best is not None  # the lowest cut abstains on nothing, so it is always allowed
    _, cut, false, answered = best
    return 1 / (1 + math.exp(-cut)), false, answered


def main() -> None:
    """Parse the arguments, set the abstention threshold on development questions, save it and its docs section."""
    parser = argparse.ArgumentParser(
        prog="python -m bot.bench.calibrate_threshold", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("questions", nargs="?", type=Path)
    parser.add_argument("--cross", action="store_true", help="set the cross-language model's threshold")
    parser.add_argument("--corpus", type=Path, default=PROJECT_ROOT / "seeds")
    parser.add_argument("--max-false-abstain", type=float, default=0.0)
    args = parser.parse_args()
    args.questions = args.questions or PROJECT_ROOT / "tests/data" / (
        "questions_seeds_en_dev.jsonl" if args.cross else "questions_seeds_dev.jsonl")
    rows = [json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as home:
        settings = Settings().replace(home=Path(home), extractive=True)
        build_index(settings, [args.corpus])
        answerer = Answerer.open(settings)
        if args.cross:
            shipped = SupportModel.load()
            assert shipped.cross is not None, "fit the cross-language model first (calibrate_support --write)"
            answerer.scorer.model = dataclasses.replace(
                shipped, cross=dataclasses.replace(shipped.cross, threshold=shipped.threshold))
        supports = [(row, answerer.ask(row["question"]).support) for row in rows]
    answerable = [s for row, s in supports if row["answerable"]]
    unanswerable = [s for row, s in supports if not row["answerable"]]
    threshold, false, answered = choose(answerable, unanswerable, args.max_false_abstain)
    model = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    target = model["cross_lingual"] if args.cross else model
    target["threshold"] = round(threshold, 5)
    target["threshold_fitted_on"] = (f"{args.questions.name}: {len(answerable)} answerable, "
                                     f"{len(unanswerable)} unanswerable")
    MODEL_PATH.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    print(f"threshold {threshold:.5f}: {false}/{len(answerable)} answerable would abstain, "
          f"{len(unanswerable) - answered}/{len(unanswerable)} unanswerable abstain")
    if args.cross:
        write_section("threshold-cross", f"""## Cross-language abstention threshold

`python -m bot.bench.calibrate_threshold --cross` ({args.questions.name})

English questions over the French seeds are scored by the cross-language support model (no lexical
feature). Its threshold is set by the same rule on a development file of {len(rows)} English
questions that the tests never use ({len(answerable)} answerable, {len(unanswerable)} unanswerable):
**{threshold:.5f}**; on that file {false}/{len(answerable)} answerable questions abstain and
{len(unanswerable) - answered}/{len(unanswerable)} unanswerable ones do.
""")
        return
    write_section("threshold", f"""## Abstention threshold (calibrated on development questions)

`python -m bot.bench.calibrate_threshold tests/data/questions_seeds_dev.jsonl`

citebot abstains, without calling a language model, when the best retrieved sentence's support
probability is below the threshold. It is set on a development file of {len(rows)} questions over
seeds/ that the tests never use ({len(answerable)} answerable, {len(unanswerable)} unanswerable): the
midpoint of the widest gap (in log-odds) that abstains on as many unanswerable questions as
possible with no answerable one abstaining. Threshold **{threshold:.5f}**: on the development file
{false}/{len(answerable)} answerable questions abstain and {len(unanswerable) - answered}/{len(unanswerable)}
unanswerable ones do. The test file's numbers come from `citebot eval` (section *Citation accuracy*).
""")


if __name__ == "__main__":
    main()
