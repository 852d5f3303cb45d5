"""The answer queue: every question waits its turn, fairly, and only an over-long wait is refused.

Questions are served round-robin across servers, then round-robin across the members of each server, so one
member or one server asking a lot cannot starve the others; DMs count as one more server. At most ``workers``
answers run at once. A question is refused (``Busy``, with the member's place in line and an estimate) only when
its expected wait — its place in line times the median of recent answer times, divided by the workers — would
exceed ``max_wait`` seconds (a median, so a run's first answer, which loads the models, does not inflate it), a bound kept well inside the 15 minutes Discord lets a deferred interaction live.

Acknowledging comes first: while questions are being deferred (``acknowledging``), no new answer starts, for at most
``ACK_FIRST_SECONDS``. An answer's Python work competes with the event loop for the interpreter, so a crowd arriving
at once would otherwise see its last deferrals wait behind the first answers.

Everything here runs on the event loop; the jobs themselves run wherever they like (the bot runs them in threads).
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from collections import deque
from collections.abc import Awaitable, Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from bot.errors import Busy

T = TypeVar("T")

ASSUMED_SECONDS = 0.5  # an answer's time until the first answers are timed (a warm `ask` p95 is about 0.25 s)
RECENT = 50  # answers whose times make the running median
ACK_FIRST_SECONDS = 1.0  # longest a deferral in flight holds back the start of new answers


@dataclass(eq=False)
class _Entry:
    guild: int | None
    member: int
    job: Callable[[], Awaitable[Any]]
    future: asyncio.Future = field(repr=False)


class Ticket(Generic[T]):
    """A question's place in the queue: ``await ticket`` for its result, ``ticket.cancel()`` to give it up."""

    def __init__(self, entry: _Entry, place: int, wait: float, leave: Callable[[_Entry], None]):
        self._entry = entry
        self._leave = leave
        self.place = place  # 1 = next to start, when it was queued
        self.expected_wait = wait  # seconds, when it was queued

    def cancel(self) -> None:
        """Leave the queue (an answer already running finishes, and its result is dropped)."""
        self._entry.future.cancel()
        self._leave(self._entry)

    def __await__(self) -> Generator[Any, None, T]:
        return self._entry.future.__await__()


