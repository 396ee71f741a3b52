"""How the direct answer reads in the question's language, around the article's verbatim words.

The pieces stay the article's words. Around them, the framing ("Réponse :", "Answer:", "Oui :",
"Not as a fact:") is in the question's language; a piece in another language than the question
is quoted as it is, or, for dates, numbers and durations, rendered word for word into English
and labelled as a translation with the original beside it.
"""

from __future__ import annotations

import re

from index.articles.text import fold


def _pairs(french: str, english: str) -> dict[str, str]:
    return dict(zip(french.split(), english.split(), strict=True))


_FR_EN = {
    **_pairs("janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre",
             "January February March April May June July August September October November December"),
    **_pairs("lundi mardi mercredi jeudi vendredi samedi dimanche",
             "Monday Tuesday Wednesday Thursday Friday Saturday Sunday"),
    **_pairs("un une deux trois quatre cinq six sept huit neuf dix onze douze vingt trente cent mille",
             "one one two three four five six seven eight nine ten eleven twelve twenty thirty hundred thousand"),
    **_pairs("seconde secondes minute minutes heure heures jour jours semaine semaines mois an ans annee annees "
             "siecle siecles", "second seconds minute minutes hour hours day days week weeks month(s) year years "
             "year years century centuries"),
    "et": "and", "au": "to", "en": "in", "depuis": "since", "environ": "about", "soir": "evening",
    "matin": "morning", "dernier": "last", "derniere": "last", "prochain": "next", "1er": "1st",
    "il": "", "y": "", "a": "", "pres": "nearly", "d'un": "a", "quart": "quarter", "de": "of",
    "reprises": "times", "fois": "times", "hier": "yesterday", "demain": "tomorrow",
}
_WORDS = {
    "fr": {"value": "Réponse :", "list": "Réponse :", "clause": "Réponse :", "yes": "Oui :", "no": "Non :",
           "hedged": "Pas comme un fait établi ; les articles disent :", "points": "Les articles disent :",
           "and": "et", "disagree": "Les articles divergent :"},
    "en": {"value": "Answer:", "list": "Answer:", "clause": "Answer:", "yes": "Yes:", "no": "No:",
           "hedged": "Not as an established fact; the articles say:", "points": "The articles say:",
           "and": "and", "disagree": "The articles disagree:"},
}


def translate(text: str) -> str:
    """A word-for-word English rendering of a French date, number or duration; "" when a word is unknown."""
    out = []
    for word in re.findall(r"[\w'’]+", fold(text).replace("’", "'")):
        if word.isdigit():
            out.append(word)
        elif word in _FR_EN:
            out.append(_FR_EN[word])
        else:
            return ""
    return " ".join(w for w in out if w)


def _quoted(text: str, language: str) -> str:
    return f"« {text} »" if language == "fr" else f"“{text}”"


def shown_part(text: str, rendering: str, language: str, quote: bool) -> str:
    """One piece as the reader sees it: bare, quoted, or rendered with the original beside it."""
    if rendering.startswith(f"{text} ("):  # the words, then what their relative days resolve to (dates.py)
        return (_quoted(text, language) if quote else text) + rendering[len(text):]
    if rendering:
        return f"{rendering} (translated from “{text}”)"
    return _quoted(text, language) if quote else text


def phrase(form: str, parts: list[tuple[str, str, int]], language: str, cross: bool) -> str:
    """The direct answer: the framing word of `form`, then each (text, rendering, n) piece with its marker."""
    words = _WORDS.get(language, _WORDS["en"])
    quote = cross or form not in ("value", "list")
    shown = [f"{shown_part(text, rendering, language, quote)} [{n}]" for text, rendering, n in parts]
    if form == "points":
        return words["points"] + "".join(f"\n- {s}" for s in shown)
    if form == "disagree":  # each side as its article says it
        return f"{words['disagree']} {' ; '.join(shown) if language == 'fr' else '; '.join(shown)}"
    body = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} {words['and']} {shown[-1]}"
    return f"{words[form]} {body}"
