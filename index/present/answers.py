"""What an answer shows, decided once for the Discord bot and the terminal.

``present_answer`` numbers the articles an answer quotes in the order their first quote appears, so each
article has one source line ("[1] Headline — Outlet / Author, 12 Nov 2023") and every quote from it cites
the same number; the quotes keep their rank order. The skins only lay this out: the bot escapes Markdown
and fits Discord's limits, the terminal wraps lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.models import Answer, Article, Hit, Quote, RelatedArticle
from index.present.text import byline, display_text, format_date, one_line

ABSTENTION = "The archive does not cover this question."
PARTIAL = "The archive covers {topic}, but none of its articles says what you asked."
NEAREST_HEADING = "Nearest articles"
UNTITLED = "(untitled)"

_MARKER = re.compile(r"\[(\d+)\]")
_REPEATED_MARKER = re.compile(r"(\[\d+\])(?:\1)+")


@dataclass(frozen=True)
class Source:
    """One article as a citation: its number (0 when unnumbered) and the printable parts of its line."""

    number: int
    article_id: str
    title: str
    url: str | None  # the article's address
    link: str | None  # an address that opens it at the quoted passage, when there is one
    byline: str | None
    date: str | None

    @property
    def details(self) -> str | None:
        """``Outlet / Author, 12 Nov 2023`` (whatever of it is known)."""
        return ", ".join(part for part in (self.byline, self.date) if part) or None


@dataclass(frozen=True)
class QuoteBlock:
    """One quote as shown: its display text and the number of the source it cites."""

    text: str
    source: int


@dataclass(frozen=True)
class PresentedAnswer:
    question: str
    abstained: bool
    opening: str | None  # the sentence an abstention opens with: not covered, or covered without the fact asked
    summary: str | None
    blocks: tuple[QuoteBlock, ...]
    sources: tuple[Source, ...]  # sources[n - 1].number == n
    related: tuple[Source, ...]  # the nearest articles, when the archive does not cover the question
    notes: tuple[str, ...]
    as_of: str | None
    partial: bool = False  # the archive covers the topic but none of its articles says what was asked


def _address(url: str | None) -> str | None:
    return one_line(url) or None


def cite(item: Quote | Hit | RelatedArticle | Article, number: int = 0) -> Source:
    """The citation of whatever names an article: a quote, a search hit, a nearby or a stored article."""
    article_id = item.id if isinstance(item, Article) else item.article_id
    return Source(
        number=number,
        article_id=article_id,
        title=one_line(item.title) or UNTITLED,
        url=_address(item.url),
        link=_address(getattr(item, "link", None)) or _address(item.url),
        byline=byline(item.source, getattr(item, "author", None)),
        date=format_date(item.published_at),
    )


def _cite_sources(summary: str, numbers: tuple[int, ...]) -> str:
    """The summary with each ``[n]`` (the n-th quote) turned into its source's number, repeats merged."""

    def renumber(match: re.Match[str]) -> str:
        n = int(match.group(1))
        return f"[{numbers[n - 1]}]" if 1 <= n <= len(numbers) else match.group(0)

    return _REPEATED_MARKER.sub(r"\1", _MARKER.sub(renumber, summary))


def present_answer(answer: Answer) -> PresentedAnswer:
    question = one_line(answer.question)
    notes = tuple(note for note in (one_line(n) for n in answer.notes) if note)
    if answer.abstained or not answer.quotes:
        return PresentedAnswer(
            question=question,
            abstained=True,
            opening=PARTIAL.format(topic=f"“{one_line(answer.topic)}”")
            if answer.partial and answer.topic
            else ABSTENTION,
            summary=None,
            blocks=(),
            sources=(),
            related=tuple(cite(r) for r in answer.related),
            notes=notes,
            as_of=format_date(answer.as_of),
            partial=answer.partial,
        )
    numbers: dict[str, int] = {}
    sources: list[Source] = []
    for quote in answer.quotes:
        if quote.article_id not in numbers:
            numbers[quote.article_id] = len(sources) + 1
            sources.append(cite(quote, len(sources) + 1))
    cited = tuple(numbers[q.article_id] for q in answer.quotes)
    return PresentedAnswer(
        question=question,
        abstained=False,
        opening=None,
        summary=_cite_sources(one_line(answer.summary), cited) or None,
        blocks=tuple(QuoteBlock(display_text(q), n) for q, n in zip(answer.quotes, cited, strict=True)),
        sources=tuple(sources),
        related=(),
        notes=notes,
        as_of=format_date(answer.as_of),
    )
