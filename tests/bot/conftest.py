"""Fixtures: a fake Discord on 127.0.0.1 and the real bot connected to it.

``engine`` is the one fixture to swap for the real engine on a small real archive.
After every test, every message the bot sent is checked: no mentions allowed, no size limit broken.
"""

from __future__ import annotations

import dataclasses

import pytest
import pytest_asyncio

from bot.runner import start_bot
from index.settings import Settings
from tests.bot.fake_discord import (
    AUDIT_CHANNEL_ID,
    FEEDBACK_CHANNEL_ID,
    MOD_ROLE_ID,
    FakeDiscord,
    limit_problems,
    mention_problems,
)
from tests.bot.fake_engine import FakeEngine


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest_asyncio.fixture
async def discord_fake():
    fake = FakeDiscord()
    await fake.start()
    yield fake
    problems = [
        (problem, body) for body in fake.message_payloads() for problem in mention_problems(body) + limit_problems(body)
    ]
    await fake.stop()
    assert not problems, problems[:3]


@pytest.fixture
def settings(discord_fake: FakeDiscord) -> Settings:
    return Settings(
        discord_token="fake-token-never-logged",
        mod_role=str(MOD_ROLE_ID),
        audit_channel=AUDIT_CHANNEL_ID,
        feedback_channel=FEEDBACK_CHANNEL_ID,
        cooldown_seconds=0,
        max_concurrent_answers=64,
        progress_interval_seconds=0.05,
        discord_api_base=discord_fake.api_base,
        discord_gateway_url=discord_fake.gateway_url,
    )


@pytest_asyncio.fixture
async def start_archivist(engine, settings, discord_fake):
    """Start the bot with settings changed as given; every bot started is closed after the test."""
    bots = []

    async def start(**changes):
        bot = await start_bot(engine, dataclasses.replace(settings, **changes), guild_ready_timeout=0.05)
        bots.append(bot)
        return bot

    yield start
    for bot in bots:
        await bot.close()


@pytest_asyncio.fixture
async def bot(start_archivist):
    return await start_archivist()
