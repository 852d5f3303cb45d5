"""The terminal's skin over ``index.present``: the same answers, citations and dates as the bot's replies,
wrapped to a width. Every piece of stored text is shown without control characters (``index.present``), so an
article cannot retitle the terminal, plant a link or write the clipboard, whether stdout is a terminal or a pipe.
"""

from __future__ import annotations

import textwrap

from index.gaps import Gap
from index.models import Answer, ArchiveStats, Article, Hit, IngestReport
from index.present import ABSTENTION, NEAREST_HEADING, Source, cite, format_date, one_line, present_answer, printable
from index.store.readers import Vote


def _headline(prefix: str, cited: Source, details: str | None) -> str:
    return f"{prefix}{cited.title}" + (f" — {details}" if details else "")


def render_answer(answer: Answer, width: int = 100) -> str:
    shown = present_answer(answer)
    if shown.abstained:
        lines = textwrap.wrap(shown.opening or ABSTENTION, width)
        if shown.related:
            lines += ["", f"{NEAREST_HEADING}:"]
            for related in shown.related:
                lines.append(_headline("  • ", related, related.details))
                if related.url:
                    lines.append(f"    {related.url}")
        return "\n".join(lines + list(shown.notes))
    lines: list[str] = []
    if shown.summary:
        lines += [*textwrap.wrap(shown.summary, width), ""]
    for block in shown.blocks:
        lines += [f"> {line}" for line in textwrap.wrap(f"“{block.text}” [{block.source}]", width - 2)]
        lines.append("")
    lines.append("Sources:")
    for cited in shown.sources:
        lines.append(_headline(f"[{cited.number}] ", cited, cited.details))
        if cited.link:
            lines.append(f"    {cited.link}")
    lines += shown.notes
    if shown.as_of:
        lines.append(f"As of {shown.as_of}.")
    return "\n".join(lines)


def render_hits(hits: list[Hit], width: int = 100) -> str:
    if not hits:
        return "No matching articles."
    lines = []
    for number, hit in enumerate(hits, start=1):
        found = cite(hit, number)
        lines.append(_headline(f"{number:>2}. ", found, found.details) + f"  (score {hit.score:.3f})")
        lines.append("    " + textwrap.shorten(one_line(hit.text), width - 4, placeholder=" …"))
        if found.url:
            lines.append(f"    {found.url}")
    return "\n".join(lines)


def render_article_line(article: Article) -> str:
    card = cite(article)
    return _headline(f"{one_line(article.id)}  ", card, card.details)


def render_article(article: Article) -> str:
    card = cite(article)
    header = [card.title, card.details, card.url, f"id {one_line(article.id)} · from {one_line(article.origin)}"]
    return "\n".join(line for line in header if line) + "\n\n" + printable(article.body)


def render_ingest(report: IngestReport) -> str:
    lines = [
        f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
        f"duplicates {report.duplicates}, pruned {report.pruned}, "
        f"skipped {len(report.skipped)}, failed {len(report.failed)}"
    ]
    for label, problems in (("skipped", report.skipped), ("failed ", report.failed), ("note   ", report.notes)):
        lines += [f"  {label} {one_line(p.origin)}: {one_line(p.reason)}" for p in problems]
    return "\n".join(lines)


def render_stats(stats: ArchiveStats) -> str:
    rows = [
        ("articles", stats.articles),
        ("chunks", stats.chunks),
        ("vectors", stats.vectors),
        ("sources", stats.sources),
        ("categories", stats.categories),
        ("newest article", format_date(stats.newest_published_at) or "—"),
        ("last ingest", stats.last_ingested_at or "never"),
        ("last index", stats.last_indexed_at or "never"),
        ("index generation", stats.index_generation if stats.index_generation is not None else "none"),
        ("model", one_line(stats.model_name)),
    ]
    return "\n".join(f"{name:<17} {value}" for name, value in rows)


def render_gaps(gaps: list[Gap]) -> str:
    if not gaps:
        return "No unanswered or down-voted questions in the question log."
    lines = []
    for gap in gaps:
        asked = "once" if gap.count == 1 else f"{gap.count} times"
        lines.append(
            f"• {one_line(gap.label)}  — asked {asked}, abstained {gap.abstained}, 👎 {gap.down_votes}, "
            f"last {format_date(gap.last_asked)}"
        )
        lines += [f"    also: {one_line(q)}" for q in dict.fromkeys(gap.questions) if q != gap.label]
        lines += [f"    nearest: {one_line(a.title)}" + (f"  {one_line(a.url)}" if a.url else "") for a in gap.nearest]
    return "\n".join(lines)


def render_votes(votes: list[Vote]) -> str:
    if not votes:
        return "No votes yet."
    helpful = sum(v.vote > 0 for v in votes)
    lines = [f"👍 {helpful}  👎 {len(votes) - helpful}"]
    for vote in votes:
        mark = "👍" if vote.vote > 0 else "👎"
        reason = f" {one_line(vote.reason)}" if vote.reason else ""
        question = f" — “{one_line(vote.question)}”" if vote.question else ""
        lines.append(f"{format_date(vote.voted_at)} {mark}{reason}{question}")
    return "\n".join(lines)
