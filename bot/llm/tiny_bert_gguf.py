"""Random-weight BERT-architecture embedding GGUF files, so embedding tests run the real llama.cpp path.

The vocabulary is WordPiece (llama.cpp's "bert" tokenizer): the special tokens, the printable
ASCII and Latin-1 letters, each also as a continuation piece, and a few whole words, so
any text tokenises (unknown characters become [UNK]). Pooling is the mean of the token vectors,
as in e5. The weights are random: the vectors mean nothing, but the server and the in-process
llama.cpp compute the same ones, which is what the embedding tests compare.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = ["le", "la", "les", "de", "des", "et", "en", "un", "une", "est", "the", "of", "and", "is"]


def _vocab(words: list[str]) -> list[str]:
    """Special tokens, single characters as word starts and as continuations, then some words.

    llama.cpp stores WordPiece in "phantom space" form (as its convert_hf_to_gguf.py writes it):
    a piece that starts a word carries U+2581, a `##` continuation piece is bare.
    """
    chars = [chr(c) for c in [*range(33, 127), *range(0xDF, 0x100)]]  # lower case: the tokenizer lowercases
    whole = list(dict.fromkeys(w for w in [*WORDS, *words] if len(w) > 1))
    return SPECIAL + [f"\u2581{c}" for c in chars] + chars + [f"\u2581{w}" for w in whole]


def write_bert_gguf(path: Path, n_embd: int = 64, n_layer: int = 2, n_head: int = 4, n_ff: int = 128,
                    n_ctx: int = 2048, seed: int = 0, words: Sequence[str] = ()) -> Path:
    """Write a BERT embedding GGUF with random weights (F32, mean pooling, non-causal attention).

    `words` (lower case) become whole-word tokens: a benchmark gives a corpus's frequent words so
    that a text makes about as many tokens as with a trained vocabulary.
    """
    import gguf

    rng = np.random.default_rng(seed)
    tokens = _vocab(list(words))
    n_vocab = len(tokens)
    writer = gguf.GGUFWriter(str(path), "bert")
    writer.add_name("citebot-random-bert")
    writer.add_context_length(n_ctx)
    writer.add_embedding_length(n_embd)
    writer.add_block_count(n_layer)
    writer.add_feed_forward_length(n_ff)
    writer.add_head_count(n_head)
    writer.add_layer_norm_eps(1e-12)
    writer.add_causal_attention(False)
    writer.add_pooling_type(gguf.PoolingType.MEAN)
    writer.add_file_type(0)
    writer.add_tokenizer_model("bert")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types([3] * len(SPECIAL) + [1] * (n_vocab - len(SPECIAL)))
    writer.add_token_type_count(2)
    writer.add_pad_token_id(0)
    writer.add_unk_token_id(1)
    writer.add_bos_token_id(2)  # llama.cpp's BERT: [CLS] is the BOS token, [SEP] the EOS
    writer.add_eos_token_id(3)
    writer.add_sep_token_id(3)
    writer.add_mask_token_id(4)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(True)

    def add(name: str, *shape: int) -> None:
        writer.add_tensor(name, (rng.standard_normal(shape) * 0.2).astype(np.float32))

    def norm(name: str) -> None:
        writer.add_tensor(name + ".weight", np.ones(n_embd, dtype=np.float32))
        writer.add_tensor(name + ".bias", np.zeros(n_embd, dtype=np.float32))

    add("token_embd.weight", n_vocab, n_embd)
    add("token_types.weight", 2, n_embd)
    add("position_embd.weight", n_ctx, n_embd)
    norm("token_embd_norm")
    for i in range(n_layer):
        p = f"blk.{i}."
        for part in ("attn_q", "attn_k", "attn_v", "attn_output"):
            add(p + part + ".weight", n_embd, n_embd)
            add(p + part + ".bias", n_embd)
        norm(p + "attn_output_norm")
        add(p + "ffn_up.weight", n_ff, n_embd)
        add(p + "ffn_up.bias", n_ff)
        add(p + "ffn_down.weight", n_embd, n_ff)
        add(p + "ffn_down.bias", n_embd)
        norm(p + "layer_output_norm")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
