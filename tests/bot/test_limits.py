"""200 generated hostile or huge questions and articles: no payload over Discord's limits, no mention.

100 questions go through the fake Discord to the real engine, whose archive also holds a few generated hostile
articles; 100 more generated articles go as answers, hits and cards straight through ``bot.render`` and
``bot.reply``, the one place limits are kept.
"""

import asyncio
import json
import random

from discord.utils import MISSING

from bot import render
from bot.reply import _message_kwargs
from index.models import Answer, Article, Hit, Quote, RelatedArticle
from tests.bot.fake_discord import buttons, limit_problems, mention_problems, message_text

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
RAW = ("@everyone", "@here", "<@1234>", "<@!1234>", "<@&1234>", "<#1234>")


def hostile_text(rng: random.Random, size: int) -> str:
    out = []
    while sum(map(len, out)) < size:
        out.append(rng.choice(PIECES) if rng.random() < 0.6 else "lorem ipsum dolor sit amet. ")
    return "".join(out)[:size]


def hostile_record(rng: random.Random, body_size: int) -> dict:
    return {
        "title": hostile_text(rng, rng.choice([5, 300, 3000])) + " cup",
        "body": "cup " + hostile_text(rng, body_size) + " cup final.",
        "url": rng.choice(
            [None, "javascript:alert(1)", "https://news.example/a(b)c", "https://x.example/" + "y" * 5000]
        ),
        "source": hostile_text(rng, rng.choice([3, 500])),
        "author": rng.choice([None, hostile_text(rng, 700)]),
        "published_at": rng.choice([None, "2023-11-12", "not a date", "2023-11-12T08:00:00Z"]),
        "category": hostile_text(rng, rng.choice([3, 150])),
    }


def check(payloads: list[dict]) -> None:
    assert [p for body in payloads for p in limit_problems(body)] == []
    assert [p for body in payloads for p in mention_problems(body) if "allowed_mentions" in body] == []
    for body in payloads:
        text = message_text(body)
        for raw in RAW:
            assert raw not in text, (raw, text[:300])
        assert "something went wrong" not in text


async def test_hundred_hostile_questions_over_a_real_archive_with_hostile_articles(bot, discord_fake, engine, tmp_path):
    rng = random.Random(20240601)
    records = [hostile_record(rng, rng.choice([50, 1500, 3000])) for _ in range(5)]
    for n, record in enumerate(records):  # one article each: the archive treats a repeated URL as an update
        record["url"] = record["url"] and f"{record['url']}?n={n}"
    (tmp_path / "hostile-generated.json").write_text(json.dumps(records), encoding="utf-8")
    report = await asyncio.to_thread(engine.real.ingest, [tmp_path / "hostile-generated.json"])
    assert report.added == 5, report
    await asyncio.to_thread(engine.real.reindex)
    bot.catalogue.forget()
    cases = []
    for case in range(100):
        question = "cup " + hostile_text(rng, rng.choice([10, 300, 900, 3000]))
        kind = case % 5
        if kind in (0, 1):
            cases.append(("ask", discord_fake.slash("ask", {"question": question}, user_id=case)))
        elif kind == 2:
            cases.append(("search", discord_fake.slash("search", {"query": question[:600]}, user_id=case)))
        elif kind == 3:
            cases.append(("recent", discord_fake.slash("recent", {"count": 25}, user_id=case)))
        else:
            typed = rng.choice(["", "c", "e", "@", "<"])
            cases.append(
                ("complete", discord_fake.autocomplete("recent", {"category": typed}, focused="category", user_id=case))
            )
    logs = []
    for start in range(0, len(cases), 10):  # in waves of ten at once
        wave = await asyncio.gather(*(coro for _, coro in cases[start : start + 10]))
        logs += wave
        await discord_fake.wait_until(
            lambda wave=wave: all(log.replies() or any(b["type"] == 8 for _, b in log.callbacks) for log in wave),
            timeout=60,
        )
    for log in [log for (kind, _), log in zip(cases, logs, strict=False) if kind == "ask"][:6]:
        reply = log.replies()[0]
        if "More sources" in buttons(reply):
            more = await discord_fake.click(
                log.reply_messages()[0], buttons(reply)["More sources"], user_id=log.user_id
            )
            await discord_fake.wait_until(more.replies, timeout=20)
    payloads = discord_fake.message_payloads()
    choices = [r.body["data"] for r in discord_fake.requests if isinstance(r.body, dict) and r.body.get("type") == 8]
    assert len(payloads) >= 80 and len(choices) == 20
    assert any("cup" in message_text(body) for body in payloads)  # the hostile articles were really shown
    check(payloads + choices)


def hostile_article(rng: random.Random, n: int) -> Article:
    record = hostile_record(rng, rng.choice([50, 5000, 60000]))
    return Article(id=f"h{n}", origin="generated", content_hash=str(n), first_seen="", updated_at="", tags=(), **record)


def as_quote(article: Article, rng: random.Random) -> Quote:
    start = rng.randrange(0, max(1, len(article.body) - 10))
    end = min(len(article.body), start + rng.choice([20, 400, 5000]))
    return Quote(
        article.body[start:end],
        article.id,
        start,
        end,
        article.title,
        article.url,
        article.source,
        article.author,
        article.published_at,
        article.url,
        1.0,
    )


def as_hit(article: Article, n: int) -> Hit:
    text = article.body[:3000]
    return Hit(
        n,
        article.id,
        article.title,
        article.url,
        article.source,
        article.author,
        article.category,
        article.published_at,
        text,
        0,
        len(text),
        1.0,
    )


def test_hundred_hostile_generated_articles_rendered_stay_within_limits():
    rng = random.Random(20240602)
    payloads = []
    for case in range(100):
        articles = [hostile_article(rng, case * 20 + i) for i in range(rng.randint(1, 12))]
        question = hostile_text(rng, rng.choice([10, 1000]))
        quotes = tuple(as_quote(a, rng) for a in articles)
        related = tuple(RelatedArticle(a.id, a.title, a.url, a.source, a.published_at, 0.5) for a in articles)
        answer = Answer(question, abstained=False, quotes=quotes, as_of="2023-11-12", summary=question)
        abstention = Answer(question, abstained=True, related=related)
        hits = [as_hit(a, i) for i, a in enumerate(articles)]
        embeds = [
            render.answer_embed(answer),
            render.answer_embed(answer, start=3),
            render.answer_embed(abstention),
            render.more_hits_embed(question, hits, 4),
            render.search_embed(question, hits, 0),
            render.recent_embed(articles, articles[0].category, articles[0].source),
            render.article_embed(articles[0]),
        ]
        payloads.append(_message_kwargs(render.ingest_summary(articles[0].title, _report(articles)), None, MISSING))
        for embed in embeds:
            payloads.append(_message_kwargs(None, [embed], MISSING))
    bodies = [
        {
            "content": p.get("content"),
            "embeds": [e.to_dict() for e in p.get("embeds", [])],
            "allowed_mentions": p["allowed_mentions"].to_dict(),
        }
        for p in payloads
    ]
    check(bodies)


def _report(articles: list[Article]):
    from index.models import FileProblem, IngestReport

    return IngestReport(added=1, skipped=tuple(FileProblem(a.title, a.body[:3000]) for a in articles))
