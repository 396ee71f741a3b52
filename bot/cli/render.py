"""Human-readable text for the terminal."""

from __future__ import annotations

import textwrap

from index.records import IndexReport, SearchResult, display_path
from index.secrets import redact

_PREVIEW = 320


def index_report(report: IndexReport) -> str:
    """A short summary of an index run."""
    lines = [
        f"Indexed {report.articles} articles ({report.chunks} chunks) in {report.seconds:.1f} s: "
        f"{report.added} added, {report.updated} updated, {report.removed} removed, "
        f"{report.unchanged} unchanged; {report.embedded_chunks} chunks embedded."
    ]
    for skipped in report.skipped:
        lines.append(f"  skipped {display_path(skipped.path)}: {redact(skipped.reason)}")
    return "\n".join(lines)


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    if len(flat) > _PREVIEW:
        flat = flat[:_PREVIEW].rsplit(" ", 1)[0] + " …"
    return textwrap.fill(flat, width=100, initial_indent="   ", subsequent_indent="   ")


def _dated(title: str, date: str | None) -> str:
    """A title followed by its article's date, when known."""
    return f"{title} — {date}" if date else title


def search_text(result: SearchResult) -> str:
    """Ranked passages with their source, date and offsets (under the period searched, if any)."""
    from bot.answer.dates import no_article, period_line

    if not result.hits:
        return no_article(result.period, "en") if result.period else "No passage found."
    blocks = [period_line(result.period, "en")] if result.period else []
    for hit in result.hits:
        c = hit.chunk
        blocks.append(f"{hit.rank}. {_dated(c.title, c.date)} — {c.source} [{c.start}:{c.end}] "
                      f"(score {hit.score:.2f})\n{_preview(c.text)}")
    return "\n\n".join(blocks)


def answer_lines(answer) -> list[str]:
    """What the answer says, line by line: the direct answer first, then the statements or quotes."""
    from bot.answer.language import message

    quoted = answer.mode == "extractive" or answer.fallback
    if answer.abstained or (answer.direct is None and quoted):
        return [answer.text]  # an abstention, or best sentences under their lead-in
    head = [answer.direct.text] if answer.direct else []
    rest = [s.display for s in answer.statements]
    if head and rest and quoted:
        rest = [message(answer.language, "also")] + rest
    return head + rest


def answer_text(answer, shown: int = 0) -> str:
    """The answer with [n] markers, then its sources: each verified quote with its offsets in the file.

    `shown`: lines already printed as they arrived (streaming); they are not repeated.
    """
    from bot.answer.dates import period_line
    from bot.answer.language import message

    lines = [textwrap.fill(line, width=100) for line in answer_lines(answer)[shown:]]
    if answer.period is not None and answer.hits:  # without hits the answer itself names the period
        lines += ["", period_line(answer.period, answer.language)]
    if answer.citations:
        lines += ["", message(answer.language, "sources")]
        for c in answer.citations:
            lines.append(f"[{c.n}] {_dated(c.title, c.date)} — {c.source} [{c.start}:{c.end}] — “{c.quote}”")
    if (answer.mode == "extractive" or answer.fallback) and not answer.abstained:
        lines += ["", f"({message(answer.language, 'label_extractive')})"]
    if answer.stale:
        lines += ["", answer.stale_note]
    return "\n".join(lines)


class StatementPrinter:
    """Prints each verified statement the moment the pipeline hands it over (Answerer.ask's on_statement)."""

    def __init__(self, echo) -> None:
        self.echo = echo
        self.shown = 0

    def __call__(self, statement, citations=()) -> None:
        self.echo(textwrap.fill(statement.display, width=100))
        self.shown += 1

    def rest(self, answer) -> str:
        """What is left to print once the answer is complete."""
        return answer_text(answer, self.shown)


def eval_table(metrics: dict) -> str:
    """Metrics as an aligned two-column table."""
    width = max(len(k) for k in metrics)
    rows = [f"{name.ljust(width)}  {'—' if value is None else value}" for name, value in metrics.items()]
    return "\n".join(rows)
