"""Questions by /ask, mention, DM and thread follow-up, and the buttons under an answer."""

import asyncio

import pytest

from tests.bot.fake_discord import (
    BOT_ID,
    DM_CHANNEL_ID,
    FEEDBACK_CHANNEL_ID,
    buttons,
    is_ephemeral,
    message_text,
)

GM_QUESTION = "Why is GM recalling those Cadillacs?"


async def test_slash_ask_defers_then_answers_with_verbatim_quotes_and_sources(bot, discord_fake, engine):
    log = await discord_fake.slash("ask", {"question": GM_QUESTION})
    (reply,) = await discord_fake.wait_until(log.replies)
    assert log.callbacks[0][1]["type"] == 5  # deferred before any work
    assert log.first_ack < 1.0
    text = message_text(reply)
    assert "> “General Motors is recalling 12,000 Cadillac Escalades.” [1]" in text
    assert (
        "[1] [GM recalls Cadillac Escalades over faulty airbags](https://news.example/gm-recall#:~:text=General)"
        in text
    )
    assert "Auto Daily / Jane Doe, 12 Nov 2023" in text
    assert "As of 12 Nov 2023" in text
    assert not is_ephemeral(reply)
    assert set(buttons(reply)) == {"More sources", "👍", "👎", "Follow up"}
    ((question,), kwargs) = engine.calls_to("ask")[0]
    assert question == GM_QUESTION and kwargs["filters"] is None


async def test_ask_filters_and_only_me(bot, discord_fake, engine):
    log = await discord_fake.slash(
        "ask",
        {
            "question": "energy prices",
            "after": "2023-10-01",
            "before": "2023-12-31",
            "source": "Euro Wire",
            "category": "politics",
            "only_me": True,
        },
    )
    (reply,) = await discord_fake.wait_until(log.replies)
    assert log.callbacks[0][1] == {"type": 5, "data": {"flags": 64}}
    assert is_ephemeral(reply)
    assert "Energy prices in Germany fell" in message_text(reply)
    assert "Follow up" not in buttons(reply)
    filters = engine.calls_to("ask")[0][1]["filters"]
    assert (filters.after, filters.before, filters.source, filters.category) == (
        "2023-10-01",
        "2023-12-31",
        "Euro Wire",
        "politics",
    )


async def test_bad_date_is_one_ephemeral_sentence_and_no_search(bot, discord_fake, engine):
    log = await discord_fake.slash("ask", {"question": "energy", "after": "last tuesday"})
    (reply,) = await discord_fake.wait_until(log.replies)
    assert is_ephemeral(reply) and message_text(reply) == "“after” must be a date like 2023-11-12."
    assert engine.calls_to("ask") == []


async def test_abstention_says_so_and_lists_nearest_articles(bot, discord_fake):
    log = await discord_fake.slash("ask", {"question": "quantum chromodynamics lattice"})
    (reply,) = await discord_fake.wait_until(log.replies)
    text = message_text(reply)
    assert "does not cover this question" in text
    assert "Nearest articles" in text and "GM recalls Cadillac Escalades" in text
    assert "More sources" not in buttons(reply)


async def test_mention_question_is_answered_as_a_reply(bot, discord_fake, engine):
    message = await discord_fake.user_message(f"<@{BOT_ID}> {GM_QUESTION}", mention_bot=True)
    (reply,) = await discord_fake.wait_until(lambda: discord_fake.replies_to(message))
    assert "General Motors is recalling" in message_text(reply)
    assert engine.calls_to("ask")[0][0] == (GM_QUESTION,)
    body = next(r.body for r in discord_fake.requests if isinstance(r.body, dict) and r.body.get("message_reference"))
    assert body["allowed_mentions"] == {"parse": [], "replied_user": False}


async def test_messages_not_addressed_to_the_bot_are_ignored(bot, discord_fake, engine):
    await discord_fake.user_message("@everyone why is GM recalling Cadillacs?")
    await asyncio.sleep(0.3)
    assert engine.calls_to("ask") == []


async def test_dm_question_is_answered(bot, discord_fake, engine):
    message = await discord_fake.user_message(GM_QUESTION, channel_id=DM_CHANNEL_ID, in_guild=False)
    (reply,) = await discord_fake.wait_until(lambda: discord_fake.replies_to(message))
    assert reply["channel_id"] == str(DM_CHANNEL_ID)
    assert "General Motors is recalling" in message_text(reply)


async def test_follow_up_thread_answers_with_the_conversation_as_history(bot, discord_fake, engine):
    log = await discord_fake.slash("ask", {"question": GM_QUESTION})
    (answer,) = await discord_fake.wait_until(log.reply_messages)
    click = await discord_fake.click(answer, buttons(answer)["Follow up"])
    replies = await discord_fake.wait_until(lambda: click.replies() if len(click.replies()) else None)
    thread_id = int(answer["id"])
    assert discord_fake.threads[thread_id]["name"] == GM_QUESTION
    assert f"<#{thread_id}>" in message_text(replies[-1])
    follow_up = await discord_fake.user_message("and what about the airbags?", channel_id=thread_id)
    (reply,) = await discord_fake.wait_until(lambda: discord_fake.replies_to(follow_up))
    assert reply["channel_id"] == str(thread_id)
    assert "airbag" in message_text(reply).lower()
    (question,), kwargs = engine.calls_to("ask")[-1]
    assert question == "and what about the airbags?" and kwargs["history"] == (GM_QUESTION,)
    second = await discord_fake.user_message("and who reported injuries?", channel_id=thread_id)
    await discord_fake.wait_until(lambda: discord_fake.replies_to(second))
    assert engine.calls_to("ask")[-1][1]["history"] == (GM_QUESTION, "and what about the airbags?")
    again = await discord_fake.click(answer, buttons(answer)["Follow up"])
    (refusal,) = await discord_fake.wait_until(again.replies)
    assert "already open" in message_text(refusal)


