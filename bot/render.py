"""Discord's skin over ``index.present``: Markdown escaping and every Discord size limit, in one place.

What an answer, a citation or a date says is decided by ``index.present``; this module only escapes it
and makes it fit. Lengths are counted in UTF-16 code units (what Discord counts, and never fewer than code
points); text is cut only between grapheme clusters (the ``regex`` module's ``\\X``: never inside a
surrogate pair, combining sequence, flag or emoji sequence, nor just after a zero-width joiner) and quotes
are shortened only at sentence boundaries, with an ellipsis.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import discord
import regex

from bot.escape import escape, safe_url
from index.gaps import Digest, Gap
from index.models import Answer, ArchiveStats, Article, Hit, IndexReport, IngestReport
from index.present import (
    ABSTENTION,
    ELLIPSIS,
    NEAREST_HEADING,
    UNTITLED,
    PresentedAnswer,
    QuoteBlock,
    Source,
    cite,
    format_date,
    one_line,
    present_answer,
)

CONTENT_MAX = 2000
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
EMBED_FIELD_NAME_MAX = 256
EMBED_FIELD_VALUE_MAX = 1024
EMBED_FIELDS_MAX = 25
EMBED_FOOTER_MAX = 2048
EMBED_AUTHOR_MAX = 256
EMBEDS_MAX = 10
EMBED_TOTAL_MAX = 6000
BUTTON_LABEL_MAX = 80
SELECT_LABEL_MAX = 100
CHOICE_MAX = 100
CHOICES_MAX = 25
THREAD_NAME_MAX = 100
URL_MAX = 2048

QUOTES_PER_PAGE = 3
HITS_PER_PAGE = 5
COLOUR = discord.Colour(0x2B6CB0)
ABSTAIN_COLOUR = discord.Colour(0x718096)
PARTIAL_COLOUR = discord.Colour(0xD69E2E)  # the archive has the topic, not the fact asked

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+")
_GRAPHEME = regex.compile(r"\X")
_ZWJ = "\u200d"


# ---------------------------------------------------------------- lengths and cuts


def length(text: str) -> int:
    """Length as Discord counts it (UTF-16 code units)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _safe_cut(text: str, index: int) -> int:
    """The last safe cut at or before ``index``: a grapheme boundary not just after a zero-width joiner."""
    if index >= len(text):
        return len(text)
    cut = 0
    for match in _GRAPHEME.finditer(text):
        if match.end() > index:
            break
        if not match.group().endswith(_ZWJ):
            cut = match.end()
    return cut


def _prefix_within(text: str, limit: int) -> int:
    """The largest safe cut i with length(text[:i]) <= limit."""
    units = 0
    cut = 0
    for match in _GRAPHEME.finditer(text):
        units += length(match.group())
        if units > limit:
            break
        if not match.group().endswith(_ZWJ):
            cut = match.end()
    return cut


def clip(text: str, limit: int) -> str:
    """``text`` if it fits, else its longest whole-character prefix that fits with an ellipsis."""
    if length(text) <= limit:
        return text
    if limit <= 0:
        return ""
    return text[: _prefix_within(text, limit - 1)].rstrip() + ELLIPSIS


def _longest_fitting(text: str, fits: Callable[[str], bool]) -> int:
    """The largest safe cut ``i`` with ``fits(text[:i])``, for a ``fits`` that stays false once false.

    The search doubles a bound first, so a huge text costs about as much as the part of it that fits."""
    bound = 64
    while bound < len(text) and fits(text[:bound]):
        bound *= 2
    lo, hi = 0, min(bound, len(text))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(text[: _safe_cut(text, mid)]):
            lo = mid
        else:
            hi = mid - 1
    return _safe_cut(text, lo)


def clip_escaped(raw: str, limit: int) -> str:
    """Escape ``raw`` and make it fit: the raw text is cut before escaping, so no escape is split."""
    escaped = escape(raw)
    if length(escaped) <= limit:
        return escaped
    if limit <= 0:
        return ""
    cut = _longest_fitting(raw, lambda prefix: length(escape(prefix.rstrip())) + 1 <= limit)
    return escape(raw[:cut].rstrip()) + ELLIPSIS


