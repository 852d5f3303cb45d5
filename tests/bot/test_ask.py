"""Questions by /ask, mention, DM and thread follow-up, and the buttons under an answer (real engine)."""

import asyncio

from bot.escape import escape
from bot.queue import ASSUMED_SECONDS
from index.present import format_date, present_answer
from tests.bot.archive import HOSTILE_URL, RAW_MENTIONS
from tests.bot.fake_discord import (
    BOT_ID,
    DM_CHANNEL_ID,
    FEEDBACK_CHANNEL_ID,
    buttons,
    is_ephemeral,
    message_text,
)

NATO_QUESTION = "What does NATO's article 5 say?"
ARTICLE_5 = "At the heart of the Western alliance is its founding charter’s article 5"
SEED_TITLE = "Ukraine pessimistic about joining alliance as NATO meeting in Lithuania approaches"
KELCE_QUESTION = "What did Travis Kelce say about deleting his old tweets?"
KELCE_URL = "https://www.independent.co.uk/life-style/taylor-swift-travis-kelce-tweets-b2453410.html"


async def test_slash_ask_defers_then_answers_with_the_archives_verbatim_quotes(bot, discord_fake, engine):
    log = await discord_fake.slash("ask", {"question": NATO_QUESTION})
    (reply,) = await discord_fake.wait_until(log.replies, timeout=20)
    assert log.callbacks[0][1]["type"] == 5  # deferred before any work
    assert log.first_ack < 1.0
    text = message_text(reply)
    assert f"> “{ARTICLE_5}" in text.split("\n\n")[0]  # the article-5 sentence is the first quote
    assert f"[1] {SEED_TITLE}" in text  # the seed page has no URL, so its source line is not a link
    (answer,) = engine.returned("ask")
    cited = list(dict.fromkeys(q.article_id for q in answer.quotes[:3]))
    for number, article_id in enumerate(cited, start=1):  # one source line per article, however many quotes
        title = next(q.title for q in answer.quotes if q.article_id == article_id)
        assert f"[{number}]" in text and text.count(title[:40]) == 1
    if answer.as_of:
        assert f"As of {format_date(answer.as_of)}" in text
    assert not is_ephemeral(reply)
    assert set(buttons(reply)) == {"More sources", "👍", "👎", "Follow up"}
    ((question,), kwargs) = engine.calls_to("ask")[0]
    assert question == NATO_QUESTION and kwargs["filters"] is None


async def test_sources_are_linked_lines_with_outlet_author_and_date(bot, discord_fake):
    log = await discord_fake.slash("ask", {"question": KELCE_QUESTION})
    (reply,) = await discord_fake.wait_until(log.replies, timeout=20)
    text = message_text(reply)
    assert "tweets" in text.split("\n\n")[0]
    assert "[1] [Travis Kelce says he tried to delete his ‘nonsense’ tweets" in text
    assert f"]({KELCE_URL}" in text
    assert "— The Independent - Life and Style / Amber Raiken, 25 Nov 2023" in text


async def test_ask_filters_and_only_me(bot, discord_fake, engine):
    log = await discord_fake.slash(
        "ask",
        {
            "question": "Why did Wall Street slump in September?",
            "after": "2023-09-01",
            "before": "2023-09-30",
            "source": "The Sydney Morning Herald",
            "category": "business",
            "only_me": True,
        },
    )
    (reply,) = await discord_fake.wait_until(log.replies, timeout=20)
    assert log.callbacks[0][1] == {"type": 5, "data": {"flags": 64}}
    assert is_ephemeral(reply)
    (answer,) = engine.returned("ask")
    assert answer.quotes and {q.title for q in answer.quotes} == {
        "ASX set to drop as Wall Street’s September slump deepens"
    }
    assert "ASX set to drop as Wall Street’s September slump deepens" in message_text(reply)
    assert "Follow up" not in buttons(reply)
    filters = engine.calls_to("ask")[0][1]["filters"]
    assert (filters.after, filters.before, filters.source, filters.category) == (
        "2023-09-01",
        "2023-09-30",
        "The Sydney Morning Herald",
        "business",
    )


async def test_bad_date_is_one_ephemeral_sentence_and_no_search(bot, discord_fake, engine):
    log = await discord_fake.slash("ask", {"question": "energy", "after": "last tuesday"})
    (reply,) = await discord_fake.wait_until(log.replies)
    assert is_ephemeral(reply) and message_text(reply) == "“after” must be a date like 2023-11-12."
    assert engine.calls_to("ask") == []


async def test_abstention_says_so_without_more_sources(bot, discord_fake, engine):
    log = await discord_fake.slash("ask", {"question": NATO_QUESTION, "before": "1990-01-01"})
    (reply,) = await discord_fake.wait_until(log.replies, timeout=20)
    assert engine.returned("ask")[0].abstained
    assert "does not cover this question" in message_text(reply)
    assert ARTICLE_5 not in message_text(reply)
    assert "More sources" not in buttons(reply)


