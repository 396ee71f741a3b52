import os
import shutil
from pathlib import Path

import pytest

from index.builder import build_index
from index.errors import IndexCorruptError, IndexLockedError, IndexMismatchError
from index.search.hybrid import Searcher
from index.stores.embedded import home as layout
from index.stores.embedded.view import IndexReader

from conftest import SEEDS


def _build(settings, corpus, embedder, **kw):
    return build_index(settings, [corpus], embedder=embedder, **kw)


def test_first_build_embeds_every_chunk_and_records_the_manifest(settings, corpus, embedder):
    report = _build(settings, corpus, embedder)
    assert (report.articles, report.added, report.unchanged) == (3, 3, 0)
    assert report.embedded_chunks == report.chunks > 0
    reader = IndexReader.open_current(settings.index.home)
    manifest = reader.manifest
    assert manifest["embed_model"] == settings.index.embed_model and manifest["dim"] == 384
    chunking = (settings.index.chunk_chars, settings.index.chunk_overlap)
    assert (manifest["chunk_chars"], manifest["chunk_overlap"]) == chunking
    assert set(reader.article_hashes()) == {str(p.resolve()) for p in corpus.iterdir()}


def test_reindexing_an_unchanged_corpus_embeds_nothing_and_keeps_the_generation(settings, corpus, embedder):
    _build(settings, corpus, embedder)
    before = layout.current_generation(settings.index.home)
    report = _build(settings, corpus, embedder)
    assert (report.embedded_chunks, report.unchanged, report.added, report.updated) == (0, 3, 0, 0)
    assert layout.current_generation(settings.index.home) == before


def test_a_changed_article_reembeds_only_its_own_changed_chunks(settings, corpus, embedder):
    _build(settings, corpus, embedder)
    target = sorted(corpus.iterdir())[1]
    text = target.read_text(encoding="utf-8")
    target.write_text(text.replace("train blindé", "train spécial", 1), encoding="utf-8")
    reader = IndexReader.open_current(settings.index.home)
    _, old_chunks = reader.article_with_chunks(str(target.resolve()))
    report = _build(settings, corpus, embedder)
    assert (report.updated, report.unchanged, report.added) == (1, 2, 0)
    assert 1 <= report.embedded_chunks <= len(old_chunks)
    _, new_chunks = IndexReader.open_current(settings.index.home).article_with_chunks(str(target.resolve()))
    assert any("train spécial" in c.text for c in new_chunks)


def test_deleted_and_new_articles_are_removed_and_added(settings, corpus, embedder):
    _build(settings, corpus, embedder)
    gone = sorted(corpus.iterdir())[0]
    gone.unlink()
    shutil.copy(SEEDS / "004_9094e598d010c395.txt", corpus)
    report = _build(settings, corpus, embedder)
    assert (report.removed, report.added, report.unchanged) == (1, 1, 2)
    paths = set(IndexReader.open_current(settings.index.home).article_hashes())
    assert str(gone.resolve()) not in paths
    assert str((corpus / "004_9094e598d010c395.txt").resolve()) in paths


def test_skipped_files_are_listed_with_their_reason(settings, corpus, embedder):
    (corpus / "vide.txt").write_text("", encoding="utf-8")
    (corpus / "image.png").write_bytes(b"\x89PNG\x00\x00")
    report = _build(settings, corpus, embedder)
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert reasons == {"vide.txt": "empty file", "image.png": "unsupported file type '.png'"}
    assert report.articles == 3


def test_an_index_built_with_other_chunking_is_refused_until_rebuilt(settings, corpus, embedder):
    _build(settings, corpus, embedder)
    other = settings.replace(chunk_chars=400)
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        _build(other, corpus, embedder)
    with pytest.raises(IndexMismatchError, match="chunk_chars"):
        Searcher.open(other, embedder)
    report = _build(other, corpus, embedder, rebuild=True)
    assert report.embedded_chunks == report.chunks
    assert IndexReader.open_current(settings.index.home).manifest["chunk_chars"] == 400


def test_an_index_built_with_another_embedding_model_is_refused(settings, corpus, embedder):
    _build(settings, corpus, embedder)
    with pytest.raises(IndexMismatchError, match="embed_model"):
        Searcher.open(settings.replace(embed_model="intfloat/multilingual-e5-small"), embedder)


def test_a_second_concurrent_indexer_is_refused_with_a_clear_message(settings, corpus, embedder):
    _build(settings, corpus, embedder)
    with layout.HomeLock(Path(settings.index.home)), pytest.raises(IndexLockedError, match="another 'citebot index'"):
        _build(settings, corpus, embedder, rebuild=True)
    assert _build(settings, corpus, embedder).unchanged == 3


