"""Buttons and selects under the bot's messages."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from bot import render
from bot.conversations import Conversation
from bot.errors import report_error
from bot.escape import escape
from bot.reply import notify, respond, send, update
from index.models import Answer, Filters
from index.present import one_line

if TYPE_CHECKING:
    from bot.client import ArchivistBot

log = logging.getLogger(__name__)
feedback_log = logging.getLogger("bot.feedback")

VIEW_TIMEOUT = 3600.0
FEEDBACK_REASONS = {
    "wrong_quote": "Wrong quote",
    "outdated": "Outdated",
    "not_answered": "Didn't answer my question",
}


class BaseView(discord.ui.View):
    async def on_error(self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item) -> None:
        await report_error(interaction, error)


class AnswerView(BaseView):
    """More sources (asker only), 👍 / 👎 (with a reason), and Follow up (opens a thread)."""

    def __init__(
        self,
        bot: ArchivistBot,
        answer: Answer,
        *,
        asker_id: int,
        filters: Filters | None,
        history: tuple[str, ...],
        allow_thread: bool,
    ):
        super().__init__(timeout=VIEW_TIMEOUT)
        self.bot = bot
        self.answer = answer
        self.asker_id = asker_id
        self.filters = filters
        self.history = history
        self.quotes_shown = min(len(answer.quotes), render.QUOTES_PER_PAGE)
        self.hits_shown = 0
        self.voters: set[int] = set()
        if answer.abstained:
            self.remove_item(self.more_sources)
        if not allow_thread:
            self.remove_item(self.follow_up)

    @discord.ui.button(label="More sources", style=discord.ButtonStyle.secondary)
    async def more_sources(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        if interaction.user.id != self.asker_id:
            await respond(interaction, "Only the person who asked can page through the sources.", ephemeral=True)
            return
        if self.quotes_shown < len(self.answer.quotes):
            embed = render.answer_embed(self.answer, start=self.quotes_shown)
            self.quotes_shown += render.QUOTES_PER_PAGE
            await respond(interaction, embeds=[embed], ephemeral=True)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        cited = {q.article_id for q in self.answer.quotes}
        wanted = self.hits_shown + render.HITS_PER_PAGE
        hits = await self.bot.run_query(
            self.bot.engine.search, self.answer.search_query, filters=self.filters, k=wanted + len(cited) + 5
        )
        fresh = [h for h in hits if h.article_id not in cited]
        page = fresh[self.hits_shown : wanted]
        first = len(cited) + self.hits_shown + 1  # numbered on from the answer's sources
        self.hits_shown += len(page)
        await respond(interaction, embeds=[render.more_hits_embed(self.answer.question, page, first)], ephemeral=True)

    @discord.ui.button(emoji="👍", style=discord.ButtonStyle.secondary)
    async def helpful(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        if not self._first_vote(interaction.user.id):
            await respond(interaction, "You already rated this answer — thank you!", ephemeral=True)
            return
        feedback_log.info("👍 question=%r user=%s", self.answer.question, interaction.user.id)
        await respond(interaction, "Thanks for the feedback!", ephemeral=True)

    @discord.ui.button(emoji="👎", style=discord.ButtonStyle.secondary)
    async def unhelpful(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        if not self._first_vote(interaction.user.id):
            await respond(interaction, "You already rated this answer — thank you!", ephemeral=True)
            return
        view = FeedbackReasonView(self.bot, self.answer, jump_url=_jump_url(interaction))
        await respond(interaction, "Sorry about that. What was wrong?", view=view, ephemeral=True)

    @discord.ui.button(label="Follow up", style=discord.ButtonStyle.primary)
    async def follow_up(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        message = interaction.message
        if message is None or not isinstance(interaction.channel, discord.TextChannel):
            await respond(interaction, "Follow-up threads can only be opened in a server text channel.", ephemeral=True)
            return
        existing = self.bot.conversations.thread_for_message(message.id)
        if existing is not None:
            await respond(interaction, f"A follow-up thread is already open: <#{existing}>", ephemeral=True)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        thread = await message.create_thread(name=render.thread_name(self.answer.question), auto_archive_duration=1440)
        conversation = Conversation(turns=[*self.history, self.answer.question], filters=self.filters)
        self.bot.conversations.open(thread.id, message.id, conversation)
        await send(thread, "Ask your follow-up questions here: I'll answer each one with this conversation in mind.")
        await respond(interaction, f"Thread opened: <#{thread.id}>", ephemeral=True)

    def _first_vote(self, user_id: int) -> bool:
        if user_id in self.voters:
            return False
        self.voters.add(user_id)
        return True


class FeedbackReasonView(BaseView):
    def __init__(self, bot: ArchivistBot, answer: Answer, *, jump_url: str | None):
        super().__init__(timeout=VIEW_TIMEOUT)
        self.bot = bot
        self.answer = answer
        self.jump_url = jump_url

    @discord.ui.select(
        placeholder="Choose a reason",
        options=[discord.SelectOption(label=label, value=value) for value, label in FEEDBACK_REASONS.items()],
    )
    async def reason(self, interaction: discord.Interaction, select: discord.ui.Select) -> None:
        chosen = FEEDBACK_REASONS.get(select.values[0], "Other")
        feedback_log.info("👎 reason=%s question=%r user=%s", chosen, self.answer.question, interaction.user.id)
        self.stop()
        await update(interaction, f"Thanks — recorded as “{chosen}”.", view=None)
        where = f" ({self.jump_url})" if self.jump_url else ""
        await notify(
            self.bot,
            self.bot.settings.feedback_channel,
            f"👎 **{chosen}** from {escape(interaction.user.display_name)} (`{interaction.user.id}`) on: "
            f"“{escape(one_line(self.answer.question))}”{where}",
        )


class SearchPager(BaseView):
    def __init__(self, query: str, hits: list, *, asker_id: int):
        super().__init__(timeout=VIEW_TIMEOUT)
        self.query = query
        self.hits = hits
        self.asker_id = asker_id
        self.page = 0
        self.pages = max(1, -(-len(hits) // render.HITS_PER_PAGE))
        self._sync_buttons()

    def embed(self) -> discord.Embed:
        return render.search_embed(self.query, self.hits, self.page)

    def _sync_buttons(self) -> None:
        self.previous.disabled = self.page == 0
        self.next.disabled = self.page >= self.pages - 1

    async def _turn(self, interaction: discord.Interaction, step: int) -> None:
        if interaction.user.id != self.asker_id:
            await respond(
                interaction, "Only the person who searched can turn these pages; try /search yourself.", ephemeral=True
            )
            return
        self.page = min(max(self.page + step, 0), self.pages - 1)
        self._sync_buttons()
        await update(interaction, embeds=[self.embed()], view=self)

    @discord.ui.button(label="◀ Previous", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self._turn(interaction, -1)

    @discord.ui.button(label="Next ▶", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self._turn(interaction, 1)


def _jump_url(interaction: discord.Interaction) -> str | None:
    return interaction.message.jump_url if interaction.message is not None else None
