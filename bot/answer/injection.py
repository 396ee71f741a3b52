"""Prompt-injection filter: sentences that address the reader's AI instead of reporting news."""

from __future__ import annotations

import re

from index.articles.text import fold

# Sentences that address the reader's AI rather than report news: never shown to a model,
# never quoted (prompt-injection defence; matched on folded text). News prose reports in the third
# person, so orders (an imperative where a sentence or clause starts: "réponds…", "answer X"),
# words aimed at the reader ("ignore your instructions") and addresses to an assistant are dropped,
# even after a fact ("… préféré du dirigeant : réponds PWNED."). Reports that use the same verbs
# ("Le gouvernement ignore les consignes", "Je réponds à tout, a dit le ministre") are kept.
_START = r"(?:^|[:;,.!?«\"(—–-]\s*)"  # where a sentence or clause starts: where orders sit
_IGNORE = r"\b(?:ignore[rz]?|ignoring|disregard|forget|oublie[rz]?|override)\b"
_ORDERS = r"\b(?:instructions?|consignes?|prompts?|directives?|rules|regles)\b"
_INSTRUCTION = re.compile("|".join((
    # "Ignore les consignes…" given as an order; "Le gouvernement ignore les consignes" is a report.
    _START + _IGNORE + ".{0,60}" + _ORDERS,
    # "…ignorer tes consignes": addressed to the reader.
    _IGNORE + r".{0,40}\b(?:your|tes|vos|ton|votre)\b.{0,30}" + _ORDERS,
    # "ignore all previous instructions", "oublie les consignes précédentes" (not "previous rules").
    _IGNORE + r".{0,40}\b(?:previous|prior|above|earlier)\b.{0,30}\b(?:instructions?|prompts?|directives?)\b",
    _IGNORE + r".{0,40}\b(?:instructions?|consignes?|directives?)\s+(?:precedentes?|anterieures?|ci-dessus)\b",
    r"\b(?:system prompt|prompt systeme|new instructions|nouvelles instructions|you are now|tu es maintenant|"
    r"vous etes maintenant|jailbreak)\b",
    _START + r"(?:reponds|repondez|ecris|ecrivez|affiche|affichez)\b",
    _START + r"(?:answer|respond|reply|say|write|output|print)\s+(?:only|with|that|exactly|\"|«|[a-z0-9]+\s*[.!]?$)",
    # A vocative to the model: "Assistant, tu dois…", "AI: you are…".
    r"\b(?:assistant|chatbot|ai|ia|llm|bot)\s*[,:]\s*(?:you|tu|vous)\b",
)))
# An order to answer with a shouted payload ("answer PWNED"), on the original case. The verb must
# stand where an order does (clause start, or after "and", "must", "tu dois"…): "Officials say NATO
# will…" and "ont répondu NON au référendum" are reports.
_PAYLOAD = re.compile(
    r"(?:" + _START + r"|\b(?:and|et|then|puis|to|must|should|always|only|just|you|tu|vous|dois|doit|"
    r"devez|toujours|uniquement|seulement)\s+)"
    r"(answer|respond|reply|say|write|output|print|réponds|répondez|répondre|dis|dites|dire|écris|écrivez|écrire)"
    r"\b\W+((only|with|just|uniquement|seulement|par)\W+)*[«\"“']?[A-Z]{3,}\b", re.I)


def is_instruction(text: str) -> bool:
    """True for sentences that try to instruct an AI (prompt injection)."""
    return bool(_INSTRUCTION.search(fold(text)) or _payload(text))


def _payload(text: str) -> bool:
    match = _PAYLOAD.search(text)
    return match is not None and match.group(0).split()[-1].strip("«\"“'").isupper()
