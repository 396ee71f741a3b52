"""Citation verification against scripted model outputs: only verbatim, existing quotes survive."""

import json
from pathlib import Path

import pytest

from bot.llm import parse_json
from bot.pipeline import Answerer
from bot.verify import locate

from conftest import ScriptedGenerator

QUESTION = "Par quel moyen de transport Kim Jong-un est-il venu en Russie ?"


@pytest.fixture(scope="module")
def hits(extractive_answerer):
    return extractive_answerer.searcher.search(QUESTION, 5).hits


def _answer(extractive_answerer, *outputs):
    generator = ScriptedGenerator(*outputs)
    answerer = Answerer(extractive_answerer.settings.replace(extractive=False), extractive_answerer.searcher,
                        generator=generator)
    return answerer.ask(QUESTION), generator


def _passage_with(hits, needle):
    return next(n for n, h in enumerate(hits, 1) if needle in h.chunk.text)


def _statements(*items):
    return json.dumps({"statements": [{"text": t, "citations": [{"passage": p, "quote": q} for p, q in cites]}
                                      for t, cites in items]}, ensure_ascii=False)


def _check_offsets(answer):
    for c in answer.citations:
        assert Path(c.path).read_text(encoding="utf-8")[c.start:c.end] == c.quote


def test_a_verbatim_quote_from_the_cited_passage_is_kept_with_its_offsets(extractive_answerer, hits):
    n = _passage_with(hits, "train blindé")
    quote = "est parti dimanche soir de Pyongyang à bord d’un train blindé"
    answer, _ = _answer(extractive_answerer, _statements(("Kim Jong-un est venu en train blindé.", [(n, quote)])))
    assert not answer.abstained and answer.mode == "llm"
    assert answer.text == "Kim Jong-un est venu en train blindé. [1]"
    assert [c.quote for c in answer.citations] == [quote]
    _check_offsets(answer)


def test_quote_marks_and_spaces_are_normalised_but_the_shown_quote_is_the_source_text(extractive_answerer, hits):
    n = _passage_with(hits, "train blindé")
    model_quote = "est parti  dimanche soir de Pyongyang à bord d'un train blindé"  # ASCII apostrophe, double space
    answer, _ = _answer(extractive_answerer, _statements(("En train blindé.", [(n, model_quote)])))
    assert answer.citations[0].quote == "est parti dimanche soir de Pyongyang à bord d’un train blindé"
    _check_offsets(answer)


def test_a_quote_from_another_passage_an_invented_passage_a_paraphrase_are_all_rejected(extractive_answerer, hits):
    n = _passage_with(hits, "train blindé")
    other = next(i for i, h in enumerate(hits, 1) if "train blindé" not in h.chunk.text)
    foreign = next(s for s in hits[other - 1].chunk.text.split(". ") if len(s) > 30)
    answer, _ = _answer(extractive_answerer, _statements(
        ("Il est venu en train.", [(n, foreign)]),
        ("Il est venu en train.", [(42, "à bord d’un train blindé")]),
        ("Il est venu en train.", [(n, "Kim Jong-un a voyagé dans un train protégé par un blindage")]),
    ))
    assert answer.abstained and answer.citations == ()
    assert answer.text == "Je ne trouve pas la réponse dans les articles indexés."
    assert any("passage 42 does not exist" in r for r in answer.rejected)
    assert sum("quote not found" in r for r in answer.rejected) == 2


@pytest.mark.parametrize("raw", ["", "not json at all", '{"statements": []}', '{"statements": [{"text": "x"}]}'])
def test_empty_or_unusable_output_becomes_an_abstention(extractive_answerer, raw):
    answer, generator = _answer(extractive_answerer, raw)
    assert answer.abstained and answer.citations == ()
    assert len(generator.prompts) == 1


def test_only_verified_statements_survive_and_invented_markers_are_stripped(extractive_answerer, hits):
    n = _passage_with(hits, "train blindé")
    answer, _ = _answer(extractive_answerer, _statements(
        ("Il a pris un train blindé [7].", [(n, "à bord d’un train blindé"), (9, "inventé")]),
        ("Il est arrivé en avion.", [(n, "Il est arrivé en avion")]),
    ))
    assert answer.text == "Il a pris un train blindé. [1]"
    assert len(answer.citations) == 1 and answer.citations[0].n == 1
    _check_offsets(answer)


def test_a_statement_sharing_no_word_with_its_quote_is_dropped(extractive_answerer, hits):
    n = _passage_with(hits, "train blindé")
    answer, _ = _answer(extractive_answerer, _statements(("Zorglub xyzzy plugh.", [(n, "à bord d’un train blindé")])))
    assert answer.abstained


def test_when_retrieval_finds_nothing_relevant_the_model_is_not_called(extractive_answerer):
    generator = ScriptedGenerator(_statements(("PWNED", [(1, "PWNED")])))
    answerer = Answerer(extractive_answerer.settings.replace(extractive=False), extractive_answerer.searcher,
                        generator=generator)
    answer = answerer.ask("Qui a remporté la Coupe du monde de football 2018 ?")
    assert answer.abstained and generator.prompts == []


def test_model_output_with_control_characters_or_cut_short_is_still_parsed():
    assert parse_json('{"statements": [{"text": "a\tb\nc", "citations": []}]}')["statements"][0]["text"] == "a\tb\nc"
    cut = '{"statements": [{"text": "ok", "citations": [{"passage": 1, "quote": "q"}]}, {"text": "tronq'
    assert parse_json(cut) == {"statements": [{"text": "ok", "citations": [{"passage": 1, "quote": "q"}]}]}


def test_locate_needs_a_real_quote_not_a_fragment():
    passage = "Le leader nord-coréen est arrivé en Russie par train blindé."
    assert locate("train", passage) is None
    assert locate("« arrivé en Russie par train blindé »", passage) == (26, 59)
    assert locate("arrivé en Russie par train blind", passage) is None  # cut inside a word
    assert locate("ader nord-coréen est arrivé", passage) is None


def test_a_configured_abstain_threshold_overrides_the_calibrated_one(extractive_answerer):
    question = "Par quel moyen de transport Kim Jong-un est-il venu en Russie ?"
    assert not extractive_answerer.ask(question).abstained
    strict = Answerer(extractive_answerer.settings.replace(abstain_threshold=0.9999), extractive_answerer.searcher)
    assert strict.ask(question).abstained
