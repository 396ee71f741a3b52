"""Random-weight llama-architecture GGUF files, so tests and benchmarks run the real llama.cpp path.

The vocabulary is GPT-2 style byte-level BPE (the 256 byte tokens, a few merges, special
tokens) so any UTF-8 text can be generated; a ChatML template lets create_chat_completion
format messages. Weight values are random: the model "says" nothing meaningful, which is
what the verification tests need. Benchmarks can pass a trained vocabulary and merges instead,
pad the vocabulary to a real model's size and tie the output layer to the embeddings.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def _byte_tokens() -> list[str]:
    """GPT-2's printable stand-ins for the 256 byte values."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars, extra = {}, 0
    for b in range(256):
        if b in printable:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return [chars[b] for b in range(256)]


def write_llama_gguf(path: Path, n_embd: int = 64, n_layer: int = 2, n_head: int = 4, n_head_kv: int | None = None,
                     n_ff: int = 128, n_ctx: int = 4096, extra_vocab: int = 0, quant: str = "F32",
                     seed: int = 0, vocab: list[str] | None = None, merges: list[str] | None = None,
                     tokenizer_pre: str = "default", pad_vocab_to: int = 0, tie_embeddings: bool = False) -> Path:
    """Write a llama GGUF with random weights; `quant` is F32, F16, Q8_0 or Q4_0.

    `vocab` and `merges` replace the byte-level vocabulary (vocab must hold the 256 byte tokens);
    the special tokens follow it, then `<|extra_i|>` tokens up to `pad_vocab_to` tokens in all.
    """
    import gguf

    rng = np.random.default_rng(seed)
    n_head_kv = n_head_kv or n_head
    head_dim = n_embd // n_head
    base = list(vocab) if vocab is not None else _byte_tokens() + ["ĠĠ"]
    extra_vocab = max(extra_vocab, pad_vocab_to - len(base) - len(SPECIAL))
    tokens = base + SPECIAL + [f"<|extra_{i}|>" for i in range(extra_vocab)]
    types = [1] * len(base) + [3] * len(SPECIAL) + [1] * extra_vocab
    n_vocab = len(tokens)
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("citebot-random-llama")
    writer.add_context_length(n_ctx)
    writer.add_embedding_length(n_embd)
    writer.add_block_count(n_layer)
    writer.add_feed_forward_length(n_ff)
    writer.add_rope_dimension_count(head_dim)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_head_kv)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(tokenizer_pre)
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(list(merges) if merges is not None else ["Ġ Ġ"])  # llama.cpp requires at least one merge
    writer.add_bos_token_id(len(base))
    writer.add_eos_token_id(len(base) + 2)
    writer.add_add_bos_token(False)
    writer.add_chat_template(CHATML)
    qtype = getattr(gguf.GGMLQuantizationType, quant)
    writer.add_file_type({"F32": 0, "F16": 1, "Q8_0": 7, "Q4_0": 2}[quant])

    def add(name: str, *shape: int, quantize: bool = True) -> None:
        data = (rng.standard_normal(shape) * 0.02).astype(np.float32)
        if quantize and quant != "F32":
            writer.add_tensor(name, gguf.quants.quantize(data, qtype), raw_dtype=qtype)
        else:
            writer.add_tensor(name, data)

    add("token_embd.weight", n_vocab, n_embd)
    writer.add_tensor("output_norm.weight", np.ones(n_embd, dtype=np.float32))
    if not tie_embeddings:  # tied: llama.cpp reuses token_embd as the output layer
        add("output.weight", n_vocab, n_embd)
    for i in range(n_layer):
        p = f"blk.{i}."
        writer.add_tensor(p + "attn_norm.weight", np.ones(n_embd, dtype=np.float32))
        add(p + "attn_q.weight", n_embd, n_embd)
        add(p + "attn_k.weight", n_head_kv * head_dim, n_embd)
        add(p + "attn_v.weight", n_head_kv * head_dim, n_embd)
        add(p + "attn_output.weight", n_embd, n_embd)
        writer.add_tensor(p + "ffn_norm.weight", np.ones(n_embd, dtype=np.float32))
        add(p + "ffn_gate.weight", n_ff, n_embd)
        add(p + "ffn_up.weight", n_ff, n_embd)
        add(p + "ffn_down.weight", n_embd, n_ff)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
