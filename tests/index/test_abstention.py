import pytest

from index import abstention
from index.abstention import AbstentionSignals, answer_probability, should_answer, signals
from index.models import Hit
from index.quotes import rank_quotes
from tests.index.fake_embedding import BagOfWordsEmbedder

BODY = "The Lakers beat the Celtics 110-101 on Sunday. LeBron James scored 31 points."


def _hit(text: str = BODY) -> Hit:
    return Hit(1, "a", "Lakers beat Celtics", None, None, None, None, None, text, 0, len(text), 4.2)


def test_a_quote_that_matches_the_question_is_answered():
    assert should_answer(AbstentionSignals(similarity=0.75, overlap=0.9, coverage=1.0, length=1.8))


def test_an_unrelated_best_quote_abstains():
    assert not should_answer(AbstentionSignals(similarity=0.1, overlap=0.1, coverage=0.2, length=1.8))


@pytest.mark.parametrize("name", ["similarity", "overlap", "coverage"])
def test_stronger_evidence_never_lowers_the_answer_probability(name):
    base = {"similarity": 0.4, "overlap": 0.4, "coverage": 0.5, "length": 1.8}
    weaker = answer_probability(AbstentionSignals(**base))
    stronger = answer_probability(AbstentionSignals(**{**base, name: base[name] + 0.3}))
    assert stronger >= weaker


def test_constants_are_fitted_not_defaults():
    assert any(abs(c) > 0.5 for c in abstention.COEFFICIENTS.values())
    assert 0.0 < abstention.THRESHOLD < 1.0


def test_signals_measure_the_best_quote_and_the_retrieved_passages():
    bodies = {"a": BODY}
    question = "Did LeBron James score points against the Celtics?"
    ranked = rank_quotes(question, [_hit()], bodies, embedder=BagOfWordsEmbedder())
    sig = signals(question, [_hit()], ranked)
    assert sig.similarity == ranked[0].sentence.similarity > 0.3
    assert sig.overlap == ranked[0].sentence.overlap
    assert sig.coverage == 1.0  # points, LeBron, James, score, Celtics all in the passage


def test_question_words_missing_from_the_passages_lower_coverage():
    bodies = {"a": BODY}
    question = "How many rebounds did Anthony Davis grab against the Celtics?"
    ranked = rank_quotes(question, [_hit()], bodies, embedder=BagOfWordsEmbedder())
    assert signals(question, [_hit()], ranked).coverage < 0.5


def test_no_quotes_give_zero_signals():
    assert signals("anything", [], []) == AbstentionSignals(0.0, 0.0, 0.0, length=0.6931471805599453)
