"""Limit handling and escaping, checked directly on the pure rendering functions."""

import json
import unicodedata

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot import render
from bot.escape import ZWSP, escape
from index.models import Answer, Article, FileProblem, Hit, IngestReport, Quote, RelatedArticle
from tests.bot.fake_discord import limit_problems, utf16_length
from tests.index.present.samples import CRANES, HOSTILE, controls, quote

PIECES = list("ab .!?\n@<>#*_`|[]") + ["😀", "e\u0301", "👩\u200d👧", "🇬🇧", "\u200d", "𝔘", "@everyone ", "<@1234>"]
LONG_TEXT = st.lists(st.sampled_from(PIECES), max_size=1500).map("".join)


def test_shorten_quote_keeps_whole_sentences_and_adds_an_ellipsis():
    text = "First sentence here. Second one is longer than that! Third? Fourth."
    assert render.shorten_quote(text, 40) == "First sentence here.…"
    assert render.shorten_quote(text, 55) == "First sentence here. Second one is longer than that!…"
    assert render.shorten_quote(text, 200) == text


def test_a_single_overlong_sentence_is_cut_at_a_word():
    assert render.shorten_quote("alpha beta gamma delta epsilon", 17) == "alpha beta gamma…"


@given(LONG_TEXT, st.integers(min_value=2, max_value=500))
@settings(max_examples=200, deadline=None)
@example("a" * 19 + "😀@everyone <@1234>\u200d🇬🇧", 42)  # half a flag after a joiner: the cut must not end on it
def test_clip_fits_and_never_splits_a_character(text, limit):
    clipped = render.clip(text, limit)
    assert utf16_length(clipped) <= limit
    if clipped != text:
        kept = clipped[:-1].rstrip()
        assert text.startswith(kept)
        rest = text[len(kept) :]
        assert not kept or not _continues_a_character(rest[0])
        assert not kept.endswith("\u200d")
        assert _regional_indicators_at_end(kept) % 2 == 0  # never half a flag


def _continues_a_character(ch: str) -> bool:
    """Whether ``ch`` belongs to the character before it (a mark, joiner, variation selector, skin tone, tag)."""
    code = ord(ch)
    return (
        unicodedata.category(ch) in ("Mn", "Me", "Mc")
        or ch in "\u200d\u034f"
        or 0xFE00 <= code <= 0xFE0F
        or 0x1F3FB <= code <= 0x1F3FF
        or 0xE0020 <= code <= 0xE007F
    )


def _regional_indicators_at_end(text: str) -> int:
    count = 0
    while count < len(text) and 0x1F1E6 <= ord(text[-1 - count]) <= 0x1F1FF:
        count += 1
    return count


def test_clip_keeps_whole_flags_and_emoji_sequences():
    assert render.clip("ab🇬🇧🇫🇷", 8) == "ab🇬🇧…"
    assert render.clip("family 👩\u200d👧 here", 10) == "family…"
    assert render.clip("cafe\u0301s", 5) == "caf…"


@given(LONG_TEXT, st.integers(min_value=20, max_value=1500))
@settings(max_examples=200, deadline=None)
def test_shortened_quotes_are_verbatim_prefixes(text, limit):
    short = render.shorten_quote(text, limit)
    assert utf16_length(short) <= limit
    if short != text:
        assert short.endswith(render.ELLIPSIS)
        assert text.startswith(short[:-1])


@given(st.lists(LONG_TEXT, min_size=1, max_size=6), LONG_TEXT, st.text(max_size=3000))
@settings(max_examples=100, deadline=None)
def test_answer_embeds_always_fit(texts, question, url_tail):
    quotes = tuple(
        Quote(
            text=t,
            article_id=str(i),
            start=0,
            end=len(t),
            title=t[:500],
            url="https://x.example/" + url_tail,
            source=t[:300],
            author=t[:200],
            published_at="2023-11-12",
            link=None,
            score=1.0,
        )
        for i, t in enumerate(texts)
    )
    answer = Answer(
        question=question, abstained=False, quotes=quotes, as_of="2023-11-12", notes=(question,), summary=question
    )
    for start in (0, 3):
        body = {"embeds": [render.answer_embed(answer, start=start).to_dict()]}
        assert limit_problems(body) == []


def test_escape_neutralises_mentions_and_markdown():
    shown = escape("@everyone <@&1234> <@1234> <#1234> **x** [a](http://e.example)")
    for raw in ("@everyone", "<@&1234>", "<@1234>", "<#1234>", "**x**", "[a]"):
        assert raw not in shown
    assert shown.replace("\\", "").replace(ZWSP, "") == "@everyone <@&1234> <@1234> <#1234> **x** [a](http://e.example)"


