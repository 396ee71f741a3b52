"""Plain text, title and date out of an HTML article (standard library parser only)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

# Content of these elements is never article text.
_SKIP = {"script", "style", "noscript", "template", "svg", "nav", "header", "footer",
         "aside", "form", "button", "select", "iframe", "object", "head"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
         "param", "source", "track", "wbr"}
_BLOCK = {"p", "div", "section", "article", "main", "h1", "h2", "h3", "h4", "h5", "h6",
          "li", "ul", "ol", "blockquote", "pre", "table", "tr", "td", "th", "figcaption",
          "dd", "dt", "dl", "br", "hr", "figure"}
_DATE_META = ("article:published_time", "datepublished", "date", "dc.date", "pubdate",
              "og:published_time", "publish-date", "sailthru.date")
_SPACES = re.compile(r"[ \t\r\f\v]+")


@dataclass(frozen=True)
class HtmlDocument:
    text: str
    title: str | None
    date: str | None


class _Extractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_depth = 0
        self.stack: list[str] = []
        self.meta: dict[str, str] = {}
        self.title_parts: list[str] = []
        self.h1_parts: list[str] = []
        self.time_attr: str | None = None

    def handle_starttag(self, tag, attrs):
        """Track skipped elements and open block elements as line breaks."""
        attrs = {k.lower(): (v or "") for k, v in attrs}
        if tag == "meta":
            key = (attrs.get("property") or attrs.get("name") or attrs.get("itemprop") or "").lower()
            if key and attrs.get("content"):
                self.meta.setdefault(key, attrs["content"].strip())
        if tag == "time" and attrs.get("datetime") and not self.time_attr:
            self.time_attr = attrs["datetime"]
        if tag in _VOID:
            if tag in _BLOCK and not self.skip_depth:
                self.parts.append("\n")
            return
        self.stack.append(tag)
        if tag in _SKIP and tag != "head":
            self.skip_depth += 1
        if tag in _BLOCK and not self.skip_depth:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        """Close skipped elements and block elements."""
        if tag in _VOID or tag not in self.stack:
            return
        while self.stack:
            open_tag = self.stack.pop()
            if open_tag in _SKIP and open_tag != "head":
                self.skip_depth -= 1
            if open_tag in _BLOCK and not self.skip_depth:
                self.parts.append("\n")
            if open_tag == tag:
                break

    def handle_data(self, data):
        """Keep visible text outside skipped elements."""
        if "title" in self.stack:
            self.title_parts.append(data)
            return
        if self.skip_depth or "head" in self.stack:
            return
        if "h1" in self.stack:
            self.h1_parts.append(data)
        self.parts.append(data)


def _clean(raw: str) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in raw.split("\n"))
    return "\n".join(line for line in lines if line)


def extract_html(markup: str) -> HtmlDocument:
    """Extract readable text: block elements become lines, navigation and scripts are dropped."""
    parser = _Extractor()
    parser.feed(markup)
    parser.close()
    title = (parser.meta.get("og:title") or " ".join("".join(parser.h1_parts).split())
             or " ".join("".join(parser.title_parts).split()) or None)
    date = next((parser.meta[k] for k in _DATE_META if parser.meta.get(k)), None) or parser.time_attr
    return HtmlDocument(text=_clean("".join(parser.parts)), title=title, date=date[:10] if date else None)