def sentences(text: str) -> list[str]:
    """Split into sentences, each keeping its trailing whitespace so that ''.join() gives back the text."""
    pieces: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        pieces.append(text[start : match.end()])
        start = match.end()
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def shorten_quote(text: str, limit: int, measure: Callable[[str], int] = length) -> str:
    """Whole leading sentences of ``text`` that fit in ``limit`` (as measured), plus an ellipsis.

    Only when the first sentence alone is too long is it cut, at the last word boundary
    that fits (or, for a single overlong word, between whole characters).
    """
    if measure(text) <= limit:
        return text
    budget = limit - 1  # the ellipsis
    kept = ""
    for sentence in sentences(text):
        if measure(kept + sentence.rstrip()) > budget:
            break
        kept += sentence
    if kept.strip():
        return kept.rstrip() + ELLIPSIS
    kept = ""
    for number, word in enumerate(text.split(" ")):
        candidate = f"{kept} {word}" if number else word  # by position: a leading space is an empty first word
        if measure(candidate) > budget:
            break
        kept = candidate
    if kept.strip():
        return kept.rstrip() + ELLIPSIS
    return text[: _longest_fitting(text, lambda prefix: measure(prefix) <= budget)] + ELLIPSIS


def _escaped_length(text: str) -> int:
    return length(escape(text))


# ---------------------------------------------------------------- small formatters


