"""Question analysis for extractive answering: the interrogative phrase and the expected answer type.

The types are a small subset of the Li & Roth question taxonomy (date, duration, number,
money, place, person, role, organisation, vehicle) with French and English cues. The words of
the interrogative phrase ("par quel moyen de transport", "combien de soldats") describe the
answer, so they are not expected to appear in it; the rest of the question (its predicate) is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.articles.text import fold

MONTHS = (r"janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|decembre|"
           r"january|february|march|april|may|june|july|august|september|october|november|december")
_WEEKDAYS = (r"lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|"
             r"monday|tuesday|wednesday|thursday|friday|saturday|sunday")
NUMBER_WORDS = (r"deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|quinze|vingt|trente|quarante|"
                 r"cinquante|soixante|cent|cents|mille|millions?|milliards?|dizaines?|centaines?|douzaine|"
                 r"moitie|quart|two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|hundreds?|"
                 r"thousands?|millions?|billions?|dozens?|half")
_DURATION_UNITS = (r"secondes?|minutes?|heures?|jours?|semaines?|mois|ans|annees?|siecles?|decennies?|"
                   r"seconds?|hours?|days?|weeks?|months?|years?|decades?|centuries")
_VEHICLES = (r"train|trains|avion|avions|voiture|voitures|bateau|bateaux|navire|helicoptere|bus|autocar|"
             r"metro|tramway|velo|moto|camion|jet|limousine|convoi|cortege|vol|plane|car|cars|ship|boat|"
             r"helicopter|truck|bicycle|motorcycle|aircraft|flight|motorcade|convoy")
_ROLES = (r"president|presidente|ministre|porte-parole|conseiller|conseillere|secretaire|directeur|directrice|"
          r"chef|dirigeant|dirigeante|leader|expert|experte|chercheur|chercheuse|professeur|professeure|"
          r"analyste|journaliste|ambassadeur|ambassadrice|general|commandant|juge|avocat|maire|depute|"
          r"senateur|roi|reine|chancelier|patron|fondateur|fondatrice|pdg|numero un|specialiste|"
          r"spokesperson|spokesman|minister|adviser|advisor|secretary|director|chief|researcher|professor|"
          r"analyst|journalist|ambassador|judge|mayor|senator|king|queen|founder|ceo|head")

# (type, cue on folded question text); the first that matches wins.
_CUE_PATTERNS = [
    ("duration", r"\b(combien de temps|pendant combien|depuis combien|how long)\b"),
    ("vehicle", r"\b(moyen de transport|moyens de transport|quel vehicule|comment est-(il|elle) (venu|arrive)|"
                r"how did .* (travel|come|arrive)|means of transport)\b"),
    ("money", r"\b(combien coute|quel prix|quel montant|quelle somme|how much (money|did it cost)|what price)\b"),
    ("date", r"\b(quand|depuis quand|en quelle annee|quelle annee|a quelle date|quelles? dates?|quel jour|"
             r"quel mois|a quelle epoque|when|what year|which year|what date|what day)\b"),
    ("number", r"\b(combien|quel nombre|quelle quantite|quel pourcentage|how many|how much|what percentage)\b"),
    ("place", r"\b(quel pays|quelle ville|quelle region|quel lieu|quel endroit|where|which country|"
              r"which city|what place)\b"),
    ("organisation", r"\b(quelle agence|quel media|quel journal|quelle universite|quelle organisation|"
                     r"quel site|quelle entreprise|which agency|which university|which newspaper)\b"),
    ("person", r"^\W*(et\s+)?(qui|de qui|a qui|par qui|avec qui|who|whom|whose)\b"),
]
_CUES = [(name, re.compile(pattern)) for name, pattern in _CUE_PATTERNS]
_PLACE_QUESTION = re.compile(r"(^|\W)où\b", re.I)
# "Qui est John Kirby ?" asks for a description (a role); "Qui est le conseiller ... ?" for a person.
_ROLE_QUESTION = re.compile(r"^\W*(?:[Ee]t\s+)?(?:[Qq]ui est|[Qq]ui était|[Ww]ho is|[Ww]ho was)\s+[A-ZÀ-Ý]")

_PLACE_NOUNS = (r"aéroport|aeroport|gare|palais|hôtel|hotel|ambassade|base|cosmodrome|port|frontière|usine|"
                r"village|ville|capitale|région|province|camp|siège|parlement|place|airport|station|palace|"
                r"embassy|border|factory|city|capital|square")
_LOCATIVE = re.compile(r"\b(à|au|aux|en|vers|dans|depuis|at|in|to|from)\s+(l['’]|la |le |les |the |un |une |a |an )?"
                       rf"([A-ZÀ-Ý][\w’'-]+|{_PLACE_NOUNS})\b")
_CAPITALISED = re.compile(r"\b[A-ZÀ-Ý][\w’'-]+|\b[A-Z]{2,}\b")
ANSWER_PATTERNS = {
    "duration": re.compile(rf"\b(\d+|{NUMBER_WORDS}|un|une)\s+({_DURATION_UNITS})\b"),
    "date": re.compile(rf"\b(1[5-9]\d\d|20\d\d)\b|\b({MONTHS}|{_WEEKDAYS})\b|\b(hier|demain|yesterday|tomorrow)\b"),
    "number": re.compile(rf"\b\d+\b|\b({NUMBER_WORDS})\b"),
    "money": re.compile(r"\d[\d\s.,]*\s*(€|\$|euros?|dollars?|roubles?|wons?|yuans?|livres?)|[€$]\s*\d"),
    "vehicle": re.compile(rf"\b({_VEHICLES})\b"),
    "role": re.compile(rf"\b({_ROLES})\b"),
}
# Words that open the interrogative phrase; what follows them up to the predicate describes the answer.
_WH_OPENERS = re.compile(r"\b(quel|quelle|quels|quelles|combien de|combien d|lequel|laquelle|which|what)\b\s*", re.I)
_PHRASE_STOP = re.compile(r"^(est|a|ont|sont|etait|etaient|sera|seront|peut|doit|va|fut|is|are|was|were|did|does|do|"
                          r"has|have|had|will|can|le|la|les|l|un|une|ce|cette|ces|son|sa|ses|the|an|"
                          r"en|a|au|aux|pour|par|dans|sur|avec|of|in|on|at|to|for|with)$")


@dataclass(frozen=True)
class QuestionShape:
    kind: str | None          # expected answer type
    wh_words: frozenset[str]  # folded words of the interrogative phrase


def _wh_words(question: str) -> frozenset[str]:
    """The head noun after the interrogative word, with its "de ..." complement.

    "Par quel moyen de transport Kim ..." -> {moyen, transport}; "Combien de soldats ..." -> {soldats}.
    """
    match = _WH_OPENERS.search(question)
    if not match:
        return frozenset()
    words: list[str] = []
    tokens = re.findall(r"[\w’'-]+", question[match.end():])
    for i, raw in enumerate(tokens):
        parts = re.split(r"['’]", raw)
        word = fold(parts[-1])
        if word in ("de", "du", "des", "of"):
            continue
        if raw[:1].isupper() or _PHRASE_STOP.match(word) or "-t-" in raw:
            break
        words.append(word)
        following = fold(tokens[i + 1]) if i + 1 < len(tokens) else ""
        continues = following in ("de", "du", "des", "of") or re.match(r"d['’]", following)
        if len(words) > 1 or not continues or len(parts) > 1:
            break
    return frozenset(w for w in words if w not in ("de", "d", "du", "des", "of"))


def analyse(question: str) -> QuestionShape:
    """The expected answer type and the interrogative phrase of a question."""
    folded = fold(question)
    kind = "role" if _ROLE_QUESTION.search(question) else None
    kind = kind or next((name for name, cue in _CUES if cue.search(folded)), None)
    if kind is None and _PLACE_QUESTION.search(question):
        kind = "place"
    return QuestionShape(kind=kind, wh_words=_wh_words(question))


def unmentioned(value: str, folded_question: str) -> bool:
    """Whether a folded value is absent from the folded question as a whole token ("20" is not in "2015")."""
    value = value.strip()
    return re.search(rf"(?<!\w){re.escape(value)}(?!\w)", folded_question) is None


def novel_match(sentence: str, kind: str | None, question: str) -> bool:
    """Whether the sentence holds something of the asked type that the question does not mention."""
    if kind is None:
        return False
    q_folded = fold(question)
    if kind == "place":
        return any(unmentioned(fold(m.group(3)), q_folded) for m in _LOCATIVE.finditer(sentence))
    if kind in ("person", "organisation"):
        names = {fold(m) for m in _CAPITALISED.findall(sentence[1:])}
        return any(unmentioned(name, q_folded) for name in names)
    pattern = ANSWER_PATTERNS[kind]
    return any(unmentioned(fold(m.group(0)), q_folded) for m in pattern.finditer(fold(sentence)))


def question_entities(question: str) -> list[str]:
    """Folded proper names of the question (capitalised words after the first, acronyms)."""
    words = re.findall(r"[\w’'-]+", question)
    names = [w for i, w in enumerate(words) if i > 0 and (w[:1].isupper() or (len(w) > 1 and w.isupper()))]
    return [fold(re.split(r"['’]", w)[-1]) for w in names]
