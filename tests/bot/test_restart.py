"""Nothing forgotten: answers' buttons, follow-up threads and votes outlive the bot process (they live in the
archive), including a SIGKILL of `archivist run`; an answer whose text has expired says so politely."""

import json
import shutil
import signal
import sqlite3

from bot.views import ALREADY_RATED, EXPIRED
from tests.bot.fake_discord import FEEDBACK_CHANNEL_ID, FakeDiscord, buttons, is_ephemeral, message_text
from tests.bot.run_process import start_run, stop_all

NATO_QUESTION = "What does NATO's article 5 say?"
FOLLOW_UP = "and what did Biden tell CNN?"
FIRST_ANSWER = 120  # seconds: the first answer of a session may export the verifier model first


async def ask_and_open_a_thread(fake: FakeDiscord, *, timeout: float = FIRST_ANSWER) -> dict:
    log = await fake.slash("ask", {"question": NATO_QUESTION}, user_id=1001)
    (answer,) = await fake.wait_until(log.reply_messages, timeout=timeout)
    opened = await fake.click(answer, buttons(answer)["Follow up"], user_id=1001)
    await fake.wait_until(lambda: opened.replies() if len(opened.replies()) else None, timeout=timeout)
    down = await fake.click(answer, buttons(answer)["👎"], user_id=1001)
    (ask_reason,) = await fake.wait_until(down.replies, timeout=timeout)
    chosen = await fake.choose(
        down.response_message, buttons(ask_reason)["Choose a reason"], ["outdated"], user_id=1001
    )
    await fake.wait_until(chosen.replies, timeout=timeout)
    return answer


async def check_everything_still_works(fake: FakeDiscord, answer: dict, *, timeout: float = 20) -> None:
    thread_id = int(answer["id"])
    follow_up = await fake.user_message(FOLLOW_UP, channel_id=thread_id)
    (reply,) = await fake.wait_until(lambda: fake.replies_to(follow_up), timeout=timeout)
    assert reply["channel_id"] == str(thread_id) and "Biden" in message_text(reply).split("**Sources**")[0]
    more = await fake.click(answer, buttons(answer)["More sources"], user_id=1001)
    (page,) = await fake.wait_until(more.replies, timeout=timeout)
    assert is_ephemeral(page) and "[" in message_text(page) and EXPIRED not in message_text(page)
    again = await fake.click(answer, buttons(answer)["👎"], user_id=1001)
    (already,) = await fake.wait_until(again.replies, timeout=timeout)
    assert message_text(already) == ALREADY_RATED
    up = await fake.click(answer, buttons(answer)["👍"], user_id=4004)
    (thanks,) = await fake.wait_until(up.replies, timeout=timeout)
    assert "Thanks" in message_text(thanks)
    again = await fake.click(answer, buttons(answer)["Follow up"], user_id=1001)
    (refusal,) = await fake.wait_until(again.replies, timeout=timeout)
    assert f"already open: <#{thread_id}>" in message_text(refusal)


async def test_a_new_bot_on_the_same_archive_serves_earlier_answers_buttons_and_threads(
    start_archivist, discord_fake, engine
):
    first = await start_archivist()
    answer = await ask_and_open_a_thread(discord_fake)
    custom_ids = set(buttons(answer).values())
    assert all(c.startswith("archivist:answer:") for c in custom_ids)
    await first.close()

    await start_archivist()
    await discord_fake.wait_connected()
    await check_everything_still_works(discord_fake, answer)
    (question,), kwargs = engine.calls_to("ask")[-1]
    assert question == FOLLOW_UP and kwargs["history"] == (NATO_QUESTION,)
    votes = engine.real.votes()
    assert [(v.vote, v.reason) for v in votes] == [(-1, "Outdated"), (1, None)]
    assert votes[0].question == NATO_QUESTION and votes[0].article_ids
    conn = engine.real.store.db.conn
    kept = [row for table in ("answers", "threads", "feedback") for row in conn.execute(f"SELECT * FROM {table}")]
    assert kept and "1001" not in repr(kept) and "4004" not in repr(kept)  # members are kept hashed only


