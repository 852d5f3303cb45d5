"""The Discord client: intents, the command tree, worker pools for the engine, shared state."""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import aiohttp
import discord
from discord import app_commands
from discord.backoff import ExponentialBackoff
from discord.ext import commands

from bot.catalogue import Catalogue
from bot.conversations import Conversations
from bot.errors import report_error
from bot.queue import AnswerQueue, Ticket
from bot.reply import NO_MENTIONS, respond
from bot.throttle import Throttle
from index.contract import ArchiveEngine
from index.settings import Settings
from index.store.pending import WaitingQuestion

log = logging.getLogger(__name__)
lag_log = logging.getLogger("bot.lag")

T = TypeVar("T")

KEPT = "archivist_kept"  # the interaction's extras key: the id its waiting question is kept under
LAG_TICK = 0.5  # seconds between two checks of the event loop's lag
LAG_REPORT_EVERY = 60.0  # seconds between two log lines about it
HANDSHAKE_BACKOFF = 1.0  # seconds: the first retry of a refused gateway handshake waits up to twice this, then doubles


class ArchivistTree(app_commands.CommandTree):
    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        client: ArchivistBot = interaction.client  # type: ignore[assignment]
        if interaction.guild_id is not None and not client.guild_allowed(interaction.guild_id):
            if interaction.type is discord.InteractionType.application_command:
                await respond(interaction, "I'm not enabled on this server.", ephemeral=True)
            return False
        return True

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        await report_error(interaction, error)
        await interaction.client.delivered(interaction)  # type: ignore[attr-defined]


