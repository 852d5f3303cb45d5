"""Whether the archive answers a question: a logistic model over retrieval and quote signals.

The model reads these signals of the quotes found for a question:

- ``evidence``: the answerability model's log-odds that the best quoted sentence answers (``index.answering.ranker``),
- ``similarity``: cosine between question and that sentence (all-MiniLM-L6-v2),
- ``overlap``: rarity-weighted share of the question's content words in that sentence,
- ``coverage``: share of the question's content words found anywhere in the retrieved passages,
- ``names``: share of the question's names and numbers ("Super Bowl 50", "Broncos") found there,
- ``retrieval``: the top passage's retrieval score (best-scaled BM25 and MiniLM cosine, fused),
- ``length``: log(1 + number of the question's content words): a long, detailed question shares
  a smaller part of its words with any one sentence, so the other signals mean something else,
- ``verified``: the best log-odds the verifier (``index.answering.verifier``, a cross-encoder that reads the
  question and the sentence together) gave a quoted sentence; ``NOT_VERIFIED`` when none was read.

Its constants are not hand-picked: ``scripts/calibrate_abstention.py`` fits them by logistic
regression (balanced classes, L2 penalty) on questions the archive can answer (SQuAD dev
questions on the SQuAD archive, MultiHop-RAG questions on the MultiHop-RAG archive) and
questions it cannot (SQuAD questions on the MultiHop-RAG archive and the reverse), fitting on
the ``abstention`` split of ``scripts.evaluation.splits`` (questions the quote models were not
fitted on) and reporting the decision on the held-out split. The threshold on the answer
probability is the highest that abstains on at most ``MAX_FALSE_ABSTAIN`` of each set of
answerable questions of the abstention split. Re-run the script when the embedding model, the
retriever or the quote models change, and paste its output here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from index.answering.candidates import Support, passage_support
from index.answering.quotes import RankedQuote
from index.models import Hit
from index.question import Question, as_question

# Fitted by scripts/calibrate_abstention.py (see the module docstring for data and method).
# Fitted on the abstention split, 1,500 sampled questions per set (hybrid retriever, onnx-int8 embedder, verifier),
# 2026-11-27.
COEFFICIENTS = {
    "evidence": 1.1610,
    "similarity": 0.6285,
    "overlap": -0.9498,
    "coverage": 0.4367,
    "names": 0.3627,
    "retrieval": 2.4978,
    "length": 0.1478,
    "verified": 0.7411,
}
INTERCEPT = 1.2135
THRESHOLD = 0.4774
MAX_FALSE_ABSTAIN = 0.04
EVIDENCE_CLIP = 12.0  # log-odds beyond this carry no further information
NOT_VERIFIED = 0.0  # the verified signal when no verifier read the quotes (even odds)


@dataclass(frozen=True)
class AbstentionSignals:
    evidence: float
    similarity: float
    overlap: float
    coverage: float
    names: float
    retrieval: float
    length: float
    verified: float = NOT_VERIFIED

    def as_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in COEFFICIENTS}


def signals(
    question: str | Question, hits: Sequence[Hit], ranked: Sequence[RankedQuote], support: Support | None = None
) -> AbstentionSignals:
    """The signals the decision reads; zeros when nothing was retrieved or quoted. ``support`` is the hits'
    ``passage_support`` when the caller has it already."""
    question = as_question(question)
    length = math.log1p(len(question.terms))
    if not ranked:
        return AbstentionSignals(-EVIDENCE_CLIP, 0.0, 0.0, 0.0, 0.0, hits[0].score if hits else 0.0, length)
    best = max((r.sentence for r in ranked), key=lambda s: s.answerability)
    coverage, named = passage_support(question, hits) if support is None else support
    evidence = max(-EVIDENCE_CLIP, min(EVIDENCE_CLIP, best.answerability))
    verdicts = [r.sentence.verified for r in ranked if r.sentence.verified is not None]
    verified = max(verdicts, default=NOT_VERIFIED)
    return AbstentionSignals(evidence, best.similarity, best.overlap, coverage, named, hits[0].score, length, verified)


def answer_probability(sig: AbstentionSignals) -> float:
    """Calibrated probability that the quotes answer the question."""
    z = INTERCEPT + sum(COEFFICIENTS[name] * value for name, value in sig.as_dict().items())
    return 1.0 / (1.0 + math.exp(-z))


def should_answer(sig: AbstentionSignals) -> bool:
    return answer_probability(sig) >= THRESHOLD
