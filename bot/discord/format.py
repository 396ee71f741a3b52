"""Answers as Discord messages: content split within 2,000 characters, sources in embeds."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.answer.dates import period_line
from bot.answer.language import message
from bot.answer.records import Answer

CONTENT_LIMIT = 2000
EMBED_TOTAL = 6000
EMBED_FIELDS = 25
FIELD_NAME = 256
FIELD_VALUE = 1024
# A place to split: after the end of a sentence or a citation marker, before the next word;
# not after an initial ("M. Poutine", "J. Biden").
_BREAK = re.compile(r"(?<=[.!?…»”\]])(?<!\b[A-Z]\.)\s+(?!\[)")
_MARKER = re.compile(r"\[\d+\]")


@dataclass(frozen=True)
class Embed:
    title: str
    fields: tuple[tuple[str, str], ...] = ()
    footer: str = ""


@dataclass(frozen=True)
class Outgoing:
    """One Discord message: text and at most one embed."""

    content: str
    embed: Embed | None = None


def _cut_point(text: str, limit: int) -> int:
    """Where to cut `text` so the first part fits: a sentence end, else a space outside a marker."""
    # Search the whole text: an end position would hide the "[n]" that may follow a break at the limit.
    breaks = [m.start() for m in _BREAK.finditer(text) if m.start() <= limit]
    if breaks:
        return breaks[-1]
    markers = [(m.start(), m.end()) for m in _MARKER.finditer(text)]
    # A space before a marker is not a place either: the marker stays with its statement.
    spaces = [i for i in range(min(limit, len(text) - 1), 0, -1)
              if text[i].isspace() and text[i + 1] != "[" and not any(s < i < e for s, e in markers)]
    if spaces:
        return spaces[0]
    return next((s for s, e in markers if s < limit < e), limit)  # one huge word: cut, but not in [n]


def split_text(text: str, limit: int = CONTENT_LIMIT) -> list[str]:
    """Pieces of at most `limit` characters, cut between sentences, never inside a word or [n]."""
    pieces = []
    text = text.strip()
    while len(text) > limit:
        cut = _cut_point(text, limit)
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return pieces


def _field(citation) -> tuple[str, str]:
    name = f"[{citation.n}] {citation.title}"
    if len(name) > FIELD_NAME:
        name = name[:FIELD_NAME - 1] + "…"
    dated = f" — {citation.date}" if citation.date else ""
    head = f"`{citation.source}` [{citation.start}:{citation.end}]{dated}\n"
    quote = citation.quote
    room = FIELD_VALUE - len(head) - 2
    if len(quote) > room:
        quote = quote[:room - 1].rsplit(" ", 1)[0] + "…"
    return name, f"{head}“{quote}”"


def source_embeds(answer: Answer) -> list[Embed]:
    """The sources of an answer, as few embeds as Discord's limits allow."""
    title = message(answer.language, "sources")
    footer = message(answer.language, "label_extractive") if answer.mode == "extractive" or answer.fallback else ""
    embeds: list[Embed] = []
    current: list[tuple[str, str]] = []
    for citation in answer.citations:
        item = _field(citation)
        size = len(title) + len(footer) + sum(len(n) + len(v) for n, v in current + [item])
        if current and (len(current) == EMBED_FIELDS or size > EMBED_TOTAL):
            embeds.append(Embed(title, tuple(current), footer))
            current = []
        current.append(item)
    if current:
        embeds.append(Embed(title, tuple(current), footer))
    return embeds


def render(answer: Answer) -> list[Outgoing]:
    """The messages to send for an answer: text pieces, the sources embed on the last ones."""
    text = answer.text
    if answer.direct is not None:  # the short answer stands out; what follows supports it
        rest = text[len(answer.direct.text):].strip()
        text = f"**{answer.direct.text}**" + (f"\n{rest}" if rest else "")
    if answer.period is not None and answer.hits:  # the publication dates searched (dates.py)
        text = f"{text}\n_({period_line(answer.period, answer.language)})_"
    if answer.abstained:
        text = f"{text}\n_({message(answer.language, 'label_abstain')})_"
    if answer.stale:
        text = f"{text}\n_({answer.stale_note})_"
    pieces = split_text(text)
    embeds = source_embeds(answer)
    messages = [Outgoing(piece) for piece in pieces[:-1]]
    messages.append(Outgoing(pieces[-1], embeds[0] if embeds else None))
    messages += [Outgoing("", embed) for embed in embeds[1:]]
    return messages
