"""Page furniture of scraped news pages: the body span and the title of an article (dates: dating.py)."""

from __future__ import annotations

import re

from index.articles.text import fold, sentence_spans

# Lines that news sites put before the article ("En direct", "A suivre", "Live").
_LEADING = re.compile(
    r"^(en direct|direct|a suivre|live|breaking( news)?|publicite|advertisement|menu|accueil|"
    r"home|partager|share|ecouter|listen|abonnez-vous|subscribe|lire plus tard|save)\W*$"
)
# Headings after which only related links, teasers and legal lines follow.
_TAIL_HEADINGS = re.compile(
    r"^(a suivre aussi|a lire aussi|lire aussi|a voir aussi|voir aussi|sur le meme sujet|"
    r"dernieres actualites|dernieres nouvelles|ailleurs sur le web|les plus lus|les plus partages|"
    r"nos autres articles|articles? similaires?|dans la meme rubrique|plus d'actualites|"
    r"read (more|next|also)|related( articles| stories)?|more (stories|news)|most (read|popular)|"
    r"latest news|you may also like|recommended|newsletter|commentaires?|comments?)\W*$"
)
# Single lines of furniture at the very end: pager links, copyright, share prompts.
_TAIL_LINE = re.compile(
    r"^(prev|next|precedent|suivant|article (precedent|suivant)|previous( article)?|next article)\b"
    r"|^(©|\(c\)|copyright\b)|tous droits reserves|all rights reserved"
    r"|^(partager|share)( (sur|on) .*)?\W*$"
)
_TAIL_LINK_WORDS = 20  # lines after a tail heading that are this short are link teasers

def _lines(text: str, start: int, end: int):
    """Yield (line_start, line_end) for each line of text[start:end]."""
    pos = start
    while pos < end:
        nl = text.find("\n", pos, end)
        stop = end if nl < 0 else nl
        yield pos, stop
        pos = stop + 1


def _key(line: str) -> str:
    return fold(line.strip()).replace("’", "'")


def body_span(text: str) -> tuple[int, int]:
    """The [start, end) range of the article body, without leading and trailing furniture."""
    start, end = 0, len(text)
    for s, e in _lines(text, 0, len(text)):
        key = _key(text[s:e])
        if key and not _LEADING.match(key):
            break
        start = e + 1
    start = min(start, end)
    lines = list(_lines(text, start, end))
    cut = end
    # A tail heading followed only by short teaser lines ends the body.
    for i, (s, e) in enumerate(lines):
        if _TAIL_HEADINGS.match(_key(text[s:e])) and all(
            len(text[ls:le].split()) <= _TAIL_LINK_WORDS or _TAIL_LINE.search(_key(text[ls:le]))
            for ls, le in lines[i + 1:]
        ):
            cut = s
            break
    for s, e in reversed(lines):
        if s >= cut:
            continue
        key = _key(text[s:e])
        if key and not _TAIL_LINE.search(key) and not _TAIL_HEADINGS.match(key):
            break
        cut = s
    while cut > start and text[cut - 1].isspace():
        cut -= 1
    return start, max(start, cut)


def guess_title(text: str, start: int, end: int, fallback: str) -> str:
    """The first line of the body when it looks like a headline, else its first sentence."""
    for s, e in _lines(text, start, end):
        line = text[s:e].strip()
        if not line:
            continue
        if len(line) <= 200:
            return line
        break
    spans = sentence_spans(text, start, end)
    if not spans:
        return fallback
    first = text[spans[0][0]:spans[0][1]]
    return first if len(first) <= 120 else first[:117].rsplit(" ", 1)[0] + "…"
