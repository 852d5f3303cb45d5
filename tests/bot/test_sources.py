"""/sources for moderators, the background sync and new-post announcements, against the local test site."""

from __future__ import annotations

import dataclasses

import pytest

from tests.bot.fake_discord import AUDIT_CHANNEL_ID, MANAGE_GUILD, is_ephemeral, message_text
from tests.index.sources.live.site import Post, TestSite, real_posts

ANNOUNCE_CHANNEL_ID = 920000000000000013
NEW_TITLE = "Harbour authority opens a second container terminal @everyone"


@pytest.fixture
def site():
    server = TestSite(real_posts(6)).start()
    yield server
    server.stop()


@pytest.fixture
def followed(engine, site):
    """The bot's engine follows the test site (allowed by the private-address allow-list)."""
    real = engine.real
    real.settings = dataclasses.replace(real.settings, sources_allow_private="127.0.0.1", sources_min_delay=0.0)
    return real.add_source(site.base + "/")


async def sources(discord_fake, action: str, options: dict | None = None, **kwargs):
    opts = [{"name": k, "type": 4 if isinstance(v, int) else 3, "value": v} for k, v in (options or {}).items()]
    data = {
        "id": discord_fake.command_id("sources"),
        "name": "sources",
        "type": 1,
        "options": [{"name": action, "type": 1, "options": opts}],
    }
    return await discord_fake.interact(2, data, **kwargs)


def announcements(discord_fake) -> list[dict]:
    return discord_fake.channel_messages(ANNOUNCE_CHANNEL_ID)


def publish(site: TestSite) -> None:
    first = site.posts[1]
    paragraphs = ["The port's new terminal doubles its container capacity. Work began in 2024.", "It opens in May."]
    site.publish(Post(99, NEW_TITLE, paragraphs, "Ana Ruiz", "business", ["ports"], first.date, first.date))


async def test_sources_are_refused_for_members_without_the_permission(bot, discord_fake, engine, followed):
    for action in ("list", "sync"):
        log = await sources(discord_fake, action)
        (reply,) = await discord_fake.wait_until(log.replies)
        assert is_ephemeral(reply) and "Only moderators" in message_text(reply)
    assert engine.calls_to("sync") == [] and engine.calls_to("live_sources") == []


async def test_a_new_post_is_announced_once_after_the_next_sync(start_archivist, discord_fake, engine, site, followed):
    await start_archivist(announce_channel=ANNOUNCE_CHANNEL_ID, sync_interval_minutes=0)
    backfill = await sources(discord_fake, "sync", permissions=MANAGE_GUILD)
    (summary,) = await discord_fake.wait_until(backfill.replies, timeout=60)
    assert is_ephemeral(summary) and "5 added" in message_text(summary)  # the seed post is in the archive already
    assert announcements(discord_fake) == []  # the backfill of a new source is never announced

    publish(site)
    again = await sources(discord_fake, "sync", permissions=MANAGE_GUILD)
    await discord_fake.wait_until(again.replies, timeout=60)
    (posted,) = await discord_fake.wait_until(lambda: announcements(discord_fake))
    text = posted["content"]
    assert "Harbour authority opens a second container terminal" in text and "@\u200beveryone" in text
    assert "Ana Ruiz" in text and site.base in text and "The port's new terminal doubles" in text
    bodies = [b for b in discord_fake.message_payloads() if b.get("content") == text]
    assert bodies and all(b["allowed_mentions"]["parse"] == [] for b in bodies)

    site.edit(99, "Update: the opening moved to June.")
    third = await sources(discord_fake, "sync", permissions=MANAGE_GUILD)
    (edited,) = await discord_fake.wait_until(third.replies, timeout=60)
    assert "1 updated" in message_text(edited)
    assert len(announcements(discord_fake)) == 1  # an edit is never announced again

    def audited() -> list[dict]:
        return [m for m in discord_fake.channel_messages(AUDIT_CHANNEL_ID) if "synced the live sources" in m["content"]]

    await discord_fake.wait_until(lambda: len(audited()) == 3)  # posted beside each reply


async def test_the_background_sync_announces_without_a_command(start_archivist, discord_fake, engine, site, followed):
    engine.real.sync()  # the backfill
    publish(site)
    await start_archivist(announce_channel=ANNOUNCE_CHANNEL_ID, sync_interval_minutes=0.01)
    (posted,) = await discord_fake.wait_until(lambda: announcements(discord_fake), timeout=60)
    assert "Harbour authority" in posted["content"]
    await discord_fake.wait_until(lambda: len(engine.calls_to("sync")) >= 2, timeout=30)
    assert len(announcements(discord_fake)) == 1


async def test_announcements_beyond_the_maximum_are_summed_up(start_archivist, discord_fake, engine, site, followed):
    engine.real.sync()
    for number in range(3):
        first = site.posts[1]
        site.publish(
            Post(
                200 + number,
                f"Budget vote number {number} passes",
                [f"Vote {number} passed easily."],
                "Li Wei",
                "politics",
                [],
                first.date,
                first.date,
            )
        )
    await start_archivist(announce_channel=ANNOUNCE_CHANNEL_ID, sync_interval_minutes=0, announce_max=2)
    log = await sources(discord_fake, "sync", permissions=MANAGE_GUILD)
    await discord_fake.wait_until(log.replies, timeout=60)
    await discord_fake.wait_until(lambda: announcements(discord_fake)[2:])
    posted = announcements(discord_fake)
    assert [m["content"].startswith("📰") for m in posted] == [True, True, False]
    assert posted[2]["content"] == "…and 1 more new articles; /recent lists them."


async def test_sources_list_and_add_refusals_reach_the_moderator(bot, discord_fake, engine, site, followed):
    listed = await sources(discord_fake, "list", permissions=MANAGE_GUILD)
    (reply,) = await discord_fake.wait_until(listed.replies)
    assert "The Test Gazette (wordpress)" in message_text(reply)
    refused = await sources(discord_fake, "add", {"url": "http://169.254.169.254/latest/"}, permissions=MANAGE_GUILD)
    replies = await discord_fake.wait_until(refused.replies, timeout=20)
    assert "not a public address" in message_text(replies[-1]) and is_ephemeral(replies[-1])
