"""Per-user cooldown and a global cap on answers being worked on at once."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from bot.errors import Busy, CoolingDown


class Throttle:
    def __init__(self, cooldown_seconds: float, max_concurrent: int, clock: Callable[[], float] = time.monotonic):
        self._cooldown = cooldown_seconds
        self._max = max_concurrent
        self._clock = clock
        self._active = 0
        self._last_asked: dict[int, float] = {}

    @property
    def active(self) -> int:
        return self._active

    @contextmanager
    def slot(self, user_id: int) -> Iterator[None]:
        """Hold one answer slot for ``user_id``; raises ``CoolingDown`` or ``Busy`` instead of waiting."""
        now = self._clock()
        last = self._last_asked.get(user_id)
        if last is not None and now - last < self._cooldown:
            wait = math.ceil(self._cooldown - (now - last))
            raise CoolingDown(f"You're asking quickly: please wait {wait} s before your next question.")
        if self._active >= self._max:
            raise Busy("I'm answering a lot of questions right now; please try again in a few seconds.")
        self._last_asked[user_id] = now
        self._forget_old(now)
        self._active += 1
        try:
            yield
        finally:
            self._active -= 1

    def _forget_old(self, now: float) -> None:
        if len(self._last_asked) > 10_000:
            self._last_asked = {u: t for u, t in self._last_asked.items() if now - t < self._cooldown}
