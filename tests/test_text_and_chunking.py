from pathlib import Path

import pytest

from index.articles.chunker import chunk_spans
from index.articles.loader import load_article
from index.articles.text import fold, normalize_for_match, sentence_spans

from conftest import SEEDS


def _sentences(text):
    return [text[s:e] for s, e in sentence_spans(text)]


def test_sentences_split_on_terminal_punctuation_and_line_breaks():
    text = "Kim est arrivé mardi. Poutine l'attendait !\nUn titre sans point\nEst-ce fini ? Oui."
    assert _sentences(text) == ["Kim est arrivé mardi.", "Poutine l'attendait !", "Un titre sans point",
                                "Est-ce fini ?", "Oui."]


def test_sentences_keep_abbreviations_and_initials_together():
    text = "Selon M. Poutine, rien n'est signé. J. Biden a réagi. Le Dr. Lee aussi."
    assert _sentences(text) == ["Selon M. Poutine, rien n'est signé.", "J. Biden a réagi.", "Le Dr. Lee aussi."]


def test_sentences_end_after_closing_quotes():
    text = "Il a parlé de « sujets sensibles ». Washington craint le pire."
    assert _sentences(text) == ["Il a parlé de « sujets sensibles ».", "Washington craint le pire."]


def test_fold_and_quote_normalisation():
    assert fold("Élysée À Séoul") == "elysee a seoul"
    assert normalize_for_match("l’« accord »\u00a0 global") == "l'\" accord \" global"


@pytest.mark.parametrize("path", sorted(SEEDS.glob("*.txt")), ids=lambda p: p.name)
def test_every_chunk_is_the_exact_source_slice(path: Path):
    article = load_article(path)
    raw = path.read_text(encoding="utf-8")
    spans = chunk_spans(article, 700, 150)
    assert spans
    for start, end in spans:
        assert raw[start:end] == article.text[start:end]
        assert end - start <= 700
        assert raw[start:end] == raw[start:end].strip()


def test_chunks_overlap_and_cover_the_whole_body():
    article = load_article(SEEDS / "003_79011271dbdc1a5f.txt")
    spans = chunk_spans(article, 500, 150)
    covered = set()
    for start, end in spans:
        covered.update(range(start, end))
    for s, e in sentence_spans(article.text, article.body_start, article.body_end):
        assert set(range(s, e)) <= covered
    overlaps = [a_end > b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:])]
    assert any(overlaps)
    assert all(b_start > a_start for (a_start, _), (b_start, _) in zip(spans, spans[1:]))


def test_a_sentence_longer_than_a_chunk_is_cut_at_word_boundaries(tmp_path):
    path = tmp_path / "long.txt"
    words = " ".join(f"mot{i}" for i in range(400))
    path.write_text(f"Titre court\n{words}.\n", encoding="utf-8")
    article = load_article(path)
    spans = chunk_spans(article, 300, 50)
    assert len(spans) > 3
    assert article.text[slice(*spans[0])].startswith("Titre court")
    for start, end in spans[1:]:
        assert end - start <= 300
        piece = article.text[start:end]
        assert not piece.startswith(" ") and piece.startswith("mot")
        assert article.text[start - 1] in " \n" and (end == len(article.text) or article.text[end] in " .\n")
