"""What a question asks, read once: the value retrieval and answering both work from.

``Question.parse`` turns the asker's words (and, for a follow-up, the conversation's earlier
questions) into a frozen ``Question``: the self-contained retrieval query (``contextualize``),
the filters, the answer type it expects, its content words, names and numbers, the calendar
days and date ranges it names, whether it wants the latest news, and the outlets, authors and
sections of the archive it mentions (``index.retrieval.query``). The engine builds it once per
``ask``; retrieval and quote selection read its fields instead of re-reading the text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from index.answering.answer_types import expected_answer_type
from index.models import Filters
from index.retrieval.lexical import STOPWORDS, tokenize
from index.retrieval.query import Catalog, DateRange, QueryIntent, calendar_days, parse_query

AnswerType = Literal["who", "when", "where", "how_much", "how_many", "why", "yes_no", "what"]

MIN_CLAUSE_TERMS = 2  # a clause of the question needs this many content words to be matched on its own
MIN_STANDALONE_WORDS = 4  # a question with fewer content words than this leans on the conversation

# Question words that ask for a number or a date, and those that ask for a name (features of quote selection).
_NUMBER_ASKED = re.compile(
    r"\b(?:how (?:many|much|long|old|far|often)|what (?:year|percentage|percent|age)|when)\b", re.I
)
_NAME_ASKED = re.compile(r"\b(?:who|whom|whose|where|which)\b", re.I)
_NAME_WORD = r"(?:[A-Z][\w'’.&-]*\w|\d[\d,.:]*\d|\d)"
_NAME = re.compile(rf"\b{_NAME_WORD}(?:\s+{_NAME_WORD})*")
_CAPITALISED = re.compile(r"\b[A-Z][a-z]+")
_CLAUSE_BREAK = re.compile(
    r",\s*|;\s*|\?|\s+(?:and|while|but|whereas|as reported by|according to|as well as)\s+", re.IGNORECASE
)

# Words that make quote selection favour the newest retrieved articles and note stale evidence. Retrieval reads a
# slightly different list (``index.retrieval.query``, ``QueryIntent.prefers_recent``): the union of the two changes
# the quote features of questions such as "What is currently ...?", which the shipped models were not fitted on.
_LATEST = re.compile(
    r"\b(latest|newest|most recent|recent(ly)?|current(ly)?|today|tonight|yesterday|this (week|month)|"
    r"right now|as of now|up[- ]to[- ]date|so far)\b",
    re.IGNORECASE,
)

# Contextualising follow-ups.
_FOLLOW_UP_START = re.compile(
    r"^\s*(and|but|also|so|then|what about|how about|what else|same for|plus)\b",
    re.IGNORECASE,
)
_ANAPHORA = re.compile(
    r"\b(it|its|they|them|their|theirs|he|him|his|she|her|hers|these|those|the same)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[\w'’.-]*\w")
_RUN_OF_NAMES = re.compile(r"\b[A-Z][\w'’.-]*(?:[ ]+[A-Z][\w'’.-]*)*")
_POSSESSIVE = re.compile(r"['’]s\b")
_QUESTION_WORDS = frozenset("what who whom whose which when where why how and but also so then plus".split())


@dataclass(frozen=True)
class Question:
    """One question, analysed once. ``query`` is what retrieval and quote selection read."""

    text: str  # as asked
    query: str  # self-contained: a follow-up completed from the conversation (``contextualize``)
    filters: Filters | None
    answer_type: AnswerType
    terms: tuple[str, ...]  # content words as stems, duplicates removed, in order
    names: tuple[str, ...]  # names and numbers ("super bowl 50", "broncos"), lower-cased
    clauses: tuple[str, ...]  # the parts of a many-part question; none for a simple one
    capitalised: frozenset[str]  # its capitalised words, lower-cased
    asks_number: bool  # "how many", "when", "what year", ...
    asks_name: bool  # "who", "where", "which"
    days: tuple[date, ...]  # calendar days written out ("October 1, 2023", "2023-10-01")
    latest: bool  # it asks for the newest news ("latest", "recently", "this week", ...): quotes favour the newest
    intent: (
        QueryIntent  # outlets, authors, sections, date ranges and retrieval's recency wish (``index.retrieval.query``)
    )

    @property
    def bare_names(self) -> tuple[str, ...]:
        """Its names as an article writes them on their own: a possessive ending dropped ("nato's" -> "nato")."""
        return tuple(_POSSESSIVE.sub("", name) for name in self.names)

    @property
    def dates(self) -> tuple[DateRange, ...]:
        """Publication days and ranges it points at, written out or relative ("last week")."""
        return self.intent.dates

    @classmethod
    def parse(
        cls,
        text: str,
        *,
        history: Sequence[str] = (),
        filters: Filters | None = None,
        catalog: Catalog | None = None,
        now: datetime | None = None,
    ) -> Question:
        """Analyse ``text``, asked after ``history`` (the conversation's earlier questions, newest last).

        Outlets, authors and sections are recognised only when ``catalog`` (the archive's vocabulary) is given;
        relative dates are read against ``now`` (default: the current time).
        """
        query = contextualize(text, history)
        return cls(
            text=text,
            query=query,
            filters=filters,
            answer_type=answer_type(query),
            terms=tuple(content_terms(query)),
            names=tuple(question_names(query)),
            clauses=tuple(question_clauses(query)),
            capitalised=frozenset(w.lower() for w in _CAPITALISED.findall(query)),
            asks_number=bool(_NUMBER_ASKED.search(query)),
            asks_name=bool(_NAME_ASKED.search(query)),
            days=tuple(calendar_days(query)),
            latest=bool(_LATEST.search(query)),
            intent=parse_query(query, catalog, now=now),
        )


def as_question(question: str | Question) -> Question:
    """``question`` itself, or plain text analysed without the archive's vocabulary."""
    return question if isinstance(question, Question) else Question.parse(question)


def content_terms(text: str) -> list[str]:
    """The content words of ``text`` as stems, duplicates removed, in order."""
    return list(dict.fromkeys(tokenize(text)))


def question_names(question: str) -> list[str]:
    """The names and numbers a question mentions ("Super Bowl 50", "Broncos"), lower-cased, opening word left out."""
    names = []
    for match in _NAME.finditer(question.strip()):
        words = match.group().split()
        if match.start() == 0:
            words = words[1:]
        if words:
            names.append(" ".join(words).lower())
    return names


def question_clauses(question: str) -> list[str]:
    """The clauses of a many-part question ("Which company, reported by A, was accused of X and Y?"),
    or none for a simple one."""
    parts = [p.strip() for p in _CLAUSE_BREAK.split(question)]
    parts = [p for p in parts if p and len(content_terms(p)) >= MIN_CLAUSE_TERMS]
    return parts if len(parts) > 1 else []


def answer_type(question: str) -> AnswerType:
    """What kind of answer the question expects (``index.answering.answer_types``)."""
    return expected_answer_type(question)  # type: ignore[return-value]


def freshness(age_days, half_life_days: float):
    """How much a wish for the latest news still favours something ``age_days`` older than the newest: 1 for the
    newest, halving every ``half_life_days`` (a number or a numpy array of ages)."""
    return 0.5 ** (age_days / half_life_days)


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
    for match in _RUN_OF_NAMES.finditer(text):
        words = match.group().split()
        if match.start() == 0:
            while words and (words[0].lower() in _QUESTION_WORDS or words[0].lower() in STOPWORDS):
                words.pop(0)
        name = re.sub(r"['’]s$", "", " ".join(words))
        if name:
            names.append(name)
    return names
