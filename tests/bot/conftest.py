"""Fixtures: a fake Discord on 127.0.0.1, the real bot connected to it, the real engine behind it.

The engine works on a private copy of a small real archive (the shared MultiHop-RAG sample, the seed page and
one hostile article), built once per session; a recording proxy lets tests see which engine methods ran.
After every test, every message the bot sent is checked: no mentions allowed, no size limit broken.
"""

from __future__ import annotations

import dataclasses
import shutil

import pytest
import pytest_asyncio

from bot.runner import start_bot
from index.embedding.factory import load_embedder
from index.engine import Engine
from index.settings import Settings
from tests.bot.archive import write_hostile_article
from tests.bot.fake_discord import (
    AUDIT_CHANNEL_ID,
    FEEDBACK_CHANNEL_ID,
    MOD_ROLE_ID,
    FakeDiscord,
    limit_problems,
    mention_problems,
)
from tests.bot.recording_engine import RecordingEngine


@pytest.fixture(scope="session")
def shared_embedder(model_cache):
    """One loaded model for every engine of the session (loading it per test would dominate the run)."""
    return load_embedder(Settings().embedder, model_cache)


@pytest.fixture(scope="session")
def bot_home(built_home, tmp_path_factory, model_cache, shared_embedder):
    """The shared small real archive plus the hostile article, indexed; copy it before changing it."""
    home = tmp_path_factory.mktemp("bot-home") / "home"
    shutil.copytree(built_home, home)
    engine = Engine(Settings(home=home, model_cache=model_cache), embedder=shared_embedder)
    report = engine.ingest([write_hostile_article(tmp_path_factory.mktemp("hostile"))])
    assert report.added == 1, report
    engine.reindex()
    # One answer exports the verifier to the session's model cache, so no bot test's first answer pays for the
    # export inside its wait for a reply (over 20 s when the cores are shared).
    engine.ask("What does NATO's article 5 say?")
    engine.close()
    return home


@pytest.fixture
def engine(bot_home, tmp_path, model_cache, shared_embedder):
    """The real engine over a private copy of the bot archive, behind a recording proxy."""
    home = tmp_path / "home"
    shutil.copytree(bot_home, home)
    real = Engine(Settings(home=home, model_cache=model_cache), embedder=shared_embedder)
    yield RecordingEngine(real)
    real.close()


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