def test_linked_line_drops_a_link_too_long_to_fit():
    line = render.linked_line("[1] ", "Headline", "https://x.example/" + "y" * 3000, ["Src", "12 Nov 2023"], 300)
    assert line == "[1] Headline — Src, 12 Nov 2023"
    assert render.linked_line("[1] ", "Head", "javascript:alert(1)", [], 300) == "[1] Head"


def test_a_long_deep_link_gives_way_to_the_plain_url_before_the_headline_is_cut():
    from bot.render import linked_line

    title = "ASX set to drop as Wall Street’s September slump deepens"
    deep = "https://example.com/story#:~:text=" + "word%20" * 60 + ",end"
    line = linked_line("[1] ", title, deep, ["The Sydney Morning Herald"], 200, plain_url="https://example.com/story")
    assert "Wall Street’s September slump deepens" in line and "(https://example.com/story)" in line
    assert len(line) <= 200


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_an_answer_lists_each_article_once_and_its_quotes_cite_that_number():
    first = render.answer_embed(CRANES).to_dict()
    assert first["description"].split("\n\n") == [
        "> “The cranes arrive in May.” [1]",
        "> “…unions welcomed the cranes…” [2]",  # a trimmed clause is marked where it goes on
        "> “They cost $40m.” [1]",
    ]
    assert first["fields"][0]["value"].splitlines() == [
        "[1] [Cranes due](https://news.example/a#:~:text=x) — Harbour Times / Ann Lee, 2 Nov 2023",
        "[2] [Unions](https://news.example/b) — Dock News, 2 Nov 2023",
    ]
    assert first["footer"]["text"] == "As of 2 Nov 2023"
    second = render.answer_embed(CRANES, start=3).to_dict()
    assert second["description"] == "> “Work starts soon.” [3]"
    assert second["fields"][0]["value"].startswith("[3] [Work](") and "\n" not in second["fields"][0]["value"]


def test_no_control_character_reaches_discord():
    hostile_quote = quote("a", HOSTILE, title=HOSTILE, source=HOSTILE, author=HOSTILE)
    answer = Answer(question=HOSTILE, abstained=False, quotes=(hostile_quote,), notes=(HOSTILE,), summary=HOSTILE)
    related = RelatedArticle("a", HOSTILE, "https://x.example/a", HOSTILE, "2023-01-01", 0.2)
    hit = Hit(1, "a", HOSTILE, "https://x.example/a", HOSTILE, HOSTILE, HOSTILE, "2023-01-01", HOSTILE, 0, 9, 1.0)
    article = Article(
        "a", HOSTILE, HOSTILE + "\n\n" + HOSTILE, HOSTILE, "h", "2023", "2023", None, HOSTILE, None, HOSTILE
    )
    embeds = [
        render.answer_embed(answer),
        render.answer_embed(Answer(question=HOSTILE, abstained=True, related=(related,), notes=(HOSTILE,))),
        render.search_embed(HOSTILE, [hit], 0),
        render.more_hits_embed(HOSTILE, [hit], 2),
        render.recent_embed([article], HOSTILE, HOSTILE),
        render.article_embed(article),
    ]
    texts = [s for e in embeds for s in _strings(e.to_dict())]
    texts += [
        render.thread_name(HOSTILE),
        render.choice_label(HOSTILE),
        render.progress_text(HOSTILE, 1, 2, full=False),
    ]
    texts.append(render.ingest_summary(HOSTILE, IngestReport(skipped=(FileProblem(HOSTILE, HOSTILE),))))
    assert all(controls(text) == [] for text in texts), [t for t in texts if controls(t)][:3]
    assert "Harbour cranes" in json.dumps(embeds[0].to_dict(), ensure_ascii=False)


def test_a_partial_answer_is_a_distinct_reply_naming_the_covered_topic():
    related = RelatedArticle("r", "Cranes *arrive*", "https://news.example/r", "Dock News", "2023-01-05", 0.3)
    partial = render.answer_embed(
        Answer(question="How much?", abstained=True, related=(related,), partial=True, topic="Cranes *arrive*")
    )
    plain = render.answer_embed(Answer(question="How much?", abstained=True, related=(related,)))
    assert partial.description.startswith("The archive covers “Cranes \\*arrive\\*”, but none of its articles says")
    assert plain.description.startswith("The archive does not cover this question.")
    assert partial.colour != plain.colour


def test_a_quote_cut_at_a_word_keeps_its_leading_space():
    assert render.shorten_quote(" @everyone @everyone ", 20) == " @everyone…"
