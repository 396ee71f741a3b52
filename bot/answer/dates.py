"""Dates in answers: relative days of a quote resolved against its article's date, and the period searched.

News is written relative to its day: "est arrivé mardi", "la semaine dernière", "yesterday". In the
direct answer such words are resolved against the publication date of the article they come
from, and shown beside the article's own words, labelled: « mardi » (mardi 18 juin 2024, résolu
d'après la date de l'article). The article's words stay as they are, verified at their offsets.
A weekday followed by its day ("mardi 12 septembre") is a date already and is left alone.
"""

from __future__ import annotations

import datetime as dt
import re

from index.articles.text import fold
from index.records import Period

_WEEKDAYS = {"fr": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
             "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]}
_MONTHS = {"fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
                  "novembre", "décembre"],
           "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                  "November", "December"]}
_WEEKDAY_INDEX = {fold(name): i for names in _WEEKDAYS.values() for i, name in enumerate(names)}
_WEEKDAY = "|".join(_WEEKDAY_INDEX)
# Fixed offsets in days from the article's date.
_DAYS = {"avant-hier": -2, "avant hier": -2, "the day before yesterday": -2, "apres-demain": 2, "apres demain": 2,
         "the day after tomorrow": 2, "aujourd'hui": 0, "today": 0, "ce matin": 0, "ce soir": 0, "cette nuit": 0,
         "this morning": 0, "this evening": 0, "tonight": 0, "hier": -1, "yesterday": -1, "demain": 1,
         "tomorrow": 1}
_WEEKS = {"la semaine derniere": -1, "la semaine passee": -1, "last week": -1, "cette semaine": 0, "this week": 0,
          "la semaine prochaine": 1, "next week": 1}
_RELATIVE = re.compile(
    r"(?<![\w-])(?:" + "|".join(sorted(map(re.escape, {**_DAYS, **_WEEKS}), key=len, reverse=True)) +
    rf"|(?:(?P<last>last|next|this|ce)\s+)?(?P<day>{_WEEKDAY})(?:\s+(?P<after>dernier|prochain|soir|matin|midi))?)"
    r"(?![\w-])(?!\s+\d)")  # "mardi 12 septembre" is a date, not a relative day
# A sentence that tells what will happen: its bare weekday is the next one, not the last.
_FUTURE = re.compile(r"\b(?:sera|seront|aura|auront|ira|iront|fera|feront|\w{3,}(?:era|eront|ira|iront|dra|dront)|"
                     r"doit|doivent|devrait|prevu\w*|will|shall|is to|are to|is due|are due|going to|scheduled)\b")
_WORDS = {
    "fr": {"label": "résolu d'après la date de l'article", "none": "Aucun article indexé n'est daté de cette période",
           "period": "Période", "from": "du {0} au {1}", "since": "depuis le {0}", "until": "jusqu'au {0}",
           "relative": "lu par rapport à la date de l'article le plus récent de l'index, {0}"},
    "en": {"label": "resolved from the article's date", "none": "No indexed article is dated within that period",
           "period": "Period", "from": "{0} to {1}", "since": "from {0} on", "until": "up to {0}",
           "relative": "read against the date of the newest indexed article, {0}"},
}


def _words(language: str) -> dict[str, str]:
    return _WORDS.get(language, _WORDS["en"])


def spoken(date: dt.date, language: str, weekday: bool = False) -> str:
    """A date as the answer says it: "mardi 18 juin 2024", "1er juin 2024", "Tuesday 18 June 2024"."""
    lang = "fr" if language == "fr" else "en"
    day = "1er" if lang == "fr" and date.day == 1 else str(date.day)
    text = f"{day} {_MONTHS[lang][date.month - 1]} {date.year}"
    return f"{_WEEKDAYS[lang][date.weekday()]} {text}" if weekday else text


def _resolve(match: re.Match, folded: str, day: dt.date) -> tuple[dt.date, dt.date] | None:
    """The day (or week: first and last day) a relative expression names, from the article's date."""
    words = re.sub(r"\s+", " ", match.group(0))
    if words in _DAYS:
        return (day + dt.timedelta(days=_DAYS[words]),) * 2
    if words in _WEEKS:
        monday = day - dt.timedelta(days=day.weekday()) + dt.timedelta(weeks=_WEEKS[words])
        return monday, monday + dt.timedelta(days=6)
    if match.group("day") is None:
        return None
    shift = (_WEEKDAY_INDEX[match.group("day")] - day.weekday()) % 7  # days until the next such weekday
    cue = match.group("last") or match.group("after") or ""
    if cue in ("last", "dernier"):
        found = day - dt.timedelta(days=(7 - shift) % 7 or 7)
    elif cue in ("next", "prochain"):
        found = day + dt.timedelta(days=shift or 7)
    elif shift == 0:
        found = day
    elif _FUTURE.search(folded):
        found = day + dt.timedelta(days=shift)
    else:  # news reports what happened: the last such day before the article
        found = day - dt.timedelta(days=7 - shift)
    return found, found


def resolve_days(text: str, sentence: str, article_date: str | None, language: str) -> str:
    """`text` followed by what its relative days resolve to, labelled; "" when it has none or no date is known."""
    if not article_date:
        return ""
    try:
        day = dt.date.fromisoformat(article_date[:10])
    except ValueError:
        return ""
    folded = fold(text).replace("’", "'")
    found = []
    for match in _RELATIVE.finditer(folded):
        resolved = _resolve(match, fold(sentence), day)
        if resolved is not None:
            first, last = resolved
            shown = (spoken(first, language, weekday=True) if first == last
                     else _words(language)["from"].format(spoken(first, language), spoken(last, language)))
            found.append((text[match.start():match.end()] if len(folded) == len(text) else match.group(0), shown))
    if not found:
        return ""
    whole = len(found) == 1 and found[0][0].strip().lower() == text.strip().lower()
    notes = [shown if whole else f"{words} : {shown}" if language == "fr" else f"{words}: {shown}"
             for words, shown in found]
    sep = " ; " if language == "fr" else "; "
    return f"{text} ({sep.join(notes)}, {_words(language)['label']})"


def _span(period: Period, language: str) -> str:
    """The period's dates in words: "du 1er juin 2024 au 30 juin 2024", "from 1 September 2023 on"."""
    words = _words(language)
    first = spoken(dt.date.fromisoformat(period.since), language) if period.since else ""
    last = spoken(dt.date.fromisoformat(period.until), language) if period.until else ""
    if first and last:
        return first if first == last else words["from"].format(first, last)
    return words["since"].format(first) if first else words["until"].format(last)


def _notes(period: Period, language: str) -> str:
    """The question's words for the period, and the date a month without its year was read against."""
    words = _words(language)
    notes = [f"« {period.expression} »" if language == "fr" else f"“{period.expression}”"]
    if period.relative_to:
        notes.append(words["relative"].format(spoken(dt.date.fromisoformat(period.relative_to), language)))
    return ", ".join(notes)


def period_line(period: Period, language: str) -> str:
    """The period retrieval was restricted to, in the question's language."""
    colon = " :" if language == "fr" else ":"
    return f"{_words(language)['period']}{colon} {_span(period, language)} ({_notes(period, language)})"


def no_article(period: Period, language: str) -> str:
    """The abstention when no indexed article is dated within the period."""
    return f"{_words(language)['none']} : {_span(period, language)} ({_notes(period, language)})." \
        if language == "fr" else f"{_words(language)['none']}: {_span(period, language)} ({_notes(period, language)})."
