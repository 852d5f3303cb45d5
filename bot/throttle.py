"""Per-member cooldown: the same member waits a little between two questions; others are not held up."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from bot.errors import CoolingDown


class Throttle:
    def __init__(self, cooldown_seconds: float, clock: Callable[[], float] = time.monotonic):
        self._cooldown = cooldown_seconds
        self._clock = clock
        self._last_asked: dict[int, float] = {}

    def check(self, user_id: int) -> None:
        """Raise ``CoolingDown`` when ``user_id`` asked less than the cooldown ago."""
        last = self._last_asked.get(user_id)
        elapsed = self._clock() - last if last is not None else math.inf
        if elapsed < self._cooldown:
            wait = math.ceil(self._cooldown - elapsed)
            raise CoolingDown(f"You're asking quickly: please wait {wait} s before your next question.")

    def asked(self, user_id: int) -> None:
        """Start ``user_id``'s cooldown (call once the question is accepted)."""
        now = self._clock()
        self._last_asked[user_id] = now
        if len(self._last_asked) > 10_000:
            self._last_asked = {u: t for u, t in self._last_asked.items() if now - t < self._cooldown}
