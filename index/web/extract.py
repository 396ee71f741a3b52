"""Article text and metadata from a web page, with trafilatura (text, title, author) and htmldate (date)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import htmldate
import trafilatura

# trafilatura and htmldate log every page they find too short or undated: that is our report's job.
for _name in ("trafilatura", "htmldate", "courlan"):
    logging.getLogger(_name).setLevel(logging.CRITICAL)


@dataclass(frozen=True)
class Page:
    """What a page says about itself once its furniture (menus, banners, footers) is dropped."""

    text: str
    title: str | None
    author: str | None
    date: str | None         # ISO date (YYYY-MM-DD)
    canonical: str | None


def extract_page(html: str, url: str | None = None) -> Page:
    """The main text of a news page and its metadata ("" text when there is no article)."""
    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False,
                                      include_tables=False, include_images=False, deduplicate=False)
    if doc is None:
        return Page("", None, None, page_date(html), None)
    meta = doc if isinstance(doc, dict) else doc.as_dict()
    text = "\n\n".join(p.strip() for p in (meta.get("text") or "").split("\n") if p.strip())
    return Page(text, meta.get("title") or None, meta.get("author") or None,
                meta.get("date") or page_date(html), meta.get("url") or None)


def page_date(html: str) -> str | None:
    """The publication date htmldate finds in a page (metadata first, then the text), or None."""
    try:
        return htmldate.find_date(html, original_date=True, extensive_search=True, outputformat="%Y-%m-%d")
    except (ValueError, TypeError):
        return None
