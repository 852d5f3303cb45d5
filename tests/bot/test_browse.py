"""/search paging, /recent with autocomplete, /article, /stats, /help."""

import pytest

from tests.bot.fake_discord import buttons, is_ephemeral, message_text
from tests.bot.fake_engine import FakeEngine, make_article, sample_articles


@pytest.fixture
def engine() -> FakeEngine:
    cups = [
        make_article(
            100 + i,
            f"Cup match report {i}",
            f"The cup final number {i} was played in town {i}.",
            url=f"https://news.example/cup-{i}",
            source="Sport Now",
            published_at=f"2023-07-{i + 1:02d}",
            category="sport",
        )
        for i in range(12)
    ]
    return FakeEngine([*sample_articles(), *cups])


async def test_search_pages_with_buttons(bot, discord_fake):
    log = await discord_fake.slash("search", {"query": "cup final"}, user_id=1001)
    (first,) = await discord_fake.wait_until(log.reply_messages)
    text = message_text(first)
    assert "**1.** [Cup match report" in text and "Page 1 of 3" in text
    assert "> The cup final number" in text
    pager = buttons(first)
    assert first["components"][0]["components"][0]["disabled"] is True  # no previous page yet
    stranger = await discord_fake.click(first, pager["Next ▶"], user_id=2002)
    (refusal,) = await discord_fake.wait_until(stranger.replies)
    assert is_ephemeral(refusal)
    turn = await discord_fake.click(first, pager["Next ▶"], user_id=1001)
    (page2,) = await discord_fake.wait_until(turn.replies)
    assert turn.callbacks[0][1]["type"] == 7
    assert "Page 2 of 3" in message_text(page2) and "**6.**" in message_text(page2)
    last = await discord_fake.click(first, pager["Next ▶"], user_id=1001)
    (page3,) = await discord_fake.wait_until(last.replies)
    assert "Page 3 of 3" in message_text(page3)
    assert page3["components"][0]["components"][1]["disabled"] is True  # no next page


async def test_search_without_results(bot, discord_fake):
    log = await discord_fake.slash("search", {"query": "zeppelin"})
    (reply,) = await discord_fake.wait_until(log.replies)
    assert "Nothing in the archive matches." in message_text(reply) and not reply.get("components")


async def test_recent_with_autocompleted_category(bot, discord_fake, engine):
    complete = await discord_fake.autocomplete("recent", {"category": "po"}, focused="category")
    (callback,) = await discord_fake.wait_until(lambda: [b for _, b in complete.callbacks])
    assert callback["type"] == 8
    assert [c["value"] for c in callback["data"]["choices"]] == ["politics", "sport"]  # prefix match first
    sources = await discord_fake.autocomplete("recent", {"source": ""}, focused="source")
    (callback,) = await discord_fake.wait_until(lambda: [b for _, b in sources.callbacks])
    assert [c["name"] for c in callback["data"]["choices"]] == ["Auto Daily", "Euro Wire", "Ping Post", "Sport Now"]
    log = await discord_fake.slash("recent", {"count": 3, "category": "sport"})
    (reply,) = await discord_fake.wait_until(log.replies)
    lines = message_text(reply).splitlines()
    assert lines[0] == "Newest articles (sport)"
    assert lines[1] == "`1 Sep 2023` [Local team wins the football cup](https://news.example/cup) — Sport Now / Sam Lee"
    assert len(lines) == 4
    assert engine.calls_to("recent")[-1] == ((3,), {"category": "sport", "source": None})


async def test_article_card_by_url_and_by_headline(bot, discord_fake):
    by_url = await discord_fake.slash("article", {"query": "https://news.example/gm-recall"})
    by_words = await discord_fake.slash("article", {"query": "energy summit"})
    missing = await discord_fake.slash("article", {"query": "no such thing"})
    (gm,) = await discord_fake.wait_until(by_url.replies)
    embed = gm["embeds"][0]
    assert embed["title"] == "GM recalls Cadillac Escalades over faulty airbags"
    assert embed["url"] == "https://news.example/gm-recall"
    assert embed["description"].startswith("General Motors is recalling 12,000 Cadillac Escalades.")
    assert {f["name"]: f["value"] for f in embed["fields"]}["Published"] == "12 Nov 2023"
    (germany,) = await discord_fake.wait_until(by_words.replies)
    assert germany["embeds"][0]["title"] == "Germany responds to the energy summit"
    (none,) = await discord_fake.wait_until(missing.replies)
    assert "No article in the archive matches" in message_text(none)


async def test_stats_and_help(bot, discord_fake):
    stats = await discord_fake.slash("stats")
    (reply,) = await discord_fake.wait_until(stats.replies)
    fields = {f["name"]: f["value"] for f in reply["embeds"][0]["fields"]}
    assert fields["Articles"] == "16" and fields["Index generation"] == "1" and fields["Model"] == "fake-minilm"
    assert fields["Last index"] == "2 May 2024"
    help_log = await discord_fake.slash("help")
    (help_reply,) = await discord_fake.wait_until(help_log.replies)
    assert is_ephemeral(help_reply) and "/ask" in message_text(help_reply)
