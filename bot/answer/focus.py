"""The focus of a question, and whether a sentence carries it (the focus gate).

The focus is what the question asks for: the attribute in "Quelle est la superficie du
Vietnam ?" (superficie), "Quel âge a Sergueï Lavrov ?" (âge), "Combien de journalistes… ?"
(journalistes), "Combien de temps a duré le vol… ?" (a duration, of the vol). A sentence that
names the question's people and places but not its focus cannot answer it, however close it is.

A sentence carries the focus when what it belongs to ("le vol", "du train") is within reach (the
sentence, the one before it, the article's title) and either its head noun (or a close variant:
same stem, same first letters, a listed irregular form) is in the sentence or the one before, or,
for a typed focus (an age, a colour, an area, a duration, an amount…), the sentence itself holds
a new value of that type. The rule is in docs/EVALUATION.md; its cost on answerable questions is
measured on PIAF by bot/bench/focus_gate.py.

The gate applies to focus phrases whose head the answer normally repeats or measures:
"quel(le) est le/la X", "combien de X", "comment s'appelle X", the subject of "durer", and
"quel(le) X" when X is an attribute noun (âge, couleur, taille…). A class noun after "quel"
("quel pays", "quel événement") is answered by an instance that need not name the class, so it
is left to the support model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.answer.answer_type import ANSWER_PATTERNS, MONTHS, NUMBER_WORDS, novel_match, unmentioned
from index.articles.text import fold
from index.search.analyzer import Analyzer

_COLOURS = (r"rouges?|bleue?s?|verte?s?|jaunes?|noire?s?|blanche?s?|grise?s?|roses?|violette?s?|oranges?|"
            r"marron|brune?s?|beiges?|doree?s?|argentee?s?|kaki|red|blue|green|yellow|black|white|gr[ae]y|"
            r"pink|purple|brown|golden|silver")
_NUM = rf"(?:\d[\d\s.,]*|{NUMBER_WORDS})"
# Values of the typed attributes, on folded text. Other types come from bot/answer/answer_type.py.
_VALUES = {
    **ANSWER_PATTERNS,
    # Also "un quart de siècle", "des dizaines d'années", "des décennies".
    "duration": re.compile(ANSWER_PATTERNS["duration"].pattern
                           + r"|\b(quart|moitie|dizaines?|centaines?|milliers?) "
                           r"(de |d')(siecles?|annees|ans|mois|jours|heures|decennies)\b|"
                           r"\b(des|quelques|plusieurs|la|une|treize|quatorze|seize|dix-\w+|\d+) "
                           r"(annees|ans|decennies?|siecles?|millenaires?|mois|semaines|jours|heures|minutes|"
                           r"secondes|saisons)\b|"
                           r"\b(\d+|few|several) (years|decades|months|weeks|days|hours|minutes|seconds|seasons)\b"),
    "money": re.compile(ANSWER_PATTERNS["money"].pattern + r"|\b(millions?|milliards?|billions?) (de |d')?"
                        r"(euros|dollars|francs|livres|roubles|yuans|wons)\b|\b(euros|dollars|francs)\b"),
    "date": re.compile(ANSWER_PATTERNS["date"].pattern + r"|\b\d{3,4}\b|\ban \d+\b"),
    "age": re.compile(r"\bagee?s? de \d+|, \d+ ans\b|\(\d+ ans\)|\b(a|vers|des) (l'age de )?\d+ ans\b|"
                      r"\b\d+ years? old\b|\baged \d+|\bat (the age of )?\d+\b"),
    "colour": re.compile(rf"\b({_COLOURS})\b"),
    "area": re.compile(rf"{_NUM}\s*(km2|km²|m2|m²|hectares?|kilometres? carres?|metres? carres?|acres?|"
                       r"square (kilometres?|kilometers?|miles?|metres?|meters?))\b"),
    "length": re.compile(rf"{_NUM}\s*(km|m|cm|mm|metres?|meters?|kilometres?|kilometers?|centimetres?|"
                         r"miles?|pieds|feet|foot)\b"),
    "weight": re.compile(rf"{_NUM}\s*(kg|g|t|tonnes?|tons?|kilos?|kilogrammes?|grammes?|pounds?|lbs?)\b"),
    "temperature": re.compile(r"\d+\s*(°|degres?|degrees?)"),
    "speed": re.compile(r"\d+\s*(km/h|km h|noeuds|knots|mph)"),
    "weather": re.compile(r"\b(pluie|pluvieux|pleuvait|soleil|ensoleille|neige|neigeait|nuageux|nuages|orage|"
                          r"brouillard|canicule|meteo|rain|rainy|sunny|snow|cloudy|storm|fog|weather)\b"),
}
# Attribute nouns (folded) and the type of value that answers them.
ATTRIBUTES = {
    "age": "age", "couleur": "colour", "couleurs": "colour", "colour": "colour", "color": "colour",
    "superficie": "area", "surface": "area", "area": "area",
    "taille": "length", "hauteur": "length", "longueur": "length", "largeur": "length", "altitude": "length",
    "profondeur": "length", "distance": "length", "height": "length", "length": "length", "width": "length",
    "depth": "length", "size": "length", "poids": "weight", "masse": "weight", "weight": "weight",
    "temperature": "temperature", "vitesse": "speed", "speed": "speed",
    "prix": "money", "cout": "money", "montant": "money", "salaire": "money", "budget": "money",
    "somme": "money", "price": "money", "cost": "money", "salary": "money",
    "duree": "duration", "duration": "duration", "date": "date", "jour": "date", "annee": "date",
    "dates": "date", "year": "date", "day": "date",
    "nombre": "number", "number": "number", "score": "number", "pourcentage": "number", "taux": "number",
    "percentage": "number",
    # Nationality, language, religion are left out: answered by an adjective ("britannique"), measured on PIAF.
    "population": None, "capitale": None, "capital": None,
    "nom": "person", "name": "person",
}
# Counting units: "combien de fois / d'années / de personnes" asks for a count or a duration.
_UNITS = {"fois": "number", "times": "number", "personnes": "number", "gens": "number", "people": "number",
          "temps": "duration", "annees": "duration", "ans": "duration", "mois": "duration",
          "jours": "duration", "semaines": "duration", "heures": "duration", "minutes": "duration",
          "years": "duration", "months": "duration", "days": "duration", "weeks": "duration",
          "hours": "duration", "argent": "money", "money": "money"}
# Irregular forms a sentence may use for a focus word.
_VARIANTS = {"naissance": ("ne", "nee", "nait", "naquit", "born"), "population": ("habitants", "inhabitants"),
             "deces": ("mort", "decede", "decedee", "meurt", "died"), "mort": ("deces", "decede", "died"),
             "epouse": ("femme", "mariee", "wife"), "mari": ("epoux", "marie", "husband")}
# Words that stand for "kind of" and pass the focus to their complement ("quel type d'accord").
_KIND_OF = {"type", "types", "genre", "genres", "sorte", "sortes", "espece", "kind", "sort"}

_ART = r"(?:le |la |les |l'|the |its |his |her |their )?"
_COPULA = (r"(?:est|sont|etait|etaient|sera|seront|fut|a ete|ont ete|avait ete|etait-elle|etait-il|"
           r"is|are|was|were|will be|has been)")
_WORDS = r"([a-z][a-z-]*)((?: (?:(?:de|du|des|of|of the) |d')(?:la |le |les |l')?[a-z][a-z-]*)?)"
_FOCUS_PATTERNS = [
    ("copula", re.compile(rf"\b(?:quel|quelle|quels|quelles|what|which) {_COPULA} {_ART}{_WORDS}")),
    ("appelle", re.compile(rf"\bcomment s'appellen?t? {_ART}{_WORDS}")),
    ("last", re.compile(r"\b(?:dure|durent|a dure|ont dure|avait dure|durera|durait|dura|durerent|"
                        rf"last|lasted|take|took) {_ART}{_WORDS}")),
    ("last", re.compile(rf"\bhow long (?:did|does|do|was|is|will|would) {_ART}(?:[a-z]+'s )?{_WORDS}")),
    ("count", re.compile(rf"\b(?:combien (?:de |d')|how many |how much ){_WORDS}")),
    ("which", re.compile(rf"\b(?:quel|quelle|quels|quelles|what|which) {_WORDS}")),
]
# A number and the word after it, within the clause ("4 000." / "deux vice-premiers").
_CARDINALS = (r"deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|treize|quatorze|quinze|seize|vingt|"
              r"trente|quarante|cinquante|soixante|cent|cents|mille|millions?|milliards?|two|three|four|five|six|"
              r"seven|eight|nine|ten|eleven|twelve|twenty|hundreds?|thousands?|millions?|billions?")
_UNIT_WORDS = (r"ans|annees?|mois|jours?|semaines?|heures?|minutes?|secondes?|siecles?|decennies?|"
               r"years?|months?|days?|weeks?|hours?|minutes?|seconds?|centuries|decades?")
_COUNT = re.compile(rf"\b(\d[\d\s.,]*\d|\d|{_CARDINALS})\b(?:[^\w.;:!?]*([^\W\d_][\w'-]*))?")
_DATE_AFTER = re.compile(rf"(?:(?:et|au|a|-|\d+|er)\s*)*(?:{MONTHS})\b")
_YEAR = re.compile(r"1[0-9]\d\d|20\d\d")
_DURATION_CUE = re.compile(r"\b(combien de temps|pendant combien|depuis combien de temps|how long)\b")
_AGE_CUE = re.compile(r"\bhow old\b")
_NOT_NOUNS = re.compile(r"^(est|sont|a|ont|il|elle|ils|elles|on|ce|cette|ces|son|sa|ses|leur|leurs|un|une|"
                        r"de|du|des|is|are|was|were|did|does|do|has|have|had|will|can|the|a|an|it|he|she|"
                        r"they|this|that|en|y|dernier|derniere|premier|premiere|plus|moins)$")


@dataclass(frozen=True)
class Focus:
    """What a question asks for: a head noun and/or a value type, and the noun the value belongs to."""

    head: str              # folded head noun ("superficie"); "" when only a type is asked
    kind: str | None       # value type that answers it without naming the head ("age", "colour"...)
    owner: str = ""        # folded common noun the value belongs to ("vol" in "la durée du vol")
    counted: bool = False  # "combien de X": a number may stand for X


def _clean(question: str) -> str:
    folded = fold(question).replace("’", "'")
    return re.sub(r"-t-(il|elle|on)\b|-(il|elle|ils|elles|on)\b", "", folded)


def _owner(complement: str) -> str:
    words = re.findall(r"[a-z][a-z-]*", complement.replace("'", " "))
    words = [w for w in words if w not in ("de", "du", "des", "d", "of", "the", "la", "le", "les", "l")]
    return words[0] if words and not _NOT_NOUNS.match(words[0]) else ""


def question_focus(question: str) -> Focus | None:
    """The gated focus of a question, or None when it has none the gate can check."""
    text = _clean(question)
    for form, pattern in _FOCUS_PATTERNS:
        match = pattern.search(text)
        if not match:
            continue
        head, owner = match.group(1), _owner(match.group(2))
        if head in _KIND_OF and owner:
            head, owner = owner, ""
        if _NOT_NOUNS.match(head):
            continue
        if form == "last":
            if _DURATION_CUE.search(text):
                return Focus("", "duration", head)
            continue
        if head == "temps" and form == "which":
            return Focus(head, "weather", owner)
        if form == "which" and head not in ATTRIBUTES:
            return None  # a class noun ("quel pays"): an instance answers it without naming it
        if form == "count" and (head in _UNITS or re.fullmatch(NUMBER_WORDS, head)):
            return Focus("", _UNITS.get(head, "number"), owner)
        if form == "count":
            return Focus(head, None, owner, counted=True)
        if form == "appelle":
            return Focus(head, "person", owner)
        if head not in ATTRIBUTES:
            return None  # "quel est le métier de…": the answer rarely names the noun (measured on PIAF)
        return Focus(head, ATTRIBUTES[head], owner)
    if _AGE_CUE.search(text):
        return Focus("age", "age")
    return Focus("", "duration") if _DURATION_CUE.search(text) else None


def _found(word: str, tokens: set[str], stems: set[str], analyzer: Analyzer) -> bool:
    """Whether a folded word, or a close variant of it, is among a text's folded tokens or stems."""
    if not word:
        return True
    parts = [p for p in word.split("-") if p]
    if all(p in tokens for p in parts) or any(v in tokens for v in _VARIANTS.get(word, ())):
        return True
    own = set(analyzer.stems(word))
    if own and own <= stems:
        return True
    # Same first letters: "durée"/"duré", "superficie"/"superficiel", "journaliste"/"journalistique".
    prefix = word[:max(5, len(word) - 3)]
    return len(word) >= 5 and any(t.startswith(prefix) for t in tokens)


