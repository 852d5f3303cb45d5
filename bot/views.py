"""Buttons and selects under the bot's messages."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

import discord

from bot import render
from bot.errors import report_error
from bot.escape import escape
from bot.reply import notify, respond, send, update
from index.models import Answer
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
EXPIRED = "This answer has expired, so its buttons no longer work; ask again to get a fresh one."
ALREADY_RATED = "You already rated this answer — thank you!"
# The buttons under an answer carry what they need in their custom id (the answer's id in the archive), so they
# work for as long as the archive keeps the answer, after any restart: discord.py routes every click whose custom
# id matches these templates to the items below, whichever process sent the message.
ANSWER_BUTTON = r"archivist:answer:(?P<action>more|up|down|follow):(?P<answer_id>[0-9]{1,19})"
REASON_SELECT = r"archivist:reason:(?P<answer_id>[0-9]{1,19}):(?P<channel_id>[0-9]{1,19}):(?P<message_id>[0-9]{1,19})"


class BaseView(discord.ui.View):
    async def on_error(self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item) -> None:
        await report_error(interaction, error)


def answer_view(answer_id: int, answer: Answer, *, allow_thread: bool) -> discord.ui.View:
    """More sources (asker only), 👍 / 👎 (with a reason) and Follow up (opens a thread), for as long as the
    archive keeps the answer."""
    view = BaseView(timeout=None)
    actions = ["up", "down"]
    if not answer.abstained:
        actions.insert(0, "more")
    if allow_thread:
        actions.append("follow")
    for action in actions:
        view.add_item(AnswerButton(action, answer_id))
    return view


class AnswerButton(discord.ui.DynamicItem[discord.ui.Button], template=ANSWER_BUTTON):
    LOOKS = {
        "more": {"label": "More sources", "style": discord.ButtonStyle.secondary},
        "up": {"emoji": "👍", "style": discord.ButtonStyle.secondary},
        "down": {"emoji": "👎", "style": discord.ButtonStyle.secondary},
        "follow": {"label": "Follow up", "style": discord.ButtonStyle.primary},
    }

    def __init__(self, action: str, answer_id: int) -> None:
        super().__init__(discord.ui.Button(custom_id=f"archivist:answer:{action}:{answer_id}", **self.LOOKS[action]))
        self.action = action
        self.answer_id = answer_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> AnswerButton:
        return cls(match["action"], int(match["answer_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: ArchivistBot = interaction.client  # type: ignore[assignment]
        try:
            await getattr(self, f"_{self.action}")(bot, interaction)
        except Exception as error:  # noqa: BLE001 - one handler turns every failure into a reply
            await report_error(interaction, error)

    async def _more(self, bot: ArchivistBot, interaction: discord.Interaction) -> None:
        record = await bot.conversations.answered(self.answer_id, interaction.user.id)
        if record is None or record.answer is None:
            await respond(interaction, EXPIRED, ephemeral=True)
            return
        if not record.asked_by_member:
            await respond(interaction, "Only the person who asked can page through the sources.", ephemeral=True)
            return
        answer = record.answer
        paging = bot.conversations.paging(
            self.answer_id, interaction.user.id, min(len(answer.quotes), render.QUOTES_PER_PAGE)
        )
        if paging.quotes_shown < len(answer.quotes):
            embed = render.answer_embed(answer, start=paging.quotes_shown)
            paging.quotes_shown += render.QUOTES_PER_PAGE
            await respond(interaction, embeds=[embed], ephemeral=True)
            return
        cited = {q.article_id for q in answer.quotes}
        wanted = paging.hits_shown + render.HITS_PER_PAGE
        hits = await bot.answer_interaction(  # deferred at once, then searched in turn with the other questions
            interaction,
            bot.engine.search,
            answer.search_query,
            filters=answer.filters,
            k=wanted + len(cited) + 5,
            ephemeral=True,
        )
        fresh = [h for h in hits if h.article_id not in cited]
        page = fresh[paging.hits_shown : wanted]
        first = len(cited) + paging.hits_shown + 1  # numbered on from the answer's sources
        paging.hits_shown += len(page)
        await respond(interaction, embeds=[render.more_hits_embed(answer.question, page, first)], ephemeral=True)

    async def _up(self, bot: ArchivistBot, interaction: discord.Interaction) -> None:
        if await self._voted(bot, interaction, 1):
            await respond(interaction, "Thanks for the feedback!", ephemeral=True)

    async def _down(self, bot: ArchivistBot, interaction: discord.Interaction) -> None:
        if not await self._voted(bot, interaction, -1):
            return
        message = interaction.message
        where = (interaction.channel_id or 0, message.id if message is not None else 0)
        view = BaseView(timeout=None)
        view.add_item(ReasonSelect(self.answer_id, *where))
        await respond(interaction, "Sorry about that. What was wrong?", view=view, ephemeral=True)

    async def _voted(self, bot: ArchivistBot, interaction: discord.Interaction, vote: int) -> bool:
        """Count the vote; False after telling the member why it was not counted."""
        if await bot.conversations.answered(self.answer_id, interaction.user.id) is None:
            await respond(interaction, EXPIRED, ephemeral=True)
            return False
        if not await bot.conversations.vote(self.answer_id, interaction.user.id, vote):
            await respond(interaction, ALREADY_RATED, ephemeral=True)
            return False
        feedback_log.info("%s answer=%d", "👍" if vote > 0 else "👎", self.answer_id)
        return True

    async def _follow(self, bot: ArchivistBot, interaction: discord.Interaction) -> None:
        message = interaction.message
        if message is None or not isinstance(interaction.channel, discord.TextChannel):
            await respond(interaction, "Follow-up threads can only be opened in a server text channel.", ephemeral=True)
            return
        existing = await bot.conversations.thread_of_answer(self.answer_id)
        if existing is not None:
            await respond(interaction, f"A follow-up thread is already open: <#{existing}>", ephemeral=True)
            return
        record = await bot.conversations.answered(self.answer_id, interaction.user.id)
        if record is None or record.answer is None:
            await respond(interaction, EXPIRED, ephemeral=True)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        question = record.answer.question
        thread = await message.create_thread(name=render.thread_name(question), auto_archive_duration=1440)
        turns = [*record.history, question]
        if not await bot.conversations.open_thread(
            thread.id, self.answer_id, guild_id=interaction.guild_id, turns=turns
        ):
            existing = await bot.conversations.thread_of_answer(self.answer_id)
            await respond(interaction, f"A follow-up thread is already open: <#{existing}>", ephemeral=True)
            return
        await send(thread, "Ask your follow-up questions here: I'll answer each one with this conversation in mind.")
        await respond(interaction, f"Thread opened: <#{thread.id}>", ephemeral=True)


class ReasonSelect(discord.ui.DynamicItem[discord.ui.Select], template=REASON_SELECT):
    """Why a 👎: kept with the vote and forwarded to the feedback channel."""

    def __init__(self, answer_id: int, channel_id: int, message_id: int) -> None:
        super().__init__(
            discord.ui.Select(
                custom_id=f"archivist:reason:{answer_id}:{channel_id}:{message_id}",
                placeholder="Choose a reason",
                options=[discord.SelectOption(label=label, value=value) for value, label in FEEDBACK_REASONS.items()],
            )
        )
        self.answer_id, self.channel_id, self.message_id = answer_id, channel_id, message_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Select, match: re.Match[str], /
    ) -> ReasonSelect:
        return cls(int(match["answer_id"]), int(match["channel_id"]), int(match["message_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: ArchivistBot = interaction.client  # type: ignore[assignment]
        try:
            await self._chosen(bot, interaction)
        except Exception as error:  # noqa: BLE001 - one handler turns every failure into a reply
            await report_error(interaction, error)

    async def _chosen(self, bot: ArchivistBot, interaction: discord.Interaction) -> None:
        values = self.item.values or (interaction.data or {}).get("values") or [""]
        chosen = FEEDBACK_REASONS.get(values[0], "Other")
        await bot.conversations.reason(self.answer_id, interaction.user.id, chosen)
        feedback_log.info("👎 reason=%s answer=%d", chosen, self.answer_id)
        await update(interaction, f"Thanks — recorded as “{chosen}”.", view=None)
        record = await bot.conversations.answered(self.answer_id, interaction.user.id)
        question = f" on: “{escape(one_line(record.answer.question))}”" if record and record.answer else ""
        guild = interaction.guild_id or "@me"
        where = (
            f" (https://discord.com/channels/{guild}/{self.channel_id}/{self.message_id})" if self.message_id else ""
        )
        await notify(
            bot,
            bot.settings.feedback_channel,
            f"👎 **{chosen}** from {escape(interaction.user.display_name)} (`{interaction.user.id}`){question}{where}",
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
