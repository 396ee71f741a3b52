"""The question's language and the fixed sentences citebot says in it."""

from __future__ import annotations

import re

from index.text import fold

_WORD = re.compile(r"[a-zà-ÿ']+")
# Frequent function words; "a" is left out because it is both French ("il a") and English.
_MARKERS = {
    "fr": {fold(w) for w in """le la les un une des du de est sont quel quelle quels quelles qui que
        quoi quand où comment combien pourquoi et au aux en dans par pour sur avec il elle ils elles
        lui ce cette ces son sa ses leur leurs ne pas été fait t-il t-elle""".split()},
    "en": set("""the an is are was were what which who whom whose when where why how did does do
        of to in on at by for with and he she they it his her their has have had been this that
        these those not""".split()),
}
NAMES = {"fr": "French", "en": "English"}
MESSAGES = {
    "fr": {
        "abstain": "Je ne trouve pas la réponse dans les articles indexés.",
        "extractive": "D'après les articles :",
        "fallback": "Aucune phrase du modèle n'a pu être vérifiée ; d'après les articles :",
        "sources": "Sources",
        "label_extractive": "mode extractif : citations choisies sans modèle de langue",
        "label_abstain": "pas de réponse dans les articles",
        "busy": "Trop de questions en attente : réessayez dans un instant.",
        "cooldown": "Merci de patienter {seconds} s avant de poser une nouvelle question.",
        "error": "Désolé, une erreur s'est produite en répondant à cette question.",
        "too_long": "Cette question est trop longue (au plus {limit} caractères).",
        "empty": "Posez une question après la mention, par exemple : « Qui est John Kirby ? »",
    },
    "en": {
        "abstain": "I could not find the answer in the indexed articles.",
        "extractive": "According to the articles:",
        "fallback": "None of the model's statements could be verified; according to the articles:",
        "sources": "Sources",
        "label_extractive": "extractive mode: quotes chosen without a language model",
        "label_abstain": "no answer in the articles",
        "busy": "Too many questions are waiting: please try again in a moment.",
        "cooldown": "Please wait {seconds} s before asking another question.",
        "error": "Sorry, something went wrong while answering this question.",
        "too_long": "This question is too long (at most {limit} characters).",
        "empty": "Ask a question after the mention, for example: “Who is John Kirby?”",
    },
}


def detect_language(text: str, default: str = "fr") -> str:
    """'fr' or 'en' by counting function words; ties go to `default`."""
    words = [fold(w) for w in _WORD.findall(text.lower())]
    scores = {lang: sum(w in markers for w in words) for lang, markers in _MARKERS.items()}
    if scores["fr"] == scores["en"]:
        return default
    return max(scores, key=scores.get)


def message(language: str, key: str, **values) -> str:
    """A fixed user-facing sentence in the given language, formatted with `values`."""
    return MESSAGES.get(language, MESSAGES["en"])[key].format(**values)
