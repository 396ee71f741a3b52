"""Citation verification against scripted model outputs: only existing sentences, verified in the file, survive."""

from pathlib import Path

import pytest

from bot.answer.pipeline import Answerer
from bot.answer.verify import locate
from bot.llm.base import parse_json

from conftest import ScriptedGenerator, sentence_id

QUESTION = "Par quel moyen de transport Kim Jong-un est-il venu en Russie ?"
TRAIN = "est parti dimanche soir de Pyongyang à bord d’un train blindé"


def _answerer(extractive_answerer, *outputs):
    generator = ScriptedGenerator(*outputs)
    answerer = Answerer(extractive_answerer.settings.replace(extractive=False), extractive_answerer.searcher,
                        generator=generator)
    return answerer, generator


def _answer(extractive_answerer, *outputs):
    answerer, generator = _answerer(extractive_answerer, *outputs)
    return answerer.ask(QUESTION), generator


def _check_offsets(answer):
    for c in answer.citations:
        assert Path(c.path).read_text(encoding="utf-8")[c.start:c.end] == c.quote


def test_a_cited_sentence_id_becomes_a_verbatim_quote_with_its_offsets(extractive_answerer):
    answer, generator = _answer(extractive_answerer,
                                lambda m: f"[{sentence_id(m, TRAIN)}] Kim Jong-un est venu en train blindé.\n")
    assert not answer.abstained and answer.mode == "llm" and not answer.fallback
    # The direct answer opens; the model's statement follows it.
    assert answer.text.endswith(" Kim Jong-un est venu en train blindé. [1]")
    assert answer.direct is not None and answer.text.startswith(answer.direct.text)
    assert len(answer.citations) == 1 and TRAIN in answer.citations[0].quote
    _check_offsets(answer)
    assert 'id ::= ' in generator.grammars[0] and "quote" not in generator.grammars[0]


def test_ids_that_do_not_exist_are_rejected_and_the_rest_verified(extractive_answerer):
    answer, _ = _answer(extractive_answerer, lambda m: (
        f"[{sentence_id(m, TRAIN)}][999] Kim Jong-un a pris un train blindé [7].\n"
        "[998] Il est arrivé en avion.\n"))
    assert answer.text.endswith(" Kim Jong-un a pris un train blindé. [1]")  # the invented [7] is stripped
    assert [c.n for c in answer.citations] == [1]
    assert sum("sentence [99" in r and "does not exist" in r for r in answer.rejected) == 2
    _check_offsets(answer)


@pytest.mark.parametrize("statement", [
    "Kim Jong-un est venu en avion depuis Séoul.",                # an invented place
    "Kim Jong-un est venu en train blindé le 14 juillet 1998.",   # an invented date
    "Kim Jong-un est venu en train blindé avec Donald Trump.",    # an invented name
    "Kim Jong-un est venu en train blindé avec 4000 soldats.",    # an invented number
    "… [1][2] …",                                                 # says nothing
    "Kim Jong-un est venu en Russie.",                            # only repeats the question
])
def test_statements_their_cited_sentence_does_not_support_are_never_shown(extractive_answerer, statement):
    answer, _ = _answer(extractive_answerer, lambda m: f"[{sentence_id(m, TRAIN)}] {statement}\n")
    assert statement not in answer.text
    assert any("not supported by its quotes" in r for r in answer.rejected), answer.rejected
    # Nothing the model wrote survived: the answer is the extractive fallback, labelled as such.
    assert answer.fallback and answer.mode == "llm"
    lead = answer.direct.text if answer.direct else "Aucune phrase du modèle n'a pu être vérifiée"
    assert answer.text.startswith(lead)
    _check_offsets(answer)


def test_a_true_statement_citing_the_wrong_sentence_is_dropped(extractive_answerer):
    wrong = lambda m: next(  # noqa: E731
        int(line[1:line.index("]")]) for line in m[-1]["content"].splitlines()
        if line.startswith("[") and "train" not in line and len(line) > 60)
    answer, _ = _answer(extractive_answerer, lambda m: f"[{wrong(m)}] Kim Jong-un est venu en train blindé.\n")
    assert "Kim Jong-un est venu en train blindé" not in answer.text
    assert any("not supported by its quotes" in r for r in answer.rejected)


