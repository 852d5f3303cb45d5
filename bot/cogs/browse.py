"""Browsing the archive: /search, /recent, /article, /stats, /help."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import render
from bot.filters import filters_from_options
from bot.reply import respond
from bot.views import SearchPager

if TYPE_CHECKING:
    from bot.client import ArchivistBot

SEARCH_RESULTS = 25


class BrowseCog(commands.Cog):
    def __init__(self, bot: ArchivistBot):
        self.bot = bot

    @app_commands.command(name="search", description="Find articles matching words or a topic, with a snippet each.")
    @app_commands.describe(
        query="Words or a topic to look for.",
        after="Only articles published on or after this date (YYYY-MM-DD).",
        before="Only articles published before this date (YYYY-MM-DD).",
        source="Only articles from this outlet.",
        category="Only articles in this category.",
    )
    async def search(
        self,
        interaction: discord.Interaction,
        query: app_commands.Range[str, 1, 500],
        after: str | None = None,
        before: str | None = None,
        source: str | None = None,
        category: str | None = None,
    ) -> None:
        filters = filters_from_options(after, before, source, category)
        hits = await self.bot.answer_interaction(
            interaction, self.bot.engine.search, query, filters=filters, k=SEARCH_RESULTS
        )
        pager = SearchPager(query, list(hits), asker_id=interaction.user.id)
        await respond(interaction, embeds=[pager.embed()], view=pager if pager.pages > 1 else discord.utils.MISSING)

    @app_commands.command(name="recent", description="The newest articles in the archive.")
    @app_commands.describe(
        count="How many articles to list (1–25).",
        category="Only articles in this category.",
        source="Only articles from this outlet.",
    )
    async def recent(
        self,
        interaction: discord.Interaction,
        count: app_commands.Range[int, 1, 25] = 10,
        category: str | None = None,
        source: str | None = None,
    ) -> None:
        await interaction.response.defer(thinking=True)
        articles = await self.bot.run_query(self.bot.engine.recent, count, category=category, source=source)
        await respond(interaction, embeds=[render.recent_embed(articles, category, source)])

    @app_commands.command(name="article", description="Show one article's card: headline, date, author, teaser, link.")
    @app_commands.describe(query="The article's URL, or words from its headline.")
    async def article(self, interaction: discord.Interaction, query: app_commands.Range[str, 1, 500]) -> None:
        await interaction.response.defer(thinking=True)
        found = await self.bot.run_query(self.bot.engine.find_article, query)
        if found is None:
            await respond(interaction, "No article in the archive matches that headline or URL.")
            return
        await respond(interaction, embeds=[render.article_embed(found)])

    @app_commands.command(name="stats", description="Archive size, last index time, index generation and model.")
    async def stats(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        stats = await self.bot.run_query(self.bot.engine.stats)
        await respond(interaction, embeds=[render.stats_embed(stats)])

    @app_commands.command(name="help", description="How to ask the archive and what each command does.")
    async def help(self, interaction: discord.Interaction) -> None:
        await respond(interaction, embeds=[render.help_embed()], ephemeral=True)

    @search.autocomplete("source")
    @recent.autocomplete("source")
    async def _source_choices(self, interaction: discord.Interaction, current: str):
        return await self.bot.catalogue.choices("sources", current)

    @search.autocomplete("category")
    @recent.autocomplete("category")
    async def _category_choices(self, interaction: discord.Interaction, current: str):
        return await self.bot.catalogue.choices("categories", current)