def tokens(text: str) -> set[str]:
    """Folded word tokens, whole and split at hyphens and elisions."""
    words = re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)*", tokens_text(text).replace("'", " "))
    return set(words) | {p for w in words for p in w.split("-")}


def carries(focus: Focus, sentence: str, previous: str, question: str, analyzer: Analyzer,
            title: str = "") -> bool:
    """Whether a sentence (with the one before it in its passage) carries the question's focus."""
    window = sentence + " " + previous
    window_tokens, window_stems = tokens(window), set(analyzer.stems(window))
    # What the attribute belongs to ("la date de naissance", "la capitale de l'Australie") must be
    # within reach: in the sentence, the one before, or the article's title. A name needs no owner
    # ("le nom de famille de Xavier" is answered by "Tilliette").
    if focus.owner and focus.kind != "person" and not _found(
            focus.owner, window_tokens | tokens(title), window_stems | set(analyzer.stems(title)), analyzer):
        return False
    if focus.head and _found(focus.head, window_tokens, window_stems, analyzer):
        return True
    if focus.kind is None:
        # "Combien de journalistes": a number that counts something the question does not name
        # ("deux vice-premiers ministres") is not the answer; one that counts nothing named may be.
        return focus.counted and _bare_count(sentence, question, analyzer)
    # A bare value must sit in the sentence itself, not in the one before.
    return _has_value(focus.kind, sentence, question)


