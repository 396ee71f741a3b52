"""The random-weight GGUFs of bench_llm.py: Qwen2.5 shapes, a BPE vocabulary trained on French, cached files.

gguf_factory is the test suite's GGUF writer (tests/), which bench_llm.py puts on sys.path.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gguf_factory import SPECIAL, write_llama_gguf
from piaf import load_piaf

from index.settings import PROJECT_ROOT

QWEN_VOCAB = 151936
# Qwen2's pre-tokenizer split (llama.cpp's "qwen2" pre-tokenizer): digits one by one, etc.
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
               r"|\s*[\r\n]+|\s+(?!\S)|\s+")


@dataclass(frozen=True)
class Shape:
    like: str
    n_embd: int
    n_layer: int
    n_head: int
    n_head_kv: int
    n_ff: int
    quant: str

    def filename(self, vocab_hash: str) -> str:
        return (f"random-{self.like.lower()}-e{self.n_embd}-l{self.n_layer}-h{self.n_head}-kv{self.n_head_kv}"
                f"-ff{self.n_ff}-v{QWEN_VOCAB}-tied-{self.quant.lower()}-bpe{vocab_hash}.gguf")


SHAPES = {
    "0.5b": Shape("Qwen2.5-0.5B-Instruct", 896, 24, 14, 2, 4864, "Q8_0"),
    "1.5b": Shape("Qwen2.5-1.5B-Instruct", 1536, 28, 12, 2, 8960, "Q4_0"),
}


def training_texts(piaf: Path) -> tuple[list[str], str]:
    """French text for the BPE: PIAF contexts, or the seed articles when PIAF is missing."""
    if piaf.is_file():
        contexts, _ = load_piaf(piaf)
        return [f"{title}\n\n{text}" for title, text in contexts], f"{len(contexts)} PIAF contexts"
    print(f"warning: {piaf} not found: training the BPE on seeds/ (optimistic token counts)", file=sys.stderr)
    return [p.read_text(encoding="utf-8") for p in sorted((PROJECT_ROOT / "seeds").glob("*.txt"))], "seeds/"


def train_bpe(texts: list[str], size: int) -> tuple[list[str], list[str]]:
    """A byte-level BPE with Qwen2's pre-tokenizer: its tokens in id order, padded to Qwen's size, and merges."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    trainer = trainers.BpeTrainer(vocab_size=size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=[], show_progress=False)
    tokenizer.train_from_iterator(texts, trainer)
    model = json.loads(tokenizer.to_str())["model"]
    vocab = sorted(model["vocab"], key=model["vocab"].get)
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    return vocab + filler_tokens(vocab, QWEN_VOCAB - len(vocab) - len(SPECIAL)), merges


def filler_tokens(vocab: list[str], count: int) -> list[str]:
    """Padding tokens no merge produces, as long as the trained ones: grammar checks walk every token's text."""
    rng = np.random.default_rng(0)
    lengths = np.array([n for n in (len(t.lstrip("Ġ")) for t in vocab[256:]) if n])
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    taken, out = set(vocab), []
    while len(out) < count:
        token = ("Ġ" if rng.random() < 0.5 else "") + "".join(rng.choice(letters, rng.choice(lengths)))
        if token not in taken:
            taken.add(token)
            out.append(token)
    return out


def ensure_model(folder: Path, shape: Shape, vocab: list[str], merges: list[str]) -> tuple[Path, float | None]:
    """The cached GGUF for this shape and vocabulary, written first if missing (seconds, or None)."""
    digest = hashlib.sha256("\n".join(vocab + ["--"] + merges).encode("utf-8")).hexdigest()[:10]
    path = folder / shape.filename(digest)
    if path.is_file():
        return path, None
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(shape.filename("*").replace(".gguf", ".*")):  # another vocabulary: never read again
        stale.unlink()
    partial = path.with_suffix(".partial")
    print(f"writing {path.name} (once)", file=sys.stderr)
    started = time.perf_counter()
    write_llama_gguf(partial, n_embd=shape.n_embd, n_layer=shape.n_layer, n_head=shape.n_head,
                     n_head_kv=shape.n_head_kv, n_ff=shape.n_ff, n_ctx=32768, quant=shape.quant,
                     vocab=vocab, merges=merges, tokenizer_pre="qwen2", pad_vocab_to=QWEN_VOCAB,
                     tie_embeddings=True)
    partial.rename(path)  # a run killed mid-write leaves no file that looks complete
    return path, time.perf_counter() - started