async def test_mention_question_is_answered_as_a_reply(bot, discord_fake, engine):
    message = await discord_fake.user_message(f"<@{BOT_ID}> {NATO_QUESTION}", mention_bot=True)
    (reply,) = await discord_fake.wait_until(lambda: discord_fake.replies_to(message), timeout=20)
    assert ARTICLE_5 in message_text(reply)
    assert engine.calls_to("ask")[0][0] == (NATO_QUESTION,)
    body = next(r.body for r in discord_fake.requests if isinstance(r.body, dict) and r.body.get("message_reference"))
    assert body["allowed_mentions"] == {"parse": [], "replied_user": False}


async def test_messages_not_addressed_to_the_bot_are_ignored(bot, discord_fake, engine):
    await discord_fake.user_message("@everyone what does NATO's article 5 say?")
    await asyncio.sleep(0.3)
    assert engine.calls_to("ask") == []


async def test_dm_question_is_answered(bot, discord_fake):
    message = await discord_fake.user_message(NATO_QUESTION, channel_id=DM_CHANNEL_ID, in_guild=False)
    (reply,) = await discord_fake.wait_until(lambda: discord_fake.replies_to(message), timeout=20)
    assert reply["channel_id"] == str(DM_CHANNEL_ID)
    assert ARTICLE_5 in message_text(reply)


async def test_follow_up_thread_answers_with_the_conversation_as_history(bot, discord_fake, engine):
    log = await discord_fake.slash("ask", {"question": NATO_QUESTION})
    (answer,) = await discord_fake.wait_until(log.reply_messages, timeout=20)
    click = await discord_fake.click(answer, buttons(answer)["Follow up"])
    replies = await discord_fake.wait_until(lambda: click.replies() if len(click.replies()) else None)
    thread_id = int(answer["id"])
    assert discord_fake.threads[thread_id]["name"] == NATO_QUESTION
    assert f"<#{thread_id}>" in message_text(replies[-1])
    follow_up = await discord_fake.user_message("and what did Biden tell CNN?", channel_id=thread_id)
    (reply,) = await discord_fake.wait_until(lambda: discord_fake.replies_to(follow_up), timeout=20)
    assert reply["channel_id"] == str(thread_id)
    assert "Biden" in message_text(reply).split("**Sources**")[0]
    (question,), kwargs = engine.calls_to("ask")[-1]
    assert question == "and what did Biden tell CNN?" and kwargs["history"] == (NATO_QUESTION,)
    second = await discord_fake.user_message("and which summit is in the background?", channel_id=thread_id)
    await discord_fake.wait_until(lambda: discord_fake.replies_to(second), timeout=20)
    assert engine.calls_to("ask")[-1][1]["history"] == (NATO_QUESTION, "and what did Biden tell CNN?")
    again = await discord_fake.click(answer, buttons(answer)["Follow up"])
    (refusal,) = await discord_fake.wait_until(again.replies)
    assert "already open" in message_text(refusal)


async def test_more_sources_pages_further_sources_for_the_asker_only(bot, discord_fake, engine):
    log = await discord_fake.slash("ask", {"question": NATO_QUESTION}, user_id=1001)
    (answer_message,) = await discord_fake.wait_until(log.reply_messages, timeout=20)
    (answer,) = engine.returned("ask")
    presented = present_answer(answer)
    shown = min(len(answer.quotes), 3)
    last = max(block.source for block in presented.blocks[:shown])  # sources are numbered per article
    assert f"[{last}]" in message_text(answer_message) and f"[{last + 1}]" not in message_text(answer_message)
    more = buttons(answer_message)["More sources"]
    stranger = await discord_fake.click(answer_message, more, user_id=2002, user_name="bob")
    (refusal,) = await discord_fake.wait_until(stranger.replies)
    assert is_ephemeral(refusal) and "only the person who asked" in message_text(refusal).lower()
    first = await discord_fake.click(answer_message, more, user_id=1001)
    (page,) = await discord_fake.wait_until(first.replies, timeout=20)
    assert is_ephemeral(page)
    text = message_text(page)
    if len(answer.quotes) > shown:  # further quotes of the answer first, citing their articles' numbers
        assert escape(presented.blocks[shown].text[:40]) in text
        assert all(f"[{block.source}]" in text for block in presented.blocks[shown : shown + 3])
    else:  # then further articles, numbered on after the answer's sources, found leaving out those already quoted
        cited = {q.article_id for q in answer.quotes}
        fresh = [h for h in engine.returned("search")[0] if h.article_id not in cited]
        assert fresh and f"**{len(presented.sources) + 1}.**" in text and fresh[0].title[:30] in text
        assert all(q.title[:30] not in text for q in answer.quotes)


