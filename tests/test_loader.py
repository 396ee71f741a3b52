from pathlib import Path

import pytest

from index.articles.chunker import chunk_spans
from index.articles.loader import SkipFile, discover, load_article
from index.errors import InputError

from conftest import SEEDS


def test_title_skips_live_page_furniture():
    article = load_article(SEEDS / "001_d7652ec38b69ceef.txt")
    assert article.title == "Russie : pourquoi Kim Jong-un est-il reçu en grande pompe par Vladimir Poutine ?"
    assert "En direct" not in article.text[article.body_start:article.body_end]
    assert article.date == "2023-09-10"


@pytest.mark.parametrize("name, furniture", [
    ("001_d7652ec38b69ceef.txt", ["À suivre aussi", "Ailleurs sur le web", "Dernières actualités"]),
    ("004_9094e598d010c395.txt", ["© TOUS DROITS RÉSERVÉS", "PREV HCR", "NEXT des armes pour 40 milliards"]),
])
def test_trailing_page_furniture_never_reaches_a_chunk(name, furniture):
    article = load_article(SEEDS / name)
    chunks = [article.text[s:e] for s, e in chunk_spans(article, 700, 150)]
    for line in furniture:
        assert line in article.text
        assert not any(line in chunk for chunk in chunks)
    assert chunks[-1].endswith(".")


def test_a_headline_too_long_for_a_title_falls_back_to_the_first_sentence():
    article = load_article(SEEDS / "002_4a89886d9c041d69.txt")
    assert article.title.startswith("Le président russe Vladimir Poutine est arrivé mardi")
    assert len(article.title) <= 120


def test_legacy_encoding_is_decoded_and_reported(tmp_path):
    path = tmp_path / "ancien.txt"
    path.write_bytes("Un été à Séoul\nLes négociations ont duré deux heures.".encode("cp1252"))
    article = load_article(path)
    assert article.encoding == "cp1252"
    assert article.title == "Un été à Séoul"
    assert path.read_text(encoding="cp1252") == article.text


@pytest.mark.parametrize("content, reason", [
    (b"", "empty file"),
    (b"   \n\n", "empty file"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
])
def test_unindexable_files_are_skipped_with_a_reason(tmp_path, content, reason):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(SkipFile, match=reason):
        load_article(path)


def test_discovery_reports_unsupported_files_and_rejects_missing_paths(tmp_path):
    (tmp_path / "a.txt").write_text("Bonjour.", encoding="utf-8")
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8")
    (tmp_path / ".hidden.txt").write_text("caché", encoding="utf-8")
    files, skipped = discover([tmp_path])
    assert [f.name for f in files] == ["a.txt"]
    assert [Path(s.path).name for s in skipped] == ["photo.jpg"]
    with pytest.raises(InputError, match="does not exist"):
        discover([tmp_path / "nope"])


def test_html_articles_yield_text_title_and_date_without_navigation(tmp_path):
    path = tmp_path / "page.html"
    path.write_text("""<html><head><title>Site - Une page</title>
      <meta property="article:published_time" content="2024-06-18T08:00:00Z">
      <script>var x = "ignore";</script></head>
      <body><nav>Accueil | Monde</nav>
      <article><h1>Poutine &agrave; Pyongyang</h1>
      <p>Le président russe est arrivé <b>mardi</b> soir.</p><p>Il repart mercredi.</p></article>
      <footer>© Site</footer></body></html>""", encoding="utf-8")
    article = load_article(path)
    assert article.title == "Poutine à Pyongyang"
    assert article.date == "2024-06-18"
    assert article.text == "Poutine à Pyongyang\nLe président russe est arrivé mardi soir.\nIl repart mercredi."
    assert all(word not in article.text for word in ("Accueil", "ignore", "©"))


def test_markdown_front_matter_gives_title_and_date(tmp_path):
    path = tmp_path / "note.md"
    path.write_text("---\ntitle: Sommet de Vladivostok\ndate: 2023-09-13\n---\n# Sommet\n\nKim a rencontré Poutine.\n",
                    encoding="utf-8")
    article = load_article(path)
    assert (article.title, article.date) == ("Sommet de Vladivostok", "2023-09-13")
    assert "title:" not in article.text[article.body_start:article.body_end]
