"""Grouping logged questions by topic: paraphrases together, the central question as the label."""

import numpy as np

from index.gaps import gaps_from, group_by_topic
from index.store.readers import LoggedQuestion


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def logged(question: str, n: int, *, abstained: bool = True, down: int = 0) -> LoggedQuestion:
    return LoggedQuestion(n, 1, f"2026-01-0{n}T00:00:00+00:00", question, abstained, False, down, ())


def test_near_vectors_group_together_and_far_ones_apart_whatever_the_order():
    vectors = np.stack([unit(1, 0.1, 0), unit(0, 1, 0), unit(1, 0, 0.1), unit(0.1, 1, 0), unit(0, 0, 1)])
    assert group_by_topic(vectors) == [[0, 2], [1, 3], [4]]
    assert group_by_topic(vectors[::-1]) == [[0], [1, 3], [2, 4]]
    assert group_by_topic(np.zeros((0, 3), dtype=np.float32)) == []


def test_a_gap_is_labelled_with_its_most_central_question_and_counts_its_signals():
    questions = [logged("edge a", 1), logged("centre", 2, abstained=False, down=2), logged("edge b", 3)]
    vectors = np.stack([unit(1, 0.3, 0), unit(1, 0, 0), unit(1, -0.3, 0)])
    (gap,) = gaps_from(questions, vectors)
    assert gap.label == "centre" and (gap.count, gap.abstained, gap.down_votes) == (3, 2, 2)
    assert gap.questions == ("edge a", "centre", "edge b")
    assert (gap.first_asked, gap.last_asked) == (questions[0].asked_at, questions[2].asked_at)
