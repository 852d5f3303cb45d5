"""Command registration, the server-side moderator check, the guild allowlist."""

import pytest

from bot.runner import run_bot
from index.errors import ConfigError
from index.settings import Settings
from tests.bot.fake_discord import CHANNEL_ID, MANAGE_GUILD, MOD_ROLE_ID, is_ephemeral, message_text

ALL_COMMANDS = {"ask", "search", "recent", "article", "stats", "help", "reindex", "ingest", "sources", "gaps"}


async def test_sync_sends_every_command_with_descriptions_and_moderator_permissions(bot, discord_fake):
    synced = {c["name"]: c for c in discord_fake.commands}
    assert set(synced) == ALL_COMMANDS
    for command in synced.values():
        assert command["description"].strip(), command["name"]
        for option in command.get("options", []):
            assert option["description"].strip(), (command["name"], option["name"])
    assert int(synced["reindex"]["default_member_permissions"]) == MANAGE_GUILD
    assert int(synced["ingest"]["default_member_permissions"]) == MANAGE_GUILD
    assert int(synced["sources"]["default_member_permissions"]) == MANAGE_GUILD
    assert int(synced["gaps"]["default_member_permissions"]) == MANAGE_GUILD
    for subcommand in synced["sources"]["options"]:
        assert subcommand["description"].strip() and all(o["description"].strip() for o in subcommand["options"])
    for name in ALL_COMMANDS - {"reindex", "ingest", "sources", "gaps"}:
        assert synced[name]["default_member_permissions"] is None
    ask_options = {o["name"]: o for o in synced["ask"]["options"]}
    assert set(ask_options) == {"question", "after", "before", "source", "category", "only_me"}
    assert ask_options["question"]["required"] is True
    assert ask_options["source"]["autocomplete"] is True
    recent_options = {o["name"]: o for o in synced["recent"]["options"]}
    assert recent_options["category"]["autocomplete"] and recent_options["source"]["autocomplete"]
    assert (recent_options["count"]["min_value"], recent_options["count"]["max_value"]) == (1, 25)


async def test_member_without_permission_is_refused_and_nothing_runs(bot, discord_fake, engine):
    attachment = discord_fake.add_attachment("new.txt", b"Title\nBody.")
    reindex = await discord_fake.slash("reindex", {"full": True})
    ingest = await discord_fake.slash("ingest", attachments={"file": attachment})
    gaps = await discord_fake.slash("gaps")
    for log in (reindex, ingest, gaps):
        (reply,) = await discord_fake.wait_until(log.replies)
        assert is_ephemeral(reply)
        assert "only moderators" in message_text(reply).lower()
    assert engine.calls_to("reindex") == [] and engine.calls_to("ingest") == [] and engine.calls_to("gaps") == []
    assert not any(r.path.startswith("/attachments/") for r in discord_fake.requests)
    assert not any(r.path == f"/api/v10/channels/{CHANNEL_ID}/messages" for r in discord_fake.requests)


async def test_configured_moderator_role_may_reindex(bot, discord_fake, engine):
    log = await discord_fake.slash("reindex", roles=[MOD_ROLE_ID])
    (reply,) = await discord_fake.wait_until(log.replies)
    assert "re-index started" in message_text(reply).lower()
    await discord_fake.wait_until(lambda: engine.returned("reindex"), timeout=60)


async def test_manage_server_may_reindex(bot, discord_fake, engine):
    log = await discord_fake.slash("reindex", permissions=MANAGE_GUILD)
    await discord_fake.wait_until(log.replies)
    await discord_fake.wait_until(lambda: engine.returned("reindex"), timeout=60)


async def test_servers_outside_the_allowlist_are_refused(start_archivist, discord_fake, engine):
    await start_archivist(guild_allowlist=(1,))
    log = await discord_fake.slash("ask", {"question": "What does NATO's article 5 say?"})
    (reply,) = await discord_fake.wait_until(log.replies)
    assert is_ephemeral(reply) and "not enabled on this server" in message_text(reply)
    dm = await discord_fake.slash("ask", {"question": "What does NATO's article 5 say?"}, in_guild=False)
    (answer,) = await discord_fake.wait_until(dm.replies, timeout=20)
    assert "founding charter’s article 5" in message_text(answer)
    assert len(engine.calls_to("ask")) == 1


def test_run_bot_without_a_token_is_a_clear_error(engine):
    with pytest.raises(ConfigError, match="DISCORD_TOKEN"):
        run_bot(engine, Settings())
