"""/reindex in the background with a progress message, and /ingest with an attachment."""

import json

from tests.bot.fake_discord import AUDIT_CHANNEL_ID, CHANNEL_ID, MANAGE_GUILD, is_ephemeral, message_text


async def test_reindex_acks_at_once_edits_progress_and_posts_summary(bot, discord_fake, engine):
    engine.reindex_seconds = 0.6
    log = await discord_fake.slash("reindex", {"full": True}, permissions=MANAGE_GUILD, user_name="mod")
    (ack,) = await discord_fake.wait_until(log.replies)
    assert log.first_ack < 1.0 and is_ephemeral(ack) and log.callbacks[0][1]["type"] == 4
    summary = await discord_fake.wait_until(
        lambda: [m for m in discord_fake.channel_messages(CHANNEL_ID) if m["content"].startswith("✅")], timeout=10
    )
    assert "Full re-index finished" in summary[0]["content"] and "index generation 2" in summary[0]["content"]
    progress = next(m for m in discord_fake.channel_messages(CHANNEL_ID) if m.get("edits"))
    shown = [e["content"] for e in progress["edits"]]
    assert any("%" in text and "embedding" in text for text in shown[:-1]), shown
    assert shown[-1].startswith("✅")
    assert engine.calls_to("reindex") == [((), {"full": True})]
    audit = [m["content"] for m in discord_fake.channel_messages(AUDIT_CHANNEL_ID)]
    assert any("mod" in a and "started a full re-index" in a for a in audit)
    assert any("finished a re-index" in a for a in audit)


async def test_second_reindex_is_refused_while_one_runs(bot, discord_fake, engine):
    engine.reindex_seconds = 1.5
    first = await discord_fake.slash("reindex", permissions=MANAGE_GUILD)
    await discord_fake.wait_until(first.replies)
    second = await discord_fake.slash("reindex", permissions=MANAGE_GUILD, user_id=4004)
    (refusal,) = await discord_fake.wait_until(second.replies)
    assert is_ephemeral(refusal) and "already running" in message_text(refusal)
    await discord_fake.wait_until(
        lambda: [m for m in discord_fake.channel_messages(CHANNEL_ID) if m["content"].startswith("✅")], timeout=10
    )
    assert len(engine.calls_to("reindex")) == 1


async def test_ingest_downloads_the_attachment_and_reports(bot, discord_fake, engine):
    records = [{"title": "Brand new story", "body": "A brand new story arrived today.", "source": "Upload"}]
    content = json.dumps(records).encode()
    attachment = discord_fake.add_attachment("../new stories.json", content)
    log = await discord_fake.slash("ingest", attachments={"file": attachment}, permissions=MANAGE_GUILD)
    replies = await discord_fake.wait_until(log.replies)
    assert is_ephemeral(replies[-1])
    assert "1 added" in message_text(replies[-1])
    ((paths,), _) = engine.calls_to("ingest")[0]
    assert paths[0].suffix == ".json" and ".." not in paths[0].name
    assert engine.ingested == [(paths[0].name, content)]
    assert not paths[0].exists()  # the temporary copy is removed
    assert any("ingested" in m["content"] for m in discord_fake.channel_messages(AUDIT_CHANNEL_ID))
    found = await discord_fake.slash("article", {"query": "brand new story"})
    (card,) = await discord_fake.wait_until(found.replies)
    assert card["embeds"][0]["title"] == "Brand new story"


async def test_ingest_of_unsupported_file_gives_the_engines_sentence(bot, discord_fake):
    attachment = discord_fake.add_attachment("notes.docx", b"PK\x03\x04")
    log = await discord_fake.slash("ingest", attachments={"file": attachment}, permissions=MANAGE_GUILD)
    replies = await discord_fake.wait_until(log.replies)
    assert message_text(replies[-1]) == "notes.docx is not in a supported format (.json, .txt)."
