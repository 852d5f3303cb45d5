"""The bot's logs never carry the bot token or an interaction token."""

import logging


async def test_no_token_or_interaction_token_reaches_the_logs(bot, discord_fake, caplog):
    caplog.set_level(logging.INFO)
    log = await discord_fake.slash("ask", {"question": "Why is GM recalling those Cadillacs?"})
    await discord_fake.wait_until(log.replies, timeout=20)  # a first answer, as the other bot tests wait for it
    assert "fake-token-never-logged" not in caplog.text and log.token not in caplog.text
