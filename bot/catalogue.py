"""Category and source names for autocomplete, fetched off the event loop and cached briefly."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from discord import app_commands

from bot.render import CHOICES_MAX, choice_label

CACHE_SECONDS = 60.0


class Catalogue:
    def __init__(self, fetch: Callable[[str], Awaitable[list[str]]], clock: Callable[[], float] = time.monotonic):
        self._fetch = fetch
        self._clock = clock
        self._cache: dict[str, tuple[float, list[str]]] = {}

    def forget(self) -> None:
        """Drop cached names (after an ingest or re-index changed them)."""
        self._cache.clear()

    async def names(self, kind: str) -> list[str]:
        cached = self._cache.get(kind)
        if cached is not None and self._clock() - cached[0] < CACHE_SECONDS:
            return cached[1]
        names = await self._fetch(kind)
        self._cache[kind] = (self._clock(), names)
        return names

    async def choices(self, kind: str, current: str) -> list[app_commands.Choice[str]]:
        """Names containing what the user typed (those starting with it first), at most 25."""
        typed = current.strip().casefold()
        names = [n for n in await self.names(kind) if n and len(n) <= 100 and typed in n.casefold()]
        names.sort(key=lambda n: (not n.casefold().startswith(typed), n.casefold()))
        return [app_commands.Choice(name=choice_label(n), value=n) for n in names[:CHOICES_MAX]]