class ArchivistBot(commands.Bot):
    """Holds the engine and the bot's state; the cogs hold the commands."""

    def __init__(self, engine: ArchiveEngine, settings: Settings, *, guild_ready_timeout: float = 2.0):
        intents = discord.Intents.none()
        intents.guilds = True
        intents.guild_messages = True
        intents.dm_messages = True
        intents.message_content = True  # only needed for questions asked by mentioning the bot
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            allowed_mentions=NO_MENTIONS,
            help_command=None,
            tree_cls=ArchivistTree,
            guild_ready_timeout=guild_ready_timeout,
            **({"shard_id": settings.shard_id, "shard_count": settings.shard_count} if settings.shard_count else {}),
        )
        self.engine = engine
        self.settings = settings
        self.throttle = Throttle(settings.cooldown_seconds)
        self.answers = AnswerQueue(settings.answer_workers, settings.max_queue_wait_seconds)
        self.conversations = Conversations(engine)
        self.catalogue = Catalogue(self._names)
        self.connection_task: asyncio.Task | None = None
        self._lag_watch: asyncio.Task | None = None
        self._query_pool = ThreadPoolExecutor(max_workers=settings.answer_workers, thread_name_prefix="archivist-query")
        self._admin_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="archivist-admin")

    async def connect(self, *, reconnect: bool = True) -> None:
        """Connect to the gateway and stay connected, also when the first handshakes fail.

        discord.py retries a connection it once had, but after a failed first handshake it reads the session of
        a socket that never existed (an AttributeError) and stops. So until the first connection, a refused
        handshake is retried here with backoff and one log line each; should the gateway stay away past
        discord.py's own handshake timeout, its loop is started again.
        """
        if reconnect:
            self.http.ws_connect = _retrying_first_handshake(self, self.http.ws_connect)
        while True:
            try:
                return await super().connect(reconnect=reconnect)
            except AttributeError:
                if self.ws is not None or not reconnect or self.is_closed():
                    raise
                log.warning("Still no connection to Discord's gateway; trying again")

    async def setup_hook(self) -> None:
        from bot.cogs.ask import AskCog
        from bot.cogs.browse import BrowseCog
        from bot.cogs.moderation import ModerationCog
        from bot.cogs.sources import SourcesCog

        ask = AskCog(self)
        for cog in (ask, BrowseCog(self), ModerationCog(self), SourcesCog(self)):
            await self.add_cog(cog)
        synced = await self.tree.sync()
        log.info("Synced %d application commands", len(synced))
        await ask.resume_waiting()
        # What the process holds by now (modules, the engine, its caches) lives as long as the bot. A full garbage
        # collection scanned all of it and stopped the event loop for as long: ~0.1 s for a bare `archivist run`
        # on 2 cores, ~1 s in a process holding five times more, long enough to miss a crowd's deferrals. Frozen,
        # it is left out of every collection from now on (reference counting still frees it).
        gc.collect()
        gc.freeze()
        self._lag_watch = asyncio.create_task(_watch_loop_lag(), name="archivist-loop-lag")

    async def on_message(self, message: discord.Message) -> None:
        """No prefix commands: questions in messages are handled by the ask cog's listener."""

    async def on_ready(self) -> None:
        log.info("Connected as %s (%s) to %d servers", self.user, getattr(self.user, "id", "?"), len(self.guilds))

    def guild_allowed(self, guild_id: int) -> bool:
        return not self.settings.guild_allowlist or guild_id in self.settings.guild_allowlist

    async def run_query(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run a (slow, synchronous) engine read in the query pool, off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(
            self._query_pool, functools.partial(fn, *args, **kwargs)
        )

    def queue_query(
        self, guild_id: int | None, member_id: int, fn: Callable[..., T], /, *args: Any, **kwargs: Any
    ) -> Ticket[T]:
        """Queue a member's engine read for its fair turn in the query pool; await the ticket for the result.

        Raises ``CoolingDown`` or ``Busy`` at once (before anything is deferred), so the refusal is ephemeral.
        """
        self.throttle.check(member_id)
        ticket = self.answers.submit(guild_id, member_id, lambda: self.run_query(fn, *args, **kwargs))
        self.throttle.asked(member_id)
        return ticket

    async def answer_interaction(
        self,
        interaction: discord.Interaction,
        fn: Callable[..., T],
        /,
        *args: Any,
        ephemeral: bool = False,
        keep: WaitingQuestion | None = None,
        **kwargs: Any,
    ) -> T:
        """Queue ``fn`` for the interaction's member, defer the interaction at once, then wait for the turn.

        With ``keep``, the question is kept in the archive from its defer until ``delivered``, so that a crash
        does not lose it (``archivist run`` answers it after the restart).
        """
        with self.answers.acknowledging():  # answers start once the crowd is deferred
            ticket = self.queue_query(interaction.guild_id, interaction.user.id, fn, *args, **kwargs)
            try:
                await interaction.response.defer(thinking=True, ephemeral=ephemeral)
            except BaseException:
                ticket.cancel()
                raise
        try:
            if keep is not None:
                interaction.extras[KEPT] = await self.conversations.keep_waiting(keep)
            return await ticket
        finally:
            ticket.cancel()  # a no-op once answered; else the interaction failed: its place goes to the next one

    async def delivered(self, interaction: discord.Interaction) -> None:
        """The interaction got its answer (or a polite error): its kept question, if any, is done with."""
        kept = interaction.extras.pop(KEPT, None)
        if kept is not None:
            await self.conversations.release_waiting(kept)

    async def run_admin(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run a long engine job (re-index, ingest) in its own pool so answers never queue behind it."""
        return await asyncio.get_running_loop().run_in_executor(
            self._admin_pool, functools.partial(fn, *args, **kwargs)
        )

    async def _names(self, kind: str) -> list[str]:
        method = self.engine.categories if kind == "categories" else self.engine.sources
        return list(await self.run_query(method))

    async def close(self) -> None:
        if self._lag_watch is not None:
            self._lag_watch.cancel()
        self.answers.close()
        gc.unfreeze()  # what the bot froze at start can be collected again once it stops
        await super().close()
        self._query_pool.shutdown(wait=False, cancel_futures=True)
        self._admin_pool.shutdown(wait=False, cancel_futures=True)


async def _watch_loop_lag() -> None:
    """Log, once a minute, how late the event loop ran a timer (p99 and max): a blocked loop delays every reply."""
    lags: list[float] = []
    reported = time.monotonic()
    while True:
        before = time.monotonic()
        await asyncio.sleep(LAG_TICK)
        now = time.monotonic()
        lags.append(max(0.0, now - before - LAG_TICK))
        if now - reported >= LAG_REPORT_EVERY:
            lags.sort()
            p99 = lags[min(len(lags) - 1, int(0.99 * len(lags)))]
            lag_log.info("event-loop lag p99 %.0f ms, max %.0f ms (%d checks)", 1000 * p99, 1000 * lags[-1], len(lags))
            lags, reported = [], now


def _retrying_first_handshake(bot: ArchivistBot, ws_connect: Callable[..., Any]) -> Callable[..., Any]:
    """``ws_connect`` that, while ``bot`` has never been connected, retries a failed handshake with backoff."""
    if getattr(ws_connect, "retries_first_handshake", False):
        return ws_connect
    backoff = ExponentialBackoff(base=HANDSHAKE_BACKOFF)  # type: ignore[arg-type] - a float base works

    async def connect(*args: Any, **kwargs: Any) -> Any:
        while True:
            try:
                return await ws_connect(*args, **kwargs)
            except (aiohttp.ClientError, OSError) as exc:
                if bot.ws is not None or bot.is_closed():
                    raise
                delay = backoff.delay()
                log.warning("Could not connect to Discord's gateway (%s); retrying in %.1fs", _reason(exc), delay)
                await asyncio.sleep(delay)

    connect.retries_first_handshake = True  # type: ignore[attr-defined]
    return connect


def _reason(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.WSServerHandshakeError):
        return f"handshake answered {exc.status}"
    return str(exc) or type(exc).__name__
