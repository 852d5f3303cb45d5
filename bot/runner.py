"""Starting the bot: ``run_bot`` (blocking, for ``archivist run``) and ``start_bot`` (async, for tests)."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.client import ArchivistBot
from index.contract import ArchiveEngine
from index.errors import ConfigError
from index.settings import Settings

log = logging.getLogger(__name__)

READY_TIMEOUT = 30.0


def point_at_discord(settings: Settings) -> None:
    """Send REST (including webhooks and interaction callbacks) and the gateway where the settings say."""
    Route.BASE = settings.discord_api_base.rstrip("/")
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


def configure_logging(settings: Settings) -> None:
    """The bot logs at the configured level; discord.py never below INFO (its DEBUG logs carry tokens)."""
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("bot").setLevel(settings.log_level)
    logging.getLogger("discord").setLevel(max(logging.INFO, logging.getLevelName(settings.log_level)))


async def start_bot(engine: ArchiveEngine, settings: Settings, *, guild_ready_timeout: float = 2.0) -> ArchivistBot:
    """Log in, sync commands, connect, and return once the gateway is ready; ``await bot.close()`` stops it.

    ``guild_ready_timeout`` is how long discord.py waits for further servers before it is ready.
    """
    token = settings.token()
    point_at_discord(settings)
    bot = ArchivistBot(engine, settings, guild_ready_timeout=guild_ready_timeout)
    await bot.login(token)
    bot.connection_task = asyncio.create_task(bot.connect(reconnect=True), name="archivist-gateway")
    ready = asyncio.create_task(bot.wait_until_ready())
    done, _ = await asyncio.wait(
        {ready, bot.connection_task}, timeout=READY_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
    )
    if ready not in done:
        ready.cancel()
        await bot.close()
        if bot.connection_task in done and bot.connection_task.exception() is not None:
            raise bot.connection_task.exception()
        raise ConfigError(f"Could not connect to Discord's gateway at {settings.discord_gateway_url}.")
    return bot


def run_bot(engine: ArchiveEngine, settings: Settings) -> None:
    """Run the bot until interrupted (blocking)."""
    token = settings.token()
    configure_logging(settings)
    point_at_discord(settings)

    async def main() -> None:
        bot = ArchivistBot(engine, settings)
        async with bot:
            await bot.start(token, reconnect=True)

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        log.info("Stopped")
    except discord.LoginFailure as exc:
        raise ConfigError("Discord refused the token: check DISCORD_TOKEN.") from exc
    except (aiohttp.ClientError, OSError) as exc:
        raise ConfigError(
            f"Could not reach Discord ({settings.discord_api_base}, {settings.discord_gateway_url}): {exc}."
        ) from exc
