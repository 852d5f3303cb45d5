"""200 generated hostile or huge questions and articles: no payload over Discord's limits, no mention."""

import random

import pytest

from tests.bot.fake_discord import buttons, limit_problems, mention_problems, message_text
from tests.bot.fake_engine import FakeEngine, make_article

PIECES = [
    "@everyone",
    "@here",
    "<@1234>",
    "<@!1234>",
    "<@&1234>",
    "<#1234>",
    "</ask:1>",
    "**bold**",
    "__u__",
    "`code`",
    "```block```",
    "> quote",
    "# Header",
    "- item",
    "[link](https://evil.example)",
    "||spoiler||",
    "\\",
    "😀",
    "👩‍👩‍👧‍👦",
    "🇬🇧",
    "e\u0301",
    "𝔘𝔫𝔦",
    "\u200d",
    "\n",
    "\n\n",
    "   ",
    "word",
    "longword" * 40,
    ".",
    "!",
    "?",
    "https://news.example/" + "x" * 3000,
    "\u202e",
    "<t:1700000000:R>",
]


def hostile_text(rng: random.Random, size: int) -> str:
    out = []
    while sum(map(len, out)) < size:
        out.append(rng.choice(PIECES) if rng.random() < 0.6 else "lorem ipsum dolor sit amet. ")
    return "".join(out)[:size]


def hostile_article(rng: random.Random, n: int) -> object:
    return make_article(
        n,
        hostile_text(rng, rng.choice([5, 300, 3000])) + " cup",
        "cup " + hostile_text(rng, rng.choice([50, 5000, 60000])) + " cup final.",
        url=rng.choice([None, "javascript:alert(1)", "https://news.example/a(b)c", "https://x.example/" + "y" * 5000]),
        source=hostile_text(rng, rng.choice([3, 500])),
        author=rng.choice([None, hostile_text(rng, 700)]),
        published_at=rng.choice([None, "2023-11-12", "not a date", "2023-11-12T08:00:00Z"]),
        category=hostile_text(rng, rng.choice([3, 150])),
    )


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine([], quotes_per_answer=12)


async def test_two_hundred_hostile_cases_stay_within_limits(bot, discord_fake, engine):
    rng = random.Random(20240601)
    for case in range(200):
        engine.articles[:] = [hostile_article(rng, case * 10 + i) for i in range(rng.randint(1, 12))]
        bot.catalogue.forget()
        question = "cup " + hostile_text(rng, rng.choice([10, 900, 6000]))
        kind = case % 5
        if kind in (0, 1):
            log = await discord_fake.slash("ask", {"question": question}, user_id=case)
        elif kind == 2:
            log = await discord_fake.slash("search", {"query": question}, user_id=case)
        elif kind == 3:
            log = await discord_fake.slash("recent", {"count": 25}, user_id=case)
        else:
            log = await discord_fake.autocomplete("recent", {"category": ""}, focused="category", user_id=case)
        await discord_fake.wait_until(lambda log=log: log.replies() or any(b["type"] == 8 for _, b in log.callbacks))
        if kind == 0 and "More sources" in buttons(log.replies()[0]):
            more = await discord_fake.click(
                log.reply_messages()[0], buttons(log.replies()[0])["More sources"], user_id=case
            )
            await discord_fake.wait_until(more.replies)
    payloads = discord_fake.message_payloads()
    choices = [
        b["data"]
        for r in discord_fake.requests
        if r.body and isinstance(r.body, dict) and r.body.get("type") == 8
        for b in [r.body]
    ]
    assert len(payloads) >= 160 and len(choices) == 40
    assert [p for body in payloads + choices for p in limit_problems(body)] == []
    assert [p for body in payloads for p in mention_problems(body)] == []
    for body in payloads:
        text = message_text(body)
        for raw in ("@everyone", "@here", "<@1234>", "<@!1234>", "<@&1234>", "<#1234>"):
            assert raw not in text
    apologies = [body for body in payloads if "something went wrong" in message_text(body)]
    assert apologies == []
