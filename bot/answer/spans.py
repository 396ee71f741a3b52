"""Typed answer spans inside one sentence: the date, number, name, place or vehicle a question asks for.

Every span is a pair of offsets into the sentence as the article writes it, so the direct answer
(bot/answer/direct.py) shows the article's own words and verification can check them against the
file. Patterns run on a length-preserving fold of the sentence (accents and case removed, one
character for one), so a match's offsets are the original text's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bot.answer.answer_type import MONTHS, NUMBER_WORDS
from index.articles.text import fold

_WEEKDAYS = (r"lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|"
             r"monday|tuesday|wednesday|thursday|friday|saturday|sunday")
_DAY = r"(?:1er|\d{1,2})(?:\s+(?:et|au|-)\s+(?:1er|\d{1,2}))?"
_YEAR = r"(?:1[5-9]\d\d|20\d\d)"
_DATE = re.compile(
    rf"\b(?:(?:{_WEEKDAYS})\s+)?{_DAY}\s+(?:{MONTHS})(?:\s+{_YEAR})?\b"          # mardi 12 septembre 2023
    rf"|\b(?:{MONTHS})\s+\d{{1,2}}(?:,?\s+{_YEAR})?\b"                           # September 12, 2023
    rf"|\b(?:en\s+|in\s+)?(?:{MONTHS})\s+{_YEAR}\b"                             # juillet 2000
    rf"|\b(?:{_WEEKDAYS})(?:\s+(?:soir|matin|apres-midi|dernier|prochain))?\b"  # dimanche soir
    rf"|\b(?:en|in|depuis|since)\s+{_YEAR}\b|\b{_YEAR}\b"
    r"|\bil y a (?:pres d'|environ |plus d')?(?:un|une|\d+|" + NUMBER_WORDS
    + r")[\w' -]{2,25}?\b(?:siecle|ans|mois|jours|semaines)\b"
    r"|\b(?:la semaine|le mois|l'an|l'annee) (?:derniere?|prochaine?|passee?)\b"
    r"|\b(?:hier|aujourd'hui|demain|yesterday|today|tomorrow)\b")
_UNITS = (r"secondes?|minutes?|heures?|jours?|semaines?|mois|ans|annees?|siecles?|decennies?|"
          r"seconds?|hours?|days?|weeks?|months?|years?|decades?|centur(?:y|ies)")
_DURATION = re.compile(
    rf"\b(?:(?:environ|pres d'|plus d'|moins d'|about|nearly|almost|over)\s*)?"
    rf"(?:\d+|{NUMBER_WORDS}|un|une|a|an)\s+(?:{_UNITS})\b"
    rf"|\b(?:un|a)\s+(?:quart|demi|half)[ -](?:de |d')?(?:siecle|century)\b")
_NUMBER = re.compile(rf"\b(?:\d[\d\s.,]*\d|\d|{NUMBER_WORDS}|a deux reprises|deux reprises)"
                     r"(?:\s+(?!et\b|de\b|du\b|des\b|and\b|of\b)[a-z'-]{3,}){0,2}")
_MONEY = re.compile(r"\d[\d\s.,]*\s*(?:millions?|milliards?|billions?)?\s*(?:de |d')?"
                    r"(?:€|\$|euros?|dollars?|roubles?|wons?|yuans?|livres?)|[€$]\s*\d[\d.,]*")
_VEHICLES = (r"train|avion|voiture|bateau|navire|helicoptere|bus|autocar|metro|tramway|velo|moto|camion|"
             r"jet|limousine|convoi|cortege|plane|car|ship|boat|helicopter|truck|aircraft|motorcade|convoy")
_VEHICLE = re.compile(rf"\b(?:{_VEHICLES})s?(?:\s+(?!de\b|du\b|des\b|pour\b|et\b|a\b|en\b|to\b|and\b|for\b)"
                      r"[a-z-]{4,})?\b|\b(?:armou?red|private|special)\s+(?:train|plane|car)\b")
# A proper name: capitalised words joined by particles ("Corée du Nord", "Kim Jong-un", "NK Pro").
_NAME = re.compile(r"(?<![\w-])(?:[A-ZÀ-Ý][\w’'-]*|[A-Z]{2,})"
                   r"(?:\s+(?:(?:du|de|des|de la|d’|d'|el|al|von|van|bin|of|the)\s*)?(?:[A-ZÀ-Ý][\w’'-]*|[A-Z]{2,}))*")
_PLACE_INTRO = re.compile(r"\b(?:a|au|aux|en|vers|dans|depuis|at|in|to|from)\s+(?:l'|la |le |les |the )?$")
_ELISION = re.compile(r"^(?:[dlDL]['’]|[Qq]u['’])")
KINDS = ("date", "duration", "number", "money", "vehicle", "person", "organisation", "place")


def fold_same_length(text: str) -> str:
    """fold(text) one character for one, so that offsets into the result are offsets into `text`."""
    return "".join((fold(c) or c)[:1] for c in text)


def skeleton(word: str) -> str:
    """A name's consonants, folded: 'Poutine' and 'Putin' both give 'ptn' (names across languages)."""
    return re.sub(r"[^a-z]|[aeiouy]", "", fold(word)).replace("gu", "g")


