"""Sentence-aware chunking with overlap; every chunk keeps exact offsets into its article."""

from __future__ import annotations

from index.articles.text import sentence_spans, word_windows
from index.records import Article


def _sentence_units(article: Article, max_chars: int) -> list[tuple[int, int]]:
    """Sentences of the body; a sentence longer than a chunk is cut at word boundaries."""
    units = []
    for start, end in sentence_spans(article.text, article.body_start, article.body_end):
        if end - start > max_chars:
            units += word_windows(article.text, start, end, max_chars)
        else:
            units.append((start, end))
    return units


def chunk_spans(article: Article, max_chars: int, overlap_chars: int) -> list[tuple[int, int]]:
    """Pack consecutive sentences into chunks of at most `max_chars` characters."""
    # Each chunk after the first repeats the trailing sentences of the previous one, up to
    # `overlap_chars` characters, so a fact cut by a boundary still appears whole somewhere.
    units = _sentence_units(article, max_chars)
    spans: list[tuple[int, int]] = []
    first = 0
    while first < len(units):
        last = first
        while last + 1 < len(units) and units[last + 1][1] - units[first][0] <= max_chars:
            last += 1
        spans.append((units[first][0], units[last][1]))
        if last + 1 >= len(units):
            break
        # Step back over whole sentences that fit in the overlap, but always move forward.
        nxt = last + 1
        while nxt - 1 > first and units[last][1] - units[nxt - 1][0] <= overlap_chars:
            nxt -= 1
        first = nxt
    return spans
