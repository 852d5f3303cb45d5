"""Moderator commands: /reindex (background, with a progress message), /ingest (an attachment) and /gaps."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import render
from bot.checks import moderator_only
from bot.errors import BotError, user_sentence
from bot.escape import escape
from bot.reply import edit, notify, respond, send
from index.contract import ArchiveEngine
from index.errors import IndexBusy
from index.sources.ingest import Upload

if TYPE_CHECKING:
    from bot.client import ArchivistBot

log = logging.getLogger(__name__)

MAX_INGEST_BYTES = 25 * 1024 * 1024
DIGEST_CHECK_SECONDS = 3600.0
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class ReindexRun:
    started_by: str
    full: bool
    message: discord.Message | None = None
    stage: str = "starting"
    done: int = 0
    total: int = 0
    changed: bool = True

    def update(self, stage: str, done: int, total: int) -> None:
        self.stage, self.done, self.total, self.changed = stage, done, total, True


class ModerationCog(commands.Cog):
    def __init__(self, bot: ArchivistBot):
        self.bot = bot
        self.current: ReindexRun | None = None
        self._task: asyncio.Task | None = None
        self._digests: asyncio.Task | None = None

    async def cog_load(self) -> None:
        settings = self.bot.settings
        if settings.feedback_digest_days > 0 and settings.feedback_channel is not None:
            self._digests = asyncio.create_task(
                self._post_digests(settings.feedback_digest_days), name="archivist-digest"
            )

    async def _post_digests(self, every_days: float) -> None:
        """Post the feedback digest whenever one is due (checked at start-up, then every ``DIGEST_CHECK_SECONDS``;
        the archive remembers when the last went out, so a restart neither repeats nor skips one)."""
        while True:
            try:
                digest = await self.bot.run_admin(self.bot.engine.feedback_digest, every_days)
                if digest is not None:
                    await notify(self.bot, self.bot.settings.feedback_channel, render.digest_text(digest))
            except Exception as error:  # noqa: BLE001 - the loop must outlive one failure
                log.warning("Feedback digest failed: %s", user_sentence(error))
            await asyncio.sleep(DIGEST_CHECK_SECONDS)

    @app_commands.command(name="reindex", description="Moderators: rebuild the search index in the background.")
    @app_commands.describe(full="Re-embed every article instead of only new and changed ones.")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @moderator_only()
    async def reindex(self, interaction: discord.Interaction, full: bool = False) -> None:
        if self.current is not None:
            where = f" Progress: {self.current.message.jump_url}" if self.current.message else ""
            raise BotError(f"A re-index started by {self.current.started_by} is already running.{where}")
        run = ReindexRun(started_by=escape(interaction.user.display_name), full=full)
        self.current = run
        await respond(interaction, "Re-index started; I'll post progress in this channel.", ephemeral=True)
        self._task = asyncio.create_task(self._run_reindex(run, interaction.channel, interaction.user))

    async def _run_reindex(self, run: ReindexRun, channel: discord.abc.Messageable, user: discord.abc.User) -> None:
        loop = asyncio.get_running_loop()
        ticker: asyncio.Task | None = None
        try:
            await self._audit(user, f"started a {'full ' if run.full else ''}re-index")
            run.message = await send(channel, render.progress_text(run.stage, 0, 0, full=run.full))
            ticker = asyncio.create_task(self._show_progress(run))

            def progress(stage: str, done: int, total: int) -> None:  # called from the worker thread
                loop.call_soon_threadsafe(run.update, stage, done, total)

            report = await self.bot.run_admin(self.bot.engine.reindex, full=run.full, progress=progress)
            ticker.cancel()
            summary = render.reindex_summary(report, full=run.full)
            await edit(run.message, summary)
            await send(channel, summary)
            await self._audit(user, f"finished a re-index: {summary}")
            self.bot.catalogue.forget()
        except Exception as error:  # noqa: BLE001 - reported in the channel, logged when unexpected
            sentence = user_sentence(error)
            if run.message is not None:
                await self._quietly(edit(run.message, f"⚠️ Re-index stopped: {sentence}"))
            else:
                await self._quietly(send(channel, f"⚠️ Re-index stopped: {sentence}"))
            await self._audit(user, f"re-index stopped: {sentence}")
        finally:
            if ticker is not None:
                ticker.cancel()
            self.current = None

    async def _show_progress(self, run: ReindexRun) -> None:
        interval = self.bot.settings.progress_interval_seconds
        while True:
            await asyncio.sleep(interval)
            if run.changed and run.message is not None:
                run.changed = False
                await self._quietly(
                    edit(run.message, render.progress_text(run.stage, run.done, run.total, full=run.full))
                )

    @app_commands.command(
        name="gaps", description="Moderators: what members asked here that the archive could not answer."
    )
    @app_commands.describe(since="Only questions asked on or after this date (YYYY-MM-DD).")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @moderator_only()
    async def gaps(self, interaction: discord.Interaction, since: str | None = None) -> None:
        """This server's questions the archive abstained on or that got 👎, grouped by topic (only this server's:
        moderators of one server never see another's questions)."""
        await interaction.response.defer(thinking=True, ephemeral=True)
        found = await self.bot.run_admin(self.bot.engine.gaps, since, guild_id=interaction.guild_id)
        await respond(interaction, embeds=[render.gaps_embed(found, since)], ephemeral=True)

    @app_commands.command(name="ingest", description="Moderators: add the articles in an attached file to the archive.")
    @app_commands.describe(file="A file in one of the archive's supported formats (e.g. .json, .jsonl, .csv, .txt).")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @moderator_only()
    async def ingest(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        if file.size > MAX_INGEST_BYTES:
            raise BotError(f"That file is {file.size / 2**20:.1f} MiB; the limit is {MAX_INGEST_BYTES // 2**20} MiB.")
        await interaction.response.defer(thinking=True, ephemeral=True)
        started = time.monotonic()
        try:
            data = await file.read()
        except discord.HTTPException as exc:
            raise BotError("I couldn't download that attachment from Discord; please try again.") from exc
        report = await self.bot.run_admin(_ingest_bytes, self.bot.engine, file.filename, data)
        self.bot.catalogue.forget()
        summary = render.ingest_summary(file.filename, report)
        if report.added or report.updated:
            summary += "\n" + await self._index_ingested()
        log.info("Ingested %s (%d bytes) in %.1f s", file.filename, len(data), time.monotonic() - started)
        await respond(interaction, summary, ephemeral=True)
        await self._audit(interaction.user, f"ingested {escape(file.filename)}: {summary}")

    async def _index_ingested(self) -> str:
        """Make freshly ingested articles searchable with an incremental re-index (unless one is running)."""
        busy = "A re-index is running; run /reindex when it has finished to make the new articles searchable."
        if self.current is not None:
            return busy
        try:
            report = await self.bot.run_admin(self.bot.engine.reindex)
        except IndexBusy:
            return busy
        return render.ingest_index_note(report)

    async def _audit(self, user: discord.abc.User, action: str) -> None:
        await notify(self.bot, self.bot.settings.audit_channel, f"🛠 {escape(user.display_name)} (`{user.id}`) {action}")

    async def _quietly(self, coro) -> None:
        try:
            await coro
        except discord.HTTPException:
            log.warning("Could not update the re-index message", exc_info=True)

    async def cog_unload(self) -> None:
        for task in (self._task, self._digests):
            if task is not None:
                task.cancel()


def safe_filename(name: str) -> str:
    """A harmless file name keeping the original extension (which tells the engine the format)."""
    path = Path(name.replace("\\", "/")).name
    stem, dot, suffix = path.rpartition(".")
    if not dot:
        stem, suffix = path, ""
    stem = _UNSAFE_NAME.sub("_", stem).strip("._")[:80] or "upload"
    suffix = _UNSAFE_NAME.sub("", suffix).lower()[:10]
    return f"{stem}.{suffix}" if suffix else stem


def _ingest_bytes(engine: ArchiveEngine, filename: str, data: bytes):
    """Runs in a worker thread: ingest the upload from memory (its origin is ``upload:<sha256>``, which
    ``ingest --prune`` never mistakes for a deleted file)."""
    return engine.ingest([Upload(safe_filename(filename), data)])
