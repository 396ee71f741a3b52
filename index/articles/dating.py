"""Publication dates: any written date made ISO, and the date an article's own text gives (its dateline).

Metadata (a feed's pubDate, an HTML meta tag, a front-matter `date:`) comes in many spellings;
normalize_date turns each into YYYY-MM-DD, so stores can compare dates as text. Plain-text
articles carry no metadata: guess_date reads the date a page writes for itself, near the top
(a dateline, "Publié le …") or on a line of its own (an embedded post's or a photo's credit).
"""

from __future__ import annotations

import datetime as dt
import re

from index.articles.text import fold

MONTHS = {
    "janvier": 1, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6, "juillet": 7,
    "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11, "decembre": 12,
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
}
# Abbreviations seen in metadata and RFC 2822 dates ("13 Sep 2023", "janv. 2024"); never in questions.
_SHORT = {
    "jan": 1, "janv": 1, "feb": 2, "fev": 2, "fevr": 2, "mar": 3, "apr": 4, "avr": 4, "jun": 6,
    "jul": 7, "juil": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}
MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
_ANY_MONTH = "|".join(sorted({**MONTHS, **_SHORT}, key=len, reverse=True))
_ISO = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})(?![\d-])")
_SLASHED_YMD = re.compile(r"\b(\d{4})/(\d{1,2})/(\d{1,2})\b")
_SLASHED_DMY = re.compile(r"\b(\d{1,2})[/.](\d{1,2})[/.](\d{4})\b")
_DAY_MONTH_YEAR = re.compile(rf"\b(\d{{1,2}})(?:er|st|nd|rd|th)?\s+({_ANY_MONTH})\.?,?\s+(\d{{4}})\b")
_MONTH_DAY_YEAR = re.compile(rf"\b({_ANY_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b")
_DATE_WINDOW = 400   # a date this close to the top is the article's date (a dateline); deeper it is content
_DATE_LINE_WORDS = 14  # a line this short that ends with a full date is a credit or dateline, not a sentence
_PUBLISHED = re.compile(r"\b(publie|mis a jour|modifie|published|updated|posted)\b")
_EARLIEST, _LATEST = 1900, 2100  # outside these years a "date" is a number, not a publication date


def make_date(year: int, month: int, day: int) -> dt.date | None:
    """The date, or None when it does not exist or is not a plausible publication year."""
    if not _EARLIEST <= year <= _LATEST:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _month(word: str) -> int | None:
    return MONTHS.get(word) or _SHORT.get(word)


def _found(text: str) -> list[tuple[int, int, dt.date]]:
    """(start, end, date) of every full date written in folded text, in order."""
    found: list[tuple[int, int, dt.date]] = []
    for pattern, order in ((_ISO, "ymd"), (_SLASHED_YMD, "ymd"), (_SLASHED_DMY, "dmy"),
                           (_DAY_MONTH_YEAR, "dMy"), (_MONTH_DAY_YEAR, "Mdy")):
        for m in pattern.finditer(text):
            a, b, c = m.groups()
            if order == "ymd":
                date = make_date(int(a), int(b), int(c))
            elif order == "dmy":  # European order first; a US date shows itself by a "day" above 12
                date = make_date(int(c), int(b), int(a)) or make_date(int(c), int(a), int(b))
            elif order == "dMy":
                date = make_date(int(c), _month(b) or 0, int(a))
            else:
                date = make_date(int(c), _month(a) or 0, int(b))
            if date is not None and not any(s <= m.start() < e for s, e, _ in found):
                found.append((m.start(), m.end(), date))
    return sorted(found)


def normalize_date(value: str | None) -> str | None:
    """A date as metadata writes it (ISO, "13 septembre 2023", "Sep 13, 2023", RFC 2822, 13/09/2023), as YYYY-MM-DD."""
    if not value or not value.strip():
        return None
    found = _found(fold(value.strip()))
    return found[0][2].isoformat() if found else None


def guess_date(text: str, start: int, end: int | None = None) -> str | None:
    """The date an article's text gives itself: a date near the top, else the latest date line of the body."""
    end = len(text) if end is None else end
    head = _found(fold(text[start:min(end, start + _DATE_WINDOW)]))
    if head:
        return head[0][2].isoformat()
    lines = [line.strip() for line in text[start:end].splitlines()]
    dated = [date for line in lines if line for date in _line_date(fold(line))]
    return max(dated).isoformat() if dated else None


def _line_date(line: str) -> list[dt.date]:
    """The date a line states for the page: "Publié le 3 mai 2024", or a short line that ends with a date."""
    found = _found(line)
    if not found:
        return []
    if _PUBLISHED.search(line[:found[0][0]]):
        return [found[0][2]]
    last = found[-1]
    tail = line[last[1]:].strip(" .)]»\"”")
    if not tail and len(line.split()) <= _DATE_LINE_WORDS:
        return [last[2]]
    return []