def linked_line(
    prefix: str,
    title: str,
    url: str | None,
    details: Sequence[str | None],
    limit: int,
    *,
    plain_url: str | None = None,
) -> str:
    """``prefix [Headline](url) — details`` fitted into ``limit``. A deep link that leaves no room for the whole
    headline gives way to ``plain_url``; then the headline shrinks; then the link is dropped (a huge URL never
    pushes the line over)."""
    tail = ", ".join(d for d in details if d)
    tail_text = f" — {escape(tail)}" if tail else ""
    raw_title = one_line(title) or UNTITLED
    needed = _escaped_length(raw_title)
    links = [link for link in (safe_url(url), safe_url(plain_url)) if link is not None and length(link) <= URL_MAX]
    rooms = [(limit - length(prefix) - length(tail_text) - length(link) - 4, link) for link in links]
    fitting = [(room, link) for room, link in rooms if room >= needed]
    room, link = fitting[0] if fitting else max(rooms, default=(0, None), key=lambda pair: pair[0])
    if link is not None and room >= 10:
        return f"{prefix}[{clip_escaped(raw_title, room)}]({link}){tail_text}"
    room = limit - length(prefix) - length(tail_text)
    if room >= 10:
        return prefix + clip_escaped(raw_title, room) + tail_text
    return clip(prefix + clip_escaped(raw_title, max(limit // 2, 1)) + tail_text, limit)


def choice_label(text: str) -> str:
    """An autocomplete choice name or value (1..100 characters)."""
    return clip(one_line(text), CHOICE_MAX) or "?"


def thread_name(question: str) -> str:
    return clip(one_line(question), THREAD_NAME_MAX) or "Follow-up"


# ---------------------------------------------------------------- answers


def _source_line(prefix: str, cited: Source, limit: int) -> str:
    """A source line whose headline links to the quoted passage (or, when that is too long, the article)."""
    return linked_line(prefix, cited.title, cited.link, [cited.details], limit, plain_url=cited.url)


def _quote_block(block: QuoteBlock, budget: int) -> str:
    overhead = length(f"> “” [{block.source}]")
    shortened = shorten_quote(block.text, max(budget - overhead, 20), _escaped_length)
    return f"> “{escape(shortened)}” [{block.source}]"


def _footer(embed: discord.Embed, as_of: str | None, notes: Sequence[str]) -> None:
    footer = [f"As of {as_of}"] if as_of else []
    footer.extend(notes)
    if footer:
        embed.set_footer(text=clip(" · ".join(footer), 400))


def answer_embed(answer: Answer, start: int = 0, per_page: int = QUOTES_PER_PAGE) -> discord.Embed:
    """The reply to a question: quotes with [n] markers, a Sources field naming each article once, the "as of"
    date. ``start`` pages through the quotes; the sources listed are those the page's quotes cite."""
    shown = present_answer(answer)
    if shown.abstained:
        return abstention_embed(shown)
    blocks = shown.blocks[start : start + per_page]
    embed = discord.Embed(title=clip_escaped(shown.question, EMBED_TITLE_MAX), colour=COLOUR)
    parts: list[str] = []
    if shown.summary and start == 0:
        parts.append(clip_escaped(shown.summary, 800))
    used = sum(length(p) + 2 for p in parts)
    per_quote = min((EMBED_DESCRIPTION_MAX - 100 - used) // max(len(blocks), 1), 1200)
    parts.extend(_quote_block(block, per_quote) for block in blocks)
    embed.description = "\n\n".join(parts)
    cited = [shown.sources[n - 1] for n in sorted({block.source for block in blocks})]
    line_budget = EMBED_FIELD_VALUE_MAX // max(len(cited), 1) - 1
    lines = [_source_line(f"[{c.number}] ", c, line_budget) for c in cited]
    embed.add_field(name="Sources", value="\n".join(lines), inline=False)
    _footer(embed, shown.as_of, shown.notes)
    return fit_embed(embed)


def abstention_embed(shown: PresentedAnswer) -> discord.Embed:
    colour = PARTIAL_COLOUR if shown.partial else ABSTAIN_COLOUR
    embed = discord.Embed(title=clip_escaped(shown.question, EMBED_TITLE_MAX), colour=colour)
    text = escape(shown.opening or ABSTENTION)
    if shown.related:
        budget = min((EMBED_DESCRIPTION_MAX - 300) // len(shown.related), 600)
        lines = [linked_line("• ", r.title, r.url, [r.details], budget) for r in shown.related]
        text += f"\n\n**{NEAREST_HEADING}**\n" + "\n".join(lines)
    embed.description = text
    _footer(embed, None, shown.notes)
    return fit_embed(embed)


def more_hits_embed(question: str, hits: Sequence[Hit], first_number: int) -> discord.Embed:
    """Further sources for a question when the answer has no more quotes."""
    embed = discord.Embed(title=clip(f"More sources: {escape(one_line(question))}", EMBED_TITLE_MAX), colour=COLOUR)
    embed.description = _hit_lines(hits, first_number) if hits else "No further sources in the archive."
    return fit_embed(embed)


# ---------------------------------------------------------------- browse


def _hit_lines(hits: Sequence[Hit], first_number: int) -> str:
    budget = (EMBED_DESCRIPTION_MAX - 50) // max(len(hits), 1)
    blocks = []
    for number, hit in enumerate(hits, start=first_number):
        found = cite(hit, number)
        head = linked_line(f"**{number}.** ", found.title, found.url, [found.details], min(budget // 2, 500))
        snippet = shorten_quote(one_line(hit.text), min(budget // 2, 300) - 4, _escaped_length)
        blocks.append(f"{head}\n> {escape(snippet)}")
    return "\n".join(blocks)


def search_embed(query: str, hits: Sequence[Hit], page: int, per_page: int = HITS_PER_PAGE) -> discord.Embed:
    pages = max(1, -(-len(hits) // per_page))
    page = min(max(page, 0), pages - 1)
    shown = hits[page * per_page : (page + 1) * per_page]
    embed = discord.Embed(title=clip_escaped(f"Search: {one_line(query)}", EMBED_TITLE_MAX), colour=COLOUR)
    embed.description = _hit_lines(shown, page * per_page + 1) if shown else "Nothing in the archive matches."
    if hits:
        embed.set_footer(text=f"Page {page + 1} of {pages} · {len(hits)} results")
    return fit_embed(embed)


def recent_embed(articles: Sequence[Article], category: str | None, source: str | None) -> discord.Embed:
    scope = ", ".join(one_line(x) for x in (category, source) if x)
    title = f"Newest articles ({scope})" if scope else "Newest articles"
    embed = discord.Embed(title=clip_escaped(title, EMBED_TITLE_MAX), colour=COLOUR)
    if not articles:
        embed.description = "No articles match."
        return fit_embed(embed)
    budget = min((EMBED_DESCRIPTION_MAX - 50) // len(articles), 400)
    cited = [cite(a) for a in articles]
    lines = [linked_line(f"`{c.date or 'undated'}` ", c.title, c.url, [c.byline], budget) for c in cited]
    embed.description = "\n".join(lines)
    return fit_embed(embed)


def article_embed(article: Article) -> discord.Embed:
    card = cite(article)
    url = safe_url(card.url)
    embed = discord.Embed(
        title=clip_escaped(card.title, EMBED_TITLE_MAX),
        url=url if url and length(url) <= URL_MAX else None,
        colour=COLOUR,
    )
    teaser = shorten_quote(one_line(article.body), 600, _escaped_length)
    embed.description = escape(teaser) if teaser else "(no text)"
    for name, value in (
        ("Published", card.date),
        ("Author", one_line(article.author)),
        ("Source", one_line(article.source)),
        ("Category", one_line(article.category)),
    ):
        if value:
            embed.add_field(name=name, value=clip_escaped(value, 200), inline=True)
    embed.set_footer(text=clip(f"Article {one_line(article.id)}", 200))
    return fit_embed(embed)


def stats_embed(stats: ArchiveStats) -> discord.Embed:
    embed = discord.Embed(title="Archive statistics", colour=COLOUR)
    rows = (
        ("Articles", f"{stats.articles:,}"),
        ("Passages", f"{stats.chunks:,}"),
        ("Vectors", f"{stats.vectors:,}"),
        ("Sources", f"{stats.sources:,}"),
        ("Categories", f"{stats.categories:,}"),
        ("Newest article", format_date(stats.newest_published_at) or "—"),
        ("Last ingest", format_date(stats.last_ingested_at) or "never"),
        ("Last index", format_date(stats.last_indexed_at) or "never"),
        ("Index generation", "—" if stats.index_generation is None else str(stats.index_generation)),
        ("Model", escape(one_line(stats.model_name))),
    )
    for name, value in rows:
        embed.add_field(name=name, value=clip(value, 200), inline=True)
    return fit_embed(embed)


HELP_TEXT = (
    "I answer questions from this community's news archive with **verbatim quotes** and their sources. "
    "Nothing between quote marks is invented: each quote is exactly what the article says.\n\n"
    "**/ask** `question` — ask; optional filters `after`, `before` (YYYY-MM-DD), `source`, `category`, "
    "and `only_me` to keep the answer private. You can also mention me with a question, or send me a DM.\n"
    "**/search** `query` — matching articles with a snippet each, paged with buttons.\n"
    "**/recent** `[count] [category] [source]` — the newest articles.\n"
    "**/article** `headline or url` — one article's card.\n"
    "**/stats** — archive size, last index time, index generation and model.\n\n"
    "Under an answer: **More sources** shows further quotes (for the asker), 👍 / 👎 tell us how it went, "
    "and **Follow up** opens a thread where plain messages are follow-up questions.\n\n"
    "Moderators: **/reindex** `[full]` rebuilds the search index in the background with a progress message; "
    "**/ingest** `file` adds articles from an attached file; **/gaps** `[since]` lists what members here asked "
    "that the archive could not answer, grouped by topic."
)


def help_embed() -> discord.Embed:
    return fit_embed(discord.Embed(title="Archivist — help", description=HELP_TEXT, colour=COLOUR))


# ---------------------------------------------------------------- moderation


def progress_text(stage: str, done: int, total: int, *, full: bool) -> str:
    kind = "Full re-index" if full else "Re-index"
    if total <= 0:
        return clip(f"⏳ {kind}: {escape(one_line(stage))}…", CONTENT_MAX)
    percent = min(100, int(100 * done / total))
    filled = percent // 5
    bar = "█" * filled + "░" * (20 - filled)
    return clip(f"⏳ {kind}: {escape(one_line(stage))} {bar} {percent}% ({done:,}/{total:,})", CONTENT_MAX)


def reindex_summary(report: IndexReport, *, full: bool) -> str:
    kind = "Full re-index" if full else "Re-index"
    return clip(
        f"✅ {kind} finished in {report.seconds:.1f} s: {report.embedded:,} passages and "
        f"{report.sentences_embedded:,} sentences embedded, {report.removed:,} removed, "
        f"{report.total_vectors:,} vectors in total, index generation {report.generation}.",
        CONTENT_MAX,
    )


def ingest_index_note(report: IndexReport) -> str:
    return (
        f"Searchable now: {report.embedded:,} passages embedded, {report.total_vectors:,} vectors in total, "
        f"index generation {report.generation}."
    )


def ingest_summary(filename: str, report: IngestReport) -> str:
    head = (
        f"Ingested {escape(one_line(filename))}: {report.added} added, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.duplicates} duplicates"
    )
    if report.pruned:
        head += f", {report.pruned} pruned"
    lines = [head + "."]
    for label, problems in (("Skipped", report.skipped), ("Failed", report.failed), ("Note", report.notes)):
        for problem in problems[:5]:
            lines.append(f"{label}: {escape(one_line(problem.origin))} — {escape(one_line(problem.reason))}")
        if len(problems) > 5:
            lines.append(f"{label}: {len(problems) - 5} more.")
    return fit_content("\n".join(lines))


# ---------------------------------------------------------------- final guards


def fit_content(text: str | None) -> str | None:
    if text is None:
        return None
    return clip(text, CONTENT_MAX)


def embed_length(embed: discord.Embed) -> int:
    total = length(embed.title or "") + length(embed.description or "")
    total += length(embed.footer.text or "") if embed.footer else 0
    total += length(embed.author.name or "") if embed.author else 0
    total += sum(length(f.name or "") + length(f.value or "") for f in embed.fields)
    return total


def fit_embed(embed: discord.Embed, total_max: int = EMBED_TOTAL_MAX) -> discord.Embed:
    """Bring one embed within every per-embed limit and within ``total_max`` characters."""
    if embed.title:
        embed.title = clip(embed.title, EMBED_TITLE_MAX)
    if embed.description:
        embed.description = clip(embed.description, EMBED_DESCRIPTION_MAX)
    if embed.footer and embed.footer.text:
        embed.set_footer(text=clip(embed.footer.text, EMBED_FOOTER_MAX), icon_url=embed.footer.icon_url)
    if embed.author and embed.author.name:
        embed.set_author(name=clip(embed.author.name, EMBED_AUTHOR_MAX), url=embed.author.url)
    fields = [
        (clip(f.name or "\u200b", EMBED_FIELD_NAME_MAX), clip(f.value or "\u200b", EMBED_FIELD_VALUE_MAX), f.inline)
        for f in embed.fields[:EMBED_FIELDS_MAX]
    ]
    embed.clear_fields()
    for name, value, inline in fields:
        embed.add_field(name=name, value=value, inline=inline)
    while embed_length(embed) > total_max and embed.fields:
        embed.remove_field(len(embed.fields) - 1)
    excess = embed_length(embed) - total_max
    if excess > 0 and embed.description:
        embed.description = clip(embed.description, max(length(embed.description) - excess, 1))
    excess = embed_length(embed) - total_max
    if excess > 0 and embed.footer and embed.footer.text:
        embed.remove_footer()
    return embed


def fit_embeds(embeds: Sequence[discord.Embed]) -> list[discord.Embed]:
    """At most 10 embeds whose combined length stays within 6,000 characters."""
    kept: list[discord.Embed] = []
    remaining = EMBED_TOTAL_MAX
    for embed in list(embeds)[:EMBEDS_MAX]:
        if remaining < 50:
            break
        fitted = fit_embed(embed, remaining)
        remaining -= embed_length(fitted)
        kept.append(fitted)
    return kept


GAPS_SHOWN = 8  # at most 8 × (150 + 40 + 2 × 120) characters: inside one embed description


def gaps_embed(gaps: Sequence[Gap], since: str | None) -> discord.Embed:
    """The questions the archive could not answer, grouped by topic, with the nearest articles (for moderators)."""
    title = "What the archive could not answer" + (f" since {one_line(since)}" if since else "")
    embed = discord.Embed(title=clip_escaped(title, EMBED_TITLE_MAX), colour=ABSTAIN_COLOUR)
    if not gaps:
        embed.description = "No question here was abstained on or voted down."
        return fit_embed(embed)
    blocks = []
    for gap in gaps[:GAPS_SHOWN]:
        counts = f"asked {gap.count}×, abstained {gap.abstained}, 👎 {gap.down_votes}"
        lines = [f"**{clip_escaped(one_line(gap.label), 150)}** — {counts}"]
        lines += [linked_line("nearest: ", a.title, a.url, [], 120) for a in gap.nearest[:2]]
        blocks.append("\n".join(lines))
    embed.description = "\n\n".join(blocks)
    if len(gaps) > GAPS_SHOWN:
        embed.set_footer(text=f"{len(gaps) - GAPS_SHOWN} more groups: `archivist gaps` lists them all")
    return fit_embed(embed)


def digest_text(digest: Digest) -> str:
    """The periodic feedback digest: the top gaps and the 👎 reasons since the previous one."""
    lines = [f"📋 **Feedback since {format_date(digest.since)}**"]
    if digest.gaps:
        lines.append("What the archive could not answer:")
        lines += [
            f"• {clip_escaped(one_line(gap.label), 150)} — asked {gap.count}×, 👎 {gap.down_votes}"
            for gap in digest.gaps
        ]
    else:
        lines.append("No question was abstained on or voted down.")
    if digest.reasons:
        lines.append("👎 reasons: " + ", ".join(f"{escape(reason)} ({n})" for reason, n in digest.reasons))
    return fit_content("\n".join(lines))
