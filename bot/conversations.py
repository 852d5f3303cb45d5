"""What the bot remembers between interactions — answers, follow-up threads, votes — kept in the archive.

Everything lives in the archive database (``index.store.readers``), so a restart or a crash forgets nothing:
the buttons under an earlier answer and a follow-up thread keep working. The calls are short SQLite reads and
writes; they run in this module's own small pool, never on the event loop and never queued behind answers.
Only which page of "More sources" a member has seen is kept in memory (a restart starts the pages over).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from index.contract import ArchiveEngine
from index.errors import ArchivistError
from index.models import Answer
from index.store.pending import Resumable, WaitingQuestion
from index.store.readers import AnswerRecord, Conversation

log = logging.getLogger(__name__)

T = TypeVar("T")
PAGING_CAPACITY = 2000


@dataclass
class Paging:
    """How far one member has paged through the sources of one answer."""

    quotes_shown: int
    hits_shown: int = 0


class Conversations:
    def __init__(self, engine: ArchiveEngine) -> None:
        self.engine = engine
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="archivist-memory")
        self._closed = False
        self._paging: OrderedDict[tuple[int, int], Paging] = OrderedDict()

    async def _run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))

    async def close(self) -> None:
        """Drop the calls not started and wait for the running ones (short writes), so none runs on a closed archive."""
        self._closed = True
        stop = functools.partial(self._pool.shutdown, wait=True, cancel_futures=True)
        await asyncio.get_running_loop().run_in_executor(None, stop)

    async def record_answer(
        self, answer: Answer, *, guild_id: int | None, asker_id: int, history: Sequence[str] = ()
    ) -> int | None:
        """The stored answer's id for its buttons; None (buttons left off, answer still sent) if it cannot be kept."""
        try:
            return await self._run(
                self.engine.record_answer, answer, guild_id=guild_id, asker_id=asker_id, history=history
            )
        except (ArchivistError, OSError, sqlite3.Error):
            log.warning("could not keep an answer in the archive; it is sent without buttons", exc_info=True)
            return None

    async def keep_waiting(self, question: WaitingQuestion) -> int | None:
        """Keep a deferred question until it is answered, so a crash does not lose it; None if it cannot be kept."""
        try:
            return await self._run(self.engine.keep_waiting, question)
        except (ArchivistError, OSError, sqlite3.Error):
            log.warning("could not keep a waiting question in the archive; a crash now would lose it", exc_info=True)
            return None

    async def release_waiting(self, question_id: int) -> None:
        if self._closed:  # an answer delivered while the bot stops: kept, so the next start may answer it again
            log.info("stopping: an answered question stays kept; the next start may answer it again")
            return
        try:
            await self._run(self.engine.release_waiting, question_id)
        except (ArchivistError, OSError, sqlite3.Error):
            log.warning("could not forget an answered question; a restart may answer it again", exc_info=True)

    async def resumable(self, max_age_seconds: float) -> Resumable:
        return await self._run(self.engine.resumable, max_age_seconds)

    async def answered(self, answer_id: int, member_id: int) -> AnswerRecord | None:
        return await self._run(self.engine.answered, answer_id, member_id=member_id)

    async def vote(self, answer_id: int, member_id: int, vote: int) -> bool:
        return await self._run(self.engine.record_vote, answer_id, member_id, vote)

    async def reason(self, answer_id: int, member_id: int, reason: str) -> None:
        await self._run(self.engine.record_reason, answer_id, member_id, reason)

    async def open_thread(self, thread_id: int, answer_id: int, *, guild_id: int | None, turns: Sequence[str]) -> bool:
        return await self._run(self.engine.open_thread, thread_id, answer_id, guild_id=guild_id, turns=turns)

    async def thread_of_answer(self, answer_id: int) -> int | None:
        return await self._run(self.engine.thread_of_answer, answer_id)

    async def get(self, thread_id: int) -> Conversation | None:
        """The conversation a follow-up thread continues; None for any other channel."""
        return await self._run(self.engine.conversation, thread_id)

    async def add_turn(self, thread_id: int, question: str) -> None:
        await self._run(self.engine.add_turn, thread_id, question)

    def paging(self, answer_id: int, member_id: int, quotes_shown: int) -> Paging:
        """This member's place in the answer's sources (the first page already shown when new)."""
        key = (answer_id, member_id)
        paging = self._paging.get(key)
        if paging is None:
            paging = self._paging[key] = Paging(quotes_shown)
            while len(self._paging) > PAGING_CAPACITY:
                self._paging.popitem(last=False)
        self._paging.move_to_end(key)
        return paging
