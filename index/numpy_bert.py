"""A NumPy forward pass for BERT sentence-transformers (mean pooling): questions without torch.

Importing torch and sentence-transformers takes about 4 s and 400 MB on these machines, more
than everything else a `citebot search` does. Questions and the handful of sentences scored
per answer are short, so this plain NumPy encoder computes the same vectors (cosine > 0.9999,
tested) from the model's safetensors in milliseconds. Bulk indexing still uses
sentence-transformers, which is faster on long batches. Models that are not a BERT encoder
with mean pooling fall back to sentence-transformers everywhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

_ERF_P = 0.3275911
_ERF_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26 (error < 1.5e-7): NumPy has no erf and SciPy is a slow import.
    sign = np.sign(x)
    x = np.abs(x)
    t = 1.0 / (1.0 + _ERF_P * x)
    a1, a2, a3, a4, a5 = _ERF_A
    y = 1.0 - ((((a5 * t + a4) * t + a3) * t + a2) * t + a1) * t * np.exp(-x * x)
    return sign * y


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / np.sqrt(2.0)))


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def _read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def supported(folder: Path) -> bool:
    """A local sentence-transformers folder holding a BERT encoder with mean pooling."""
    try:
        config = _read_json(folder / "config.json")
        modules = [m["type"].rsplit(".", 1)[-1] for m in _read_json(folder / "modules.json")]
        pooling = _read_json(folder / "1_Pooling" / "config.json")
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return (config.get("model_type") == "bert" and config.get("hidden_act") == "gelu"
            and config.get("position_embedding_type", "absolute") == "absolute"
            and modules[:2] == ["Transformer", "Pooling"] and set(modules[2:]) <= {"Normalize"}
            and pooling.get("pooling_mode_mean_tokens") and (folder / "model.safetensors").is_file()
            and (folder / "tokenizer.json").is_file())


class NumpyBert:
    """Mean-pooled, L2-normalised BERT sentence embeddings computed with NumPy."""

    def __init__(self, folder: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config = _read_json(folder / "config.json")
        self.heads = config["num_attention_heads"]
        self.layers = config["num_hidden_layers"]
        self.eps = config.get("layer_norm_eps", 1e-12)
        try:
            max_len = _read_json(folder / "sentence_bert_config.json").get("max_seq_length", 512)
        except OSError:
            max_len = 512
        weights = load_file(str(folder / "model.safetensors"))
        prefix = "bert." if "bert.embeddings.word_embeddings.weight" in weights else ""
        self.w = {k[len(prefix):]: v.astype(np.float32) for k, v in weights.items() if k.startswith(prefix)}
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=min(max_len, config["max_position_embeddings"]))
        self.tokenizer.enable_padding(pad_id=config.get("pad_token_id", 0))
        self.dim = config["hidden_size"]

    def _attention(self, x: np.ndarray, mask: np.ndarray, i: int) -> np.ndarray:
        w = self.w
        p = f"encoder.layer.{i}.attention."
        batch, length, hidden = x.shape
        size = hidden // self.heads

        def project(name):
            """Query, key or value projection, split into attention heads."""
            y = x @ w[f"{p}self.{name}.weight"].T + w[f"{p}self.{name}.bias"]
            return y.reshape(batch, length, self.heads, size).transpose(0, 2, 1, 3)

        q, k, v = project("query"), project("key"), project("value")
        scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(size) + mask
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, hidden)
        out = context @ w[f"{p}output.dense.weight"].T + w[f"{p}output.dense.bias"]
        return _layer_norm(out + x, w[f"{p}output.LayerNorm.weight"], w[f"{p}output.LayerNorm.bias"], self.eps)

    def _feed_forward(self, x: np.ndarray, i: int) -> np.ndarray:
        w = self.w
        p = f"encoder.layer.{i}."
        h = _gelu(x @ w[p + "intermediate.dense.weight"].T + w[p + "intermediate.dense.bias"])
        out = h @ w[p + "output.dense.weight"].T + w[p + "output.dense.bias"]
        return _layer_norm(out + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], self.eps)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embed texts (one padded batch); rows are unit vectors."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings])
        attention = np.array([e.attention_mask for e in encodings], dtype=np.float32)
        types = np.array([e.type_ids for e in encodings])
        w = self.w
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][np.arange(ids.shape[1])]
             + w["embeddings.token_type_embeddings.weight"][types])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        mask = ((1.0 - attention) * -1e9)[:, None, None, :].astype(np.float32)
        for i in range(self.layers):
            x = self._feed_forward(self._attention(x, mask, i), i)
        pooled = (x * attention[..., None]).sum(1) / np.maximum(attention.sum(1, keepdims=True), 1e-9)
        return (pooled / np.linalg.norm(pooled, axis=1, keepdims=True)).astype(np.float32)