class AnswerQueue:
    def __init__(self, workers: int, max_wait: float, clock: Callable[[], float] = time.monotonic):
        if workers < 1:
            raise ValueError("an answer queue needs at least one worker")
        self.workers = workers
        self.max_wait = max_wait
        self._clock = clock
        # guild -> member -> waiting entries; dict order is the rotation order (the first is served next)
        self._lanes: dict[int | None, dict[int, deque[_Entry]]] = {}
        self._waiting_in: dict[int | None, int] = {}  # guild -> its waiting entries
        self._running: dict[asyncio.Task, _Entry] = {}
        self._recent: deque[float] = deque(maxlen=RECENT)
        self._acknowledging: dict[object, float] = {}  # deferrals in flight -> when each began

    @property
    def waiting(self) -> int:
        return sum(self._waiting_in.values())

    @property
    def running(self) -> int:
        return len(self._running)

    @property
    def members_waiting(self) -> int:
        return sum(len(members) for members in self._lanes.values())

    def typical_seconds(self) -> float:
        return statistics.median(self._recent) if self._recent else ASSUMED_SECONDS

    def submit(self, guild: int | None, member: int, job: Callable[[], Awaitable[T]]) -> Ticket[T]:
        """Queue ``job`` for ``member`` of ``guild`` (None: a DM); raises ``Busy`` when the wait would be too long.

        ``job`` is called only when the question's turn comes.
        """
        place = self.place_for(guild, member)
        wait = place * self.typical_seconds() / self.workers if len(self._running) >= self.workers else 0.0
        if wait > self.max_wait:
            raise Busy(
                f"I'm answering a lot of questions right now: yours would be number {place} in line, "
                f"about {_duration(wait)} away. Please ask again in a little while."
            )
        entry = _Entry(guild, member, job, asyncio.get_running_loop().create_future())
        entry.future.add_done_callback(lambda _: self._leave(entry))
        self._lanes.setdefault(guild, {}).setdefault(member, deque()).append(entry)
        self._waiting_in[guild] = self._waiting_in.get(guild, 0) + 1
        self._start_next()
        return Ticket(entry, place, wait, self._leave)

    @contextmanager
    def acknowledging(self) -> Iterator[None]:
        """Hold back new answers while the body runs (a deferral), for at most ``ACK_FIRST_SECONDS``."""
        token = object()
        self._acknowledging[token] = self._clock()
        asyncio.get_running_loop().call_later(ACK_FIRST_SECONDS, self._start_next)
        try:
            yield
        finally:
            del self._acknowledging[token]
            self._start_next()

    def place_for(self, guild: int | None, member: int) -> int:
        """The place in line (1 = next) a question from ``member`` of ``guild`` would have if queued now."""
        members = self._lanes.get(guild, {})
        mine = len(members.get(member, ()))
        # Turns of this guild before ours: each member ahead of ours in the rotation gets one more turn than we
        # have questions waiting, each member behind as many; a member new to the rotation joins it at the end.
        turns = mine
        ahead = True
        for other, entries in members.items():
            if other == member:
                ahead = False
            else:
                turns += min(len(entries), mine + ahead)
        # Likewise across guilds: our question comes at this guild's turn number ``turns`` (counted from 0).
        place = turns
        ahead = True
        for other, count in self._waiting_in.items():
            if other == guild:
                ahead = False
            else:
                place += min(count, turns + ahead)
        return place + 1

    def close(self) -> None:
        """Cancel every waiting question and forget the running ones."""
        for members in list(self._lanes.values()):
            for entries in list(members.values()):
                for entry in list(entries):
                    entry.future.cancel()
                    self._leave(entry)
        for task, entry in list(self._running.items()):
            entry.future.cancel()
            task.cancel()
        self._running.clear()

    def _start_next(self) -> None:
        if self._acknowledging and self._clock() - min(self._acknowledging.values()) < ACK_FIRST_SECONDS:
            return  # a deferral is in flight; ``acknowledging`` starts the next answers when it ends or times out
        while len(self._running) < self.workers and self._lanes:
            entry = self._pop_next()
            if entry.future.done():
                continue  # given up a moment ago; its clean-up callback has not run yet
            task = asyncio.get_running_loop().create_task(self._run(entry))
            self._running[task] = entry

    def _pop_next(self) -> _Entry:
        guild = next(iter(self._lanes))
        members = self._lanes.pop(guild)
        member = next(iter(members))
        entries = members.pop(member)
        entry = entries.popleft()
        if entries:
            members[member] = entries  # to the back of the guild's rotation
        if members:
            self._lanes[guild] = members  # to the back of the guilds' rotation
        self._count_out(guild)
        return entry

    async def _run(self, entry: _Entry) -> None:
        started = self._clock()
        try:
            result = await entry.job()
        except asyncio.CancelledError:
            entry.future.cancel()
            raise
        except Exception as error:  # noqa: BLE001 - the asker's ticket carries it to the one error handler
            if not entry.future.done():
                entry.future.set_exception(error)
        else:
            if not entry.future.done():
                entry.future.set_result(result)
        finally:
            self._recent.append(self._clock() - started)
            self._running.pop(asyncio.current_task(), None)  # type: ignore[arg-type] - always run as a task
            self._start_next()

    def _leave(self, entry: _Entry) -> None:
        """Drop a question that was cancelled (its interaction failed, the bot closes) before its turn."""
        members = self._lanes.get(entry.guild)
        entries = members.get(entry.member) if members else None
        if entries is None or entry not in entries:
            return  # already started (or finished)
        entries.remove(entry)
        if not entries:
            del members[entry.member]
        if not members:
            del self._lanes[entry.guild]
        self._count_out(entry.guild)

    def _count_out(self, guild: int | None) -> None:
        self._waiting_in[guild] -= 1
        if not self._waiting_in[guild]:
            del self._waiting_in[guild]


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{math.ceil(seconds)} seconds"
    return f"{math.ceil(seconds / 60)} minutes"
