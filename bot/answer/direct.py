"""The direct answer: the few words of the best sentences that answer the question, and the clause that carries them.

A reader should not have to dig the answer out of a 40-word sentence. From the sentences ranked
by support (bot/answer/support.py), this stage picks, without a model:

- for a typed question (a date, a number, a person, a place, a vehicle…): the value of that type
  the question does not already say, nearest to the question's own words in the sentence;
  for a list question ("Quels responsables…", "Which ministers…"): every such value across the
  supporting sentences;
- for "qui est X ?": the apposition that describes X ("porte-parole du Kremlin");
- for "pourquoi / why": the clause that gives the reason; for a yes/no question, the clause and
  whether it says no, or only hopes or plans; otherwise the clause that follows the question's
  words in the sentence.

Each piece is a span of a sentence, and the sentence is quoted for it, so verification
(bot/answer/verify.py) checks both against the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.answer.answer_type import ANSWER_PATTERNS, QuestionShape
from bot.answer.heads import beside_head, head_positions, head_words
from bot.answer.question import Question
from bot.answer.records import Sentence
from bot.answer.spans import fold_same_length, mentioned, places, skeleton, typed_spans
from index.articles.text import fold
from index.search.analyzer import Analyzer

CLAUSE_WORDS = 22      # a clause answer keeps at most this many words
CLAUSE_MATCHES = 1     # distinct question words a sentence needs before a clause is cut from it
CROSS_MATCHES = 2      # the same across languages, where only names can match (a lone name is too weak)
NEAR = 100             # characters around a value where the question's words count for it
_NAME_KINDS = ("person", "organisation", "place", "name")
HEAD_BONUS = 1.5       # a value beside the question's head noun ("l'agence spatiale Roscosmos")
LIST_BONUS = 0.75
RANK_COST = 0.75       # a value in the next-best sentence needs this many more question words nearby
_DELIMITERS = re.compile(r"[,;:()—–]|\s-\s")
_REASON = re.compile(r"\b(?:parce qu|car |pour |afin d|en raison d|grace a|a cause d|because|due to|"
                     r"in order to|so that|to )")
_NEGATION = re.compile(r"\b(?:ne|n')\b.*\b(?:pas|jamais|plus|aucun\w*|rien)\b|\b(?:not|never|no|n't)\b")
_HEDGE = re.compile(r"\b(?:espere\w*|pourrai\w*|devrai\w*|prevoi\w*|possible|envisag\w*|projet\w*|souhait\w*|"
                    r"hope\w*|could|would|should|might|plan\w*|expect\w*|possible)\b")
# "Comment X a-t-il qualifié…", "how did X describe…": the answer is the article's quoted words.
_NAMING = re.compile(r"\b(?:qualifi|decri|appel|surnom|nomm|describ|call|label)\w*")
_QUOTED = re.compile(r"[«“\"]\s*([^«»“”\"]{2,80}?)\s*[»”\"]")
_PEOPLE = re.compile(r"\b(?:responsables|ministres|dirigeants|personnes|personnalites|membres|participants|"
                     r"officiels|conseillers|leaders|officials|ministers|people|members|participants|advisers)\b")
_DATE_CUE = re.compile(r"\b(?:which|what|on which) (?:day|date|month|year)\b", re.I)
_TOKEN = re.compile(r"[\w’'-]+")


@dataclass(frozen=True)
class Piece:
    """A verbatim piece of the direct answer: sentence.text[start:end], quoted as text[quote_start:quote_end]."""

    sentence: Sentence
    start: int
    end: int
    quote_start: int
    quote_end: int

    @property
    def text(self) -> str:
        """The piece as the article writes it."""
        return self.sentence.text[self.start:self.end]


@dataclass(frozen=True)
class DirectDraft:
    """What the direct answer will say: its form ('value', 'list', 'clause', 'yes', 'no', 'hedged', 'points',
    or MISSING when the asked value is not in the sentences)."""

    form: str
    pieces: tuple[Piece, ...]


MISSING = "missing"
# Value types a question must find to be answered: a person or an organisation only when its name is
# asked ("Qui a suivi le sommet ?" may be answered "de nombreux journalistes"), a date only when the
# day is asked ("Quand…?" may be answered "il y a un quart de siècle"), a place never (names differ
# across languages).
MUST_FIND = frozenset({"number", "money", "duration", "vehicle"})
NAMED = frozenset({"person", "organisation"})
_DAY_ASKED = re.compile(r"\b(quel(le)? (jour|date)|(what|which) (day|date)|a quelle date)\b")
_NAME_ASKED = re.compile(r"\b(nom|noms|name|names|named|called|s'appelle|appelle-t-il|appelle-t-elle)\b")


def _must_find(kind: str | None, question: str) -> bool:
    """Whether the question asks a value that must be found in the sentences to be answered."""
    folded = fold(question)
    return (kind in MUST_FIND or (kind == "date" and bool(_DAY_ASKED.search(folded)))
            or (kind in NAMED and bool(_NAME_ASKED.search(folded))))


def _matches(text: str, question: str, analyzer: Analyzer) -> list[tuple[int, str]]:
    """(offset, stem) of the sentence's words whose stems are in the question, or that spell one of its names.

    Names are compared by their consonants, so "Putin" in an English question finds "Poutine".
    """
    asked = set(analyzer.stems(question))
    named = {skeleton(w) for w in re.findall(r"\b[A-ZÀ-Ý][\w-]+", question[1:]) if len(skeleton(w)) >= 3}
    out = []
    for match in _TOKEN.finditer(text):
        stems = analyzer.stems(match.group(0))
        if stems and stems[0] in asked:
            out.append((match.start(), stems[0]))
        elif match.group(0)[:1].isupper() and skeleton(match.group(0)) in named:
            out.append((match.start(), skeleton(match.group(0))))
    return out


def _positions(text: str, question: str, analyzer: Analyzer) -> list[int]:
    return [at for at, _ in _matches(text, question, analyzer)]


def _distance(span: tuple[int, int], positions: list[int]) -> int:
    if not positions:
        return span[0]  # across languages nothing matches: the earliest value
    return min(min(abs(p - span[0]), abs(p - span[1])) for p in positions)


def _near(span: tuple[int, int], matches: list[tuple[int, str]], weights: dict[str, float]) -> float:
    """The question's words within NEAR characters of the span, each by its weight (rare words count more)."""
    return sum(weights.get(stem, 1.0) for stem in {stem for at, stem in matches
                                                   if span[0] - NEAR <= at <= span[1] + NEAR})


