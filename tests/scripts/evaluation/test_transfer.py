"""The transfer question set is well-formed, its golds are verbatim in the BBC articles, and its figures add up."""

from collections import Counter

import pytest

from scripts.evaluation.transfer import (
    NEAR_MISS_KINDS,
    Outcome,
    TransferQuestion,
    file_of,
    load_paraphrases,
    load_questions,
    metrics,
)


def test_the_set_has_what_the_issue_asks_for():
    questions = load_questions()
    kinds = Counter(q.kind for q in questions)
    assert len({q.id for q in questions}) == len(questions) >= 100
    assert kinds["answerable"] >= 50 and sum(kinds[k] for k in NEAR_MISS_KINDS) >= 50
    assert all(kinds[k] >= 15 for k in NEAR_MISS_KINDS)
    assert all(q.answers if q.answerable else not q.answers for q in questions)
    groups = load_paraphrases()
    by_id = {q.id: q for q in questions}
    assert len(groups) == 50 and all(len(set(g.wordings)) == 3 for g in groups)
    assert all(by_id[g.source_id].answerable == g.answerable for g in groups)


def test_every_gold_answer_is_verbatim_in_a_named_article(datasets):
    bbc = datasets / "bbc_news" / "bbc"
    for q in load_questions():
        bodies = [(bbc / name).read_text(encoding="utf-8", errors="replace") for name in q.articles]
        assert all(any(gold in body for body in bodies) for gold in q.answers), q.id


def test_file_of_reads_the_section_and_file_from_an_origin():
    assert file_of("/data/bbc/sport/199.txt") == "sport/199.txt"
    assert file_of("bbc/tech/001.txt#2") == "tech/001.txt"


def _outcome(kind: str, *, abstained: bool, gold: bool = False, answer_type: str = "who") -> Outcome:
    question = TransferQuestion("q", "?", kind == "answerable", kind, answer_type, ("a/1.txt",), ("x",) if gold else ())
    return Outcome(question, abstained, gold, gold, 0 if abstained else 2, 0)


def test_metrics_count_each_population_apart():
    outcomes = [
        _outcome("answerable", abstained=False, gold=True),
        _outcome("answerable", abstained=False, gold=False, answer_type="why"),
        _outcome("answerable", abstained=True, answer_type="why"),
        _outcome("unstated_fact", abstained=True),
        _outcome("false_premise", abstained=False),
    ]
    result = metrics(outcomes, {"p1": [True, True, True], "p2": [True, False, True]})
    assert result.gold_in_quotes == pytest.approx(1 / 3, abs=1e-4)
    assert result.answerable_abstained == pytest.approx(1 / 3, abs=1e-4)
    assert result.unanswerable_abstained == 0.5
    assert result.abstained_by_kind["unstated_fact"] == 1.0 and result.abstained_by_kind["false_premise"] == 0.0
    assert result.missed_by_answer_type == {"who": "0/1", "why": "2/2"}
    assert result.paraphrase_agreement == 0.5 and result.disagreeing_groups == ("p2",)
    assert result.quotes == 6
