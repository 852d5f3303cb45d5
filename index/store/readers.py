"""What the archive keeps about its readers: the answers the bot gave, follow-up threads, votes, the question log.

One owner for the ``answers``, ``threads`` and ``feedback`` tables (migration 4 of ``index.store.database``).
Each write is one short ``BEGIN IMMEDIATE`` transaction on the writing thread's own connection, so two threads
recording at once wait for each other (SQLite's busy timeout) instead of failing, and readers (WAL) never wait.

Privacy: a member is stored only as a salted hash (the salt is random per archive, kept in ``meta``), never their
Discord id. Question text is kept for ``question_log_days`` (``ARCHIVIST_QUESTION_LOG_DAYS``) and then erased; with
0 the question log and the votes keep no question text at all, and the text an answer's buttons and follow-up
thread need (the question, its conversation) is erased after ``STATE_MIN_DAYS``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta

from index.errors import InvalidInput
from index.filters import MAX_QUESTION_CHARS
from index.models import Answer, Filters, Quote
from index.store.database import UPSERT_META, Store, utc_now

log = logging.getLogger(__name__)

MAX_TURNS = 10  # questions of a follow-up thread kept as its history
STATE_MIN_DAYS = 1  # with no question log, how long an answer's buttons and threads keep the text they need
SALT_KEY = "member_salt"
VOTES = (1, -1)
MAX_REASON_CHARS = 100
PRUNE_EVERY = timedelta(hours=1)  # the retention's erasing runs at most this often while answers are recorded


@dataclass(frozen=True)
class AnswerRecord:
    """An answer the bot gave, as its buttons need it; ``answer`` is None once its text has expired."""

    id: int
    guild_id: int | None
    asked_at: str
    asked_by_member: bool  # whether the member it was looked up for asked it
    answer: Answer | None
    history: tuple[str, ...] = ()


@dataclass(frozen=True)
class Conversation:
    """A follow-up thread: the questions asked so far (oldest first) and the filters of its first answer."""

    thread_id: int
    answer_id: int
    turns: tuple[str, ...]
    filters: Filters | None

    def history(self) -> tuple[str, ...]:
        return self.turns[-MAX_TURNS:]


@dataclass(frozen=True)
class Vote:
    answer_id: int
    guild_id: int | None
    vote: int  # 1 helpful, -1 not
    reason: str | None
    question: str | None  # None once erased by the retention
    article_ids: tuple[str, ...]
    voted_at: str


@dataclass(frozen=True)
class LoggedQuestion:
    """A question the archive did not answer well: abstained on, or voted down."""

    answer_id: int
    guild_id: int | None
    asked_at: str
    question: str
    abstained: bool
    partial: bool
    down_votes: int
    article_ids: tuple[str, ...]


def checked_since(text: str | None) -> str | None:
    """An ISO date or date-time as the UTC text the log is stored in (compared as text); ``InvalidInput`` else."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text).isoformat()
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput("“since” must be a date like 2023-11-12.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def clean_text(text: str, limit: int = MAX_QUESTION_CHARS) -> str:
    """``text`` cut to ``limit`` characters and storable (a lone surrogate becomes U+FFFD); kept verbatim else."""
    return text[:limit].encode("utf-8", "replace").decode("utf-8", "replace").replace("\x00", "\ufffd")


class ReaderLog:
    def __init__(self, store: Store, *, question_log_days: int) -> None:
        self.store = store
        self.days = question_log_days
        self._salt: str | None = None
        self._pruned_at: datetime | None = None
        self._prune_lock = threading.Lock()

    # -- members -------------------------------------------------------------------------
    def member_key(self, member_id: int) -> str:
        """The member's salted hash: the same member gives the same key in this archive, and nothing else."""
        if self._salt is None:
            salt = self.store.meta(SALT_KEY)
            if salt is None:
                conn = self.store.db.conn
                with conn:
                    conn.execute(
                        "INSERT INTO meta VALUES (?, ?) ON CONFLICT DO NOTHING", (SALT_KEY, secrets.token_hex(16))
                    )
                salt = self.store.meta(SALT_KEY)
            self._salt = salt
        return hashlib.sha256(f"{self._salt}:{int(member_id)}".encode()).hexdigest()

    # -- answers -------------------------------------------------------------------------
    def record_answer(self, answer: Answer, *, guild_id: int | None, asker_id: int, history: Sequence[str] = ()) -> int:
        """Store an answer the bot gave (and log its question); returns its id for the buttons under it."""
        context = {
            "question": clean_text(answer.question),
            "query": clean_text(answer.query) if answer.query else None,
            "history": [clean_text(turn) for turn in history[-MAX_TURNS:]],
            "filters": asdict(answer.filters) if answer.filters else None,
            "quotes": [asdict(q) for q in answer.quotes],
            "topic": answer.topic,
        }
        row = (
            guild_id,
            utc_now(),
            self.member_key(asker_id),
            clean_text(answer.question) if self.days else None,
            json.dumps(context, ensure_ascii=False),
            int(answer.abstained),
            int(answer.partial),
            json.dumps(list(dict.fromkeys(q.article_id for q in answer.quotes))),
        )
        conn = self.store.db.conn
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            cursor = conn.execute(
                "INSERT INTO answers (guild_id, asked_at, asker, question, context, abstained, partial, article_ids) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
        return int(cursor.lastrowid)

    def answer(self, answer_id: int, *, member_id: int) -> AnswerRecord | None:
        """The stored answer (None: no such answer), its text None once expired."""
        row = self.store.db.conn.execute(
            "SELECT id, guild_id, asked_at, asker, abstained, partial, context FROM answers WHERE id = ?",
            (answer_id,),
        ).fetchone()
        if row is None:
            return None
        answer_id, guild_id, asked_at, asker, abstained, partial, context = row
        answer, history = None, ()
        if context is not None:
            data = json.loads(context)
            answer = Answer(
                question=data["question"],
                abstained=bool(abstained),
                quotes=tuple(Quote(**q) for q in data["quotes"]),
                query=data["query"],
                filters=Filters(**data["filters"]) if data["filters"] else None,
                partial=bool(partial),
                topic=data["topic"],
            )
            history = tuple(data["history"])
        mine = asker == self.member_key(member_id)
        return AnswerRecord(answer_id, guild_id, asked_at, mine, answer, history)

    # -- votes -----------------------------------------------------------------------------
    def record_vote(self, answer_id: int, member_id: int, vote: int) -> bool:
        """Count the member's vote on an answer; False (nothing written) when they already voted on it."""
        if vote not in VOTES:
            raise InvalidInput("A vote is 1 (helpful) or -1 (not helpful).")
        member = self.member_key(member_id)
        conn = self.store.db.conn
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute("SELECT guild_id, question, context FROM answers WHERE id = ?", (answer_id,)).fetchone()
            if row is None:
                return False
            guild_id, logged, context = row
            quotes = json.loads(context)["quotes"] if context else []
            cursor = conn.execute(
                "INSERT INTO feedback (answer_id, guild_id, member, vote, question, article_ids, quotes, "
                "voted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    answer_id,
                    guild_id,
                    member,
                    vote,
                    logged,
                    json.dumps(list(dict.fromkeys(q["article_id"] for q in quotes))),
                    json.dumps(
                        [{k: q[k] for k in ("article_id", "start", "end", "text")} for q in quotes],
                        ensure_ascii=False,
                    ),
                    utc_now(),
                ),
            )
        return cursor.rowcount == 1

    def record_reason(self, answer_id: int, member_id: int, reason: str) -> None:
        """Why the member voted the answer down."""
        with self.store.db.conn as conn:
            conn.execute(
                "UPDATE feedback SET reason = ? WHERE answer_id = ? AND member = ?",
                (clean_text(reason, MAX_REASON_CHARS), answer_id, self.member_key(member_id)),
            )

    def votes(self, since: str | None = None) -> list[Vote]:
        rows = self.store.db.conn.execute(
            "SELECT answer_id, guild_id, vote, reason, question, article_ids, voted_at FROM feedback "
            "WHERE voted_at >= ? ORDER BY voted_at, id",
            (since or "",),
        )
        return [Vote(a, g, v, r, q, tuple(json.loads(ids)), t) for a, g, v, r, q, ids, t in rows]

    # -- the question log --------------------------------------------------------------------
    def unanswered(self, since: str | None = None, *, guild_id: int | None = None) -> list[LoggedQuestion]:
        """Logged questions the archive abstained on or that were voted down (in one server), oldest first."""
        rows = self.store.db.conn.execute(
            "SELECT * FROM (SELECT a.id, a.guild_id, a.asked_at, a.question, a.abstained, a.partial, a.article_ids, "
            "(SELECT COUNT(*) FROM feedback f WHERE f.answer_id = a.id AND f.vote < 0) AS down "
            "FROM answers a WHERE a.question IS NOT NULL AND a.asked_at >= ? "
            "AND (CAST(? AS BIGINT) IS NULL OR a.guild_id = ?)) AS logged "
            "WHERE abstained = 1 OR down > 0 ORDER BY asked_at, id",
            (since or "", guild_id, guild_id),
        )
        return [
            LoggedQuestion(i, g, t, q, bool(ab), bool(p), down, tuple(json.loads(ids)))
            for i, g, t, q, ab, p, ids, down in rows
        ]

    # -- follow-up threads ----------------------------------------------------------------------
    def open_thread(self, thread_id: int, answer_id: int, *, guild_id: int | None, turns: Sequence[str]) -> bool:
        """Continue the answer's conversation in a thread; False when the answer already has one (or is gone)."""
        conn = self.store.db.conn
        now = utc_now()
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute("SELECT context FROM answers WHERE id = ?", (answer_id,)).fetchone()
            if row is None or row[0] is None:
                return False
            filters = json.loads(row[0])["filters"]
            cursor = conn.execute(
                "INSERT INTO threads VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    thread_id,
                    answer_id,
                    guild_id,
                    json.dumps([clean_text(t) for t in turns[-MAX_TURNS:]], ensure_ascii=False),
                    json.dumps(filters) if filters else None,
                    now,
                    now,
                ),
            )
        return cursor.rowcount == 1

    def thread_of_answer(self, answer_id: int) -> int | None:
        row = self.store.db.conn.execute("SELECT thread_id FROM threads WHERE answer_id = ?", (answer_id,)).fetchone()
        return row[0] if row else None

    def conversation(self, thread_id: int) -> Conversation | None:
        """The follow-up thread's conversation; None for any other channel, or once its text has expired."""
        row = self.store.db.conn.execute(
            "SELECT answer_id, turns, filters FROM threads WHERE thread_id = ?", (thread_id,)
        ).fetchone()
        if row is None or row[1] is None:
            return None
        answer_id, turns, filters = row
        return Conversation(
            thread_id, answer_id, tuple(json.loads(turns)), Filters(**json.loads(filters)) if filters else None
        )

    def add_turn(self, thread_id: int, question: str) -> None:
        """Append a question to the thread's conversation (keeping the last ``MAX_TURNS``)."""
        conn = self.store.db.conn
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute("SELECT turns FROM threads WHERE thread_id = ?", (thread_id,)).fetchone()
            if row is None or row[0] is None:
                return
            turns = [*json.loads(row[0]), clean_text(question)][-MAX_TURNS:]
            conn.execute(
                "UPDATE threads SET turns = ?, updated_at = ? WHERE thread_id = ?",
                (json.dumps(turns, ensure_ascii=False), utc_now(), thread_id),
            )

    # -- digests --------------------------------------------------------------------------------
    def digest_due(self, every_days: float, now: datetime | None = None) -> str | None:
        """When a digest is due (the previous one ``every_days`` ago or more), the time it covers from, and the
        clock restarts now; None otherwise. The first call only starts the clock."""
        now = now or datetime.now(UTC)
        stamp = now.isoformat(timespec="seconds")
        conn = self.store.db.conn
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute("SELECT value FROM meta WHERE key = 'feedback_digest_at'").fetchone()
            if row is not None and datetime.fromisoformat(row[0]) > now - timedelta(days=every_days):
                return None
            conn.execute(UPSERT_META, ("feedback_digest_at", stamp))
        return row[0] if row is not None else None

    # -- retention ------------------------------------------------------------------------------
    def prune_if_due(self, now: datetime | None = None) -> int:
        """``prune`` when it last ran ``PRUNE_EVERY`` ago or more (or never); returns how many rows lost text."""
        now = now or datetime.now(UTC)
        with self._prune_lock:
            if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
                return 0
            self._pruned_at = now
        return self.prune(now)

    def prune(self, now: datetime | None = None) -> int:
        """Erase question text older than the retention; returns how many rows lost text."""
        now = now or datetime.now(UTC)
        with self._prune_lock:
            self._pruned_at = now
        log_cutoff = (now - timedelta(days=self.days)).isoformat(timespec="seconds")
        state_cutoff = (now - timedelta(days=max(self.days, STATE_MIN_DAYS))).isoformat(timespec="seconds")
        conn = self.store.db.conn
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            erased = conn.execute(
                "UPDATE answers SET question = NULL WHERE question IS NOT NULL AND (asked_at < ? OR ? = 0)",
                (log_cutoff, self.days),
            ).rowcount
            erased += conn.execute(
                "UPDATE feedback SET question = NULL WHERE question IS NOT NULL AND (voted_at < ? OR ? = 0)",
                (log_cutoff, self.days),
            ).rowcount
            erased += conn.execute(
                "UPDATE answers SET context = NULL WHERE context IS NOT NULL AND asked_at < ?", (state_cutoff,)
            ).rowcount
            erased += conn.execute(
                "UPDATE threads SET turns = NULL WHERE turns IS NOT NULL AND updated_at < ?", (state_cutoff,)
            ).rowcount
        if erased:
            log.info("erased the question text of %d rows older than the retention", erased)
        return erased