def _bare_count(sentence: str, question: str, analyzer: Analyzer) -> bool:
    """Whether the sentence holds a number that counts what the question names, or nothing named."""
    asked = set(analyzer.stems(question))
    text = tokens_text(sentence)
    for match in _COUNT.finditer(text):
        number, following = match.group(1), match.group(2) or ""
        if (_YEAR.fullmatch(number.strip()) or re.fullmatch(_UNIT_WORDS, following)
                or _DATE_AFTER.match(text, match.start(2) if match.group(2) else match.end())):
            continue  # a year, a date ("les 19 et 20 juin") or a duration, not a count
        stems = set(analyzer.stems(following))
        if not stems or stems & asked:
            return True
    return False


def tokens_text(text: str) -> str:
    """Folded text with the ligatures spelt out ("œuvre" -> "oeuvre")."""
    return fold(text).replace("œ", "oe").replace("æ", "ae").replace("’", "'")


def _has_value(kind: str, sentence: str, question: str) -> bool:
    """Whether the sentence holds a value of the type that the question does not already contain."""
    if kind in ("person", "organisation", "place"):
        return novel_match(sentence, kind, question)
    q_folded = fold(question)
    return any(unmentioned(fold(m.group(0)), q_folded) for m in _VALUES[kind].finditer(fold(sentence)))
