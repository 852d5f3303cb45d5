from datetime import UTC, datetime

import pytest

from index.answering import abstention
from index.answering.compose import compose_answer, format_date, parse_date
from index.models import Hit
from index.question import Question, contextualize
from tests.index.embedding.fake_embedding import BagOfWordsEmbedder

BODIES = {
    "old": "The central bank held interest rates at 5.25 percent. Markets were calm.",
    "new": "The central bank held interest rates at 5.50 percent. Bond yields fell.",
    "other": "A new museum of modern art opened in the harbour district.",
}
DATES = {"old": "2023-09-20T10:00:00+00:00", "new": "2023-11-28T10:00:00+00:00", "other": "2023-10-01"}


def hit(article_id: str, score: float) -> Hit:
    body = BODIES[article_id]
    return Hit(
        1,
        article_id,
        f"{article_id} title",
        f"https://news.example/{article_id}",
        "Wire",
        None,
        None,
        DATES[article_id],
        body,
        0,
        len(body),
        score,
    )


@pytest.fixture
def always_answer(monkeypatch):
    monkeypatch.setattr(abstention, "should_answer", lambda signals: True)


@pytest.fixture
def never_answer(monkeypatch):
    monkeypatch.setattr(abstention, "should_answer", lambda signals: False)


def test_answer_states_the_newest_cited_date(always_answer):
    answer = compose_answer(
        "What did the central bank do with interest rates?",
        [hit("old", 2.0), hit("new", 1.9)],
        BODIES,
        embedder=BagOfWordsEmbedder(),
        now=datetime(2023, 12, 1, tzinfo=UTC),
    )
    assert not answer.abstained and answer.quotes
    cited = {q.article_id for q in answer.quotes}
    assert answer.as_of == max(DATES[a][:10] for a in cited)
    assert answer.notes == ()  # not a "latest" question


def test_latest_question_prefers_the_newer_article(always_answer):
    hits = [hit("old", 2.0), hit("new", 1.9)]
    plain = compose_answer(
        "What did the central bank do with interest rates?",
        hits,
        BODIES,
        embedder=BagOfWordsEmbedder(),
        now=datetime(2023, 12, 1, tzinfo=UTC),
    )
    latest = compose_answer(
        "What is the latest on the central bank and interest rates?",
        hits,
        BODIES,
        embedder=BagOfWordsEmbedder(),
        now=datetime(2023, 12, 1, tzinfo=UTC),
    )
    assert plain.quotes[0].article_id == "old"
    assert latest.quotes[0].article_id == "new"
    assert latest.as_of == "2023-11-28" and latest.notes == ()


def test_latest_question_says_when_the_newest_evidence_is_old(always_answer):
    answer = compose_answer(
        "latest news on central bank interest rates",
        [hit("old", 2.0), hit("new", 1.0)],
        BODIES,
        embedder=BagOfWordsEmbedder(),
        now=datetime(2024, 3, 1, tzinfo=UTC),
    )
    assert len(answer.notes) == 1
    assert "28 Nov 2023" in answer.notes[0] and "93 days" in answer.notes[0]


def test_abstaining_answer_lists_nearest_articles_and_no_quotes(never_answer):
    hits = [hit("other", 3.0), hit("old", 2.0), hit("other", 1.5), hit("new", 1.0)]
    answer = compose_answer("Who won the chess olympiad?", hits, BODIES, embedder=BagOfWordsEmbedder())
    assert answer.abstained and answer.quotes == () and answer.as_of is None
    assert [r.article_id for r in answer.related] == ["other", "old", "new"]
    assert answer.related[0].title == "other title" and answer.related[0].score == 3.0


def test_nothing_retrieved_abstains(always_answer):
    answer = compose_answer("anything at all?", [], BODIES, embedder=BagOfWordsEmbedder())
    assert answer.abstained and answer.related == ()


def test_follow_up_uses_the_previous_question(always_answer):
    question = Question.parse(
        "and what about inflation?", history=["What did the central bank do with interest rates?"]
    )
    answer = compose_answer(question, [hit("new", 1.0)], BODIES, embedder=BagOfWordsEmbedder())
    assert answer.question == "and what about inflation?"
    assert answer.query == answer.search_query == "and what about inflation? central bank interest rates"
    assert "interest rates" in answer.quotes[0].text


