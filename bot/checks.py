"""Server-side permission checks (``default_member_permissions`` is only a hint guild admins can change)."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.errors import NotModerator


def is_moderator(user: discord.abc.User, permissions: discord.Permissions, mod_role: str | None) -> bool:
    """Manage Server (or Administrator) in this channel, or the configured role (by id or name)."""
    if permissions.administrator or permissions.manage_guild:
        return True
    if mod_role is None or not isinstance(user, discord.Member):
        return False
    wanted = mod_role.strip()
    return any(str(role.id) == wanted or role.name.casefold() == wanted.casefold() for role in user.roles)


def moderator_only():
    """An app-command check refusing (ephemerally, via the error handler) anyone who is not a moderator."""

    async def predicate(interaction: discord.Interaction) -> bool:
        settings = interaction.client.settings  # type: ignore[attr-defined]
        if interaction.guild is None or not is_moderator(interaction.user, interaction.permissions, settings.mod_role):
            raise NotModerator("Only moderators (Manage Server, or the moderator role) can use this command.")
        return True

    return app_commands.check(predicate)
