"""`citebot eval` on a file it has never seen agrees with a recomputation from `citebot ask --json`."""

import json
import os
import re
import shutil
import unicodedata
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from bot.cli.main import cli

from conftest import SEEDS

QUESTIONS = [
    {"question": "Quelle base spatiale historique Vostotchny doit-il remplacer ?",
     "sources": ["seeds/003_79011271dbdc1a5f.txt"], "keys": ["Baikonour"], "answerable": True},
    {"id": "vietnam", "question": "Où Poutine se rendra-t-il après la Corée du Nord ?",
     "sources": ["000_cd6188a8f69be30f.txt", "004_9094e598d010c395.txt"], "keys": ["Vietnam", "Hanoï"],
     "answerable": True},
    {"question": "Qui est Dmitri Peskov ?", "sources": ["004_9094e598d010c395.txt"],
     "keys": ["porte parole"], "answerable": True},
    {"question": "Combien de chars ont été livrés à Séoul ?", "sources": [], "keys": [], "answerable": False},
    {"question": "Quel est le plat préféré de Kim Jong-un ?", "sources": [], "keys": [], "answerable": False},
]


def _norm(text: str) -> str:
    """Independent of bot.answer.evaluate: case, accents, quote marks and hyphens ignored."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    for a, b in (("’", "'"), ("«", '"'), ("»", '"'), ("“", '"'), ("”", '"'), ("-", " ")):
        text = text.replace(a, b)
    return " ".join(text.split())


def _recompute(rows, answers, k):
    def key_in(text, keys):
        return any(_norm(key) in _norm(text) for key in keys)

    def from_source(path, sources):
        return any(path == s or path.endswith("/" + s) for s in sources)

    answerable = [(r, a) for r, a in zip(rows, answers) if r["answerable"]]
    unanswerable = [(r, a) for r, a in zip(rows, answers) if not r["answerable"]]
    answered = [(r, a) for r, a in answerable if not a["abstained"]]
    ranks = []
    for r, a in answerable:
        ranks.append(next((i + 1 for i, h in enumerate(a["hits"]) if from_source(h["source"], r["sources"])), None))
    cites = [(r, c) for r, a in answerable for c in a["citations"]]
    return {
        f"retrieval_recall@{k}": round(sum(x is not None for x in ranks) / len(ranks), 4),
        f"mrr@{k}": round(sum(1 / x for x in ranks if x) / len(ranks), 4),
        "citation_precision": round(sum(from_source(c["source"], r["sources"]) or key_in(c["quote"], r["keys"])
                                        for r, c in cites) / len(cites), 4),
        "citation_recall": round(sum(any(key_in(c["quote"], r["keys"]) for c in a["citations"])
                                     for r, a in answered) / len(answered), 4),
        "abstain_recall": round(sum(a["abstained"] for _, a in unanswerable) / len(unanswerable), 4),
        "false_abstain": round(sum(a["abstained"] for _, a in answerable) / len(answerable), 4),
    }


def _run(workdir, *args: str, input: str | None = None):
    """citebot in process, in the work folder, sharing the session's embedding model."""
    previous = os.getcwd()
    os.chdir(workdir.folder)
    try:
        result = CliRunner().invoke(cli, list(args), input=input, obj={"embedder": workdir.embedder})
    finally:
        os.chdir(previous)
    return SimpleNamespace(returncode=result.exit_code, stdout=result.stdout, stderr=result.stderr)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, embedder):
    folder = tmp_path_factory.mktemp("eval")
    shutil.copytree(SEEDS, folder / "seeds")
    (folder / "new.jsonl").write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in QUESTIONS) + "\n",
                                      encoding="utf-8")
    work = SimpleNamespace(folder=folder, embedder=embedder)
    assert _run(work, "index", "--quiet").returncode == 0
    return work


def test_eval_metrics_match_an_independent_recomputation_from_ask_output(workdir):
    evaluated = _run(workdir, "eval", "new.jsonl", "--json", "--extractive", "--quiet")
    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads(evaluated.stdout)
    asked = _run(workdir, "ask", "-", "--extractive", "--quiet",
                    input="\n".join(q["question"] for q in QUESTIONS) + "\n")
    answers = [json.loads(line) for line in asked.stdout.splitlines()]
    metrics = report["metrics"]
    assert metrics["quote_verified"] == 1.0
    for name, value in _recompute(QUESTIONS, answers, metrics["k"]).items():
        assert metrics[name] == value, name
    assert [q["answer"] for q in report["questions"]] == [a["answer"] for a in answers]
    assert report["questions"][1]["id"] == "vietnam" and report["questions"][0]["id"] == "1"


def test_eval_prints_a_table_by_default(workdir):
    proc = _run(workdir, "eval", "new.jsonl", "--extractive", "--quiet")
    assert proc.returncode == 0
    assert re.search(r"^quote_verified\s+1\.0$", proc.stdout, re.M)
    assert re.search(r"^latency_p95_s\s+\d", proc.stdout, re.M)


@pytest.mark.parametrize("line, message", [
    ('{"question": "Qui ?", "answerable": "yes"}', "new_bad.jsonl:2: expected"),
    ("not json", "new_bad.jsonl:2: expected"),
])
def test_a_malformed_question_file_is_a_one_line_error(workdir, line, message):
    (workdir.folder / "new_bad.jsonl").write_text(json.dumps(QUESTIONS[0]) + "\n" + line + "\n", encoding="utf-8")
    proc = _run(workdir, "eval", "new_bad.jsonl", "--extractive")
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
