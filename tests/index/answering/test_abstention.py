from dataclasses import replace

import pytest

from index.answering import abstention
from index.answering.abstention import AbstentionSignals, answer_probability, should_answer, signals
from index.answering.quotes import rank_quotes
from index.models import Hit
from index.question import question_names
from tests.index.embedding.fake_embedding import BagOfWordsEmbedder

BODY = "The Lakers beat the Celtics 110-101 on Sunday. LeBron James scored 31 points."


def _hit(text: str = BODY) -> Hit:
    return Hit(1, "a", "Lakers beat Celtics", None, None, None, None, None, text, 0, len(text), 4.2)


def test_a_quote_that_matches_the_question_is_answered():
    assert should_answer(
        AbstentionSignals(
            evidence=3.0, similarity=0.75, overlap=0.9, coverage=1.0, names=1.0, retrieval=0.9, length=1.8
        )
    )


def test_an_unrelated_best_quote_abstains():
    assert not should_answer(
        AbstentionSignals(
            evidence=-6.0, similarity=0.1, overlap=0.1, coverage=0.2, names=0.0, retrieval=0.3, length=1.8
        )
    )


STRONGER = {"evidence": 0.5, "verified": 0.5, "coverage": 0.5, "names": 0.5}


@pytest.mark.parametrize("names", [("evidence",), ("verified",), tuple(STRONGER)])
def test_stronger_evidence_never_lowers_the_answer_probability(names):
    # The two models' verdicts each raise the probability; coverage and names are only asserted together with
    # them, since a refit may trade one correlated signal against another.
    base = {
        "evidence": -1.0,
        "similarity": 0.4,
        "overlap": 0.4,
        "coverage": 0.5,
        "names": 0.5,
        "retrieval": 0.6,
        "length": 1.8,
        "verified": -1.0,
    }
    weaker = answer_probability(AbstentionSignals(**base))
    stronger = answer_probability(AbstentionSignals(**{**base, **{n: base[n] + STRONGER[n] for n in names}}))
    assert stronger > weaker


def test_signals_measure_the_best_quote_and_the_retrieved_passages():
    bodies = {"a": BODY}
    question = "Did LeBron James score points against the Celtics?"
    ranked = rank_quotes(question, [_hit()], bodies, embedder=BagOfWordsEmbedder())
    sig = signals(question, [_hit()], ranked)
    best = max((r.sentence for r in ranked), key=lambda s: s.answerability)
    assert sig.evidence == best.answerability and abs(sig.evidence) < abstention.EVIDENCE_CLIP
    assert sig.similarity == best.similarity and sig.overlap == best.overlap
    assert sig.coverage == 1.0  # points, LeBron, James, score, Celtics all in the passage
    assert sig.names == 1.0  # "LeBron James", "Celtics"
    assert sig.retrieval == _hit().score


def test_question_words_and_names_missing_from_the_passages_lower_coverage():
    bodies = {"a": BODY}
    question = "How many rebounds did Anthony Davis grab against the Celtics?"
    ranked = rank_quotes(question, [_hit()], bodies, embedder=BagOfWordsEmbedder())
    sig = signals(question, [_hit()], ranked)
    assert sig.coverage < 0.5
    assert sig.names == 0.5  # "Celtics" is there, "Anthony Davis" is not


@pytest.mark.parametrize(
    ("question", "names"),
    [
        ("What date were the stadium choices for Super Bowl 50 announced?", ["super bowl 50"]),
        ("Who is the General Manager for the Broncos?", ["general manager", "broncos"]),
        ("What did the Fed say?", ["fed"]),
        ("Where does the Rhine flow to?", ["rhine"]),
        ("how did markets react?", []),
    ],
)
def test_names_and_numbers_of_a_question_are_found_as_phrases(question, names):
    assert question_names(question) == names


def test_no_quotes_give_the_weakest_signals():
    sig = signals("anything", [], [])
    assert sig == AbstentionSignals(-abstention.EVIDENCE_CLIP, 0.0, 0.0, 0.0, 0.0, 0.0, length=0.6931471805599453)
    assert not should_answer(sig)


class _Verdicts:
    """A stand-in verifier with fixed verdicts: the real one is tested in test_verifier.py."""

    def __init__(self, *verdicts: float) -> None:
        self.verdicts = verdicts

    def verify(self, question, sentences):
        return [self.verdicts[i % len(self.verdicts)] for i in range(len(sentences))]


def test_the_verified_signal_is_the_best_verdict_on_a_quoted_sentence_or_neutral_without_a_verifier():
    body = BODY.replace(". ", ".\n\n")  # two paragraphs: two quotes
    hits, bodies = [_hit(body)], {"a": body}
    question = "Did LeBron James score points against the Celtics?"
    plain = rank_quotes(question, hits, bodies, embedder=BagOfWordsEmbedder())
    assert signals(question, hits, plain).verified == abstention.NOT_VERIFIED
    ranked = rank_quotes(question, hits, bodies, embedder=BagOfWordsEmbedder(), verifier=_Verdicts(-2.0, 1.5))
    assert sorted(r.sentence.verified for r in ranked) == [-2.0, 1.5]
    assert signals(question, hits, ranked).verified == 1.5


def test_typed_says_whether_a_quote_holds_the_kind_of_thing_asked():
    hits, bodies = [_hit()], {"a": BODY}
    ranked = rank_quotes("How many points did LeBron James score?", hits, bodies, embedder=BagOfWordsEmbedder())
    assert signals("How many points did LeBron James score?", hits, ranked).typed == 1.0  # "31 points"
    why = "Why did the Lakers beat the Celtics?"
    assert signals(why, hits, rank_quotes(why, hits, bodies, embedder=BagOfWordsEmbedder())).typed == -1.0
    what = "What did LeBron James do against the Celtics?"
    assert signals(what, hits, rank_quotes(what, hits, bodies, embedder=BagOfWordsEmbedder())).typed == 0.0


def test_anchored_reads_the_quoted_articles_whole_for_the_questions_names():
    # The passage retrieved for the question names Kevin Durant (that is why it was retrieved), but the quoted
    # article does not: a question about the wrong player.
    other = "Kevin Durant was traded to Phoenix."
    hits = [_hit(), Hit(2, "b", "Trade news", None, None, None, None, None, other, 0, len(other), 2.0)]
    bodies = {"a": BODY, "b": other}
    question = "How many points did Kevin Durant score against the Celtics?"
    ranked = [
        r for r in rank_quotes(question, hits, bodies, embedder=BagOfWordsEmbedder()) if r.quote.article_id == "a"
    ]
    sig = signals(question, hits, ranked, bodies=bodies)
    assert sig.names == 1.0 and sig.anchored == 0.5  # "Celtics" is in the quoted article, "Kevin Durant" is not
    right = "How many points did LeBron James score against the Celtics?"
    assert signals(right, hits, ranked, bodies=bodies).anchored == 1.0
    possessive = "How many points did LeBron James's team score against the Celtics?"  # the article says "LeBron James"
    assert signals(possessive, hits, ranked, bodies=bodies).anchored == 1.0


def test_later_marks_a_question_about_a_year_after_the_newest_article_found():
    dated = [replace(_hit(), published_at="2023-11-05T10:00:00")]
    bodies = {"a": BODY}
    for question, later in (("Who won the 2026 final?", 1.0), ("Who won the 2023 final?", 0.0), ("Who won?", 0.0)):
        ranked = rank_quotes(question, dated, bodies, embedder=BagOfWordsEmbedder())
        assert signals(question, dated, ranked).later == later
    assert signals("Who won the 2026 final?", [_hit()], []).later == 0.0  # no dates: nothing to compare
