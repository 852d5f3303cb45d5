"""/reindex in the background with a progress message, and /ingest with an attachment (real engine)."""

import json
import re

from tests.bot.fake_discord import AUDIT_CHANNEL_ID, CHANNEL_ID, MANAGE_GUILD, is_ephemeral, message_text
from tests.conftest import small_multihop_articles

MATTEL_TITLE = "Mattel slammed for ‘inaccurate’ Cherokee Barbie"
MATTEL_QUESTION = "Why was Mattel criticised over its Cherokee Barbie doll?"


def summaries(discord_fake) -> list[dict]:
    """The summary posted as a message of its own (the progress message is edited to it as well)."""
    return [
        m for m in discord_fake.channel_messages(CHANNEL_ID) if m["content"].startswith("✅") and not m.get("edits")
    ]


async def test_reindex_acks_at_once_edits_progress_and_posts_a_real_summary(bot, discord_fake, engine):
    log = await discord_fake.slash("reindex", {"full": True}, permissions=MANAGE_GUILD, user_name="mod")
    (ack,) = await discord_fake.wait_until(log.replies)
    assert log.first_ack < 1.0 and is_ephemeral(ack) and log.callbacks[0][1]["type"] == 4
    (summary,) = await discord_fake.wait_until(lambda: summaries(discord_fake), timeout=60)
    vectors = engine.real.stats().vectors
    match = re.fullmatch(
        r"✅ Full re-index finished in [\d.]+ s: (\d+) passages and (\d+) sentences embedded, 0 removed, "
        r"(\d+) vectors in total, index generation (\d+)\.",
        summary["content"],
    )
    assert match, summary["content"]
    sentences = engine.real.store.count("sentence_vectors")
    assert sentences > vectors  # every article has more sentences than passages
    assert [int(g) for g in match.groups()] == [vectors, sentences, vectors, 3]  # full: everything embedded again
    progress = next(m for m in discord_fake.channel_messages(CHANNEL_ID) if m.get("edits"))
    shown = [e["content"] for e in progress["edits"]]
    assert any(re.search(r"(embedding|building) .*\d+% \(", text) for text in shown[:-1]), shown
    assert shown[-1] == summary["content"]
    assert engine.calls_to("reindex")[0][1]["full"] is True
    # the audit line of the end is posted after the summary: wait for it rather than read the channel at once
    finished = await discord_fake.wait_until(
        lambda: [m for m in discord_fake.channel_messages(AUDIT_CHANNEL_ID) if "finished a re-index" in m["content"]]
    )
    assert len(finished) == 1
    audit = [m["content"] for m in discord_fake.channel_messages(AUDIT_CHANNEL_ID)]
    assert any("mod" in a and "started a full re-index" in a for a in audit)


async def test_second_reindex_is_refused_while_one_runs(bot, discord_fake, engine):
    release = engine.hold("reindex")
    first = await discord_fake.slash("reindex", permissions=MANAGE_GUILD)
    await discord_fake.wait_until(first.replies)
    await discord_fake.wait_until(lambda: engine.calls_to("reindex"))
    second = await discord_fake.slash("reindex", permissions=MANAGE_GUILD, user_id=4004)
    (refusal,) = await discord_fake.wait_until(second.replies)
    assert is_ephemeral(refusal) and "already running" in message_text(refusal)
    release.set()
    (summary,) = await discord_fake.wait_until(lambda: summaries(discord_fake), timeout=60)
    assert "Re-index finished" in summary["content"] and "0 passages and 0 sentences embedded" in summary["content"]
    assert len(engine.calls_to("reindex")) == 1


def mattel_record() -> dict:
    return next(doc for doc in small_multihop_articles() if doc["title"] == MATTEL_TITLE)


async def test_ingest_adds_a_real_article_that_ask_then_quotes(bot, discord_fake, engine):
    before = await discord_fake.slash("ask", {"question": MATTEL_QUESTION})
    await discord_fake.wait_until(before.replies, timeout=20)
    assert all(q.title != MATTEL_TITLE for q in engine.returned("ask")[0].quotes)
    content = json.dumps([mattel_record()]).encode()
    attachment = discord_fake.add_attachment("../new stories.json", content)
    log = await discord_fake.slash("ingest", attachments={"file": attachment}, permissions=MANAGE_GUILD)
    replies = await discord_fake.wait_until(log.replies, timeout=60)
    assert is_ephemeral(replies[-1])
    text = message_text(replies[-1])
    assert "Ingested ../new stories.json: 1 added, 0 updated" in text.replace("\\", "")
    assert re.search(r"Searchable now: \d+ passages embedded, \d+ vectors in total, index generation 3\.", text), text
    ((paths,), _) = engine.calls_to("ingest")[0]
    assert paths[0].name.endswith(".json") and ".." not in paths[0].name
    (stored,) = [a for a in engine.real.store.list_articles() if a.title == MATTEL_TITLE]
    assert stored.origin.startswith("upload:")  # no temporary file for --prune to find gone
    # The audit line is posted beside the reply, not before it: wait for it.
    await discord_fake.wait_until(
        lambda: [m for m in discord_fake.channel_messages(AUDIT_CHANNEL_ID) if "ingested" in m["content"]]
    )
    after = await discord_fake.slash("ask", {"question": MATTEL_QUESTION})
    (answer,) = await discord_fake.wait_until(after.replies, timeout=20)
    assert engine.returned("ask")[1].quotes[0].title == MATTEL_TITLE
    assert "[1] [Mattel slammed for ‘inaccurate’ Cherokee Barbie]" in message_text(answer)
    found = await discord_fake.slash("article", {"query": "Cherokee Barbie"})
    (card,) = await discord_fake.wait_until(found.replies, timeout=20)
    assert card["embeds"][0]["title"] == MATTEL_TITLE


async def test_ingest_of_unsupported_file_gives_the_engines_sentence(bot, discord_fake, engine):
    attachment = discord_fake.add_attachment("notes.docx", b"PK\x03\x04")
    log = await discord_fake.slash("ingest", attachments={"file": attachment}, permissions=MANAGE_GUILD)
    replies = await discord_fake.wait_until(log.replies, timeout=20)
    text = message_text(replies[-1])
    assert "notes.docx" in text and "0 added" in text
    assert "Skipped" in text or "Failed" in text
    assert engine.calls_to("reindex") == []  # nothing new, nothing to index
