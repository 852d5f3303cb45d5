"""Ordering a question's candidate sentences: the quote models, the article bonuses and the verifier.

Two gradient-boosted tree ensembles (``quote_model.json``, evaluated by ``index.answering.trees``)
read the ``FEATURES`` of ``index.answering.candidates``: the ranker turns them into the probability
that a sentence holds the answer, the answerability model tells the abstention decision whether
any sentence answers at all. Both are fitted by ``scripts/fit_quote_model.py`` on the ``quotes``
split of SQuAD dev and MultiHop-RAG questions (``scripts.evaluation.splits``) and measured on the
held-out split; re-fit them when the embedder, the retriever, the chunking or the features change.
When the caller passes a verifier (``index.answering.verifier``, a cross-encoder that reads question
and sentence together), it re-reads the ``VERIFIED_SENTENCES`` best, adds ``VERIFIER_WEIGHT``
times its log-odds to their scores, and its verdicts go on to the abstention decision.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from index.answering.candidates import FEATURES, Candidates
from index.answering.trees import TreeEnsemble, check_about, model_file_error
from index.answering.verifier import SentenceVerifier
from index.question import Question

MODEL_PATH = Path(__file__).with_name("quote_model.json")
# Log-odds added to sentences of an article whose outlet the question names: a reader who asks what "the Sporting
# News article" said expects its words first. Neutral on held-out MultiHop-RAG (top-3 0.821 -> 0.825).
NAMED_BONUS = 1.0
VERIFIED_SENTENCES = 5  # best-ranked sentences the verifier reads, when there is one
# Share of the verifier's log-odds added to the ranker's, chosen with the first-pass verifier: on held-out questions
# of fit_verifier.py's rows, the top sentence held the answer for 0.709 of SQuAD and 0.732 of MultiHop-RAG questions
# (0.691 / 0.691 without; 0.721 / 0.747 at 1.0, but the top 3 gained most at 0.5: 0.851 -> 0.858 and 0.820 -> 0.836).
# The shipped two-pass verifier at 0.5: top sentence 0.716 / 0.751.
VERIFIER_WEIGHT = 0.5


@dataclass(frozen=True)
class QuoteModels:
    """The two ensembles of ``quote_model.json``, both over ``FEATURES``.

    ``ranker`` orders a question's candidates (fitted on answerable questions only); ``answerability``
    says whether a sentence answers at all (fitted with questions asked of the wrong archive as
    negatives too, so its verdict means the same from question to question; abstention reads it).
    """

    ranker: TreeEnsemble
    answerability: TreeEnsemble


def load_quote_models(path: Path) -> QuoteModels:
    """The two ensembles of a quote model file; ``ModelFileError`` when it is unreadable, lacks its ``about`` block
    or was fitted on other features."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise model_file_error(path, "cannot be read", exc) from exc
    if not isinstance(data, dict):
        raise model_file_error(path, "does not hold quote models")
    check_about(data.get("about"), path)
    missing = [name for name in ("ranker", "answerability") if name not in data]
    if missing:
        raise model_file_error(path, f"lacks the {' and '.join(missing)} model")
    try:
        models = QuoteModels(TreeEnsemble.from_dict(data["ranker"]), TreeEnsemble.from_dict(data["answerability"]))
    except (ValueError, TypeError, KeyError, IndexError) as exc:  # ModelFileError is a ValueError
        raise model_file_error(path, "holds a damaged model", exc) from exc
    if models.ranker.features != FEATURES or models.answerability.features != FEATURES:
        raise model_file_error(path, "was fitted on other features than the code computes")
    return models


@cache
def quote_models() -> QuoteModels:
    """The shipped quote models (``MODEL_PATH``), read once."""
    return load_quote_models(MODEL_PATH)


@dataclass(frozen=True)
class ScoredSentence:
    article_id: str
    start: int
    end: int
    rank: int  # position of the best hit containing it, 0 = top
    similarity: float
    overlap: float
    probability: float  # the ranker's probability that the sentence is the one that answers
    answerability: float  # the answerability model's log-odds that the sentence answers the question at all
    score: float  # the ranker's log-odds plus any bonus the caller gave the article (and the verifier's share)
    verified: float | None = (
        None  # the verifier's log-odds that it answers (``index.answering.verifier``), if it read it
    )


def score(
    candidates: Candidates, named: Mapping[str, int], article_bonus: Mapping[str, float] | None
) -> list[ScoredSentence]:
    """The candidates with both models' verdicts, best first; ``article_bonus`` (e.g. for newer articles) and
    ``NAMED_BONUS`` for the ``named`` articles are added to the ranker's log-odds of every sentence of their article."""
    if not candidates.spans:
        return []
    models = quote_models()
    margins = models.ranker.margin(candidates.features)
    answerability = models.answerability.margin(candidates.features)
    bonus = dict(article_bonus or {})
    for article_id in named:
        bonus[article_id] = bonus.get(article_id, 0.0) + NAMED_BONUS
    scored = [
        ScoredSentence(
            span.article_id,
            span.start,
            span.end,
            span.rank,
            float(candidates.similarity[n]),
            float(candidates.overlap[n]),
            float(1.0 / (1.0 + math.exp(-margins[n]))),
            float(answerability[n]),
            float(margins[n]) + bonus.get(span.article_id, 0.0),
        )
        for n, span in enumerate(candidates.spans)
    ]
    scored.sort(key=lambda s: -s.score)
    return scored


def rerank(
    question: Question, scored: Sequence[ScoredSentence], bodies: Mapping[str, str], verifier: SentenceVerifier
) -> list[ScoredSentence]:
    """The verifier reads the ``VERIFIED_SENTENCES`` best with the question and adds its share to their scores."""
    top = scored[:VERIFIED_SENTENCES]
    verdicts = verifier.verify(question.query, [bodies[s.article_id][s.start : s.end] for s in top])
    top = [
        replace(s, verified=float(v), score=s.score + VERIFIER_WEIGHT * float(v))
        for s, v in zip(top, verdicts, strict=True)
    ]
    return sorted(top, key=lambda s: -s.score) + list(scored[VERIFIED_SENTENCES:])
