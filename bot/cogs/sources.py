"""Live sources in Discord: `/sources list|add|remove|sync` for moderators, a background sync every
``ARCHIVIST_SYNC_INTERVAL_MINUTES``, and each newly published article announced once in
``ARCHIVIST_ANNOUNCE_CHANNEL`` (never an edit, never the backfill of a newly added source).

Syncing runs in the admin worker pool, so answers never wait for it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import render
from bot.checks import moderator_only
from bot.errors import user_sentence
from bot.escape import escape
from bot.reply import notify, respond
from index.present import byline, format_date, one_line

if TYPE_CHECKING:
    from bot.client import ArchivistBot

log = logging.getLogger(__name__)

KINDS = [app_commands.Choice(name=k, value=k) for k in ("auto", "rss", "wordpress", "sitemap")]
FIRST_SENTENCE_MAX = 300


def announcement(article) -> str:
    """Headline (linked), outlet / author, date, and the first sentence; everything escaped."""
    details = [byline(article.source, article.author), format_date(article.published_at)]
    line = render.linked_line("📰 ", article.title, article.url, details, 600)
    first = next((s.strip() for s in render.sentences(article.body.split("\n", 1)[0]) if s.strip()), "")
    return f"{line}\n{render.clip_escaped(first, FIRST_SENTENCE_MAX)}" if first else line


def sync_summary(report) -> str:
    if not report.sources:
        return "There are no live sources to sync; add one with /sources add."
    lines = []
    for source in report.sources:
        mark = "✅" if source.synced else "⚠️"
        lines.append(f"{mark} {source.id} {escape(one_line(source.name))}: {escape(source.summary())}")
        for error in source.errors[(0 if source.synced else 1) : 3]:
            lines.append(f"  • {escape(one_line(error.url))}: {escape(one_line(error.reason))}")
    if report.indexed is not None:
        lines.append(f"Searchable now: index generation {report.indexed.generation}.")
    return "\n".join(lines)


def source_line(source) -> str:
    status = "retired" if source.retired else (source.last_status or "never synced")
    return (
        f"**{source.id}** {escape(one_line(source.name))} ({source.kind}) <{source.url}> — "
        f"{source.articles} articles; {escape(one_line(status))}"
    )


class SourcesCog(commands.Cog):
    sources = app_commands.Group(
        name="sources",
        description="Moderators: the sites the archive follows.",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    def __init__(self, bot: ArchivistBot):
        self.bot = bot
        self._loop: asyncio.Task | None = None

    async def cog_load(self) -> None:
        minutes = self.bot.settings.sync_interval_minutes
        if minutes > 0 and not self.bot.settings.shard_id:  # one process syncs: the only one, or shard 0
            self._loop = asyncio.create_task(self._sync_every(minutes * 60), name="archivist-sync")

    async def cog_unload(self) -> None:
        if self._loop is not None:
            self._loop.cancel()

    async def _sync_every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await self.sync_now()
            except Exception as error:  # noqa: BLE001 - the loop must outlive one bad sync
                log.warning("Background sync failed: %s", user_sentence(error))

    async def sync_now(self, source_id: int | None = None):
        """Sync in the admin pool, then announce what was newly published."""
        report = await self.bot.run_admin(self.bot.engine.sync, source_id)
        if any(source.changed for source in report.sources):
            self.bot.catalogue.forget()
        await self._announce(report.new_articles)
        return report

    async def _announce(self, article_ids) -> None:
        channel = self.bot.settings.announce_channel
        if channel is None or not article_ids:
            return
        articles = [await self.bot.run_query(self.bot.engine.article, aid) for aid in article_ids]
        articles.sort(key=lambda a: a.published_at or "")
        limit = self.bot.settings.announce_max
        for article in articles[:limit]:
            await notify(self.bot, channel, announcement(article))
        rest = len(articles) - limit
        if rest > 0:
            await notify(self.bot, channel, f"…and {rest} more new articles; /recent lists them.")

    @sources.command(name="list", description="Moderators: the sites the archive follows.")
    @moderator_only()
    async def list_sources(self, interaction: discord.Interaction) -> None:
        found = await self.bot.run_query(self.bot.engine.live_sources)
        text = "\n".join(source_line(s) for s in found) or "No live sources yet; add one with /sources add."
        await respond(interaction, text, ephemeral=True)

    @sources.command(name="add", description="Moderators: follow a site's feed, WordPress API or sitemap.")
    @app_commands.describe(url="The site, feed or sitemap address.", kind="What the URL is (default: detect).")
    @app_commands.choices(kind=KINDS)
    @moderator_only()
    async def add(
        self, interaction: discord.Interaction, url: str, kind: str = "auto", name: str | None = None
    ) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        source = await self.bot.run_admin(self.bot.engine.add_source, url, kind=kind, name=name)
        text = (
            f"Added source {source.id}: {escape(source.name)} ({source.kind}). Its articles arrive with the next sync."
        )
        await respond(interaction, text, ephemeral=True)
        await self._audit(interaction.user, f"added source {source.id} <{source.url}>")

    @sources.command(name="remove", description="Moderators: stop following a site.")
    @app_commands.describe(source="The source id (see /sources list).", keep_articles="Keep its articles.")
    @moderator_only()
    async def remove(self, interaction: discord.Interaction, source: int, keep_articles: bool = False) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        deleted = await self.bot.run_admin(self.bot.engine.remove_source, source, keep_articles=keep_articles)
        self.bot.catalogue.forget()
        await respond(interaction, f"Removed source {source}; {deleted} of its articles deleted.", ephemeral=True)
        await self._audit(interaction.user, f"removed source {source} ({deleted} articles deleted)")

    @sources.command(name="sync", description="Moderators: fetch the followed sites now.")
    @app_commands.describe(source="Only this source id.")
    @moderator_only()
    async def sync(self, interaction: discord.Interaction, source: int | None = None) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        report = await self.sync_now(source)
        summary = sync_summary(report)
        await respond(interaction, summary, ephemeral=True)
        await self._audit(interaction.user, f"synced the live sources:\n{summary}")

    async def _audit(self, user: discord.abc.User, action: str) -> None:
        await notify(self.bot, self.bot.settings.audit_channel, f"🛠 {escape(user.display_name)} (`{user.id}`) {action}")
