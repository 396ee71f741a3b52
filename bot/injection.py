"""Prompt-injection filter: sentences that address the reader's AI instead of reporting news."""

from __future__ import annotations

import re

from index.text import fold

# Sentences that address the reader's AI rather than report news: never shown to a model,
# never quoted (prompt-injection defence; matched on folded text). News prose is written in the
# third person, so imperatives of answering and ignoring ("réponds", "answer X", "ignore your
# instructions") and addresses to an assistant are dropped even when they sit inside a fact.
_INSTRUCTION = re.compile(
    r"\b(ignore[rz]?|ignoring|disregard|forget|oublie[rz]?|override)\b.{0,60}"
    r"\b(instructions?|consignes?|prompts?|directives?|(your|tes|vos|these|ces) (rules|regles))\b"
    r"|\b(system prompt|prompt systeme|new instructions|nouvelles instructions|you are now|tu es maintenant|"
    r"vous etes maintenant|as an ai|en tant qu'ia|language model|modele de langue|jailbreak)\b"
    r"|\b(reponds|repondez|ecris|ecrivez|affiche|affichez)\b"
    r"|(^|[:;.!?«\"(]\s*)(answer|respond|reply|say|write|output|print)\s+(only|with|that|exactly|\"|«|[a-z0-9]+\s*[.!]?$)"
    r"|\b(assistant|chatbot|ai|ia|llm|bot|model|modele)\b\s*[,:]?\s*(you|tu|vous)\b"
)
# An order to answer with a shouted payload ("answer PWNED"), on the original case.
_PAYLOAD = re.compile(r"\b(answer|respond|reply|say|write|output|print|répond\w*|dis|dites|écri\w*)\b\W+"
                      r"((only|with|just|uniquement|seulement|par)\W+)*[«\"“']?[A-Z]{3,}\b", re.I)


def is_instruction(text: str) -> bool:
    """True for sentences that try to instruct an AI (prompt injection)."""
    return bool(_INSTRUCTION.search(fold(text)) or _payload(text))


def _payload(text: str) -> bool:
    match = _PAYLOAD.search(text)
    return bool(match) and match.group(0).split()[-1].strip("«\"“'").isupper()
