"""SQuAD short-answer metrics (exact match, token F1) with French normalisation, as FQuAD and PIAF score readers.

The answer and each gold answer are lower-cased, typographic apostrophes made straight, punctuation
turned into spaces, the French and English articles removed (le, la, les, l', un, une, des, du, de,
d', au, aux; a, an, the) and the whitespace collapsed; accents are kept, as SQuAD keeps them.
A question's score is the best over its gold answers.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter

_ARTICLES = re.compile(r"\b(?:le|la|les|l|un|une|des|du|de|d|au|aux|a|an|the)\b")
_PUNCTUATION = set(string.punctuation) | {"«", "»", "“", "”", "‘", "’", "…", "–", "—"}


def normalize(text: str) -> str:
    """The answer as SQuAD compares it: lower case, no punctuation, no articles, single spaces."""
    text = unicodedata.normalize("NFC", text).lower().replace("’", "'")
    text = "".join(" " if c in _PUNCTUATION else c for c in text)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, golds: tuple[str, ...]) -> float:
    """1.0 when the normalised prediction equals a normalised gold answer."""
    guess = normalize(prediction)
    return float(any(guess == normalize(g) for g in golds))


def _f1(prediction: str, gold: str) -> float:
    guess, truth = normalize(prediction).split(), normalize(gold).split()
    if not guess or not truth:
        return float(guess == truth)
    common = sum((Counter(guess) & Counter(truth)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(guess), common / len(truth)
    return 2 * precision * recall / (precision + recall)


def token_f1(prediction: str, golds: tuple[str, ...]) -> float:
    """The best token-overlap F1 of the prediction against any gold answer."""
    return max((_f1(prediction, g) for g in golds), default=0.0)


def contains(text: str, golds: tuple[str, ...]) -> bool:
    """Whether the normalised text holds a normalised gold answer as whole words."""
    haystack = f" {normalize(text)} "
    return any(normalize(g) and f" {normalize(g)} " in haystack for g in golds)
