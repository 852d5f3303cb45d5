"""/gaps: moderators see what members of their server asked that the archive could not answer (real engine)."""

from datetime import UTC, datetime, timedelta

from index.models import Answer
from tests.bot.fake_discord import FEEDBACK_CHANNEL_ID, GUILD_ID, MANAGE_GUILD, is_ephemeral, message_text

ASKED_HERE = ["Who won the 1998 FIFA World Cup?", "Which country won the World Cup in 1998?"]
ASKED_ELSEWHERE = "What is the secret plan of the other server?"


async def test_gaps_lists_this_servers_unanswered_questions_grouped_for_moderators_only(bot, discord_fake, engine):
    for question in ASKED_HERE:
        engine.real.record_answer(Answer(question, abstained=True), guild_id=GUILD_ID, asker_id=1001)
    engine.real.record_answer(Answer(ASKED_ELSEWHERE, abstained=True), guild_id=GUILD_ID + 1, asker_id=1001)
    log = await discord_fake.slash("gaps", permissions=MANAGE_GUILD, user_name="mod")
    (reply,) = await discord_fake.wait_until(log.replies, timeout=120)
    assert is_ephemeral(reply) and log.callbacks[0][1]["type"] == 5
    text = message_text(reply)
    assert "What the archive could not answer" in text and "asked 2×, abstained 2, 👎 0" in text
    assert any(question in text for question in ASKED_HERE) and "nearest: " in text
    assert ASKED_ELSEWHERE not in text  # another server's questions stay there
    ((since,), kwargs) = engine.calls_to("gaps")[0]
    assert since is None and kwargs["guild_id"] == GUILD_ID
    later = await discord_fake.slash("gaps", {"since": "2999-01-01"}, permissions=MANAGE_GUILD, user_name="mod")
    (empty,) = await discord_fake.wait_until(later.replies, timeout=60)
    assert "No question here was abstained on or voted down." in message_text(empty)
    bad = await discord_fake.slash("gaps", {"since": "yesterday"}, permissions=MANAGE_GUILD, user_name="mod")
    (refusal,) = await discord_fake.wait_until(bad.replies, timeout=60)
    assert is_ephemeral(refusal) and message_text(refusal) == "“since” must be a date like 2023-11-12."


async def test_a_due_digest_posts_the_top_gaps_and_down_vote_reasons_to_the_feedback_channel(
    start_archivist, discord_fake, engine
):
    for question in ASKED_HERE:
        engine.real.record_answer(Answer(question, abstained=True), guild_id=GUILD_ID, asker_id=1001)
    disliked = engine.real.record_answer(
        Answer("Why did Wall Street slump?", abstained=False), guild_id=GUILD_ID, asker_id=1
    )
    engine.real.record_vote(disliked, 2002, -1)
    engine.real.record_reason(disliked, 2002, "Outdated")
    week_ago = (datetime.now(UTC) - timedelta(days=7, minutes=1)).isoformat(timespec="seconds")
    engine.real.store.set_meta("feedback_digest_at", week_ago)
    await start_archivist(feedback_digest_days=7)
    digests = await discord_fake.wait_until(
        lambda: [m for m in discord_fake.channel_messages(FEEDBACK_CHANNEL_ID) if m["content"].startswith("📋")],
        timeout=120,
    )
    (digest,) = digests
    text = digest["content"]
    assert "asked 2×, 👎 0" in text and "Why did Wall Street slump? — asked 1×, 👎 1" in text
    assert "👎 reasons: Outdated (1)" in text
    assert engine.real.feedback_digest(7) is None  # the next one is a week away, also after a restart
