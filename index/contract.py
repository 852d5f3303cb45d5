"""The contract between the Discord bot and the engine: exactly the calls the bot makes.

``index.engine.Engine`` satisfies it (``tests/index/test_contract.py`` checks every member's signature), and so
must any stand-in a test puts behind the bot. The bot calls these from worker threads, never on the event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from index.gaps import Digest, Gap
from index.models import Answer, ArchiveStats, Article, Filters, Hit, IndexReport, IngestReport
from index.sources.live.registry import Source
from index.sources.live.sync import SyncOptions, SyncReport
from index.store.pending import Resumable, WaitingQuestion
from index.store.readers import AnswerRecord, Conversation


class ArchiveEngine(Protocol):
    """What ``bot/`` asks of the engine: answers, searches, browsing, statistics, ingestion, re-indexing, the
    live sources it follows, and what it keeps of its readers (answers for their buttons, threads, votes)."""

    def ask(self, question: str, *, filters: Filters | None = None, history: Sequence[str] = ()) -> Answer: ...

    def search(self, query: str, *, filters: Filters | None = None, k: int = 10, diverse: bool = True) -> list[Hit]: ...

    def recent(
        self, n: int | None = 10, *, category: str | None = None, source: str | None = None
    ) -> list[Article]: ...

    def find_article(self, query_or_url: str) -> Article | None: ...

    def article(self, article_id: str) -> Article: ...

    def categories(self) -> list[str]: ...

    def sources(self) -> list[str]: ...

    def stats(self) -> ArchiveStats: ...

    def ingest(
        self,
        paths: Sequence[Path | str],
        *,
        format: str | None = None,
        prune: bool = False,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> IngestReport: ...

    def reindex(
        self, *, full: bool = False, progress: Callable[[str, int, int], None] | None = None
    ) -> IndexReport: ...

    def live_sources(self) -> list[Source]: ...

    def add_source(self, url: str, *, kind: str = "auto", name: str | None = None) -> Source: ...

    def remove_source(self, source_id: int, *, keep_articles: bool = False) -> int: ...

    def sync(
        self, source_id: int | None = None, *, index: bool = True, options: SyncOptions | None = None
    ) -> SyncReport: ...

    def record_answer(
        self, answer: Answer, *, guild_id: int | None, asker_id: int, history: Sequence[str] = ()
    ) -> int: ...

    def answered(self, answer_id: int, *, member_id: int) -> AnswerRecord | None: ...

    def keep_waiting(self, question: WaitingQuestion) -> int: ...

    def release_waiting(self, question_id: int) -> None: ...

    def resumable(self, max_age_seconds: float) -> Resumable: ...

    def record_vote(self, answer_id: int, member_id: int, vote: int) -> bool: ...

    def record_reason(self, answer_id: int, member_id: int, reason: str) -> None: ...

    def open_thread(self, thread_id: int, answer_id: int, *, guild_id: int | None, turns: Sequence[str]) -> bool: ...

    def thread_of_answer(self, answer_id: int) -> int | None: ...

    def conversation(self, thread_id: int) -> Conversation | None: ...

    def add_turn(self, thread_id: int, question: str) -> None: ...

    def gaps(self, since: str | None = None, *, guild_id: int | None = None, nearest: int = 3) -> list[Gap]: ...

    def feedback_digest(self, every_days: float) -> Digest | None: ...
