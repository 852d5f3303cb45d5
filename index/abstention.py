"""Whether the archive answers a question: a logistic model over retrieval and quote signals.

The model reads three signals of the best quote found for a question:

- ``similarity``: cosine between question and the quote's sentence (all-MiniLM-L6-v2),
- ``overlap``: rarity-weighted share of the question's content words in that sentence,
- ``coverage``: share of the question's content words found anywhere in the retrieved passages,
- ``length``: log(1 + number of the question's content words): a long, detailed question shares
  a smaller part of its words with any one sentence, so the other signals mean something else.

Its constants are not hand-picked: ``scripts/calibrate_abstention.py`` fits them by logistic
regression (balanced classes, L2 penalty) on questions the archive can answer (SQuAD dev
questions on the SQuAD archive, MultiHop-RAG questions on the MultiHop-RAG archive) and
questions it cannot (SQuAD questions on the MultiHop-RAG archive and the reverse), fitting on
60% of the questions and reporting the decision on the other 40%. The threshold on the
answer probability is chosen on the fitting split as the highest one that abstains on at most
``MAX_FALSE_ABSTAIN`` of answerable questions. Re-run the script when the embedding model,
the retriever or quote scoring changes, and paste its output here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from index.lexical import tokenize
from index.models import Hit
from index.quotes import MAX_HITS, RankedQuote, content_terms

# Fitted by scripts/calibrate_abstention.py (see the module docstring for data and method).
# Fitted on 1,000 sampled questions per set (hybrid retriever, onnx-int8 embedder), 2026-11-26.
COEFFICIENTS = {"similarity": 9.7702, "overlap": 4.8588, "coverage": 1.9348, "length": 1.6370}
INTERCEPT = -11.6335
THRESHOLD = 0.4119
MAX_FALSE_ABSTAIN = 0.04


@dataclass(frozen=True)
class AbstentionSignals:
    similarity: float
    overlap: float
    coverage: float
    length: float

    def as_dict(self) -> dict[str, float]:
        return {
            "similarity": self.similarity,
            "overlap": self.overlap,
            "coverage": self.coverage,
            "length": self.length,
        }


def signals(question: str, hits: Sequence[Hit], ranked: Sequence[RankedQuote]) -> AbstentionSignals:
    """The signals the decision reads; zeros when nothing was retrieved or quoted."""
    terms = set(content_terms(question))
    length = math.log1p(len(terms))
    if not ranked:
        return AbstentionSignals(0.0, 0.0, 0.0, length)
    best = ranked[0].sentence
    found: set[str] = set()
    for hit in hits[:MAX_HITS]:
        found.update(tokenize(hit.title + " " + hit.text))
    coverage = len(terms & found) / len(terms) if terms else 0.0
    return AbstentionSignals(best.similarity, best.overlap, coverage, length)


def answer_probability(sig: AbstentionSignals) -> float:
    """Calibrated probability that the quotes answer the question."""
    z = INTERCEPT + sum(COEFFICIENTS[name] * value for name, value in sig.as_dict().items())
    return 1.0 / (1.0 + math.exp(-z))


def should_answer(sig: AbstentionSignals) -> bool:
    return answer_probability(sig) >= THRESHOLD
