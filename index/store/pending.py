"""Questions the bot accepted and deferred but has not answered yet, kept so that a crash does not lose them.

One owner for the ``pending_questions`` table (migration 5 of ``index.store.database``). The bot keeps a row from
the moment it defers a question until the answer (or a polite error) is delivered, then deletes it. At start-up it
takes the rows still inside the life of their interaction token, in the order they were asked, and answers each by
editing the deferred response; older rows (their token is dead) and rows that cannot be read are deleted.

Privacy: a row holds what answering later needs — the question and its options, the member's Discord id (for the
fair queue and the answer's buttons) and the interaction token — for at most the token's life (15 minutes): it is
deleted once answered, or at the next start-up once too old. A token or a question never reaches a log.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from index.models import Filters
from index.store.database import Store
from index.store.readers import clean_text

log = logging.getLogger(__name__)

KINDS = ("ask",)  # what a kept question asks for: an /ask answer


@dataclass(frozen=True)
class WaitingQuestion:
    """A deferred question and what answering it later needs; ``id`` is 0 until it is kept."""

    kind: str
    question: str
    filters: Filters | None
    only_me: bool
    allow_thread: bool
    guild_id: int | None
    channel_id: int
    member_id: int
    application_id: int
    token: str
    deferred_at: datetime
    id: int = 0


@dataclass(frozen=True)
class Resumable:
    """What start-up found: the questions to answer (oldest first), and how many rows were too old or unreadable."""

    questions: tuple[WaitingQuestion, ...]
    expired: int
    unreadable: int


class PendingQuestions:
    def __init__(self, store: Store) -> None:
        self.store = store

    def keep(self, question: WaitingQuestion) -> int:
        """Keep a deferred question until ``release``; returns its id."""
        if question.kind not in KINDS:
            raise ValueError(f"unknown kind of question: {question.kind!r}")
        options = {
            "filters": asdict(question.filters) if question.filters else None,
            "only_me": question.only_me,
            "allow_thread": question.allow_thread,
        }
        conn = self.store.db.conn
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            cursor = conn.execute(
                "INSERT INTO pending_questions (kind, question, options, guild_id, channel_id, member_id, "
                "application_id, token, deferred_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    question.kind,
                    clean_text(question.question),
                    json.dumps(options, ensure_ascii=False),
                    question.guild_id,
                    question.channel_id,
                    question.member_id,
                    question.application_id,
                    question.token,
                    question.deferred_at.astimezone(UTC).isoformat(timespec="milliseconds"),
                ),
            )
        return int(cursor.lastrowid)

    def release(self, question_id: int) -> None:
        """The question was answered (or told why not): forget it."""
        with self.store.db.conn as conn:
            conn.execute("DELETE FROM pending_questions WHERE id = ?", (question_id,))

    def resumable(self, max_age: timedelta, now: datetime | None = None) -> Resumable:
        """The kept questions deferred less than ``max_age`` ago, oldest first; deletes the older and unreadable."""
        now = now or datetime.now(UTC)
        conn = self.store.db.conn
        rows = conn.execute(
            "SELECT id, kind, question, options, guild_id, channel_id, member_id, application_id, token, deferred_at "
            "FROM pending_questions ORDER BY deferred_at, id"
        ).fetchall()
        found, dead, unreadable = [], [], 0
        for row in rows:
            try:
                question = _read(row)
            except (ValueError, TypeError, KeyError, AttributeError):
                dead.append(row[0])
                unreadable += 1
                continue
            if now - question.deferred_at >= max_age:
                dead.append(question.id)
            else:
                found.append(question)
        if dead:
            with conn:
                conn.executemany("DELETE FROM pending_questions WHERE id = ?", [(i,) for i in dead])
        return Resumable(tuple(found), len(dead) - unreadable, unreadable)


def _read(row: tuple) -> WaitingQuestion:
    """A row as a question; ``ValueError`` (or a lookup error) when any part of it is not what ``keep`` writes."""
    qid, kind, question, options, guild_id, channel_id, member_id, application_id, token, deferred_at = row
    if kind not in KINDS or not isinstance(question, str) or not question.strip():
        raise ValueError("not a question")
    if not isinstance(token, str) or not token:
        raise ValueError("no token")
    data = json.loads(options)
    filters = Filters(**data["filters"]) if data["filters"] is not None else None
    moment = datetime.fromisoformat(deferred_at)
    if moment.tzinfo is None:
        raise ValueError("a time without its zone")
    for number in (channel_id, member_id, application_id):
        if not isinstance(number, int):
            raise ValueError("not an id")
    if guild_id is not None and not isinstance(guild_id, int):
        raise ValueError("not an id")
    return WaitingQuestion(
        kind=kind,
        question=question,
        filters=filters,
        only_me=bool(data["only_me"]),
        allow_thread=bool(data["allow_thread"]),
        guild_id=guild_id,
        channel_id=channel_id,
        member_id=member_id,
        application_id=application_id,
        token=token,
        deferred_at=moment,
        id=qid,
    )
