"""Plain-text rendering of answers, hits and articles for the terminal, shaped like the bot's replies."""

from __future__ import annotations

import textwrap
from datetime import datetime

from index.models import Answer, ArchiveStats, Article, Hit, IngestReport


def human_date(value: str | None) -> str:
    """'2023-11-12T08:00:00+00:00' → '12 Nov 2023'; unknown → ''."""
    if not value:
        return ""
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).strftime("%-d %b %Y")
    except ValueError:
        return value[:10]


def byline(source: str | None, author: str | None, published_at: str | None) -> str:
    who = " / ".join(part for part in (source, author) if part)
    when = human_date(published_at)
    return ", ".join(part for part in (who, when) if part)


def render_answer(answer: Answer, width: int = 100) -> str:
    lines: list[str] = []
    if answer.abstained:
        lines.append("The archive does not cover this question.")
        if answer.related:
            lines.append("")
            lines.append("Nearest articles:")
            for item in answer.related:
                meta = byline(item.source, None, item.published_at)
                lines.append(f"  • {item.title}" + (f" — {meta}" if meta else ""))
                if item.url:
                    lines.append(f"    {item.url}")
        return "\n".join(lines)
    if answer.summary:
        lines.extend(textwrap.wrap(answer.summary, width))
        lines.append("")
    for number, quote in enumerate(answer.quotes, start=1):
        wrapped = textwrap.wrap(f"“{quote.text}” [{number}]", width - 2)
        lines.extend(f"> {line}" for line in wrapped)
        lines.append("")
    lines.append("Sources:")
    for number, quote in enumerate(answer.quotes, start=1):
        meta = byline(quote.source, quote.author, quote.published_at)
        lines.append(f"[{number}] {quote.title}" + (f" — {meta}" if meta else ""))
        if quote.link:
            lines.append(f"    {quote.link}")
    for note in answer.notes:
        lines.append(note)
    if answer.as_of:
        lines.append(f"As of {human_date(answer.as_of)}.")
    return "\n".join(lines)


def render_hits(hits: list[Hit], width: int = 100) -> str:
    if not hits:
        return "No matching articles."
    lines = []
    for number, hit in enumerate(hits, start=1):
        meta = byline(hit.source, hit.author, hit.published_at)
        lines.append(f"{number:>2}. {hit.title}" + (f" — {meta}" if meta else "") + f"  (score {hit.score:.3f})")
        snippet = " ".join(hit.text.split())
        lines.append("    " + textwrap.shorten(snippet, width - 4, placeholder=" …"))
        if hit.url:
            lines.append(f"    {hit.url}")
    return "\n".join(lines)


def render_article_line(article: Article) -> str:
    meta = byline(article.source, article.author, article.published_at)
    return f"{article.id}  {article.title}" + (f" — {meta}" if meta else "")


def render_article(article: Article) -> str:
    header = [article.title, byline(article.source, article.author, article.published_at)]
    if article.url:
        header.append(article.url)
    header.append(f"id {article.id} · from {article.origin}")
    return "\n".join(line for line in header if line) + "\n\n" + article.body


def render_ingest(report: IngestReport) -> str:
    lines = [
        f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
        f"duplicates {report.duplicates}, pruned {report.pruned}, "
        f"skipped {len(report.skipped)}, failed {len(report.failed)}"
    ]
    for problem in report.skipped:
        lines.append(f"  skipped {problem.origin}: {problem.reason}")
    for problem in report.failed:
        lines.append(f"  failed  {problem.origin}: {problem.reason}")
    for note in report.notes:
        lines.append(f"  note    {note.origin}: {note.reason}")
    return "\n".join(lines)


def render_stats(stats: ArchiveStats) -> str:
    rows = [
        ("articles", stats.articles),
        ("chunks", stats.chunks),
        ("vectors", stats.vectors),
        ("sources", stats.sources),
        ("categories", stats.categories),
        ("newest article", human_date(stats.newest_published_at) or "—"),
        ("last ingest", stats.last_ingested_at or "never"),
        ("last index", stats.last_indexed_at or "never"),
        ("index generation", stats.index_generation if stats.index_generation is not None else "none"),
        ("model", stats.model_name),
    ]
    return "\n".join(f"{name:<17} {value}" for name, value in rows)
