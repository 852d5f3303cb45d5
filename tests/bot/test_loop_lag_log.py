"""The bot logs its event loop's lag once a minute, so a soak (or a moderator) can see a blocked loop."""

import asyncio
import logging
import re
import time

from bot import client


async def test_a_blocked_event_loop_shows_in_the_lag_log_line(monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="bot.lag")
    monkeypatch.setattr(client, "LAG_TICK", 0.02)
    monkeypatch.setattr(client, "LAG_REPORT_EVERY", 0.3)
    watch = asyncio.create_task(client._watch_loop_lag())
    await asyncio.sleep(0.05)
    time.sleep(0.25)  # a synchronous call on the loop, as a bug would make
    await asyncio.sleep(0.4)
    watch.cancel()
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.lag"]
    worst = max(int(re.search(r"max (\d+) ms", line)[1]) for line in lines)
    assert lines and worst >= 200, lines