def _boundaries(text: str) -> list[int]:
    return [0] + [m.start() for m in _DELIMITERS.finditer(text)] + [len(text)]


def _trim(text: str, left: int, right: int) -> tuple[int, int]:
    while left < right and (text[left].isspace() or text[left] in ",;:()«»“”—–-"):
        left += 1
    while right > left and (text[right - 1].isspace() or text[right - 1] in ",;:(«“—–-"):
        right -= 1
    return left, right


def _piece(sentence: Sentence, span: tuple[int, int], positions: list[int]) -> Piece:
    # The whole sentence is quoted: cut to a clause, a quote lost the answer's context (and its
    # key words) on a third of the long sentences of the project's question files.
    start, end = _trim(sentence.text, *span)
    return Piece(sentence, start, end, 0, len(sentence.text))


def _values(kind: str, sentence: Sentence, question: str) -> list[tuple[int, int]]:
    spans = [s for s in typed_spans("person" if kind == "name" else kind, sentence.text)
             if not mentioned(sentence.text[s[0]:s[1]], question, names=kind in _NAME_KINDS)]
    if kind in ("duration", "number"):  # "combien d'années": a count of years, not "neuf mois"
        unit = _asked_unit(question)
        spans = [s for s in spans if _unit(sentence.text[s[0]:s[1]]) == unit] if unit else spans
    if kind == "person":  # a person is named with a first name: prefer names of two words or more
        located = set(places(sentence.text))  # "à Pyongyang" is where, not who
        spans = [s for s in spans if s not in located]
        longer = [s for s in spans if " " in sentence.text[s[0]:s[1]].strip()]
        spans = longer or spans
    return spans


_UNITS = {"year": r"ans?|annees?|siecles?|decennies?|years?|decades?|centur(?:y|ies)", "month": r"mois|months?",
          "week": r"semaines?|weeks?", "day": r"jours?|journees?|days?", "hour": r"heures?|hours?",
          "minute": r"minutes?"}


def _unit(text: str) -> str | None:
    """The time unit a value counts in ("24 ans" -> year), if any."""
    folded = fold(text)
    return next((u for u, words in _UNITS.items() if re.search(rf"\b(?:{words})\b", folded)), None)


def _asked_unit(question: str) -> str | None:
    """The time unit of "combien d'années / de jours", "how many years"."""
    found = re.search(r"\b(?:combien\s+(?:de\s+|d')|how\s+many\s+)(\w+)", fold(question).replace("’", "'"))
    return _unit(found.group(1)) if found else None