async def test_more_sources_pages_quotes_for_the_asker_only(bot, discord_fake, engine):
    log = await discord_fake.slash(
        "ask", {"question": "Cadillac recall airbags GM owners dealers injuries"}, user_id=1001
    )
    (answer,) = await discord_fake.wait_until(log.reply_messages)
    assert "[3]" in message_text(answer) and "[4]" not in message_text(answer)
    more = buttons(answer)["More sources"]
    stranger = await discord_fake.click(answer, more, user_id=2002, user_name="bob")
    (refusal,) = await discord_fake.wait_until(stranger.replies)
    assert is_ephemeral(refusal) and "only the person who asked" in message_text(refusal).lower()
    first = await discord_fake.click(answer, more, user_id=1001)
    (page,) = await discord_fake.wait_until(first.replies)
    assert is_ephemeral(page) and "[4]" in message_text(page) and "[1]" not in message_text(page)
    second = await discord_fake.click(answer, more, user_id=1001)
    (page2,) = await discord_fake.wait_until(second.replies)
    assert "More sources" in message_text(page2)
    assert engine.calls_to("search")


async def test_thumbs_up_and_down_with_reason_forwarded_to_feedback_channel(bot, discord_fake):
    log = await discord_fake.slash("ask", {"question": GM_QUESTION})
    (answer,) = await discord_fake.wait_until(log.reply_messages)
    up = await discord_fake.click(answer, buttons(answer)["👍"], user_id=3003)
    (thanks,) = await discord_fake.wait_until(up.replies)
    assert "thanks" in message_text(thanks).lower() and is_ephemeral(thanks)
    down = await discord_fake.click(answer, buttons(answer)["👎"], user_id=1001)
    (ask_reason,) = await discord_fake.wait_until(down.replies)
    select_id = buttons(ask_reason)["Choose a reason"]
    options = [o["value"] for o in ask_reason["components"][0]["components"][0]["options"]]
    assert options == ["wrong_quote", "outdated", "not_answered"]
    chosen = await discord_fake.choose(down.response_message, select_id, ["wrong_quote"], user_id=1001)
    (update,) = await discord_fake.wait_until(chosen.replies)
    assert chosen.callbacks[0][1]["type"] == 7 and "Wrong quote" in message_text(update)
    (forwarded,) = await discord_fake.wait_until(lambda: discord_fake.channel_messages(FEEDBACK_CHANNEL_ID))
    assert "Wrong quote" in forwarded["content"] and GM_QUESTION in forwarded["content"]
    twice = await discord_fake.click(answer, buttons(answer)["👍"], user_id=1001)
    (already,) = await discord_fake.wait_until(twice.replies)
    assert "already rated" in message_text(already)


@pytest.mark.parametrize("delay", [0.4])
async def test_busy_when_concurrency_cap_reached(start_archivist, discord_fake, engine, delay):
    engine.ask_delay = delay
    await start_archivist(max_concurrent_answers=1)
    first = await discord_fake.slash("ask", {"question": GM_QUESTION}, user_id=1)
    await discord_fake.wait_until(lambda: first.callbacks)
    second = await discord_fake.slash("ask", {"question": GM_QUESTION}, user_id=2)
    (busy,) = await discord_fake.wait_until(second.replies)
    assert is_ephemeral(busy) and "try again" in message_text(busy)
    await discord_fake.wait_until(first.replies)
    assert len(engine.calls_to("ask")) == 1


async def test_cooldown_per_user(start_archivist, discord_fake, engine):
    await start_archivist(cooldown_seconds=30)
    first = await discord_fake.slash("ask", {"question": GM_QUESTION}, user_id=1)
    await discord_fake.wait_until(first.replies)
    again = await discord_fake.slash("ask", {"question": GM_QUESTION}, user_id=1)
    (wait,) = await discord_fake.wait_until(again.replies)
    assert is_ephemeral(wait) and "please wait" in message_text(wait)
    other = await discord_fake.slash("ask", {"question": GM_QUESTION}, user_id=2)
    (answer,) = await discord_fake.wait_until(other.replies)
    assert "General Motors" in message_text(answer)
    assert len(engine.calls_to("ask")) == 2


HOSTILE = ["@everyone", "@here", "<@&1234>", "<@1234>", "<#1234>"]


async def test_mentions_in_articles_ping_and_render_nobody(bot, discord_fake):
    ask = await discord_fake.slash("ask", {"question": "the ping prank"})
    article = await discord_fake.slash("article", {"query": "ping test"})
    recent = await discord_fake.slash("recent", {"count": 10})
    for log in (ask, article, recent):
        (reply,) = await discord_fake.wait_until(log.replies)
        text = message_text(reply)
        assert "ping" in text.lower()
        for raw in HOSTILE:
            assert raw not in text, (raw, text)
        assert reply["allowed_mentions"]["parse"] == []
