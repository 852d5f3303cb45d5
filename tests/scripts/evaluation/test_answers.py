import json
from dataclasses import replace

import pytest

from index.answering import abstention
from index.answering.abstention import AbstentionSignals
from index.models import Answer, Quote
from scripts.evaluation.answers import (
    LexicalRetriever,
    Record,
    SquadQuestion,
    fidelity_errors,
    load_multihop,
    load_squad,
    metrics_from_records,
    of_split,
    run_answer_evals,
)
from scripts.evaluation.splits import split_of
from tests.index.embedding.fake_embedding import BagOfWordsEmbedder

SQUAD = {
    "data": [
        {
            "title": "Nikola_Tesla",
            "paragraphs": [
                {
                    "context": "Nikola Tesla was born in 1856 in Smiljan. He moved to the United States in 1884.",
                    "qas": [
                        {
                            "id": "q1",
                            "question": "In what year was Nikola Tesla born?",
                            "answers": [{"text": "1856", "answer_start": 24}],
                        },
                        {
                            "id": "q2",
                            "question": "When did Tesla move to the United States?",
                            "answers": [{"text": "1884", "answer_start": 75}],
                        },
                    ],
                }
            ],
        },
        {
            "title": "Rhine",
            "paragraphs": [
                {
                    "context": "The Rhine flows from the Swiss Alps to the North Sea. It is 1,230 km long.",
                    "qas": [
                        {
                            "id": "q3",
                            "question": "Where does the Rhine flow to?",
                            "answers": [{"text": "the North Sea", "answer_start": 39}],
                        }
                    ],
                }
            ],
        },
    ]
}
CORPUS = [
    {
        "title": "GM recalls Lyriq",
        "author": "A",
        "source": "Wire",
        "category": "business",
        "published_at": "2023-11-12T09:00:00+00:00",
        "url": "https://news.example/gm",
        "body": "GM is recalling Cadillac Lyriq SUVs over a brake software fault. Dealers will fix it for free.",
    },
    {
        "title": "Rates held",
        "author": None,
        "source": "Daily",
        "category": "business",
        "published_at": "2023-10-02T09:00:00+00:00",
        "url": None,
        "body": "The central bank held interest rates at 5.25 percent. Markets were calm.",
    },
]
QUERIES = [
    {
        "query": "Why is GM recalling Cadillac Lyriq SUVs?",
        "answer": "brake software fault",
        "question_type": "inference_query",
        "evidence_list": [
            {
                "fact": "GM is recalling Cadillac Lyriq SUVs over a brake software fault.",
                "url": "https://news.example/gm",
            }
        ],
    },
    {
        "query": "What did the central bank do with rates?",
        "answer": "held",
        "question_type": "comparison_query",
        "evidence_list": [{"fact": "held interest rates at 5.25   percent"}],
    },
    {
        "query": "What did the zoo say about pandas?",
        "answer": "Insufficient information.",
        "question_type": "null_query",
        "evidence_list": [],
    },
]


@pytest.fixture
def data(tmp_path):
    squad = tmp_path / "dev.json"
    squad.write_text(json.dumps(SQUAD))
    mh = tmp_path / "mh"
    mh.mkdir()
    (mh / "corpus_train.json").write_text(json.dumps(CORPUS))
    (mh / "queries_train.json").write_text(json.dumps(QUERIES))
    return squad, mh


def test_datasets_load_as_archives(data):
    squad, mh = data
    articles, questions = load_squad(squad)
    assert [a.title for a in articles] == ["Nikola Tesla", "Rhine"]
    assert questions[2].answers == ("the North Sea",) and questions[2].article_id == articles[1].id
    mh_articles, mh_questions = load_multihop(mh)
    assert mh_articles[0].url == "https://news.example/gm" and mh_questions[2].question_type == "null_query"