def _role(sentence: Sentence, question: str) -> tuple[int, int] | None:
    """The apposition describing the person named in a "qui est X ?" question."""
    text = sentence.text
    skeletons = {skeleton(w) for w in re.findall(r"\w+", question) if len(skeleton(w)) >= 3}
    words = [m for m in _TOKEN.finditer(text) if len(skeleton(m.group(0))) >= 3 and skeleton(m.group(0)) in skeletons
             and m.group(0)[:1].isupper()]
    if not words:
        return None
    first, last = words[0].start(), words[-1].end()
    cuts = _boundaries(text)
    after = (last, min(c for c in cuts if c > last)) if text[last:last + 1] == "," else None
    if after and text[after[0]:after[1]].strip(", ") == "":
        after = (after[1], min([c for c in cuts if c > after[1]] + [len(text)]))
    role = ANSWER_PATTERNS["role"]
    before = _role_before(text, first, cuts, role)
    for span in (after, before):
        if span and role.search(fold(text[span[0]:span[1]])):
            return span
    return after if after and len(text[after[0]:after[1]].split()) >= 2 else None


def _role_before(text: str, first: int, cuts: list[int], role: re.Pattern) -> tuple[int, int] | None:
    """The role phrase just before the name ("le porte-parole du Kremlin, Dmitri Peskov"), from its role word."""
    end = first
    while end > 0 and text[end - 1] in " ,":
        end -= 1
    start = max([c for c in cuts if c < end] + [0])
    found = role.search(fold_same_length(text[start:end]))
    return (start + found.start(), end) if found else None


def _clause(sentence: Sentence, positions: list[int], reason: bool) -> tuple[int, int]:
    """The words of the sentence that answer: a reason clause, or what follows the question's words."""
    text = sentence.text
    folded = fold_same_length(text)
    cuts = _boundaries(text)
    last = max(positions) if positions else -1
    if reason:
        found = [m.start() for m in _REASON.finditer(folded) if m.start() >= (last if last >= 0 else 0)]
        if found:
            start = found[0]
            return start, min(c for c in cuts if c > start + 3)
    if last < 0:
        return 0, len(text)
    word_end = re.compile(r"[\w’'-]*").match(text, last)
    start = word_end.end() if word_end else last
    end = min(c for c in cuts if c > start)
    if len(text[start:end].split()) < 3:  # the question's words close the clause: the answer is before them
        first = min(positions)
        start = max(c for c in cuts if c <= first)
        end = first if first - start > 10 else end
    words = list(re.finditer(r"\S+", text[start:end]))
    if len(words) > CLAUSE_WORDS:
        end = start + words[CLAUSE_WORDS - 1].end()
    return start, end


def _typed(kind: str, ranked: list[Sentence], question: str, analyzer: Analyzer, many: bool,
           weights: dict[str, float]) -> list[Piece]:
    """The value nearest the question's words across the ranked sentences (every close one for a list).

    Kind "name" (a "quel <noun>" question of no known type) only takes names beside a head noun.
    """
    scored = []
    heads = head_words(question)
    counted = kind in ("duration", "number") and _asked_unit(question) is not None
    for rank, sentence in enumerate(ranked):
        matches = _matches(sentence.text, question, analyzer)
        spans = _values(kind, sentence, question)
        described = head_positions(sentence.text, heads)
        if kind == "name":  # not an abbreviation ("M." for Monsieur)
            spans = [s for s in spans if beside_head(s, described) and s[1] - s[0] > 2]
        # A list question is answered by an enumeration: each further value of a sentence counts for it.
        bonus = LIST_BONUS * (len(spans) - 1) if many else 0.0
        for span in spans:
            # The value is described as the question asks: beside its head noun, or in its time unit.
            head = HEAD_BONUS if beside_head(span, described) or counted else 0.0
            scored.append((_near(span, matches, weights) + bonus + head - RANK_COST * rank, rank, span, sentence,
                           matches))
    if not scored:
        return []
    scored.sort(key=lambda c: (-c[0], c[1], c[2]))
    best = scored[0]
    if best[0] <= 0:  # no question word near any value: a guess, not an answer
        return []
    if many:  # the best value's sentence lists the others; other sentences add those as close to the question
        chosen = [c for c in scored if c[3] is best[3] or c[0] >= best[0] - 1]
    else:
        chosen = [best]
    pieces: list[Piece] = []
    seen: set[str] = set()
    for _, _, span, sentence, matches in sorted(chosen, key=lambda c: (c[1], c[2])):
        key = fold(sentence.text[span[0]:span[1]])
        if key not in seen:
            seen.add(key)
            pieces.append(_piece(sentence, span, [at for at, _ in matches]))
    return pieces


