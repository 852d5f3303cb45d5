"""The kind of answer a question asks for."""

import pytest

from index.answering.answer_types import expected_answer_type, holds_answer_type


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


@pytest.mark.parametrize(
    ("kind", "sentence", "question", "holds"),
    [
        ("who", "The bill was backed by Tony Blair on Monday.", "Who backed the bill?", True),
        ("who", "The bill was backed by the government.", "Who backed the bill?", False),
        ("who", "Blair backed the bill.", "Who did Blair back?", False),  # first word, and named in the question
        ("who", "The plan, said the BBC, was backed by Blair.", "Who backed the BBC's plan?", True),
        ("where", "The final was played in Cardiff.", "Where was the final played?", True),
        ("when", "It opened in March 2004.", "When did it open?", True),
        ("when", "It opened after a long delay.", "When did it open?", False),
        ("when", "The 2004 games opened late.", "When did the 2004 games open?", False),  # the asked year only
        ("how_many", "Some 30,000 people attended.", "How many people attended the ceremony?", True),
        ("how_many", "Thousands of people attended.", "How many people attended the ceremony?", True),
        ("how_many", "Many people attended the ceremony.", "How many people attended the ceremony?", False),
        ("how_much", "The painting sold for £1.2m.", "How much did the painting sell for?", True),
        ("how_much", "The painting sold at auction.", "How much did the painting sell for?", False),
        ("why", "He resigned because of ill health.", "Why did he resign?", True),
        ("why", "He quit amid claims of fraud.", "Why did he quit?", True),
        ("why", "He resigned on Monday.", "Why did he resign?", False),
        ("yes_no", "Yes.", "Did he resign?", None),
        ("what", "Anything at all.", "What did we write about NATO?", None),
    ],
)
def test_a_sentence_holds_the_kind_of_thing_asked_only_when_the_question_does_not_say_it(
    kind, sentence, question, holds
):
    assert holds_answer_type(kind, sentence, question) is holds
