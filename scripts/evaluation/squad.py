"""SQuAD v1.1 dev as a retrieval benchmark: is the answer inside the top-5 chunks of the right article?

Each of the 48 Wikipedia articles becomes one archive article (its paragraphs joined by blank
lines), chunked like any other. A question counts as answered when one of its top-5 retrieved
chunks belongs to the question's article and contains one of the crowd-written answers
(white space collapsed, case ignored).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from index.models import ArticleDraft, Hit
from index.retrieval.hybrid import RetrievalSettings
from scripts.evaluation.multihop import _percentile, as_articles
from scripts.evaluation.retrievers import Encoder, Retriever, build_hybrid

logger = logging.getLogger(__name__)

TOP_K = 5


@dataclass(frozen=True)
class SquadQuestion:
    question: str
    answers: tuple[str, ...]
    article_index: int  # position of the question's article in ``load_squad``'s drafts


@dataclass(frozen=True)
class SquadMetrics:
    retriever: str
    questions: int
    answer_in_top5: float  # answer text inside one of the top-5 chunks of the right article
    article_in_top1: float  # the first chunk comes from the right article
    latency_p50_ms: float
    latency_p95_ms: float


def load_squad(path: Path) -> tuple[list[ArticleDraft], list[SquadQuestion]]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    drafts: list[ArticleDraft] = []
    questions: list[SquadQuestion] = []
    for index, article in enumerate(data):
        title = article["title"].replace("_", " ")
        body = "\n\n".join(p["context"].strip() for p in article["paragraphs"])
        drafts.append(ArticleDraft(title=title, body=body, origin=f"{Path(path).name}#{index}"))
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                answers = tuple(dict.fromkeys(a["text"] for a in qa["answers"]))
                questions.append(SquadQuestion(qa["question"], answers, index))
    return drafts, questions


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def answered(hits: Sequence[Hit], article_id: str, answers: Sequence[str], k: int = TOP_K) -> bool:
    wanted = [_normal(a) for a in answers]
    return any(h.article_id == article_id and any(a in _normal(h.text) for a in wanted) for h in hits[:k])


def evaluate(
    retriever: Retriever, questions: Sequence[SquadQuestion], article_ids: Sequence[str], *, name: str = "hybrid"
) -> SquadMetrics:
    inside = first = 0
    timings: list[float] = []
    for question in questions:
        started = time.perf_counter()
        hits = retriever.search(question.question, k=TOP_K)
        timings.append(time.perf_counter() - started)
        article_id = article_ids[question.article_index]
        inside += answered(hits, article_id, question.answers)
        first += bool(hits) and hits[0].article_id == article_id
    n = max(len(questions), 1)
    return SquadMetrics(
        retriever=name,
        questions=len(questions),
        answer_in_top5=inside / n,
        article_in_top1=first / n,
        latency_p50_ms=_percentile(timings, 50) * 1000,
        latency_p95_ms=_percentile(timings, 95) * 1000,
    )


def run_squad(
    dataset_file: Path,
    *,
    embedder: Encoder,
    workdir: Path | None = None,
    limit: int | None = None,
    settings: RetrievalSettings | None = None,
) -> SquadMetrics:
    """Build the hybrid retriever over the SQuAD dev articles in memory and score its questions."""
    drafts, questions = load_squad(dataset_file)
    articles = as_articles(drafts)
    retriever = build_hybrid(articles, embedder, settings=settings, cache_dir=workdir)
    if limit:
        questions = questions[:limit]
    metrics = evaluate(retriever, questions, [a.id for a in articles])
    logger.info("SQuAD: %s", metrics)
    return metrics
