"""Human-readable text for the terminal."""

from __future__ import annotations

import textwrap

from index.models import IndexReport, SearchResult, display_path

_PREVIEW = 320


def index_report(report: IndexReport) -> str:
    """A short summary of an index run."""
    lines = [
        f"Indexed {report.articles} articles ({report.chunks} chunks) in {report.seconds:.1f} s: "
        f"{report.added} added, {report.updated} updated, {report.removed} removed, "
        f"{report.unchanged} unchanged; {report.embedded_chunks} chunks embedded."
    ]
    for skipped in report.skipped:
        lines.append(f"  skipped {display_path(skipped.path)}: {skipped.reason}")
    return "\n".join(lines)


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    if len(flat) > _PREVIEW:
        flat = flat[:_PREVIEW].rsplit(" ", 1)[0] + " …"
    return textwrap.fill(flat, width=100, initial_indent="   ", subsequent_indent="   ")


def search_text(result: SearchResult) -> str:
    """Ranked passages with their source and offsets."""
    if not result.hits:
        return "No passage found."
    blocks = []
    for hit in result.hits:
        c = hit.chunk
        blocks.append(f"{hit.rank}. {c.title} — {c.source} [{c.start}:{c.end}] (score {hit.score:.2f})\n"
                      f"{_preview(c.text)}")
    return "\n\n".join(blocks)


def answer_text(answer) -> str:
    """The answer with [n] markers, then its sources with the verified quotes."""
    from bot.language import message

    lines = [textwrap.fill(answer.text, width=100)]
    if answer.citations:
        lines += ["", message(answer.language, "sources")]
        for c in answer.citations:
            lines.append(f"[{c.n}] {c.title} — {c.source} — “{c.quote}”")
    if answer.mode == "extractive" and not answer.abstained:
        lines += ["", f"({message(answer.language, 'label_extractive')})"]
    return "\n".join(lines)


def eval_table(metrics: dict) -> str:
    """Metrics as an aligned two-column table."""
    width = max(len(k) for k in metrics)
    rows = [f"{name.ljust(width)}  {'—' if value is None else value}" for name, value in metrics.items()]
    return "\n".join(rows)