def test_a_crash_before_the_pointer_swap_keeps_the_previous_index(settings, corpus, embedder, monkeypatch):
    _build(settings, corpus, embedder)
    searcher = Searcher.open(settings, embedder)
    before = searcher.search("train blindé").to_json()
    (corpus / "nouveau.txt").write_text("Un nouvel article.\nIl parle de train blindé.", encoding="utf-8")

    def crash(*args):
        raise OSError("simulated power cut")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="power cut"):
        _build(settings, corpus, embedder)
    monkeypatch.undo()
    assert Searcher.open(settings, embedder).search("train blindé").to_json() == before
    report = _build(settings, corpus, embedder)
    assert report.added == 1
    assert not list(Path(settings.index.home).glob("tmp-*"))
    assert len(list(Path(settings.index.home).glob("gen-*"))) <= 2


def test_a_damaged_pointer_is_reported_and_repaired_by_rebuild(settings, corpus, embedder):
    _build(settings, corpus, embedder)
    (Path(settings.index.home) / layout.POINTER).write_text("gen-999999", encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="--rebuild"):
        _build(settings, corpus, embedder)
    report = _build(settings, corpus, embedder, rebuild=True)
    assert report.articles == 3
    assert Searcher.open(settings, embedder).search("train blindé", 3).hits


def test_a_home_folder_with_uri_characters_in_its_name_works(tmp_path, corpus, embedder):
    from bot.settings import Settings

    settings = Settings().replace(home=tmp_path / "dossier #1 ?x=%20")
    _build(settings, corpus, embedder)
    assert Searcher.open(settings, embedder).search("train blindé", 3).hits


def test_crlf_articles_keep_offsets_into_the_text_open_reads(settings, tmp_path, embedder):
    folder = tmp_path / "crlf"
    folder.mkdir()
    lines = ["Sommet à Vladivostok", "", "Kim Jong-un est arrivé en train blindé.",
             "Vladimir Poutine l'a reçu au cosmodrome.", "Les deux dirigeants ont signé un accord."]
    (folder / "dos.txt").write_bytes("\r\n".join(lines).encode("utf-8"))
    _build(settings, folder, embedder)
    with open(folder / "dos.txt", encoding="utf-8") as handle:  # universal newlines, as a reader sees it
        text = handle.read()
    hits = Searcher.open(settings, embedder).search("cosmodrome", 3).hits
    assert hits and all(text[h.chunk.start:h.chunk.end] == h.chunk.text for h in hits)
    assert "\r" not in hits[0].chunk.text


def test_an_open_searcher_follows_a_reindex_even_after_its_generation_is_pruned(settings, corpus, embedder):
    _build(settings, corpus, embedder)
    searcher = Searcher.open(settings, embedder)
    (corpus / "nouveau.txt").write_text("Le cosmodrome de Vostotchny accueille une fusée Soyouz.\n",
                                        encoding="utf-8")
    _build(settings, corpus, embedder)
    (corpus / "autre.txt").write_text("Une deuxième dépêche sur la fusée Angara.\n", encoding="utf-8")
    _build(settings, corpus, embedder)  # the searcher's own generation is pruned now
    hits = searcher.search("fusée Soyouz Vostotchny", 3).hits
    assert hits[0].chunk.path == str((corpus / "nouveau.txt").resolve())


def test_a_new_loader_version_rereads_articles_but_reuses_unchanged_chunk_vectors(settings, corpus, embedder,
                                                                                  monkeypatch):
    from index.articles import loader

    _build(settings, corpus, embedder)
    monkeypatch.setattr(loader, "LOADER_VERSION", b"citebot-loader-test\n")
    report = _build(settings, corpus, embedder)
    assert (report.updated, report.unchanged, report.embedded_chunks) == (3, 0, 0)


def test_plain_index_rebuilds_a_damaged_live_generation(settings, corpus, embedder):
    _build(settings, corpus, embedder)
    home = Path(settings.index.home)
    faiss_file = layout.current_generation(home) / "dense.faiss"
    faiss_file.write_bytes(faiss_file.read_bytes()[:100])  # as a disk error would leave it
    report = _build(settings, corpus, embedder)
    assert report.warnings == (f"the index in {home} was damaged (dense.faiss cannot be read); "
                               "rebuilt it from the articles",)
    assert (report.added, report.unchanged, report.embedded_chunks) == (3, 0, report.chunks)
    IndexReader.open_current(home).verify()
    assert Searcher.open(settings, embedder).search("train blindé", 3).hits


def test_special_and_oversized_files_are_skipped_by_the_builder(settings, corpus, embedder):
    os.mkfifo(corpus / "tube.txt")
    os.symlink("/dev/zero", corpus / "zero.txt")
    (corpus / "journal.txt").write_text("Une ligne de journal système.\n" * 3000, encoding="utf-8")  # 90 KB
    report = _build(settings.replace(max_article_mb=0.05), corpus, embedder)
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert reasons == {"tube.txt": "not a regular file", "zero.txt": "not a regular file",
                       "journal.txt": "larger than 0.05 MB (max_article_mb)"}
    assert report.articles == 3