def test_without_the_grounding_check_an_invented_statement_would_be_shown(extractive_answerer):
    """The adversarial tests above can fail: verification alone keeps an invented claim with a real quote."""
    from bot.answer.records import DraftCitation, DraftStatement
    from bot.answer.sources import SourceFiles
    from bot.answer.verify import Verifier

    hits = extractive_answerer.searcher.search(QUESTION, 5).hits
    n, chunk = next((n, h.chunk) for n, h in enumerate(hits, 1) if TRAIN in h.chunk.text)
    draft = DraftStatement("Kim Jong-un est venu en avion avec Donald Trump.", (DraftCitation(n, TRAIN),))
    analyzer, sources = extractive_answerer.searcher.analyzer, SourceFiles(extractive_answerer.searcher.reader.article)
    assert Verifier(hits, analyzer, sources, QUESTION, check_grounding=False).add(draft) is not None
    assert Verifier(hits, analyzer, sources, QUESTION).add(draft) is None


def test_citation_numbers_stay_dense_when_a_statement_is_dropped(extractive_answerer):
    arrived = "Le leader nord-coréen est arrivé en Russie par train blindé."
    answer, _ = _answer(extractive_answerer, lambda m: (
        f"[{sentence_id(m, TRAIN)}] Kim Jong-un est parti de Pyongyang à bord d’un train blindé.\n"
        f"[{sentence_id(m, 'arrivé en Russie par train blindé')}] Kim Jong-un est arrivé en avion à Séoul.\n"
        f"[{sentence_id(m, 'arrivé en Russie par train blindé')}] {arrived}\n"))
    assert [c.n for c in answer.citations] == [1, 2]
    assert answer.text.endswith(f"{arrived} [2]") and "Séoul" not in answer.text
    _check_offsets(answer)


@pytest.mark.parametrize("raw", ["", "nothing useful here", "[1]", "\n\n", "Kim Jong-un est venu en train blindé. [1]"])
def test_empty_or_unusable_output_falls_back_to_labelled_quotes(extractive_answerer, raw):
    answer, generator = _answer(extractive_answerer, raw)
    assert len(generator.prompts) == 1
    assert answer.fallback and not answer.abstained and "train blindé" in answer.text
    _check_offsets(answer)


def test_when_retrieval_finds_nothing_relevant_the_model_is_not_called(extractive_answerer):
    answerer, generator = _answerer(extractive_answerer, "[1] PWNED\n")
    answer = answerer.ask("Qui a remporté la Coupe du monde de football 2018 ?")
    assert answer.abstained and generator.prompts == []


def test_when_not_one_sentence_fits_the_context_the_model_is_not_called(extractive_answerer):
    answerer, generator = _answerer(extractive_answerer, "[1] Il est venu en train blindé.\n")
    generator.n_ctx = extractive_answerer.settings.model.max_tokens + 50  # room for no passage at all
    answer = answerer.ask(QUESTION)
    assert generator.prompts == []
    assert answer.abstained and not answer.citations and not answer.fallback  # no unasked-for quotes
    assert any("context window" in r for r in answer.rejected)


def test_condense_output_with_control_characters_is_parsed_and_cut_output_is_refused():
    assert parse_json('{"question": "a\tb\nc"}')["question"] == "a\tb\nc"
    assert parse_json('{"question": "Qui est-il') is None


def test_locate_needs_a_real_quote_not_a_fragment():
    passage = "Le leader nord-coréen est arrivé en Russie par train blindé."
    assert locate("train", passage) is None
    assert locate("« arrivé en Russie par train blindé »", passage) == (26, 59)
    assert locate("arrivé en Russie par train blind", passage) is None  # cut inside a word
    assert locate("ader nord-coréen est arrivé", passage) is None


def test_a_configured_abstain_threshold_overrides_the_calibrated_one(extractive_answerer):
    assert not extractive_answerer.ask(QUESTION).abstained
    strict = Answerer(extractive_answerer.settings.replace(abstain_threshold=0.9999), extractive_answerer.searcher)
    assert strict.ask(QUESTION).abstained
