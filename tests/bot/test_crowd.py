"""A crowd asking at once through the fake Discord: everyone is deferred at once and answered, servers take turns.

The engine behind the bot is the real one, except that ``ask`` returns one real answer (re-labelled with each
question) quickly, so two hundred answers fit in a test; it records the order in which questions reached it.
"""

import asyncio
import dataclasses
import gc
import threading
import time

import pytest_asyncio

from bot.runner import start_bot
from index.settings import Settings
from tests.bot.fake_discord import GUILD_ID, is_ephemeral, message_text

OTHER_GUILD_ID = 930000000000000002
QUESTION = "What does NATO's article 5 say?"
ARTICLE_5 = "At the heart of the Western alliance is its founding charter’s article 5"


class QuickAnswers:
    """The real engine, with ``ask`` answering from one real answer after ``seconds`` (or once released)."""

    def __init__(self, engine, answer, seconds: float = 0.0):
        self._engine = engine
        self._answer = answer
        self._seconds = seconds
        self.released = threading.Event()
        self.released.set()
        self.asked: list[str] = []
        self._lock = threading.Lock()

    def ask(self, question, *, filters=None, history=()):
        with self._lock:
            self.asked.append(question)
        assert self.released.wait(30)
        time.sleep(self._seconds)
        return dataclasses.replace(self._answer, question=question)

    def __getattr__(self, name):
        return getattr(self._engine, name)


@pytest_asyncio.fixture
async def start_quick(engine, settings):
    answer = await asyncio.to_thread(engine.real.ask, QUESTION)
    bots = []

    async def start(seconds: float = 0.0, **changes):
        quick = QuickAnswers(engine, answer, seconds)
        bot = await start_bot(quick, dataclasses.replace(settings, **changes), guild_ready_timeout=0.05)
        bots.append(bot)
        return bot, quick

    yield start
    for bot in bots:
        await bot.close()


async def test_two_hundred_members_at_once_with_default_settings_are_all_deferred_at_once_and_answered(
    start_quick, discord_fake
):
    defaults = Settings()
    bot, quick = await start_quick(
        seconds=0.02,
        cooldown_seconds=defaults.cooldown_seconds,
        max_concurrent_answers=defaults.max_concurrent_answers,
        max_queue_wait_seconds=defaults.max_queue_wait_seconds,
    )
    logs = await asyncio.gather(
        *(discord_fake.slash("ask", {"question": f"{QUESTION} #{member}"}, user_id=member) for member in range(200))
    )
    await discord_fake.wait_until(lambda: all(log.replies() for log in logs), timeout=120)
    acks = [log.first_ack for log in logs]
    assert max(acks) < 1.0, sorted(acks)[-5:]
    assert all(log.callbacks[0][1]["type"] == 5 for log in logs)  # every one deferred, none refused
    for log in logs:
        (reply,) = log.replies()
        assert ARTICLE_5 in message_text(reply) and not is_ephemeral(reply)
    assert sorted(quick.asked) == sorted(f"{QUESTION} #{member}" for member in range(200))
    assert (bot.answers.waiting, bot.answers.members_waiting, bot.answers.running) == (0, 0, 0)
    # the cooldown holds back the member who just asked, and no one else
    again = await discord_fake.slash("ask", {"question": QUESTION}, user_id=7)
    (wait,) = await discord_fake.wait_until(again.replies)
    assert is_ephemeral(wait) and "please wait" in message_text(wait)
    newcomer = await discord_fake.slash("ask", {"question": QUESTION}, user_id=999)
    (answer,) = await discord_fake.wait_until(newcomer.replies, timeout=20)
    assert ARTICLE_5 in message_text(answer)


def _full_collection_seconds() -> float:
    started = time.perf_counter()
    gc.collect()
    return time.perf_counter() - started


async def test_a_full_garbage_collection_while_serving_skips_what_the_process_held_when_the_bot_started(start_quick):
    held = [[n] for n in range(500_000)]  # a long-running process's heap: modules, the engine, caches
    before = _full_collection_seconds()
    await start_quick()
    serving = _full_collection_seconds()  # the loop stops for this long whenever a full collection runs
    assert serving < before / 5, (before, serving)
    assert len(held) == 500_000


async def test_a_flood_from_one_server_does_not_hold_back_another_servers_question(start_quick, discord_fake):
    bot, quick = await start_quick(max_concurrent_answers=1)
    quick.released.clear()  # the first question holds the one worker until every question is queued
    first = await discord_fake.slash("ask", {"question": "flood 0"}, user_id=1, guild_id=GUILD_ID)
    await discord_fake.wait_until(lambda: quick.asked)
    flood = await asyncio.gather(
        *(discord_fake.slash("ask", {"question": f"flood {n}"}, user_id=1 + n, guild_id=GUILD_ID) for n in range(1, 20))
    )
    await discord_fake.wait_until(lambda: bot.answers.waiting == 19)
    single = await discord_fake.slash("ask", {"question": "other server"}, user_id=500, guild_id=OTHER_GUILD_ID)
    await discord_fake.wait_until(lambda: single.callbacks)
    assert single.callbacks[0][1]["type"] == 5
    quick.released.set()
    await discord_fake.wait_until(lambda: all(log.replies() for log in [first, *flood, single]), timeout=60)
    # served after the flood's next question, not after all nineteen
    assert quick.asked.index("other server") == 2, quick.asked
