"""The kind of answer a question asks for."""

import pytest

from index.answering.answer_types import expected_answer_type


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("who took over from demel running fiat auto", "who"),
        ("Which company beat Pernod Ricard to Glenmorangie?", "who"),
        ("what's the name of the british teenager arrested over shadowcrew", "who"),
        ("when did the ebbers trial start", "when"),
        ("What year was the Super Bowl first played?", "when"),
        ("where was the people's choice ceremony held", "where"),
        ("which stadium hosted the final", "where"),
        ("how much did ukip spend on the european election campaign", "how_much"),
        ("what did the painting sell for at auction", "how_much"),
        ("how many games did prutton get banned for", "how_many"),
        ("how old is sergio marchionne", "how_many"),
        ("why did the minister resign?", "why"),
        ("what was the reason for the strike", "why"),
        ("did hingis beat weingartner in pattaya", "yes_no"),
        ("Is the new console backwards compatible?", "yes_no"),
        ("what did we write about NATO's article 5?", "what"),
        ("why did who resign", "why"),  # the first question word decides
    ],
)
def test_expected_answer_type(question, kind):
    assert expected_answer_type(question) == kind
