"""The period a question names ("en juin 2024", "since September", "entre juin et septembre 2024"), as dates.

A question that names a period is answered from the articles published in it: retrieval keeps
only chunks of articles dated within [since, until] (index/search/hybrid.py). The question itself
is left as it is. Understood, in French and English:

- a day: "le 13 septembre 2023", "on September 13, 2023", "13 September 2023", "2023-09-13";
- a month: "en juin 2024", "in September 2023", "de juin 2024"; a year: "en 2023", "in 2023";
- from a point on: "depuis septembre 2023", "since 2023", "à partir du 13 septembre 2023";
- a range: "entre juin et septembre 2024", "du 3 au 15 juin 2024", "from June to September 2024",
  "between 2022 and 2023".

A month or a day without its year ("depuis septembre", "en juin") is the latest one that began on
or before a reference date: the newest article's date when the index has dated articles (the
corpus's own present: an archive is asked about its time, not about today), else today. A bare
year or month needs "en"/"in"/"pendant"/"during" before it, so "la Coupe du monde 2018" is no
period; words that order events ("avant", "après", "before", "after", "jusqu'au") are left to
the reader, not turned into a restriction.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from index.articles.dating import MONTH_NAMES, MONTHS, make_date
from index.articles.text import fold
from index.records import Period

_WEEKDAY = (r"(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|"
            r"monday|tuesday|wednesday|thursday|friday|saturday|sunday)")
_M = rf"(?:{MONTH_NAMES})"
_D = r"(?:1er|[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_Y = r"(?:19|20)\d\d"
_FULL = rf"(?:{_WEEKDAY},?\s+)?{_D}\s+{_M}\s+{_Y}|{_M}\s+{_D},?\s+{_Y}|{_Y}-[01]\d-[0-3]\d"
_DAY_MONTH = rf"(?:{_WEEKDAY},?\s+)?{_D}\s+{_M}|{_M}\s+{_D}"
_MONTH_YEAR = rf"{_M}\s+(?:de\s+|of\s+)?{_Y}"
_POINT = rf"(?:{_FULL}|{_MONTH_YEAR}|{_DAY_MONTH}|{_M}|{_Y})(?![\w-])"
_START = rf"(?:{_POINT}|{_D}(?![\w-]))"  # a range may open on a bare day: "du 3 au 15 juin 2024"
_THE = r"(?:(?:le|the|l'annee|the year|le mois de|the month of)\s+)?"

_RANGE = re.compile(
    rf"\b(?:(?:entre|between)\s+{_THE}(?P<a>{_START})\s+(?:et|and)\s+{_THE}(?P<b>{_POINT})"
    rf"|(?:du|de|d'|from)\s*{_THE}(?P<c>{_START})\s+(?:au|a|jusqu'au|jusqu'en|to|until|till|through)\s+{_THE}"
    rf"(?P<d>{_POINT}))")
_SINCE = re.compile(
    rf"\b(?:depuis|since|a partir d(?:u|e\s|')|a compter d(?:u|e\s|')|starting(?:\s+(?:in|on|from))?)\s*{_THE}"
    rf"(?P<a>{_POINT})")
# Prepositions strong enough to make a bare year or month a period ("en 2023", "in June").
_STRONG = ("en", "in", "pendant", "durant", "during", "au cours de", "courant", "au mois de", "au mois d'",
           "in the month of")
_AT = re.compile(
    rf"\b(?P<prep>au cours de|au mois d'|au mois de|in the month of|en|in|pendant|durant|during|courant|le|on|"
    rf"du|de|d'|of)\s*{_THE}(?P<a>{_POINT})|(?<![\w-])(?P<b>{_FULL})(?![\w-])")
# An ordering word before a date makes it a bound of an event, not the articles' period.
_ORDERING = re.compile(r"(?:avant|apres|before|after|jusqu'|until|till|by|d'ici)\s*(?:le\s+|the\s+)?$")


@dataclass(frozen=True)
class _Point:
    first: dt.date
    last: dt.date
    relative: bool  # its year (or year and month) came from the reference date


def find_period(question: str, reference: dt.date, basis: str) -> Period | None:
    """The period the question names, read against `reference` ("newest article" or "today"), or None."""
    text = fold(question).replace("’", "'")
    shown = question if len(question) == len(text) else text  # folding kept offsets: quote the question
    found: list[tuple[int, int, re.Match, tuple[dt.date, dt.date | None, bool]]] = []
    for match in _RANGE.finditer(text):
        end_group, start_group = ("b", "a") if match.group("b") else ("d", "c")
        period = _range(match.group(start_group), match.group(end_group), reference)
        if period:
            found.append((match.start(), -len(match.group(0)), match, period))
    for match in _SINCE.finditer(text):
        point = _point(match.group("a"), reference)
        if point:
            found.append((match.start(), -len(match.group(0)), match, (point.first, None, point.relative)))
    for match in _AT.finditer(text):
        period = _at(match, text, reference)
        if period:
            found.append((match.start(), -len(match.group(0)), match, period))
    if not found:
        return None
    _, _, match, (since, until, relative) = min(found, key=lambda f: (f[0], f[1]))
    return Period(since.isoformat(), until.isoformat() if until else None, shown[match.start():match.end()].strip(),
                  reference.isoformat() if relative else None, basis if relative else "")


def _at(match: re.Match, text: str, reference: dt.date) -> tuple[dt.date, dt.date | None, bool] | None:
    """A single day, month or year, when its preposition allows it and no ordering word precedes it."""
    if _ORDERING.search(text[:match.start()]):
        return None
    words = match.group("a") or match.group("b")
    prep = match.group("prep") or ""
    bare = re.fullmatch(rf"{_M}|{_Y}", words.strip())
    if bare and prep.strip() not in _STRONG:
        return None
    point = _point(words, reference)
    return (point.first, point.last, point.relative) if point else None


def _range(start: str, end: str, reference: dt.date) -> tuple[dt.date, dt.date | None, bool] | None:
    """[start, end] of "entre A et B", "du A au B": A takes the year (and month) B gives when it lacks them."""
    last = _point(end, reference)
    if last is None:
        return None
    first = _point(start, reference, inherit=last.last)
    if first is None or first.first > last.last:
        return None
    return first.first, last.last, last.relative or first.relative


def _point(words: str, reference: dt.date, inherit: dt.date | None = None) -> _Point | None:
    """The first and last day a date, a month or a year covers; a missing year from `inherit`, else the reference."""
    iso = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", words.strip())
    if iso:
        exact = make_date(*map(int, iso.groups()))
        return _Point(exact, exact, False) if exact else None
    year_match = re.search(rf"\b{_Y}\b", words)
    month_match = re.search(rf"\b{_M}\b", words)
    day_match = re.search(r"\b(1er|\d{1,2})(?:st|nd|rd|th)?\b", re.sub(rf"\b{_Y}\b", "", words))
    year = int(year_match.group(0)) if year_match else None
    month = MONTHS[month_match.group(0)] if month_match else None
    day = int(day_match.group(1).replace("er", "")) if day_match else None
    if month is None and year is None:  # a bare day opening a range: its month and year are the end's
        if inherit is None or day is None:
            return None
        month, year = inherit.month, inherit.year
    relative = year is None
    if year is None:
        year = _latest_year(month or 1, day or 1, inherit or reference)
    if month is None:
        first, last = make_date(year, 1, 1), make_date(year, 12, 31)
    elif day is None:
        first, last = make_date(year, month, 1), make_date(year, month, calendar.monthrange(year, month)[1])
    else:
        first = last = make_date(year, month, day)
    if first is None or last is None:
        return None
    return _Point(first, last, relative and inherit is None)


def _latest_year(month: int, day: int, reference: dt.date) -> int:
    """The year of the latest such month (or day) that began on or before the reference date."""
    return reference.year if (month, day) <= (reference.month, reference.day) else reference.year - 1


def flag_period(since: str | None, until: str | None) -> Period | None:
    """The period of --since/--until (already validated YYYY-MM-DD), or None when neither is given."""
    if not since and not until:
        return None
    shown = " ".join(f"--{name} {value}" for name, value in (("since", since), ("until", until)) if value)
    return Period(since or None, until or None, shown)


def combine(asked: Period | None, flags: Period | None) -> Period | None:
    """Both restrictions at once: the later start and the earlier end (since may then pass until: nothing)."""
    if asked is None or flags is None:
        return asked or flags
    since = max((d for d in (asked.since, flags.since) if d), default=None)
    until = min((d for d in (asked.until, flags.until) if d), default=None)
    return Period(since, until, f"{asked.expression}; {flags.expression}", asked.relative_to, asked.relative_basis)
