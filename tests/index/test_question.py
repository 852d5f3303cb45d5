"""The question, analysed once: what retrieval and quote selection read of it."""

from datetime import date, datetime

import pytest

from index.models import Filters
from index.question import Question
from index.retrieval.query import Catalog, DateRange

CATALOG = Catalog(["TechCrunch", "The Age", "Cnbc | World Business News Leader"], ["Kyle Wiggers"], ["technology"])
NOW = datetime(2023, 11, 15, 12, 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Who founded FTX?", "who"),
        ("Whose tweets did Travis Kelce delete?", "who"),
        ("Which company paid billions to be the default search engine?", "who"),
        ("When did the trial start?", "when"),
        ("In what year was the league founded?", "when"),
        ("Where will the NATO summit be held?", "where"),
        ("How much did Ohtani sign for?", "how_much"),
        ("What percentage of voters backed the plan?", "how_much"),
        ("How many deals are in the sale?", "how_many"),
        ("Why is TikTok under fire over privacy?", "why"),
        ("What caused the ASX to drop?", "why"),
        ("Did the Fed raise interest rates?", "yes_no"),
        ("Is Sam Bankman-Fried a bad man or a good boy?", "yes_no"),
        ("What does NATO's article 5 say?", "what"),
        ("Tell me about the Frisco Bowl", "what"),
        ("Why did he say when the trial starts?", "why"),  # the first question word decides
        ("", "what"),
    ],
)
def test_the_expected_answer_type_is_read_from_the_question_words(text, expected):
    assert Question.parse(text).answer_type == expected


def test_a_follow_up_is_completed_once_and_keeps_its_own_words():
    question = Question.parse(
        "and what did Germany say?", history=["what did NATO say about article 5?"], filters=Filters(source="x")
    )
    assert question.text == "and what did Germany say?"
    assert question.query == "what did Germany say about article 5?"
    assert question.filters == Filters(source="x")
    assert question.terms == ("germani", "say", "articl", "5")  # stems, in order
    assert question.names == ("germany", "5")


def test_outlets_authors_dates_and_the_recency_wish_come_from_the_archive_vocabulary():
    question = Question.parse(
        "What is the latest TechCrunch technology news by Kyle Wiggers since October 1, 2023 and last week?",
        catalog=CATALOG,
        now=NOW,
    )
    assert question.intent.sources == {"TechCrunch"}
    assert question.intent.authors == {"Kyle Wiggers"}
    assert question.intent.categories == {"technology"}
    assert question.latest
    assert question.days == (date(2023, 10, 1),)  # "last week" is a range, not a day written out
    assert question.dates == (
        DateRange(date(2023, 10, 1), date(2023, 10, 1)),
        DateRange(date(2023, 11, 6), date(2023, 11, 12)),
    )


@pytest.mark.parametrize(
    ("text", "quotes", "retrieval"),
    [
        ("What is the latest on the strike?", True, True),
        ("any news about Tesla recently?", True, True),
        ("What happened this week in Gaza?", True, False),  # retrieval reads "this week" as a date range instead
        ("What is currently going on with the All Blacks?", True, False),
        ("What has Manchester United been up to lately?", False, True),
        ("Why did the strike start?", False, False),
    ],
)
def test_the_recency_wish_is_read_once_for_quotes_and_for_retrieval(text, quotes, retrieval):
    question = Question.parse(text)
    assert question.latest is quotes and question.intent.prefers_recent is retrieval


def test_calendar_days_are_read_in_every_written_form():
    for text in ("on October 1, 2023", "on Oct. 1st, 2023", "on 1 October 2023", "on 2023-10-01"):
        assert Question.parse(text).days == (date(2023, 10, 1),), text
    assert Question.parse("in October 2023").days == ()
    assert Question.parse("on February 30, 2023").days == ()


def test_hostile_text_is_analysed_without_error():
    for text in ("\x00" * 50, "?" * 10_000, "A " * 5_000, "🏳️‍🌈" * 100, "Who " * 2_000 + "won?"):
        question = Question.parse(text, catalog=CATALOG, now=NOW)
        assert question.text == text
