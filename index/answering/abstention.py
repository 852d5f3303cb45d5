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
  question and the sentence together) gave a quoted sentence; ``NOT_VERIFIED`` when none was read,
- ``typed``: whether a quote holds the kind of thing asked that the question does not already say
  (``index.answering.answer_types.holds_answer_type``): 1 when one does, -1 when none does, 0 for the kinds no rule
  checks (yes/no, what),
- ``anchored``: share of the question's names and numbers found in the articles quoted (their titles and bodies):
  a question about another person, team or year than the articles' gets topical quotes from articles that never
  name it (the other signals read the retrieved passages, which the retriever found *because* they name it),
- ``later``: 1 when the question names a year after the newest article retrieved (the archive ends before it).

Its constants are not hand-picked: ``scripts/calibrate_abstention.py`` fits them by logistic
regression (balanced classes, L2 penalty) on questions the archive can answer (SQuAD dev
questions on the SQuAD archive, MultiHop-RAG questions on the MultiHop-RAG archive) and
questions it cannot (SQuAD questions on the MultiHop-RAG archive and the reverse), fitting on
the ``abstention`` split of ``scripts.evaluation.splits`` (questions the quote models were not
fitted on) and reporting the decision on the held-out split. The threshold on the answer
probability is the highest that abstains on at most ``MAX_FALSE_ABSTAIN`` of each set of
answerable questions of the abstention split. The script writes them to ``abstention.json`` beside
this module, with an ``about`` block saying how (``make models`` re-runs it after the quote models);
re-run it when the embedding model, the retriever or the quote models change.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path

from index.answering.answer_types import holds_answer_type
from index.answering.candidates import Support, passage_support
from index.answering.quotes import RankedQuote
from index.answering.trees import check_about, model_file_error
from index.models import Hit
from index.question import Question, as_question

MODEL_PATH = Path(__file__).with_name("abstention.json")
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
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
    typed: float = 0.0
    anchored: float = 1.0
    later: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in FEATURES}


FEATURES = tuple(f.name for f in fields(AbstentionSignals))


@dataclass(frozen=True)
class AbstentionModel:
    """The fitted decision: answer when ``1 / (1 + exp(-(intercept + coefficients . signals))) >= threshold``."""

    coefficients: dict[str, float]  # one per name in ``FEATURES``
    intercept: float
    threshold: float
    about: dict


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number")
    return float(value)


def load_abstention_model(path: Path) -> AbstentionModel:
    """The model of an abstention file; ``ModelFileError`` when it is unreadable, lacks its ``about`` block,
    has other signals than ``FEATURES`` or numbers out of range."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise model_file_error(path, "cannot be read", exc) from exc
    if not isinstance(data, Mapping):
        raise model_file_error(path, "does not hold an abstention model")
    about = check_about(data.get("about"), path)
    coefficients = data.get("coefficients")
    if not isinstance(coefficients, Mapping) or set(coefficients) != set(FEATURES):
        raise model_file_error(path, "was fitted on other signals than the code computes")
    try:
        weights = {name: _number(coefficients[name]) for name in FEATURES}
        intercept, threshold = _number(data.get("intercept")), _number(data.get("threshold"))
    except ValueError as exc:
        raise model_file_error(path, "holds a damaged number", exc) from exc
    if not 0.0 < threshold < 1.0:
        raise model_file_error(path, f"holds the threshold {threshold}, which is not a probability")
    return AbstentionModel(weights, intercept, threshold, about)


@cache
def abstention_model() -> AbstentionModel:
    """The shipped abstention model (``MODEL_PATH``), read once."""
    return load_abstention_model(MODEL_PATH)


def signals(
    question: str | Question,
    hits: Sequence[Hit],
    ranked: Sequence[RankedQuote],
    support: Support | None = None,
    bodies: Mapping[str, str] | None = None,
) -> AbstentionSignals:
    """The signals the decision reads; zeros when nothing was retrieved or quoted. ``support`` is the hits'
    ``passage_support`` when the caller has it already; ``bodies`` (article id to body) lets ``anchored`` read the
    quoted articles whole instead of their retrieved passages."""
    question = as_question(question)
    length = math.log1p(len(question.terms))
    later = 1.0 if _names_later_year(question.text, hits) else 0.0
    if not ranked:
        retrieval = hits[0].score if hits else 0.0
        return AbstentionSignals(-EVIDENCE_CLIP, 0.0, 0.0, 0.0, 0.0, retrieval, length, later=later)
    best = max((r.sentence for r in ranked), key=lambda s: s.answerability)
    coverage, named = passage_support(question, hits) if support is None else support
    evidence = max(-EVIDENCE_CLIP, min(EVIDENCE_CLIP, best.answerability))
    verdicts = [r.sentence.verified for r in ranked if r.sentence.verified is not None]
    verified = max(verdicts, default=NOT_VERIFIED)
    return AbstentionSignals(
        evidence,
        best.similarity,
        best.overlap,
        coverage,
        named,
        hits[0].score,
        length,
        verified,
        typed=_typed(question, ranked),
        anchored=_anchored(question, hits, ranked, bodies),
        later=later,
    )


def _typed(question: Question, ranked: Sequence[RankedQuote]) -> float:
    verdicts = {holds_answer_type(question.answer_type, r.quote.text, question.query) for r in ranked}
    if None in verdicts:
        return 0.0
    return 1.0 if True in verdicts else -1.0


def _anchored(
    question: Question, hits: Sequence[Hit], ranked: Sequence[RankedQuote], bodies: Mapping[str, str] | None
) -> float:
    if not question.bare_names:
        return 1.0
    quoted = {r.quote.article_id: r.quote.title or "" for r in ranked}
    texts = []
    for article_id, title in quoted.items():
        body = bodies.get(article_id) if bodies is not None else None
        if body is None:
            body = " ".join(h.text for h in hits if h.article_id == article_id)
        texts.append(f"{title}\n{body}")
    text = " ".join(" ".join(texts).lower().split())
    return sum(1 for name in question.bare_names if name in text) / len(question.bare_names)


def _names_later_year(text: str, hits: Sequence[Hit]) -> bool:
    years = [int(y) for y in _YEAR.findall(text)]
    newest = max(
        (int(h.published_at[:4]) for h in hits if h.published_at and h.published_at[:4].isdigit()), default=None
    )
    return newest is not None and any(year > newest for year in years)


def answer_probability(sig: AbstentionSignals) -> float:
    """Calibrated probability that the quotes answer the question."""
    model = abstention_model()
    z = model.intercept + sum(model.coefficients[name] * value for name, value in sig.as_dict().items())
    return 1.0 / (1.0 + math.exp(-z))


def should_answer(sig: AbstentionSignals) -> bool:
    return answer_probability(sig) >= abstention_model().threshold
