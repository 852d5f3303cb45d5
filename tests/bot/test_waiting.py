"""A crash loses no question: /ask questions deferred but not answered when `archivist run` is killed are answered
after the restart, once each, by editing their deferred response; questions too old for their token are dropped."""

import asyncio
import json
import shutil
import signal
import sqlite3
from datetime import UTC, datetime, timedelta

from tests.bot.fake_discord import APP_ID, CHANNEL_ID, GUILD_ID, FakeDiscord, buttons, message_text
from tests.bot.run_process import RUN, start_run, stop_all

# The first process answers nothing in time: its engine takes ten minutes per question.
SLOW_RUN = (
    "import time\n"
    "from index.engine import Engine\n"
    "ask = Engine.ask\n"
    "Engine.ask = lambda self, *args, **kwargs: (time.sleep(600), ask(self, *args, **kwargs))[1]\n" + RUN
)
QUESTIONS = ("What does NATO's article 5 say?", "Why is GM recalling Cadillacs?", "Who is Sam Bankman-Fried?")
ONE_AT_A_TIME = {"ARCHIVIST_MAX_CONCURRENT_ANSWERS": "1"}
FIRST_ANSWER = 120  # seconds: a fresh process loads its models before its first answer


def kept(db_path) -> list[tuple]:
    db = sqlite3.connect(db_path)
    try:
        return db.execute("SELECT id, token FROM pending_questions ORDER BY id").fetchall()
    finally:
        db.close()


def plant(db_path, token: str, *, minutes_ago: float, options: str) -> None:
    """A row as a previous process left it: ``options`` as stored, deferred ``minutes_ago``."""
    db = sqlite3.connect(db_path)
    with db:
        db.execute(
            "INSERT INTO pending_questions (kind, question, options, guild_id, channel_id, member_id, application_id, "
            "token, deferred_at) VALUES ('ask', 'Planted question?', ?, ?, ?, 4242, ?, ?, ?)",
            (
                options,
                GUILD_ID,
                CHANNEL_ID,
                APP_ID,
                token,
                (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat(timespec="milliseconds"),
            ),
        )
    db.close()


async def test_questions_waiting_at_a_sigkill_are_answered_once_after_the_restart(built_home, model_cache, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(built_home, home)
    db_path = home / "archive.db"
    fake = FakeDiscord()
    await fake.start()
    procs = []
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    try:
        with logs[0].open("wb") as output:
            procs.append(await start_run(home, model_cache, fake, output, SLOW_RUN, ONE_AT_A_TIME))
        asked = [await fake.slash("ask", {"question": q}, user_id=1001 + n) for n, q in enumerate(QUESTIONS)]
        await fake.wait_until(lambda: all(log.first_ack is not None for log in asked), timeout=20)
        await fake.wait_until(lambda: len(kept(db_path)) == len(QUESTIONS), timeout=20)
        procs[0].send_signal(signal.SIGKILL)
        assert await procs[0].wait() == -signal.SIGKILL
        assert all(log.replies() == [] for log in asked)  # deferred ("thinking…"), never answered

        options = json.dumps({"filters": None, "only_me": False, "allow_thread": False})
        plant(db_path, "tok-expired", minutes_ago=20, options=options)
        plant(db_path, "tok-garbled", minutes_ago=1, options="{cut off")
        fake.commands.clear()
        with logs[1].open("wb") as output:
            procs.append(await start_run(home, model_cache, fake, output, RUN, ONE_AT_A_TIME))
        await fake.wait_until(lambda: all(log.edits for log in asked) and not kept(db_path), timeout=FIRST_ANSWER)
        await asyncio.sleep(0.5)  # room for a second reply, if one were coming
    finally:
        await stop_all(procs, fake)

    for log in asked:
        (reply,) = log.replies()  # exactly once: the deferred response, edited
        assert message_text(reply) and "Sorry" not in message_text(reply)
        assert {"👍", "👎"} <= set(buttons(reply))  # its buttons work like any answer's
    planted = [r.path for r in fake.requests if "tok-expired" in r.path or "tok-garbled" in r.path]
    assert planted == []  # no reply attempt on a dead or unreadable row
    second = logs[1].read_text(errors="replace")
    assert "Traceback" not in second, second[-3000:]
    assert "dropped 1 waiting question" in second and "skipped 1 unreadable waiting question" in second
    assert "answering 3 questions left waiting" in second
    for secret in ("tok-", "Planted question", *QUESTIONS, "process-token-never-logged"):
        assert secret not in second
