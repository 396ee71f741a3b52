"""multilingual-e5-small on OpenVINO: the fast passage engine of the bundled model.

The graph exported once by index/embedding/openvino_convert.py returns mean-pooled unit vectors; texts are
tokenized with the same tokenizer.json as the sentence-transformers folder. On a CPU with AMX
OpenVINO runs it in bf16 (its default there), elsewhere in fp32; the vectors agree with
sentence-transformers fp32 to cosine 0.999 or better (docs/BENCHMARKS.md, "Embedding engines").
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from index.embedding.base import Embedder, VectorCache
from index.embedding.known_models import Prefixes
from index.embedding.openvino_convert import MODEL_XML
from index.errors import ModelError

MAX_TOKENS = 512  # e5's position table; sentence-transformers truncates there too
# Batches padded to a multiple of this many tokens (masked, so the vectors do not change): the
# CPU plugin prepares kernels per input shape, and fewer distinct shapes are prepared less often.
PAD_MULTIPLE = 16
# Indexing runs the THROUGHPUT hint: one stream per few cores, each fed its own batch; smaller
# batches than sentence-transformers' 32 keep every stream busy (measured on 2 cores: 16 texts
# a request, two in flight, about 1.4 times the rate of one 32-text request at a time).
REQUEST_BATCH = 16


class OpenVinoEmbedder(Embedder):
    """An exported e5 folder (model.xml, tokenizer.json) run by OpenVINO's CPU plugin."""

    def __init__(self, name: str, folder: Path, batch_size: int = 32, prefixes: Prefixes | None = None) -> None:
        self.name = name
        self.folder = folder
        self.batch_size = batch_size
        self.prefixes = prefixes or Prefixes()
        self._model: Any = None
        self._tokenizer: Any = None
        self._cache = VectorCache(batch_size)

    @property
    def model(self):
        """The compiled OpenVINO model, loaded on first use."""
        if self._model is None:
            self._model, self._tokenizer = self._load()
        return self._model

    def _load(self) -> tuple[Any, Any]:
        try:
            import openvino as ov
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
            compiled = ov.Core().compile_model(str(self.folder / MODEL_XML), "CPU", {"PERFORMANCE_HINT": "THROUGHPUT"})
        except Exception as exc:  # a missing package or a damaged folder becomes one clear line
            raise ModelError(f"cannot load the OpenVINO embedding model in {self.folder}: {exc}".splitlines()[0]) \
                from None
        tokenizer.enable_truncation(MAX_TOKENS)
        pad = tokenizer.token_to_id("<pad>")
        tokenizer.enable_padding(pad_id=pad, pad_token="<pad>", pad_to_multiple_of=PAD_MULTIPLE)
        return compiled, tokenizer

    @property
    def dim(self) -> int:
        """The embedding dimension."""
        return int(self.model.outputs[0].get_partial_shape()[1].get_length())

    def encode(self, texts: list[str], progress: Callable[[int], None] | None = None,
               bulk: bool = False) -> np.ndarray:
        """Passage vectors in length-sorted batches; progress(n) after each batch."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if not bulk:
            return self._cache.get(texts, lambda chunk: self._batch(chunk, self.prefixes.passage))
        return self._encode(texts, self.prefixes.passage, progress)

    def encode_query(self, text: str) -> np.ndarray:
        """The vector of one question, with the model's query prefix."""
        return self._batch([text], self.prefixes.query)[0]

    def encode_queries(self, texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """The vectors of many questions in length-sorted batches (benchmarks, calibration)."""
        return self._encode(texts, self.prefixes.query, progress)

    def _encode(self, texts: list[str], prefix: str, progress: Callable[[int], None] | None) -> np.ndarray:
        import openvino as ov

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        done: list[int] = []  # appended by OpenVINO's threads as requests finish; progress is told here

        def finished(request, idx) -> None:
            out[idx] = _unit(request.get_output_tensor(0).data)
            done.append(len(idx))

        queue = ov.AsyncInferQueue(self.model, self.model.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
        queue.set_callback(finished)
        told = 0
        for idx in self._batches(texts):
            queue.start_async(self._inputs([texts[j] for j in idx], prefix), idx)  # waits for a free request
            told = self._tell(progress, done, told)
        queue.wait_all()
        self._tell(progress, done, told)
        return out

    def _batches(self, texts: list[str]) -> list[np.ndarray]:
        """Index arrays of length-sorted batches: sorting keeps padding (wasted compute) low."""
        order = np.argsort([-len(t) for t in texts], kind="stable")
        size = min(self.batch_size, REQUEST_BATCH)
        return [order[i:i + size] for i in range(0, len(texts), size)]

    @staticmethod
    def _tell(progress: Callable[[int], None] | None, done: list[int], told: int) -> int:
        """Report the batches finished since the last call; the new count of reported ones."""
        finished = len(done)
        if progress and finished > told:
            progress(sum(done[told:finished]))
        return finished

    def _inputs(self, texts: list[str], prefix: str) -> dict[str, np.ndarray]:
        """The model's inputs for one batch."""
        if self._tokenizer is None:
            self._model, self._tokenizer = self._load()
        encodings = self._tokenizer.encode_batch([prefix + t for t in texts])
        return {"input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64)}

    def _batch(self, texts: list[str], prefix: str) -> np.ndarray:
        """Unit vectors of one batch, computed now (short work)."""
        inputs = self._inputs(texts, prefix)
        return _unit(np.asarray(self.model(inputs)[0]))


def _unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1: the graph normalises, bf16 rounding leaves them a hair off."""
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
