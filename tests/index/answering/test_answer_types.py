"""The kind of answer a question asks for, and whether a sentence holds one the question does not already say."""

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
    ("kind", "question", "sentence", "held"),
    [
        ("who", "who runs parmalat now", "The firm is now run by Enrico Bondi, its administrator.", True),
        ("who", "who runs parmalat now", "Parmalat collapsed in December with debts of 14bn euros.", False),
        ("who", "who replaced Herbert Demel", "Mr Demel said the change was overdue.", False),
        ("when", "when did the strike start", "Workers walked out on 3 March after talks failed.", True),
        ("when", "when did the strike start in 2004", "The strike in 2004 cost the firm dearly.", False),
        ("how_much", "how much did ukip spend", "The party spent £2.36m on the campaign.", True),
        ("how_much", "how much did ukip spend", "The party spent heavily on billboards.", False),
        ("how_many", "how many games was he banned for", "He was given a 10-games ban by the FA.", True),
        ("how_many", "how many games was he banned for", "He was banned after shoving the referee.", False),
        ("why", "why did the minister resign", "He resigned because of the visa row.", True),
        ("why", "why did the minister resign", "The minister resigned on Wednesday evening.", False),
        ("where", "where was the ceremony held", "The ceremony was held at the Shrine Auditorium.", True),
        ("where", "where was the ceremony held", "The ceremony was watched by millions.", False),
        ("yes_no", "did he win", "Anything at all.", True),
        ("what", "what did we write about nato", "Anything at all.", True),
    ],
)
def test_holds_answer_type(kind, question, sentence, held):
    assert holds_answer_type(kind, sentence, question) is held
