"""What the archive could not answer: logged questions it abstained on or that were voted down, grouped by topic.

Questions are grouped by the cosine similarity of their embeddings (the archive's own embedder): each question,
in the order asked, joins the group whose centroid is nearest when that similarity reaches ``SAME_TOPIC``, else
starts a group. A group is labelled with its most central question (nearest its centroid). An editor's to-do list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index.store.readers import LoggedQuestion

# Measured with all-MiniLM-L6-v2 (the bundled embedder, onnx-int8) on 5 groups of 3 hand-written paraphrases (the
# four in tests/bot/cli/test_gaps.py and "What does NATO's article 5 say?" and two rewordings): two paraphrases had
# cosine similarity 0.66-0.96, one to the centroid of the rest of its group 0.70-0.96, while a question's similarity
# to the centroid of another group was at most 0.50 (Vilnius summit attendance vs NATO's article 5: one subject,
# different questions). 0.60 sits between the two. Questions on one narrow subject asking different things group
# together: "Who won the 1998 World Cup?" and "Where was the 1998 World Cup held?" score 0.73-0.88: one topic.
SAME_TOPIC = 0.60


@dataclass(frozen=True)
class NearArticle:
    article_id: str
    title: str
    url: str | None


@dataclass(frozen=True)
class Gap:
    label: str  # the group's most central question
    count: int  # questions in the group
    abstained: int  # of which the archive abstained on
    down_votes: int  # 👎 on the group's answers
    questions: tuple[str, ...]  # every question, in the order asked
    first_asked: str
    last_asked: str
    nearest: tuple[NearArticle, ...] = ()  # the articles nearest the label


@dataclass(frozen=True)
class Digest:
    """What happened since the previous digest: the largest gaps and how often each 👎 reason was given."""

    since: str
    gaps: tuple[Gap, ...]
    reasons: tuple[tuple[str, int], ...]


def group_by_topic(vectors: np.ndarray, threshold: float = SAME_TOPIC) -> list[list[int]]:
    """Row indexes of unit ``vectors`` grouped greedily by cosine similarity to each group's centroid."""
    groups: list[list[int]] = []
    sums: list[np.ndarray] = []
    for i, vector in enumerate(np.asarray(vectors, dtype=np.float32)):
        best, best_similarity = -1, threshold
        for g, total in enumerate(sums):
            similarity = float(vector @ total) / max(float(np.linalg.norm(total)), 1e-12)
            if similarity >= best_similarity:
                best, best_similarity = g, similarity
        if best < 0:
            groups.append([i])
            sums.append(vector.copy())
        else:
            groups[best].append(i)
            sums[best] += vector
    return groups


def gaps_from(logged: Sequence[LoggedQuestion], vectors: np.ndarray, threshold: float = SAME_TOPIC) -> list[Gap]:
    """The groups of ``logged`` (vectors in the same order), largest first, each labelled by its central question."""
    vectors = np.asarray(vectors, dtype=np.float32)
    out = []
    for members in group_by_topic(vectors, threshold):
        centroid = vectors[members].mean(axis=0)
        central = members[int(np.argmax(vectors[members] @ centroid))]
        questions = [logged[i] for i in members]
        out.append(
            Gap(
                label=logged[central].question,
                count=len(members),
                abstained=sum(q.abstained for q in questions),
                down_votes=sum(q.down_votes for q in questions),
                questions=tuple(q.question for q in questions),
                first_asked=questions[0].asked_at,
                last_asked=questions[-1].asked_at,
            )
        )
    out.sort(key=lambda gap: (-gap.count, gap.first_asked))
    return out