async def test_buttons_of_an_expired_or_unknown_answer_say_so_politely(bot, discord_fake, engine):
    log = await discord_fake.slash("ask", {"question": NATO_QUESTION}, user_id=1001)
    (answer,) = await discord_fake.wait_until(log.reply_messages, timeout=FIRST_ANSWER)
    with engine.real.store.db.conn as conn:
        conn.execute("UPDATE answers SET context = NULL")  # what the retention does to an old answer
    for label in ("More sources", "Follow up"):
        click = await discord_fake.click(answer, buttons(answer)[label], user_id=1001)
        (reply,) = await discord_fake.wait_until(click.replies)
        assert is_ephemeral(reply) and message_text(reply) == EXPIRED
    more = buttons(answer)["More sources"]
    gone = more.rsplit(":", 1)[0] + ":987654"  # an answer this archive never kept (another archive's, say)
    other = {**answer, "components": json.loads(json.dumps(answer["components"]).replace(more, gone))}
    unknown = await discord_fake.click(other, gone, user_id=1001)
    (reply,) = await discord_fake.wait_until(unknown.replies)
    assert is_ephemeral(reply) and message_text(reply) == EXPIRED
    up = await discord_fake.click(answer, buttons(answer)["👍"], user_id=1001)  # a vote still counts
    (thanks,) = await discord_fake.wait_until(up.replies)
    assert "Thanks" in message_text(thanks)


async def test_the_reason_for_a_down_vote_reaches_the_feedback_channel_with_a_link_to_the_answer(bot, discord_fake):
    log = await discord_fake.slash("ask", {"question": NATO_QUESTION}, user_id=1001)
    (answer,) = await discord_fake.wait_until(log.reply_messages, timeout=FIRST_ANSWER)
    down = await discord_fake.click(answer, buttons(answer)["👎"], user_id=1001)
    (ask_reason,) = await discord_fake.wait_until(down.replies)
    select = buttons(ask_reason)["Choose a reason"]
    chosen = await discord_fake.choose(down.response_message, select, ["not_answered"], user_id=1001)
    await discord_fake.wait_until(chosen.replies)
    (forwarded,) = await discord_fake.wait_until(lambda: discord_fake.channel_messages(FEEDBACK_CHANNEL_ID))
    assert "Didn't answer my question" in forwarded["content"] and "NATO" in forwarded["content"]
    assert f"/{answer['channel_id']}/{answer['id']})" in forwarded["content"]


async def test_after_sigkill_archivist_run_answers_in_earlier_threads_and_earlier_buttons_work(
    built_home, model_cache, tmp_path
):
    home = tmp_path / "home"
    shutil.copytree(built_home, home)
    fake = FakeDiscord()
    await fake.start()
    procs = []
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    try:
        with logs[0].open("wb") as output:
            procs.append(await start_run(home, model_cache, fake, output))
        answer = await ask_and_open_a_thread(fake, timeout=FIRST_ANSWER)
        procs[0].send_signal(signal.SIGKILL)
        assert await procs[0].wait() == -signal.SIGKILL
        fake.commands.clear()
        with logs[1].open("wb") as output:
            procs.append(await start_run(home, model_cache, fake, output))
        await check_everything_still_works(fake, answer, timeout=FIRST_ANSWER)
    finally:
        await stop_all(procs, fake)
    second = logs[1].read_text(errors="replace")
    assert "Traceback" not in second, second[-3000:]
    db = sqlite3.connect(home / "archive.db")
    (turns,) = db.execute("SELECT turns FROM threads").fetchone()
    assert json.loads(turns) == [NATO_QUESTION, FOLLOW_UP]
    contexts = [json.loads(c) for (c,) in db.execute("SELECT context FROM answers ORDER BY id")]
    assert contexts[-1]["question"] == FOLLOW_UP and contexts[-1]["history"] == [NATO_QUESTION]
    assert db.execute("SELECT vote, reason FROM feedback ORDER BY id").fetchall() == [(-1, "Outdated"), (1, None)]
    db.close()
