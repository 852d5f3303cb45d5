"""The engine's checks of what a user typed, shared by the CLI and the bot."""

import pytest

from index.errors import ArchivistError, InvalidInput
from index.filters import MAX_QUESTION_CHARS, checked_count, checked_text, parse_filters
from index.models import Filters


def test_filters_are_normalised_and_empty_options_mean_no_filter():
    assert parse_filters() is None and parse_filters(" ", "", None, " ") is None
    assert parse_filters("2023-11-01", "2023-12-01T10:00:00Z", " The Age ") == Filters(
        after="2023-11-01", before="2023-12-01T10:00:00+00:00", source="The Age"
    )


@pytest.mark.parametrize(
    ("options", "sentence"),
    [
        ({"after": "notadate"}, "“after” must be a date like 2023-11-12."),
        ({"before": "2023-02-30"}, "“before” must be a date like 2023-11-12."),
        ({"after": "2023-12-01", "before": "2023-11-01"}, "“after” must come before “before”."),
        ({"after": "2023-11-01T23:00", "before": "2023-11-01"}, "“after” must come before “before”."),
        ({"source": "Age \udcff"}, "The “source” filter holds bytes that are not UTF-8 text."),
        ({"author": "x" * (MAX_QUESTION_CHARS + 1)}, "at most 1,000 characters"),
    ],
)
def test_bad_filters_are_one_named_error(options, sentence):
    with pytest.raises(InvalidInput) as raised:
        parse_filters(**options)
    assert isinstance(raised.value, ArchivistError) and sentence in str(raised.value)


@pytest.mark.parametrize("k", [-3, 0, 101, 10**9])
def test_unusable_counts_are_refused(k):
    with pytest.raises(InvalidInput, match="between 1 and 100"):
        checked_count(k)


def test_question_text_is_checked_for_length_and_encoding():
    assert checked_text("  Why?  ") == "Why?"
    assert checked_text("é" * MAX_QUESTION_CHARS) == "é" * MAX_QUESTION_CHARS
    with pytest.raises(InvalidInput, match="1,000,001 characters"):
        checked_text("x" * 1_000_001)
    with pytest.raises(InvalidInput, match="not UTF-8"):
        checked_text("caf\udce9")
