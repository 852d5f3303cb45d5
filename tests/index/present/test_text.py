from hypothesis import given
from hypothesis import strategies as st

from index.present import byline, display_text, format_date, one_line, printable
from tests.index.present.samples import ESCAPES, HOSTILE, controls, quote


def test_terminal_escape_sequences_vanish_with_their_payload():
    shown = printable(HOSTILE)
    assert controls(shown) == []
    assert shown == "Harbour cranes"
    for payload in filter(None, ESCAPES.values()):
        assert payload not in shown


def test_an_unterminated_sequence_cannot_swallow_the_text_after_it():
    shown = printable("\x1b]0;no terminator here\nThe story goes on.")
    assert controls(shown) == [] and shown.endswith("\nThe story goes on.")


def test_tabs_and_newlines_stay_for_layout_and_one_line_folds_them():
    assert printable("a\tb\nc") == "a\tb\nc"
    assert one_line("  a\tb\n\n c\x1b[0m ") == "a b c"
    assert one_line(None) == ""


@given(st.text())
def test_printable_text_never_carries_a_control_character(text):
    assert controls(printable(text)) == []
    assert controls(one_line(text)) == []


@given(st.text(alphabet=st.characters(exclude_categories=("Cc",))))
def test_text_without_controls_is_shown_unchanged(text):
    assert printable(text) == text


def test_dates_have_no_zero_padding_on_any_platform():
    assert format_date("2023-11-02T08:00:00Z") == "2 Nov 2023"
    assert format_date("2023-11-12") == "12 Nov 2023"
    assert format_date(None) is None and format_date("  ") is None
    assert format_date("2023-13-45\x1b[31m") == "2023-13-45"  # unparseable: shown as given


def test_byline_names_an_outlet_that_is_its_own_author_once():
    assert byline("The Age", "David Swan") == "The Age / David Swan"
    assert byline("Reuters", "reuters") == "Reuters"
    assert byline(None, "Ann\x1b[31m Lee") == "Ann Lee"
    assert byline(" ", None) is None


def test_a_trimmed_clause_is_marked_with_an_ellipsis_where_the_sentence_goes_on():
    assert display_text(quote("a", "the minister confirmed the reform would start in 2025")) == (
        "…the minister confirmed the reform would start in 2025…"
    )
    assert display_text(quote("a", "The reform starts in 2025.")) == "The reform starts in 2025."
    assert display_text(quote("a", "He said:\n“It starts in 2025.”")) == "He said: “It starts in 2025.”"