def test_run_measures_every_population_when_the_engine_always_answers(data, monkeypatch):
    monkeypatch.setattr(abstention, "should_answer", lambda signals: True)
    squad, mh = data
    m = run_answer_evals(squad, mh, embedder=BagOfWordsEmbedder(), retriever_factory=LexicalRetriever, split="all")
    assert m.squad_questions == 3 and m.squad_answer_in_quotes == 1.0 and m.squad_abstain == 0.0
    assert m.multihop_questions == 2 and m.multihop_evidence_in_quotes == 1.0  # white space ignored in facts
    assert m.multihop_null_questions == 1
    assert m.fidelity_errors == 0 and m.quotes_checked > 0
    assert m.latency_ms_p95 >= m.latency_ms_p50 > 0


def test_abstentions_count_against_answer_rates(data, monkeypatch):
    monkeypatch.setattr(abstention, "should_answer", lambda signals: False)
    squad, mh = data
    m = run_answer_evals(squad, mh, embedder=BagOfWordsEmbedder(), retriever_factory=LexicalRetriever, split="all")
    assert m.squad_abstain == 1.0 and m.squad_answer_in_quotes == 0.0 and m.squad_on_multihop_abstain == 1.0
    assert m.multihop_evidence_in_quotes == 0.0


def test_fidelity_check_catches_altered_text_offsets_and_citations(data):
    articles, _ = load_multihop(data[1])
    by_id = {a.id: a for a in articles}
    a = articles[0]
    good = Quote(a.body[0:15], a.id, 0, 15, a.title, a.url, a.source, a.author, a.published_at, None, 1.0)
    assert fidelity_errors(Answer("q", False, (good,)), by_id) == 0
    bad = [
        replace(good, text="GM is recalled."),  # words changed
        replace(good, start=1, end=16),  # shifted offsets
        replace(good, article_id=articles[1].id),  # cited the wrong article
        replace(good, title="Another headline"),
    ]
    assert fidelity_errors(Answer("q", False, tuple(bad)), by_id) == 4


def test_metrics_can_re_decide_from_recorded_signals():
    sig_hi = AbstentionSignals(2.0, 0.8, 0.9, 1.0, 1.0, 0.9, 1.8)
    sig_lo = AbstentionSignals(-3.0, 0.1, 0.1, 0.2, 0.0, 0.3, 1.8)
    records = [
        Record("squad", "a", "squad:x", sig_hi, True, True, True, 3, 0),
        Record("squad", "b", "squad:x", sig_lo, True, False, False, 3, 0),
        Record("squad_on_multihop", "c", "squad:y", sig_lo, False, False, False, 3, 0),
    ]
    m = metrics_from_records(records, retriever="x", latency=[0.01], decide=lambda s: s.similarity > 0.5)
    assert m.squad_abstain == 0.5 and m.squad_answer_in_quotes == 0.5 and m.squad_on_multihop_abstain == 1.0


def test_questions_are_split_by_group_and_the_held_out_split_is_the_default(data):
    squad, mh = data
    _, squad_questions = load_squad(squad)
    _, mh_questions = load_multihop(mh)
    questions = squad_questions + mh_questions
    held, quotes, abstaining = (of_split(questions, s) for s in ("held-out", "quotes", "abstention"))
    assert sorted(q.id for q in held + quotes + abstaining) == sorted(q.id for q in questions)
    assert len({q.id for q in held + quotes + abstaining}) == len(questions)  # disjoint
    assert {q.group for q in squad_questions} == {f"squad:{q.article_id}" for q in squad_questions}
    assert mh_questions[0].group == f"multihop:{QUERIES[0]['evidence_list'][0]['url']}"
    for group in {q.group for q in questions}:  # a group is never cut in two
        assert len({split_of(q.group) for q in questions if q.group == group}) == 1
    m = run_answer_evals(squad, mh, embedder=BagOfWordsEmbedder(), retriever_factory=LexicalRetriever)
    assert m.squad_questions == sum(1 for q in held if isinstance(q, SquadQuestion))
    with pytest.raises(ValueError, match="unknown split"):
        of_split(questions, "train")