async def test_more_sources_under_a_follow_up_searches_the_question_completed_from_the_thread(
    bot, discord_fake, engine
):
    log = await discord_fake.slash("ask", {"question": NATO_QUESTION}, user_id=1001)
    (answer_message,) = await discord_fake.wait_until(log.reply_messages, timeout=20)
    opened = await discord_fake.click(answer_message, buttons(answer_message)["Follow up"], user_id=1001)
    await discord_fake.wait_until(lambda: opened.replies() if len(opened.replies()) else None)
    follow_up = await discord_fake.user_message(
        "and what did the alliance promise Ukraine?", channel_id=int(answer_message["id"])
    )
    (reply,) = await discord_fake.wait_until(lambda: discord_fake.replies_to(follow_up), timeout=20)
    answer = engine.returned("ask")[-1]
    assert answer.question == "and what did the alliance promise Ukraine?" and "article 5" in answer.query
    searches = len(engine.calls_to("search"))
    more = await discord_fake.click(reply, buttons(reply)["More sources"], user_id=1001)
    await discord_fake.wait_until(more.replies, timeout=20)
    (query,), _ = engine.calls_to("search")[searches]
    assert query == answer.query  # what was asked, not the bare follow-up


async def test_thumbs_up_and_down_with_reason_forwarded_to_feedback_channel(bot, discord_fake):
    log = await discord_fake.slash("ask", {"question": NATO_QUESTION})
    (answer,) = await discord_fake.wait_until(log.reply_messages, timeout=20)
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
    assert "Wrong quote" in forwarded["content"] and "NATO" in forwarded["content"]
    twice = await discord_fake.click(answer, buttons(answer)["👍"], user_id=1001)
    (already,) = await discord_fake.wait_until(twice.replies)
    assert "already rated" in message_text(already)


async def test_questions_wait_their_turn_and_only_an_over_long_wait_is_refused_with_a_place_in_line(
    start_archivist, discord_fake, engine
):
    release = engine.hold("ask")
    bot = await start_archivist(max_concurrent_answers=1, max_queue_wait_seconds=2 * ASSUMED_SECONDS)
    queued = []
    for member in (1, 2, 3):  # 1 is answered (held), 2 and 3 wait: about 0.5 and 1 s
        log = await discord_fake.slash("ask", {"question": NATO_QUESTION}, user_id=member)
        await discord_fake.wait_until(lambda log=log: log.callbacks)
        assert log.callbacks[0][1]["type"] == 5 and log.first_ack < 1.0  # deferred at once, not refused
        queued.append(log)
    assert (bot.answers.running, bot.answers.waiting) == (1, 2)
    refused = await discord_fake.slash("ask", {"question": NATO_QUESTION}, user_id=4)
    (busy,) = await discord_fake.wait_until(refused.replies)
    assert refused.callbacks[0][1]["type"] == 4 and is_ephemeral(busy)  # refused at once, only to the asker
    assert "number 3 in line, about 2 seconds away" in message_text(busy)
    release.set()
    for log in queued:
        (answer,) = await discord_fake.wait_until(log.replies, timeout=30)
        assert ARTICLE_5 in message_text(answer)
    assert len(engine.calls_to("ask")) == 3
    again = await discord_fake.slash("ask", {"question": NATO_QUESTION}, user_id=4)  # the line is short again
    (answer,) = await discord_fake.wait_until(again.replies, timeout=30)
    assert ARTICLE_5 in message_text(answer)


async def test_cooldown_per_user(start_archivist, discord_fake, engine):
    await start_archivist(cooldown_seconds=30)
    first = await discord_fake.slash("ask", {"question": NATO_QUESTION}, user_id=1)
    await discord_fake.wait_until(first.replies, timeout=20)
    again = await discord_fake.slash("ask", {"question": NATO_QUESTION}, user_id=1)
    (wait,) = await discord_fake.wait_until(again.replies)
    assert is_ephemeral(wait) and "please wait" in message_text(wait)
    other = await discord_fake.slash("ask", {"question": NATO_QUESTION}, user_id=2)
    (answer,) = await discord_fake.wait_until(other.replies, timeout=20)
    assert ARTICLE_5 in message_text(answer)
    assert len(engine.calls_to("ask")) == 2


async def test_mentions_in_a_real_article_ping_and_render_nobody(bot, discord_fake):
    ask = await discord_fake.slash("ask", {"question": "What did the hacker write in the ping prank?"})
    article = await discord_fake.slash("article", {"query": HOSTILE_URL})
    recent = await discord_fake.slash("recent", {"count": 25})
    search = await discord_fake.slash("search", {"query": "ping prank hacker"})
    for log in (ask, article, recent, search):
        (reply,) = await discord_fake.wait_until(log.replies, timeout=20)
        text = message_text(reply)
        assert "ping" in text.lower() or "Pranksters" in text
        for raw in RAW_MENTIONS:
            assert raw not in text, (raw, text)
        assert reply["allowed_mentions"]["parse"] == []


async def test_a_question_on_a_covered_topic_the_archive_cannot_answer_gets_a_partial_reply(bot, discord_fake, engine):
    log = await discord_fake.slash("ask", {"question": "How many people attended the NATO summit in Vilnius?"})
    (reply,) = await discord_fake.wait_until(log.replies, timeout=20)
    answer = engine.returned("ask")[0]
    assert answer.abstained and answer.partial
    text = message_text(reply)
    assert f"The archive covers “{escape(SEED_TITLE)}”, but none of its articles says what you asked." in text
    assert "does not cover this question" not in text and "More sources" not in buttons(reply)
