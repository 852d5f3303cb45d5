"""Questions: /ask, messages that mention the bot, DMs, and follow-ups in threads."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands
from discord.utils import MISSING

from bot import render
from bot.errors import Busy, report_message_error, user_sentence
from bot.filters import filters_from_options
from bot.queue import Ticket
from bot.reply import edit_original, respond, send
from bot.views import AnswerButton, ReasonSelect, answer_view
from index.errors import ArchivistError
from index.models import Answer, Filters
from index.store.pending import WaitingQuestion

if TYPE_CHECKING:
    from bot.client import ArchivistBot

log = logging.getLogger(__name__)

QUESTION_MAX = 1000
RESUME_WITHIN = 14 * 60.0  # seconds: a question deferred before a restart is answered only inside its token's life
EMPTY_MENTION_HINT = "Ask me a question about the news archive, e.g. “@Archivist why is GM recalling Cadillacs?”"


class AskCog(commands.Cog):
    def __init__(self, bot: ArchivistBot):
        self.bot = bot
        self._resumed: set[asyncio.Task] = set()

    @app_commands.command(name="ask", description="Ask the news archive; get verbatim quotes with their sources.")
    @app_commands.describe(
        question="Your question, in plain words.",
        after="Only articles published on or after this date (YYYY-MM-DD).",
        before="Only articles published before this date (YYYY-MM-DD).",
        source="Only articles from this outlet.",
        category="Only articles in this category.",
        only_me="Show the answer only to you.",
    )
    async def ask(
        self,
        interaction: discord.Interaction,
        question: app_commands.Range[str, 1, QUESTION_MAX],
        after: str | None = None,
        before: str | None = None,
        source: str | None = None,
        category: str | None = None,
        only_me: bool = False,
    ) -> None:
        filters = filters_from_options(after, before, source, category)
        allow_thread = (
            self.bot.settings.thread_followups and not only_me and isinstance(interaction.channel, discord.TextChannel)
        )
        waiting = WaitingQuestion(
            kind="ask",
            question=question,
            filters=filters,
            only_me=only_me,
            allow_thread=allow_thread,
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id or 0,
            member_id=interaction.user.id,
            application_id=interaction.application_id,
            token=interaction.token,
            deferred_at=datetime.now(UTC),
        )
        answer = await self.bot.answer_interaction(
            interaction, self.bot.engine.ask, question, filters=filters, ephemeral=only_me, keep=waiting
        )
        view = await self._view(answer, interaction.guild_id, interaction.user.id, (), allow_thread)
        await respond(interaction, embeds=[render.answer_embed(answer)], view=view, ephemeral=only_me)
        await self.bot.delivered(interaction)

    async def resume_waiting(self) -> None:
        """Queue the questions deferred before a restart (or crash) and not answered yet, in the order they were
        asked and fairly like any other; each is answered by editing its deferred response."""
        try:
            found = await self.bot.conversations.resumable(RESUME_WITHIN)
        except (ArchivistError, OSError, sqlite3.Error):
            log.warning("could not read the questions left waiting before the restart", exc_info=True)
            return
        if found.expired:
            log.info("dropped %d waiting questions deferred too long ago to answer now", found.expired)
        if found.unreadable:
            log.warning("skipped %d unreadable waiting questions", found.unreadable)
        mine = [waiting for waiting in found.questions if self.bot.settings.serves(waiting.guild_id)]
        if mine:
            log.info("answering %d questions left waiting before the restart", len(mine))
        for waiting in mine:  # another shard's are its own to answer
            try:
                ticket: Ticket[Answer] | Busy = self.bot.answers.submit(
                    waiting.guild_id,
                    waiting.member_id,
                    lambda waiting=waiting: self.bot.run_query(
                        self.bot.engine.ask, waiting.question, filters=waiting.filters
                    ),
                )
            except Busy as busy:
                ticket = busy
            task = asyncio.create_task(self._answer_waiting(waiting, ticket))
            self._resumed.add(task)
            task.add_done_callback(self._resumed.discard)

    async def _answer_waiting(self, waiting: WaitingQuestion, ticket: Ticket[Answer] | Busy) -> None:
        webhook = discord.Webhook.partial(waiting.application_id, waiting.token, client=self.bot)
        try:
            if isinstance(ticket, Busy):
                raise ticket
            try:
                answer = await ticket
            finally:
                ticket.cancel()  # a no-op once answered
            view = await self._view(answer, waiting.guild_id, waiting.member_id, (), waiting.allow_thread)
            await edit_original(webhook, embeds=[render.answer_embed(answer)], view=view)
        except discord.HTTPException as error:
            log.warning("could not deliver the answer to a question left waiting (HTTP %s)", error.status)
        except Exception as error:  # noqa: BLE001 - the member still gets one sentence, as for any question
            try:
                await edit_original(webhook, user_sentence(error))
            except discord.HTTPException as failed:
                log.warning("could not tell a member why their waiting question failed (HTTP %s)", failed.status)
        await self.bot.conversations.release_waiting(waiting.id)

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(AnswerButton, ReasonSelect)  # buttons of answers sent before a restart work too

    async def cog_unload(self) -> None:
        for task in list(self._resumed):
            task.cancel()  # a question still waiting stays kept, for the next start
        await self.bot.conversations.close()

    async def _view(
        self, answer: Answer, guild_id: int | None, asker_id: int, history: tuple[str, ...], allow_thread: bool
    ) -> discord.ui.View:
        """The answer's buttons, once it is kept in the archive (no buttons if it could not be kept)."""
        answer_id = await self.bot.conversations.record_answer(
            answer, guild_id=guild_id, asker_id=asker_id, history=history
        )
        return MISSING if answer_id is None else answer_view(answer_id, answer, allow_thread=allow_thread)

    @ask.autocomplete("source")
    async def _source_choices(self, interaction: discord.Interaction, current: str):
        return await self.bot.catalogue.choices("sources", current)

    @ask.autocomplete("category")
    async def _category_choices(self, interaction: discord.Interaction, current: str):
        return await self.bot.catalogue.choices("categories", current)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or self.bot.user is None:
            return
        conversation = None
        if not isinstance(message.channel, discord.TextChannel | discord.DMChannel):  # a follow-up thread, maybe
            conversation = await self.bot.conversations.get(message.channel.id)
        if conversation is None and message.guild is not None and self.bot.user not in message.mentions:
            return  # neither a DM, nor a follow-up thread, nor addressed to the bot (@everyone does not count)
        if message.guild is not None and not self.bot.guild_allowed(message.guild.id):
            return
        question = _strip_mentions(message.content, self.bot.user.id)
        if not question:
            await send(message.channel, EMPTY_MENTION_HINT, reply_to=message)
            return
        question = question[:QUESTION_MAX]
        history = conversation.history() if conversation else ()
        filters: Filters | None = conversation.filters if conversation else None
        try:
            guild_id = message.guild.id if message.guild is not None else None
            ticket = self.bot.queue_query(
                guild_id, message.author.id, self.bot.engine.ask, question, filters=filters, history=history
            )
            try:
                async with message.channel.typing():
                    answer = await ticket
            finally:
                ticket.cancel()  # a no-op once answered; else its place goes to the next question
            if conversation is not None:
                await self.bot.conversations.add_turn(conversation.thread_id, question)
            allow_thread = (
                conversation is None
                and self.bot.settings.thread_followups
                and isinstance(message.channel, discord.TextChannel)
            )
            guild_id = message.guild.id if message.guild else None
            view = await self._view(answer, guild_id, message.author.id, history, allow_thread)
            await send(message.channel, embeds=[render.answer_embed(answer)], view=view, reply_to=message)
        except Exception as error:  # noqa: BLE001 - one handler turns every failure into a reply
            await report_message_error(message, error)


def _strip_mentions(content: str, bot_id: int) -> str:
    return " ".join(re.sub(rf"<@!?{bot_id}>", " ", content).split())
