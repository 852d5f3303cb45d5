"""The bot's one error handler and its own user-facing errors.

An ``ArchivistError`` (engine or bot) becomes one ephemeral sentence; anything else becomes a
generic apology and a logged traceback.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from bot.reply import respond, send
from index.errors import ArchivistError

log = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong on my side. The moderators can find the details in the bot's log."


class BotError(ArchivistError):
    """A refusal the bot itself makes; the message is the sentence shown to the user."""


class Busy(BotError):
    pass


class CoolingDown(BotError):
    pass


class NotModerator(app_commands.CheckFailure, BotError):
    """Raised by the server-side moderator check (a CheckFailure, so the command never runs)."""


def user_sentence(error: BaseException) -> str:
    """The sentence to show for ``error``; unexpected errors are logged with their traceback."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    elif isinstance(error, app_commands.TransformerError) and error.__cause__ is not None:
        error = error.__cause__
    if isinstance(error, ArchivistError):
        return str(error)
    if isinstance(error, app_commands.CheckFailure):
        return str(error) or "You can't use this command here."
    log.error("Unexpected error while handling a request", exc_info=error)
    return APOLOGY


async def report_error(interaction: discord.Interaction, error: BaseException) -> None:
    sentence = user_sentence(error)
    try:
        await respond(interaction, sentence, ephemeral=True)
    except discord.HTTPException:
        log.warning("Could not tell the user about an error", exc_info=True)


async def report_message_error(message: discord.Message, error: BaseException) -> None:
    sentence = user_sentence(error)
    try:
        await send(message.channel, sentence, reply_to=message)
    except discord.HTTPException:
        log.warning("Could not tell the user about an error", exc_info=True)