def extract(asked: Question, ranked: list[Sentence], analyzer: Analyzer,
            idf: dict[str, float] | None = None) -> DirectDraft | None:
    """The direct answer drawn from sentences in support order (best first); None when none answers.

    `idf` weighs the question's stems: a value near its rare words ("accompagnent") beats one near
    the words every article repeats ("Poutine").
    """
    if not ranked:
        return None
    top = max((idf or {}).values(), default=0.0)
    weights = {stem: w / top for stem, w in (idf or {}).items()} if top > 0 else {}
    question, shape, form = asked.standalone, asked.shape, asked.form
    if shape.kind == "role" and re.search(r"['’]s\b", question):  # "Who is Putin's adviser?" asks for a person
        shape = QuestionShape("person", shape.wh_words)
    elif shape.kind is None and _DATE_CUE.search(question):
        shape = QuestionShape("date", shape.wh_words)
    if form == "summary":
        return DirectDraft("points", tuple(_piece(s, (0, len(s.text)), []) for s in ranked[:3]))
    if shape.kind == "role":
        for sentence in ranked:
            span = _role(sentence, question)
            if span is not None:
                return DirectDraft("value", (_piece(sentence, span, []),))
    # "Quels responsables…", "Which ministers…": a list of people.
    kind = shape.kind or ("person" if form == "list" and _PEOPLE.search(fold(question)) else None)
    if kind not in (None, "role") and form != "why":
        many = form == "list" or (kind == "person" and any(_enumerates(s, question) for s in ranked))
        pieces = _typed(kind or "", ranked, question, analyzer, many, weights)
        if pieces and (shape.kind or len(pieces) > 1):
            return DirectDraft("list" if len(pieces) > 1 else "value", tuple(pieces))
        # The asked thing is nowhere in the supporting sentences (a count never stated, a person
        # named only by function): the answer abstains rather than quote a loosely related clause.
        if (_must_find(shape.kind, question) and form not in ("yesno", "list")
                and not any(_values(kind or "", s, question) for s in ranked)):
            return DirectDraft("missing", ())
    if kind is None and form in ("plain", "list") and head_words(question):
        pieces = _typed("name", ranked, question, analyzer, form == "list", weights)
        if pieces:
            return DirectDraft("list" if len(pieces) > 1 else "value", tuple(pieces))
    best = ranked[0]
    positions = _positions(best.text, question, analyzer)
    needed = CROSS_MATCHES if asked.other_language(best.text) else CLAUSE_MATCHES
    if len({stem for _, stem in _matches(best.text, question, analyzer)}) < needed:
        return None  # the sentence shares too little with the question to cut an answer out of it
    quoted = _quoted_words(best.text, positions) if _NAMING.search(fold(question)) else None
    if quoted is not None:
        return DirectDraft("value", (_piece(best, quoted, positions),))
    piece = _piece(best, _clause(best, positions, form == "why"), positions)
    if form == "yesno":
        return DirectDraft(_polarity(best.text[piece.quote_start:piece.quote_end]), (piece,))
    return DirectDraft("clause", (piece,))


def _quoted_words(text: str, positions: list[int]) -> tuple[int, int] | None:
    """A short expression the article puts in quotation marks, nearest the question's words ("« ridicules »")."""
    found = [m.span(1) for m in _QUOTED.finditer(text) if len(m.group(1).split()) <= 6]
    if not found:
        return None
    return min(found, key=lambda s: _distance(s, positions))


def _enumerates(sentence: Sentence, question: str) -> bool:
    """Whether the sentence lists several people the question does not name ("Lavrov, … Beloussov")."""
    spans = [s for s in _values("person", sentence, question) if " " in sentence.text[s[0]:s[1]].strip()]
    return len(spans) >= 2 and any(re.search(r",|\bet\b|\band\b", sentence.text[a[1]:b[0]])
                                   for a, b in zip(spans, spans[1:]))


def _polarity(clause: str) -> str:
    """'no' when the clause denies, 'hedged' when it only hopes or plans, else 'yes'."""
    folded = fold(clause)
    if _NEGATION.search(folded):
        return "no"
    if _HEDGE.search(folded):
        return "hedged"
    return "yes"