def _regex_spans(pattern: re.Pattern, text: str) -> Iterator[tuple[int, int]]:
    folded = fold_same_length(text)
    for match in pattern.finditer(folded):
        start, end = match.span()
        while end > start and folded[end - 1] in " ,.-'":
            end -= 1
        if end > start:
            yield start, end


def names(text: str) -> Iterator[tuple[int, int]]:
    """Proper names, without a leading elision ("d’Andreï" gives "Andreï")."""
    for match in _NAME.finditer(text):
        start, end = match.span()
        elided = _ELISION.match(text[start:end])
        if elided:
            start += elided.end()
            if not text[start:start + 1].isupper():
                continue  # "D’ailleurs": a capitalised elision, not a name
        if start == 0 and " " not in text[start:end]:
            continue  # a sentence's first word is capitalised whatever it is
        yield start, end


_PLACE_NOUNS = (r"aeroport|gare|palais|hotel|ambassade|base|cosmodrome|port|frontiere|usine|village|ville|capitale|"
                r"region|province|camp|siege|parlement|place|stade|universite|ecole|musee|eglise|chateau|"
                r"airport|station|palace|embassy|border|factory|city|capital|square|stadium|university|museum")
_PLACE_PHRASE = re.compile(rf"\b(?:a|au|aux|en|dans|vers|depuis|at|in|to|from)\s+(?:l'|l’|la |le |les |the )?"
                           rf"((?:{_PLACE_NOUNS})s?(?:\s+(?:de|du|des|of)\s+(?:l'|l’|la |le |the )?[\w’'-]+|"
                           r"\s+[A-ZÀ-Ý][\w’'-]+)?)\b")


def places(text: str) -> Iterator[tuple[int, int]]:
    """Names introduced by a locative preposition ("au Vietnam") and place nouns ("à l’aéroport de Sunan")."""
    folded = fold_same_length(text)
    found = [(start, end) for start, end in names(text) if _PLACE_INTRO.search(folded[max(0, start - 12):start])]
    found += [m.span(1) for m in _PLACE_PHRASE.finditer(folded) if not any(s <= m.start(1) < e for s, e in found)]
    yield from sorted(found)


# Lower-case words that go on an organisation's name ("Agence centrale de presse nord-coréenne").
_ORG_TAIL = re.compile(r"(?:\s+(?:de |du |des |d['’])?(?!(?:avant|apres|pour|dans|sur|qui|que|a|est|sont|a|et|ou|"
                       r"selon|avec|the|and|for|with|has|was|is)\b)[a-zà-ÿ][\w-]{2,}){1,3}")


def _organisations(text: str) -> Iterator[tuple[int, int]]:
    for start, end in names(text):
        tail = _ORG_TAIL.match(text, end)
        yield start, tail.end() if tail and " " not in text[start:end] else end


def typed_spans(kind: str, text: str) -> list[tuple[int, int]]:
    """Every span of `text` that is a value of the answer type `kind`, in text order."""
    if kind == "person":
        return list(names(text))
    if kind == "organisation":
        return list(_organisations(text))
    if kind == "place":
        return list(places(text)) or list(names(text))
    pattern = {"date": _DATE, "duration": _DURATION, "number": _NUMBER, "money": _MONEY,
               "vehicle": _VEHICLE}.get(kind)
    return list(_regex_spans(pattern, text)) if pattern is not None else []


def mentioned(span_text: str, question: str, names: bool = False) -> bool:
    """Whether the question already says this value (folded words, or a name's consonants across languages).

    A value must be said whole; a name, by half its words ("Poutine" names "Vladimir Poutine").
    """
    q_words = re.findall(r"\w+", fold(question))
    q_skeletons = {skeleton(w) for w in q_words if len(w) > 2}
    words = [w for w in re.findall(r"\w+", fold(span_text)) if len(w) > 2 or w.isdigit()]
    if not words:
        return True
    folded_q = " " + " ".join(q_words) + " "
    said = [f" {w} " in folded_q or (len(skeleton(w)) >= 3 and skeleton(w) in q_skeletons) for w in words]
    return 2 * sum(said) >= len(said) if names else all(said)
