"""The question's head nouns ("quelle agence spatiale…", "which expert…") and the names they sit beside in a sentence.

News and encyclopaedic text names a thing next to the noun that describes it: "l'agence spatiale
russe Roscosmos", "le ministre de la Défense, Andreï Beloussov", "Cheong Seong-chang, chercheur à
l'Institut Sejong". The question asks with the same noun ("Quelle agence spatiale…", "Which
Russian space agency…"), so a name within a few words of one of the question's head nouns is very
likely the asked one. Head nouns are compared by their consonants (bot/answer/spans.py skeleton),
which also pairs most French and English cognates (agence/agency, ministre/minister, expert).
"""

from __future__ import annotations

import re

from bot.answer.spans import names, skeleton
from index.articles.text import fold

HEAD_WORDS = 3     # words after the interrogative that may describe the answer
HEAD_WINDOW = 30   # characters between a head noun and a name for them to go together
_OPENER = re.compile(
    r"\b(?:quel|quelle|quels|quelles|lequel|laquelle|lesquels|lesquelles|which|what)\s+"
    r"(?:(?:est|sont|etait|is|are|was|were)\s+(?:le |la |les |l'|the )?(?:noms?|names?)\s+"
    r"(?:du |de la |de l'|des |de |d'|of the |of )?)?")
# Words that end the head phrase: verbs, auxiliaries, articles, prepositions, pronouns.
_STOP = re.compile(
    r"^(?:est|a|ont|sont|etait|etaient|sera|seront|peut|doit|va|fut|avait|aurait|is|are|was|were|did|does|do|has|"
    r"have|had|will|would|can|could|le|la|les|l|un|une|ce|cette|ces|son|sa|ses|leur|leurs|the|a|an|en|au|aux|pour|"
    r"par|dans|sur|avec|de|du|des|d|of|in|on|at|to|for|with|from|by|qui|que|dont|who|that|il|elle|ils|elles|on|"
    r"selon|according)$")
# Words too common to describe anything.
_VAGUE = {skeleton(w) for w in ("nom", "name", "chose", "thing", "type", "sorte", "kind", "genre")}


def head_words(question: str) -> frozenset[str]:
    """The skeleton of the noun right after "quel/quelle/which/what" (after "le nom du" too).

    French puts the noun first ("agence spatiale russe"), English last ("Russian space agency").
    """
    folded = fold(question).replace("’", "'")
    match = _OPENER.search(folded)
    if match is None:
        return frozenset()
    original = question.replace("’", "'")[match.end():]  # fold keeps lengths: the same words, with their case
    words: list[str] = []
    for i, token in enumerate(re.findall(r"[\w'-]+", original)[:HEAD_WORDS]):
        word = fold(token).split("'")[-1]
        if _STOP.match(word) or "-t-" in token or (i and token[:1].isupper()):
            break
        words.append(word)
    english = match.group(0).split()[0] in ("which", "what")
    word = (words[-1] if english else words[0]) if words else ""
    key = skeleton(word)
    return frozenset({key}) if len(key) >= 3 and key not in _VAGUE else frozenset()


def head_positions(text: str, heads: frozenset[str]) -> list[tuple[int, int]]:
    """The spans of the sentence's words that are one of the question's head nouns."""
    if not heads:
        return []
    return [m.span() for m in re.finditer(r"[\w-]+", text) if skeleton(m.group(0)) in heads]


def beside_head(span: tuple[int, int], positions: list[tuple[int, int]]) -> bool:
    """Whether a head noun ends just before the span or starts just after it."""
    return any(0 <= span[0] - end <= HEAD_WINDOW or 0 <= start - span[1] <= HEAD_WINDOW for start, end in positions)


def named_beside_head(text: str, heads: frozenset[str]) -> list[tuple[int, int]]:
    """The proper names of the sentence that sit beside one of the question's head nouns."""
    positions = head_positions(text, heads)
    return [span for span in names(text) if positions and beside_head(span, positions) and span[1] - span[0] > 2
            and not any(s <= span[0] < e for s, e in positions)]