@pytest.mark.parametrize(
    ("question", "history", "expected"),
    [
        ("and what did Germany say?", ["what did NATO say about article 5?"], "what did Germany say about article 5?"),
        (
            "What about Joe Biden?",
            ["What did Vladimir Putin say about the grain deal?"],
            "What did Joe Biden say about the grain deal?",
        ),
        (
            "and France?",
            ["what did NATO say about article 5?", "and what did Germany say?"],
            "what did France say about article 5?",
        ),
        (
            "why did they do it?",
            ["Why is GM recalling Cadillac Lyriq SUVs?"],
            "why did they do it? GM recalling Cadillac Lyriq SUVs",
        ),
    ],
)
def test_follow_ups_are_made_self_contained(question, history, expected):
    assert contextualize(question, history) == expected


def test_standalone_questions_are_left_alone():
    history = ["what did NATO say about article 5?"]
    assert (
        contextualize("Why is GM recalling Cadillac Lyriq SUVs?", history) == "Why is GM recalling Cadillac Lyriq SUVs?"
    )
    assert contextualize("and what did Germany say?", []) == "and what did Germany say?"


@pytest.mark.parametrize(
    ("question", "latest"),
    [
        ("What is the latest on the strike?", True),
        ("any recent news about Tesla?", True),
        ("What happened this week in Gaza?", True),
        ("Why did the strike start?", False),
    ],
)
def test_latest_questions_are_recognised(question, latest):
    assert Question.parse(question).latest is latest


def test_dates_parse_and_format():
    assert format_date(parse_date("2023-11-27 08:45:59.000000000Z")) == "27 Nov 2023"
    assert parse_date("2023-10-01").tzinfo is not None
    assert parse_date("yesterday") is None and parse_date(None) is None


@pytest.mark.slow
def test_real_archive_answers_what_it_covers_and_abstains_on_what_it_does_not(engine):
    covered = engine.ask("When was SMU's football program suspended by the Death Penalty?")
    assert not covered.abstained
    assert any("1987" in q.text for q in covered.quotes)
    for q in covered.quotes:
        assert engine.article(q.article_id).body[q.start : q.end] == q.text
    assert covered.as_of is not None and covered.quotes[0].link and "#:~:text=" in covered.quotes[0].link

    uncovered = engine.ask("What is the name of the enzyme that splits water during photosynthesis in chloroplasts?")
    assert uncovered.abstained and uncovered.quotes == ()
    assert 0 < len(uncovered.related) <= 3


def test_an_abstention_on_a_covered_topic_is_partial_and_names_the_nearest_headline(never_answer):
    question = "How many economists did the central bank consult before it held interest rates?"
    hits = [hit("old", 0.9), hit("new", 0.5)]
    answer = compose_answer(question, hits, {"old": BODIES["old"], "new": BODIES["new"]}, embedder=BagOfWordsEmbedder())
    assert answer.abstained and answer.partial and answer.topic == "old title"
    assert [r.article_id for r in answer.related] == ["old", "new"]


def test_a_question_naming_what_no_passage_mentions_is_not_partial(never_answer):
    answer = compose_answer(
        "What is the capital of Peru?", [hit("old", 0.9)], {"old": BODIES["old"]}, embedder=BagOfWordsEmbedder()
    )
    assert answer.abstained and not answer.partial and answer.topic is None


def test_a_question_about_a_year_after_the_articles_found_says_where_coverage_ends(never_answer):
    hits = [hit("old", 0.9), hit("new", 0.5)]
    bodies = {"old": BODIES["old"], "new": BODIES["new"]}
    later = compose_answer("What happened to the alliance in 2031?", hits, bodies, embedder=BagOfWordsEmbedder())
    assert later.notes == ("The archive's coverage of this ends on 28 Nov 2023.",)
    same_year = compose_answer("What happened to the alliance in 2023?", hits, bodies, embedder=BagOfWordsEmbedder())
    assert same_year.notes == ()
