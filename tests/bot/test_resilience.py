"""Load on the real engine, gateway reconnects and rate limits."""

import asyncio
import logging

from bot.runner import start_bot
from tests.bot.fake_discord import message_text

QUESTION = "What does NATO's article 5 say?"
ARTICLE_5 = "founding charter’s article 5"


async def test_fifty_concurrent_asks_are_all_deferred_within_a_second_and_answered(bot, discord_fake, engine):
    logs = await asyncio.gather(
        *(discord_fake.slash("ask", {"question": QUESTION}, user_id=5000 + i) for i in range(50))
    )
    await discord_fake.wait_until(lambda: all(log.replies() for log in logs), timeout=90)
    acks = sorted(log.first_ack for log in logs)
    assert acks[-1] < 1.0, acks[-5:]
    assert all(log.callbacks[0][1]["type"] == 5 for log in logs)
    assert all(ARTICLE_5 in message_text(log.replies()[0]) for log in logs)
    assert len(engine.returned("ask")) == 50


async def test_bot_reconnects_after_the_server_closes_the_gateway(bot, discord_fake):
    await discord_fake.drop_gateway(code=4000)
    await discord_fake.wait_until(lambda: discord_fake.resumes or len(discord_fake.identifies) > 1, timeout=15)
    log = await discord_fake.slash("ask", {"question": QUESTION})
    (reply,) = await discord_fake.wait_until(log.replies, timeout=20)
    assert ARTICLE_5 in message_text(reply)


async def test_rate_limited_follow_up_is_retried_after_retry_after(bot, discord_fake):
    rule = discord_fake.rate_limit("POST", r"^/api/v10/webhooks/", retry_after=0.5)
    log = await discord_fake.slash("ask", {"question": QUESTION})
    (reply,) = await discord_fake.wait_until(log.replies, timeout=20)
    (limited_at,) = rule["hits"]
    answered_at = log.followups[0][0]
    assert answered_at - limited_at >= 0.5
    attempts = [r for r in discord_fake.requests if r.path.startswith("/api/v10/webhooks/")]
    assert [r.status for r in attempts] == [429, 200]
    assert ARTICLE_5 in message_text(reply)


async def test_random_429s_on_a_share_of_rest_calls_are_each_retried_and_every_question_is_answered(
    engine, settings, discord_fake
):
    discord_fake.rest_429_share = 0.3
    bot = await start_bot(engine, settings, guild_ready_timeout=0.05)
    try:
        logs = [await discord_fake.slash("ask", {"question": QUESTION}, user_id=6000 + i) for i in range(6)]
        await discord_fake.wait_until(lambda: all(log.replies() for log in logs), timeout=60)
    finally:
        await bot.close()
    assert all(ARTICLE_5 in message_text(log.replies()[0]) for log in logs)
    limited = [r for r in discord_fake.requests if r.status == 429]
    assert limited and all(r.path.startswith("/api/v10/") for r in limited)
    for log in logs:  # one deferral and one answer each, however many 429s came first
        assert [body["type"] for _, body in log.callbacks] == [5] and len(log.followups) == 1


async def test_refused_gateway_handshakes_at_start_up_are_retried_with_one_line_each(
    engine, settings, discord_fake, monkeypatch, caplog
):
    monkeypatch.setattr("bot.client.HANDSHAKE_BACKOFF", 0.05)
    discord_fake.refuse_handshakes = 3
    caplog.set_level(logging.WARNING)
    bot = await start_bot(engine, settings, guild_ready_timeout=0.05)
    try:
        assert discord_fake.refused_handshakes == 3 and len(discord_fake.identifies) == 1
        log = await discord_fake.slash("ask", {"question": QUESTION})
        (reply,) = await discord_fake.wait_until(log.replies, timeout=20)
        assert ARTICLE_5 in message_text(reply)
    finally:
        await bot.close()
    failures = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(failures) == 3, [r.getMessage() for r in failures]
    for record in failures:
        assert "Could not connect to Discord's gateway (handshake answered 502)" in record.getMessage()
        assert record.exc_info is None
