from urllib.parse import unquote

import pytest

from index.answering.links import text_fragment_link


def _terms(link: str) -> list[str]:
    directive = link.split(":~:text=", 1)[1]
    return [unquote(t) for t in directive.split(",")]


def test_long_quote_links_by_its_first_and_last_words():
    quote = (
        "General Motors is recalling nearly 1,000 Cadillac Lyriq SUVs because a software fault can disable the brakes."
    )
    link = text_fragment_link("https://example.com/gm-recall", quote)
    assert link.startswith("https://example.com/gm-recall#:~:text=")
    assert _terms(link) == ["General Motors is recalling", "can disable the brakes."]


def test_short_quote_is_linked_whole():
    link = text_fragment_link("https://example.com/a", "Prices rose sharply.")
    assert _terms(link) == ["Prices rose sharply."]


def test_fragment_syntax_characters_are_percent_encoded():
    quote = "Mid-term results, said the CEO & chair, were strong - very strong indeed, analysts agreed on Tuesday."
    link = text_fragment_link("https://example.com/a", quote)
    directive = link.split(":~:text=", 1)[1]
    start, end = directive.split(",")  # exactly one unencoded comma: the start/end separator
    assert "-" not in directive and "&" not in directive and " " not in directive
    assert unquote(start) == "Mid-term results, said the"
    assert unquote(end) == "analysts agreed on Tuesday."


def test_white_space_is_collapsed_and_unicode_encoded_as_utf8():
    link = text_fragment_link("https://example.com/a", "Le   ministre\na déclaré « non ».")
    assert _terms(link) == ["Le ministre a déclaré « non »."]
    assert "%C3%A9" in link


def test_existing_fragment_is_kept_and_old_text_directive_replaced():
    assert text_fragment_link("https://x.org/p#top", "One two.") == "https://x.org/p#top:~:text=One%20two."
    assert text_fragment_link("https://x.org/p#:~:text=old", "One two.") == "https://x.org/p#:~:text=One%20two."


def test_empty_quote_is_refused():
    with pytest.raises(ValueError):
        text_fragment_link("https://x.org/p", "   ")
