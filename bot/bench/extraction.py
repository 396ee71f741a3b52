"""Which HTML path extracts news pages better: index/htmltext.py + index/furniture.py, or trafilatura + htmldate.

    python -m bot.bench.extraction [tests/data/news_pages]

Each page of the folder has hand-written expectations in expected.json: its title, its date, the
first and last sentences of its body, and furniture strings (menus, cookie banners, related links,
comments, paywall boxes, footers) that must not be in the article text. Every path is scored on
the same checks; prints the table and writes its section of docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.bench.doc import machine, write_section
from index.settings import PROJECT_ROOT

PAGES = PROJECT_ROOT / "tests" / "data" / "news_pages"
CHECKS = ("title", "date", "first", "last", "no_furniture")


@dataclass(frozen=True)
class Extracted:
    """What a path found in a page: the article text as indexed, its title and its date."""

    title: str | None
    date: str | None
    body: str


def builtin_path(html: str) -> Extracted:
    """The standard-library extractor and the furniture rules (the local-HTML path until issue 19)."""
    from index.articles.dating import guess_date
    from index.articles.furniture import body_span, guess_title
    from index.articles.htmltext import extract_html

    doc = extract_html(html)
    start, end = body_span(doc.text)
    title = doc.title or guess_title(doc.text, start, end, fallback="")
    return Extracted(title, doc.date or guess_date(doc.text, start), doc.text[start:end])


def trafilatura_path(html: str) -> Extracted:
    """trafilatura for the text and title, htmldate for the date (index/web/extract.py)."""
    from index.web.extract import extract_page

    page = extract_page(html)
    return Extracted(page.title, page.date, page.text)


PATHS: dict[str, Callable[[str], Extracted]] = {"htmltext + furniture": builtin_path,
                                                "trafilatura + htmldate": trafilatura_path}


def _flat(text: str) -> str:
    return " ".join(text.replace("’", "'").split())


def check(found: Extracted, expected: dict) -> dict[str, bool]:
    """Each check of one page: True when the path got it right."""
    body = _flat(found.body)
    return {"title": _flat(found.title or "") == _flat(expected["title"]),
            "date": found.date == expected["date"],
            "first": _flat(expected["first"]) in body,
            "last": _flat(expected["last"]) in body,
            "no_furniture": not any(_flat(f).lower() in body.lower() for f in expected["furniture"])}


def measure(folder: Path = PAGES) -> dict:
    """Per path: pages passing each check, pages passing all, the failures, and milliseconds per page."""
    expectations = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    results = {}
    for name, extract in PATHS.items():
        passed = dict.fromkeys(CHECKS, 0)
        whole, failures, seconds = 0, [], 0.0
        extract("<html><body><p>warm up</p></body></html>")  # imports and first-call setup are not per page
        for expected in expectations:
            html = (folder / expected["file"]).read_text(encoding="utf-8")
            started = time.perf_counter()
            found = extract(html)
            seconds += time.perf_counter() - started
            checks = check(found, expected)
            for key, ok in checks.items():
                passed[key] += ok
            whole += all(checks.values())
            failures += [f"{expected['file']}: {key}" for key, ok in checks.items() if not ok]
        results[name] = {"passed": passed, "all": whole, "failures": failures,
                         "ms_per_page": 1000 * seconds / len(expectations)}
    return {"pages": len(expectations), "paths": results}


def report(result: dict) -> str:
    """The markdown section."""
    n = result["pages"]
    lines = ["## HTML extraction: built-in rules vs trafilatura", "",
             f"`python -m bot.bench.extraction` on {n} news-style pages (tests/data/news_pages: French and "
             "English; menus, cookie banners, related links, comments, paywalls, footers; dates in meta tags, "
             "JSON-LD, `<time>`, itemprop or only in a dateline), each with hand-written expectations. "
             f"Machine: {machine()}.", "",
             "| path | title | date | body start | body end | no furniture | all checks | ms/page |",
             "|---|---|---|---|---|---|---|---|"]
    for name, r in result["paths"].items():
        p = r["passed"]
        lines.append(f"| {name} | {p['title']}/{n} | {p['date']}/{n} | {p['first']}/{n} | {p['last']}/{n} | "
                     f"{p['no_furniture']}/{n} | {r['all']}/{n} | {r['ms_per_page']:.1f} |")
    for name, r in result["paths"].items():
        shown = ", ".join(r["failures"][:40]) or "none"
        lines += ["", f"Failed checks, {name}: {shown}."]
    return "\n".join(lines)


def main() -> None:
    """Command line: the pages folder (default: the test fixtures)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, default=PAGES)
    args = parser.parse_args()
    text = report(measure(args.folder))
    print(text)
    write_section("extraction", text)


if __name__ == "__main__":
    main()
