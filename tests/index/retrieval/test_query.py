from datetime import date, datetime

import pytest

from index.retrieval.query import Catalog, DateRange, parse_query

SOURCES = [
    "TechCrunch",
    "The Verge",
    "The Age",
    "Fortune",
    "CBSSports.com",
    "The Independent - Life and Style",
    "The Independent - Sports",
    "BBC News - Entertainment & Arts",
    "Cnbc | World Business News Leader",
]
CATALOG = Catalog(SOURCES, ["Kyle Wiggers", "Matt O'Brien, The Associated Press"], ["technology", "sports"])
NOW = datetime(2023, 12, 20, 12, 0)


def parse(text):
    return parse_query(text, CATALOG, now=NOW)


def test_named_outlet_is_recognised_in_any_case_when_its_name_is_distinctive():
    assert parse("According to TechCrunch, what did OpenAI announce?").sources == {"TechCrunch"}
    assert parse("what does techcrunch say about openai").sources == {"TechCrunch"}
    assert parse("per cbssports.com, who won?").sources == {"CBSSports.com"}
    assert parse("What did CNBC report on Nike?").sources == {"Cnbc | World Business News Leader"}


def test_outlets_named_like_ordinary_words_must_be_capitalised():
    assert parse("Did The Age report on Google?").sources == {"The Age"}
    assert parse("She married at the age of 16").sources == frozenset()
    assert parse("a Fortune article on FTX").sources == {"Fortune"}
    assert parse("they made a fortune on FTX").sources == frozenset()


def test_short_form_of_a_sectioned_outlet_names_every_section():
    assert parse("What did The Independent say?").sources == {
        "The Independent - Life and Style",
        "The Independent - Sports",
    }
    assert parse("per The Independent - Sports").sources == {"The Independent - Sports"}
    assert parse("the BBC News - Entertainment & Arts piece").sources == {"BBC News - Entertainment & Arts"}


def test_each_outlet_mention_is_kept_in_order():
    intent = parse("Does the Fortune article agree with The Verge and TechCrunch?")
    assert intent.source_mentions == ({"Fortune"}, {"The Verge"}, {"TechCrunch"})


def test_authors_and_sections_are_recognised():
    intent = parse("What has Kyle Wiggers written in technology news?")
    assert intent.authors == {"Kyle Wiggers"}
    assert intent.categories == {"technology"}
    assert parse("stories by Matt O'Brien").authors == {"Matt O'Brien, The Associated Press"}


def test_words_inside_an_outlet_name_are_not_read_as_a_section():
    catalog = Catalog(["Business Wire"], [], ["business"])
    assert parse_query("What did Business Wire news say?", catalog).categories == frozenset()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the TechCrunch article published on October 19, 2023", DateRange(date(2023, 10, 19), date(2023, 10, 19))),
        ("reported on Sept. 3rd, 2023", DateRange(date(2023, 9, 3), date(2023, 9, 3))),
        ("on 5 November 2023", DateRange(date(2023, 11, 5), date(2023, 11, 5))),
        ("the 2023-12-01 story", DateRange(date(2023, 12, 1), date(2023, 12, 1))),
        ("news from October 2023", DateRange(date(2023, 10, 1), date(2023, 10, 31))),
        ("what happened in 2022", DateRange(date(2022, 1, 1), date(2022, 12, 31))),
        ("what happened last week", DateRange(date(2023, 12, 11), date(2023, 12, 17))),
        ("what happened this week", DateRange(date(2023, 12, 18), date(2023, 12, 20))),
        ("what happened last month", DateRange(date(2023, 11, 1), date(2023, 11, 30))),
        ("in the past 3 days", DateRange(date(2023, 12, 17), date(2023, 12, 20))),
        ("what happened yesterday", DateRange(date(2023, 12, 19), date(2023, 12, 19))),
    ],
)
def test_dates_and_relative_times_become_publication_ranges(text, expected):
    assert parse(text).dates == (expected,)


def test_two_dates_in_one_question_are_both_kept_in_order():
    intent = parse("Between the report on November 7, 2023 and the one on December 15, 2023, what changed?")
    assert [d.first for d in intent.dates] == [date(2023, 11, 7), date(2023, 12, 15)]


def test_impossible_dates_are_ignored():
    assert parse("on February 30, 2023").dates == ()


def test_recency_words_ask_for_recent_articles():
    assert parse("What is the latest on the FTX trial?").prefers_recent
    assert not parse("What happened at the FTX trial?").prefers_recent


def test_sources_named_resolves_filter_values():
    assert CATALOG.sources_named("the verge") == {"The Verge"}
    assert CATALOG.sources_named("The Independent") == {"The Independent - Life and Style", "The Independent - Sports"}
    assert CATALOG.sources_named("Verge News") == frozenset()


def test_without_a_catalog_only_dates_are_read():
    intent = parse_query("TechCrunch on October 2, 2023")
    assert intent.sources == frozenset()
    assert intent.dates == (DateRange(date(2023, 10, 2), date(2023, 10, 2)),)
