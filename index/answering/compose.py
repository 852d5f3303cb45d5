"""Turning retrieved passages into an answer: quotes, or an honest "not covered", with dates.

``compose_answer`` is the engine's last step before rendering: it picks verbatim quotes
(``index.answering.quotes``), lets the calibrated model in ``index.answering.abstention`` decide whether they
answer, and states how current the evidence is. It reads the question as the engine analysed it once
(``index.question.Question``): a follow-up arrives already completed from the conversation.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from index.answering import abstention
from index.answering.candidates import QueryEncoder, passage_support
from index.answering.quotes import RankedQuote, rank_quotes
from index.answering.verifier import SentenceVerifier
from index.models import Answer, Hit, RelatedArticle
from index.question import Question, as_question, freshness

logger = logging.getLogger(__name__)

MAX_RELATED = 3
STALE_AFTER_DAYS = 30  # a "latest news" answer whose newest quote is older than this says so
# An abstention is partial (the archive covers the topic, not the fact) when the passages found hold every name and
# number the question mentions and at least this share of its content words (the share that makes a headline
# lookup trust what it found).
PARTIAL_COVERAGE = 0.5
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
# Log-odds added to a quote from the newest retrieved article for a "latest" question, halving for every
# RECENCY_HALF_LIFE_DAYS it is older than the newest. Retrieval's own preference (``RetrievalSettings``) is a
# smaller score bonus that halves more slowly: it only has to bring recent passages among the hits, this one
# decides which of them is quoted first.
RECENCY_BONUS = 2.0
RECENCY_HALF_LIFE_DAYS = 14.0


@dataclass(frozen=True)
class Deliberation:
    """What the answer is made from: the question, the ranked quotes and the abstention signals."""

    question: Question
    ranked: tuple[RankedQuote, ...]
    signals: abstention.AbstentionSignals


def deliberate(
    question: str | Question,
    hits: Sequence[Hit],
    bodies: Mapping[str, str],
    *,
    embedder: QueryEncoder,
    verifier: SentenceVerifier | None = None,
) -> Deliberation:
    """Rank the quotes for ``question`` and measure the signals the abstention decision reads (``verifier``,
    if given, re-reads the best sentences with the question; see ``index.answering.verifier``)."""
    question = as_question(question)
    bonus = _recency_bonus(hits) if question.latest else None
    support = passage_support(question, hits)
    ranked = rank_quotes(
        question, hits, bodies, embedder=embedder, article_bonus=bonus, verifier=verifier, support=support
    )
    return Deliberation(question, tuple(ranked), abstention.signals(question, hits, ranked, support, bodies))


def conclude(hits: Sequence[Hit], deliberation: Deliberation, *, answer: bool, now: datetime) -> Answer:
    """The answer: the quotes with their date and staleness note, or (``answer`` false) the nearest articles."""
    question = deliberation.question
    asked = {"question": question.text, "query": question.query, "filters": question.filters}
    if not answer or not deliberation.ranked:
        return _abstention(asked, question, hits, deliberation.signals)
    quotes = tuple(r.quote for r in deliberation.ranked)
    newest = max((d for q in quotes if (d := parse_date(q.published_at)) is not None), default=None)
    notes: list[str] = []
    if question.latest and newest is not None and (now - newest).days > STALE_AFTER_DAYS:
        notes.append(
            f"The newest article quoted here is from {format_date(newest)}, {(now - newest).days} days ago; "
            "the archive may hold nothing more recent on this."
        )
    return Answer(
        **asked,
        abstained=False,
        quotes=quotes,
        as_of=newest.date().isoformat() if newest else None,
        notes=tuple(notes),
    )


def compose_answer(
    question: str | Question,
    hits: Sequence[Hit],
    bodies: Mapping[str, str],
    *,
    embedder: QueryEncoder,
    now: datetime | None = None,
    verifier: SentenceVerifier | None = None,
) -> Answer:
    """Quotes that answer ``question`` from ``hits`` (their articles' bodies in ``bodies``), or an abstention.

    ``hits`` should come from searching ``question.query``; ``now`` is the time staleness is judged against
    (default: the current time).
    """
    deliberation = deliberate(question, hits, bodies, embedder=embedder, verifier=verifier)
    answer = abstention.should_answer(deliberation.signals)
    if not answer:
        logger.debug("abstaining on %r: %s", deliberation.question.query, deliberation.signals)
    return conclude(hits, deliberation, answer=answer, now=now or datetime.now(UTC))


def parse_date(value: str | None) -> datetime | None:
    """An ISO 8601 date or datetime as a timezone-aware datetime (UTC when the value has no zone)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_date(value: datetime) -> str:
    """A date as people write it: ``12 Nov 2023``."""
    return f"{value.day} {value:%b %Y}"


def _recency_bonus(hits: Sequence[Hit]) -> dict[str, float]:
    dates = {h.article_id: d for h in hits if (d := parse_date(h.published_at)) is not None}
    if not dates:
        return {}
    newest = max(dates.values())
    return {
        article_id: RECENCY_BONUS * freshness((newest - d).total_seconds() / 86400, RECENCY_HALF_LIFE_DAYS)
        for article_id, d in dates.items()
    }


def _abstention(asked: dict, question: Question, hits: Sequence[Hit], signals: abstention.AbstentionSignals) -> Answer:
    """Not answered: the nearest articles, and whether the archive covers the topic (the passages found hold the
    question's names and most of its words) so that the reply can say it has the subject but not the fact; a question
    about a year after every article found says where the archive's coverage ends."""
    partial = bool(hits) and signals.names >= 1.0 and signals.coverage >= PARTIAL_COVERAGE
    notes = []
    newest = max((d for h in hits if (d := parse_date(h.published_at)) is not None), default=None)
    if newest is not None and any(int(year) > newest.year for year in _YEAR.findall(question.text)):
        notes.append(f"The archive's coverage of this ends on {format_date(newest)}.")
    return Answer(
        **asked,
        abstained=True,
        related=_related(hits),
        notes=tuple(notes),
        partial=partial,
        topic=hits[0].title if partial else None,
    )


def _related(hits: Sequence[Hit]) -> tuple[RelatedArticle, ...]:
    related: dict[str, RelatedArticle] = {}
    for hit in hits:
        if hit.article_id not in related and len(related) < MAX_RELATED:
            related[hit.article_id] = RelatedArticle(
                hit.article_id, hit.title, hit.url, hit.source, hit.published_at, hit.score
            )
    return tuple(related.values())
