"""The question's language and the fixed sentences citebot says in it."""

from __future__ import annotations

import re
import unicodedata

from index.articles.text import fold

_WORD = re.compile(r"[a-zà-ÿ']+")
# A language citebot has no fixed sentences for: they are said in English, the lingua franca,
# and the model is asked to answer in the question's language.
OTHER = "other"
# Frequent function words; "a" is left out because it is both French ("il a") and English.
_FUNCTION_WORDS = {
    "fr": """le la les un une des du de est sont quel quelle quels quelles qui que quoi quand où comment
        combien pourquoi et au aux en dans par pour sur avec il elle ils elles lui ce cette ces son sa ses
        leur leurs ne pas été fait""",
    "en": """the an is are was were what which who whom whose when where why how did does do of to in on at
        by for with and he she they it his her their has have had been this that these those not""",
    # Other languages in Latin script (Spanish, Portuguese, Italian, German, Dutch): words that
    # are neither French nor English, so that a question in one of them is recognised as such.
    OTHER: """el los las del por cómo cuándo dónde quién quiénes cuál cuáles cuánto cuántos cuántas fue
        está están hay una quem onde quais foi são não chi che cosa dove perché quale quali quanti sono
        gli della degli nel nella hanno der das den dem ist sind wer wie wann warum welche welcher
        welches wurde wurden hat haben nicht und mit von ein eine einen für über het een wat waar
        wanneer waarom hoe welke zijn werd heeft niet""",
}
_MARKERS = {lang: {fold(w) for w in words.split()} for lang, words in _FUNCTION_WORDS.items()}
NAMES = {"fr": "French", "en": "English"}
MESSAGES = {
    "fr": {
        "abstain": "Je ne trouve pas la réponse dans les articles indexés.",
        "extractive": "D'après les articles :",
        "also": "Aussi dans les articles :",
        "fallback": "Aucune phrase du modèle n'a pu être vérifiée ; d'après les articles :",
        "sources": "Sources",
        "label_extractive": "mode extractif : citations choisies sans modèle de langue",
        "label_abstain": "pas de réponse dans les articles",
        "busy": "Trop de questions en attente : réessayez dans un instant.",
        "cooldown": "Merci de patienter {seconds} s avant de poser une nouvelle question.",
        "error": "Désolé, une erreur s'est produite en répondant à cette question.",
        "too_long": "Cette question est trop longue (au plus {limit} caractères).",
        "empty": "Posez une question après la mention, par exemple : « Qui est John Kirby ? »",
        "stale": "Ces articles ont changé depuis leur indexation, relancez « citebot index » : {sources}",
    },
    "en": {
        "abstain": "I could not find the answer in the indexed articles.",
        "extractive": "According to the articles:",
        "also": "Also in the articles:",
        "fallback": "None of the model's statements could be verified; according to the articles:",
        "sources": "Sources",
        "label_extractive": "extractive mode: quotes chosen without a language model",
        "label_abstain": "no answer in the articles",
        "busy": "Too many questions are waiting: please try again in a moment.",
        "cooldown": "Please wait {seconds} s before asking another question.",
        "error": "Sorry, something went wrong while answering this question.",
        "too_long": "This question is too long (at most {limit} characters).",
        "empty": "Ask a question after the mention, for example: “Who is John Kirby?”",
        "stale": "These articles changed since they were indexed; run `citebot index`: {sources}",
    },
}


def detect_language(text: str, default: str = "fr") -> str:
    """'fr', 'en' or OTHER (any other language), by script and by counting function words.

    Text mostly in another script than Latin (Chinese, Russian, Arabic...) is OTHER. Otherwise
    the language with the most function words wins; ties between French and English (a question
    of names alone) go to `default`, and OTHER must beat both.
    """
    letters = [c for c in text if c.isalpha()]
    latin = sum(unicodedata.name(c, "").startswith("LATIN") for c in letters)
    if 2 * latin < len(letters):
        return OTHER
    words = [fold(w) for w in _WORD.findall(text.lower())]
    scores = {lang: sum(w in markers for w in words) for lang, markers in _MARKERS.items()}
    if scores[OTHER] > max(scores["fr"], scores["en"]):
        return OTHER
    if scores["fr"] == scores["en"]:
        return default
    return "fr" if scores["fr"] > scores["en"] else "en"


def message(language: str, key: str, **values) -> str:
    """A fixed user-facing sentence in the given language (English for OTHER), formatted with `values`."""
    return MESSAGES.get(language, MESSAGES["en"])[key].format(**values)
