"""/search paging, /recent with autocomplete, /article, /stats, /help (real engine, real archive)."""

from bot.render import format_date
from tests.bot.fake_discord import buttons, is_ephemeral, message_text

SBF_URL = "https://techcrunch.com/2023/10/01/ftx-lawsuit-timeline/"
SBF_TITLE = "SBF’s trial starts soon, but how did he — and FTX — get here?"


async def test_search_pages_through_real_hits_with_buttons(bot, discord_fake, engine):
    log = await discord_fake.slash("search", {"query": "Taylor Swift and Travis Kelce"}, user_id=1001)
    (first,) = await discord_fake.wait_until(log.reply_messages, timeout=20)
    (hits,) = engine.returned("search")
    pages = -(-len(hits) // 5)
    assert pages >= 3, len(hits)
    text = message_text(first)
    assert f"Page 1 of {pages} · {len(hits)} results" in text
    assert text.count("**1.**") == 1 and "**5.**" in text and "**6.**" not in text
    assert "Kelce" in text or "Swift" in text
    assert hits[0].title[:30] in text
    pager = buttons(first)
    assert first["components"][0]["components"][0]["disabled"] is True  # no previous page yet
    stranger = await discord_fake.click(first, pager["Next ▶"], user_id=2002)
    (refusal,) = await discord_fake.wait_until(stranger.replies)
    assert is_ephemeral(refusal)
    turn = await discord_fake.click(first, pager["Next ▶"], user_id=1001)
    (page2,) = await discord_fake.wait_until(turn.replies)
    assert turn.callbacks[0][1]["type"] == 7
    assert f"Page 2 of {pages}" in message_text(page2) and "**6.**" in message_text(page2)
    assert hits[5].title[:30] in message_text(page2)
    for _ in range(pages - 2):
        last = await discord_fake.click(first, pager["Next ▶"], user_id=1001)
        (final,) = await discord_fake.wait_until(last.replies)
    assert f"Page {pages} of {pages}" in message_text(final)
    assert final["components"][0]["components"][1]["disabled"] is True  # no next page
    assert engine.calls_to("search")[0][1]["k"] == 25


async def test_search_without_results(bot, discord_fake, engine):
    log = await discord_fake.slash("search", {"query": "Taylor Swift", "after": "2030-01-01"})
    (reply,) = await discord_fake.wait_until(log.replies, timeout=20)
    assert engine.returned("search") == [[]]
    assert "Nothing in the archive matches." in message_text(reply) and not reply.get("components")


async def test_recent_with_autocompleted_category_and_source(bot, discord_fake, engine):
    complete = await discord_fake.autocomplete("recent", {"category": "te"}, focused="category")
    (callback,) = await discord_fake.wait_until(lambda: [b for _, b in complete.callbacks])
    assert callback["type"] == 8
    assert [c["value"] for c in callback["data"]["choices"]] == ["tech", "technology", "entertainment"]
    sources = await discord_fake.autocomplete("recent", {"source": "the"}, focused="source")
    (callback,) = await discord_fake.wait_until(lambda: [b for _, b in sources.callbacks])
    assert [c["name"] for c in callback["data"]["choices"]] == [
        "The Age",
        "The Guardian",
        "The Independent - Life and Style",
        "The Roar | Sports Writers Blog",
        "The Sydney Morning Herald",
    ]
    log = await discord_fake.slash("recent", {"count": 3, "category": "sports"})
    (reply,) = await discord_fake.wait_until(log.replies, timeout=20)
    lines = message_text(reply).splitlines()
    assert lines[0] == "Newest articles (sports)"
    assert lines[1].startswith(
        "`18 Dec 2023` [UTSA vs. Marshall odds, props, predictions: Roadrunners lay big spread in Frisco Bowl]("
    )
    assert lines[1].endswith("— Sporting News / Ian Valentino")
    assert lines[2].startswith("`27 Nov 2023` [Manchester United face Galatasaray")
    assert lines[3].startswith("`7 Nov 2023` [North Texas vs. SMU odds")
    assert len(lines) == 4
    assert engine.calls_to("recent")[-1] == ((3,), {"category": "sports", "source": None})


async def test_article_card_by_url_and_by_headline(bot, discord_fake):
    by_url = await discord_fake.slash("article", {"query": SBF_URL})
    by_words = await discord_fake.slash("article", {"query": "AI startups in France"})
    missing = await discord_fake.slash("article", {"query": "https://news.example/not-in-the-archive"})
    (sbf,) = await discord_fake.wait_until(by_url.replies, timeout=20)
    embed = sbf["embeds"][0]
    assert embed["title"] == SBF_TITLE
    assert embed["url"] == SBF_URL
    assert embed["description"].startswith("SBF’s trial has started, this is how he and FTX got here")
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Published"] == "1 Oct 2023" and fields["Author"] == "Jacquelyn Melinek"
    assert fields["Source"] == "TechCrunch" and fields["Category"] == "technology"
    (france,) = await discord_fake.wait_until(by_words.replies, timeout=20)
    assert france["embeds"][0]["title"] == "There’s something going on with AI startups in France"
    (none,) = await discord_fake.wait_until(missing.replies, timeout=20)
    assert "No article in the archive matches" in message_text(none)


async def test_stats_show_the_real_archive_and_help(bot, discord_fake, engine):
    stats = await discord_fake.slash("stats")
    (reply,) = await discord_fake.wait_until(stats.replies, timeout=20)
    fields = {f["name"]: f["value"] for f in reply["embeds"][0]["fields"]}
    (real,) = engine.returned("stats")
    assert fields["Articles"] == "16"  # 14 MultiHop-RAG articles, the seed page, the hostile article
    assert fields["Passages"] == f"{real.chunks:,}" and fields["Vectors"] == fields["Passages"]
    assert fields["Sources"] == "10" and fields["Categories"] == "5"
    assert fields["Newest article"] == "18 Dec 2023"
    assert fields["Index generation"] == "2"  # built, then re-indexed after the hostile article was added
    assert fields["Model"].replace("\\", "") == "all-MiniLM-L6-v2/onnx-int8"
    assert fields["Last index"] == format_date(real.last_indexed_at)
    help_log = await discord_fake.slash("help")
    (help_reply,) = await discord_fake.wait_until(help_log.replies)
    assert is_ephemeral(help_reply) and "/ask" in message_text(help_reply)
