"""Every message the bot sends or edits goes through here: limits fitted, mentions disabled."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord.utils import MISSING

from bot.render import fit_content, fit_embeds

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()


def _message_kwargs(content: str | None, embeds: list[discord.Embed] | None, view: Any) -> dict[str, Any]:
    """Keyword arguments for discord.py; ``view=None`` removes components, ``MISSING`` leaves them."""
    kwargs: dict[str, Any] = {"allowed_mentions": NO_MENTIONS}
    if content is not None:
        kwargs["content"] = fit_content(content)
    if embeds is not None:
        kwargs["embeds"] = fit_embeds(embeds)
    if view is not MISSING:
        kwargs["view"] = view
    return kwargs


async def respond(
    interaction: discord.Interaction,
    content: str | None = None,
    *,
    embeds: list[discord.Embed] | None = None,
    view: discord.ui.View = MISSING,
    ephemeral: bool = False,
) -> discord.Message | None:
    """Answer an interaction: the first response if none was sent yet, else a follow-up."""
    kwargs = _message_kwargs(content, embeds, view)
    if not interaction.response.is_done():
        await interaction.response.send_message(ephemeral=ephemeral, **kwargs)
        return None
    return await interaction.followup.send(ephemeral=ephemeral, wait=True, **kwargs)


async def edit_original(
    webhook: discord.Webhook,
    content: str | None = None,
    *,
    embeds: list[discord.Embed] | None = None,
    view: discord.ui.View = MISSING,
) -> None:
    """Replace an interaction's deferred response through the interaction's webhook (used after a restart)."""
    await webhook.edit_message("@original", **_message_kwargs(content, embeds, view))


async def update(
    interaction: discord.Interaction,
    content: str | None = None,
    *,
    embeds: list[discord.Embed] | None = None,
    view: discord.ui.View | None = MISSING,
) -> None:
    """Replace the message a component belongs to (the response to a button or select)."""
    await interaction.response.edit_message(**_message_kwargs(content, embeds, view))


async def send(
    channel: discord.abc.Messageable,
    content: str | None = None,
    *,
    embeds: list[discord.Embed] | None = None,
    view: discord.ui.View = MISSING,
    reply_to: discord.Message | None = None,
) -> discord.Message:
    """Post a normal channel message (optionally as a reply that pings no one)."""
    kwargs = _message_kwargs(content, embeds, view)
    if reply_to is not None:
        kwargs["reference"] = reply_to.to_reference(fail_if_not_exists=False)
        kwargs["mention_author"] = False
    return await channel.send(**kwargs)


async def edit(
    message: discord.Message, content: str | None = None, *, embeds: list[discord.Embed] | None = None
) -> None:
    await message.edit(**_message_kwargs(content, embeds, MISSING))


async def notify(client: discord.Client, channel_id: int | None, content: str) -> None:
    """Post to a configured channel (audit, feedback); failures are logged, never raised to the user."""
    if channel_id is None:
        return
    try:
        await send(client.get_partial_messageable(channel_id), content)
    except discord.HTTPException:
        log.warning("Could not post to channel %s", channel_id, exc_info=True)
