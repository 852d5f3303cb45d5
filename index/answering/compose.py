"""Turning retrieved passages into an answer: quotes, or an honest "not covered", with dates.

``compose_answer`` is the engine's last step before rendering: it picks verbatim quotes
(``index.answering.quotes``), lets the calibrated model in ``index.answering.abstention`` decide whether they
answer, and states how current the evidence is. ``contextualize`` turns a short follow-up
into a self-contained retrieval query from the conversation's previous questions.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from index.answering import abstention
from index.answering.quotes import QueryEncoder, RankedQuote, rank_quotes
from index.answering.verifier import SentenceVerifier
from index.models import Answer, Hit, RelatedArticle
from index.retrieval.lexical import STOPWORDS

logger = logging.getLogger(__name__)

MAX_RELATED = 3
STALE_AFTER_DAYS = 30  # a "latest news" answer whose newest quote is older than this says so
RECENCY_BONUS = 2.0  # log-odds added to a quote from the newest retrieved article for a "latest" question
RECENCY_HALF_LIFE_DAYS = 14.0  # ... halving for every this many days it is older than the newest

_LATEST = re.compile(
    r"\b(latest|newest|most recent|recent(ly)?|current(ly)?|today|tonight|yesterday|this (week|month)|"
    r"right now|as of now|up[- ]to[- ]date|so far)\b",
    re.IGNORECASE,
)
_FOLLOW_UP_START = re.compile(
    r"^\s*(and|but|also|so|then|what about|how about|what else|same for|plus)\b",
    re.IGNORECASE,
)
_ANAPHORA = re.compile(
    r"\b(it|its|they|them|their|theirs|he|him|his|she|her|hers|these|those|the same)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[\w'’.-]*\w")
_NAME = re.compile(r"\b[A-Z][\w'’.-]*(?:[ ]+[A-Z][\w'’.-]*)*")
_QUESTION_WORDS = frozenset("what who whom whose which when where why how and but also so then plus".split())
MIN_STANDALONE_WORDS = 4  # a question with fewer content words than this leans on the conversation


def asks_for_latest(question: str) -> bool:
    """Whether the question asks for the newest news ("latest", "recently", "this week", ...)."""
    return bool(_LATEST.search(question))


def contextualize(question: str, history: Sequence[str]) -> str:
    """The retrieval query for ``question`` given the conversation's previous user questions (newest last).

    A self-contained question is returned unchanged. A follow-up — one that starts like a
    continuation ("and ...", "what about ..."), leans on a pronoun without naming anything, or is too short to stand
    alone — borrows from the previous question: when it names something new ("and what did
    Germany say?"), that name takes the place of the previous question's first name ("what
    did NATO say about article 5?" becomes "what did Germany say about article 5?");
    otherwise the previous question's words are added to it.
    """
    question = question.strip()
    if not history or not _is_follow_up(question):
        return question
    previous = contextualize(history[-1], history[:-1])
    new_names = _names(question)
    old_names = _names(previous)
    if new_names and old_names:
        rewritten = previous.replace(old_names[0], " and ".join(new_names), 1)
        extra = [w for w in _content_words(question) if w.lower() not in rewritten.lower()]
        return " ".join([rewritten, *extra])
    extra = [w for w in _content_words(previous) if w.lower() not in question.lower()]
    return " ".join([question, *extra])


@dataclass(frozen=True)
class Deliberation:
    """What the answer is made from: the query used, the ranked quotes and the abstention signals."""

    query: str
    latest: bool
    ranked: tuple[RankedQuote, ...]
    signals: abstention.AbstentionSignals


def deliberate(
    question: str,
    hits: Sequence[Hit],
    bodies: Mapping[str, str],
    *,
    embedder: QueryEncoder,
    history: Sequence[str] = (),
    verifier: SentenceVerifier | None = None,
) -> Deliberation:
    """Rank the quotes for ``question`` and measure the signals the abstention decision reads (``verifier``,
    if given, re-reads the best sentences with the question; see ``index.answering.verifier``)."""
    query = contextualize(question, history)
    latest = asks_for_latest(query)
    bonus = _recency_bonus(hits) if latest else None
    ranked = rank_quotes(query, hits, bodies, embedder=embedder, article_bonus=bonus, verifier=verifier)
    return Deliberation(query, latest, tuple(ranked), abstention.signals(query, hits, ranked))


def conclude(question: str, hits: Sequence[Hit], deliberation: Deliberation, *, answer: bool, now: datetime) -> Answer:
    """The answer: the quotes with their date and staleness note, or (``answer`` false) the nearest articles."""
    if not answer or not deliberation.ranked:
        return Answer(question=question, abstained=True, related=_related(hits))
    quotes = tuple(r.quote for r in deliberation.ranked)
    newest = max((d for q in quotes if (d := parse_date(q.published_at)) is not None), default=None)
    notes: list[str] = []
    if deliberation.latest and newest is not None and (now - newest).days > STALE_AFTER_DAYS:
        notes.append(
            f"The newest article quoted here is from {format_date(newest)}, {(now - newest).days} days ago; "
            "the archive may hold nothing more recent on this."
        )
    return Answer(
        question=question,
        abstained=False,
        quotes=quotes,
        as_of=newest.date().isoformat() if newest else None,
        notes=tuple(notes),
    )


def compose_answer(
    question: str,
    hits: Sequence[Hit],
    bodies: Mapping[str, str],
    *,
    embedder: QueryEncoder,
    now: datetime | None = None,
    history: Sequence[str] = (),
    verifier: SentenceVerifier | None = None,
) -> Answer:
    """Quotes that answer ``question`` from ``hits`` (their articles' bodies in ``bodies``), or an abstention.

    ``hits`` should come from searching ``contextualize(question, history)``; ``now`` is the time
    "latest" and staleness are judged against (default: the current time).
    """
    deliberation = deliberate(question, hits, bodies, embedder=embedder, history=history, verifier=verifier)
    answer = abstention.should_answer(deliberation.signals)
    if not answer:
        logger.debug("abstaining on %r: %s", deliberation.query, deliberation.signals)
    return conclude(question, hits, deliberation, answer=answer, now=now or datetime.now(UTC))


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
        article_id: RECENCY_BONUS * 0.5 ** ((newest - d).total_seconds() / 86400 / RECENCY_HALF_LIFE_DAYS)
        for article_id, d in dates.items()
    }


def _related(hits: Sequence[Hit]) -> tuple[RelatedArticle, ...]:
    related: dict[str, RelatedArticle] = {}
    for hit in hits:
        if hit.article_id not in related and len(related) < MAX_RELATED:
            related[hit.article_id] = RelatedArticle(
                hit.article_id, hit.title, hit.url, hit.source, hit.published_at, hit.score
            )
    return tuple(related.values())


def _is_follow_up(question: str) -> bool:
    return bool(
        _FOLLOW_UP_START.match(question)
        or (_ANAPHORA.search(question) and not _names(question))
        or len(_content_words(question)) < MIN_STANDALONE_WORDS
    )


def _content_words(text: str) -> list[str]:
    words = [w.strip(".'’") for w in _WORD.findall(text)]
    return [w for w in words if w and w.lower() not in STOPWORDS and w.lower() not in _QUESTION_WORDS]


def _names(text: str) -> list[str]:
    """Runs of capitalised words (possessive dropped), leaving out a capitalised opening question word."""
    names = []
    for match in _NAME.finditer(text):
        words = match.group().split()
        if match.start() == 0:
            while words and (words[0].lower() in _QUESTION_WORDS or words[0].lower() in STOPWORDS):
                words.pop(0)
        name = re.sub(r"['’]s$", "", " ".join(words))
        if name:
            names.append(name)
    return names
