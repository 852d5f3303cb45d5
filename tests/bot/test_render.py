"""Limit handling and escaping, checked directly on the pure rendering functions."""

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot import render
from bot.escape import ZWSP, escape
from index.models import Answer, Quote
from tests.bot.fake_discord import limit_problems, utf16_length

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
        assert not kept or not render._extends_previous(rest[0])
        assert not kept.endswith("\u200d")


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
