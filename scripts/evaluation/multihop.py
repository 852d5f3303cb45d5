"""MultiHop-RAG retrieval benchmark (Tang & Yang, COLM 2024) on the paper's protocol.

Per answerable question (null queries excluded), a retrieved chunk is a hit when one of the
question's evidence facts, with spaces and newlines removed, is a substring of the chunk's text
with spaces and newlines removed. Hits@k is the share of questions with a hit in the top k;
MRR@10 averages 1/rank of the first hit (0 when none is in the top 10). Chunks are at most 256
cl100k tokens (``chunk_body``'s budget); the largest returned chunk is reported.

Loading (``load_corpus``, ``load_questions``) is separate from scoring (``evaluate``), so the
corpus can come through the store instead of ``build_hybrid``.
"""

from __future__ import annotations

import json
import logging
import re
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from index.models import Article, ArticleDraft, Hit
from index.retrieval.hybrid import RetrievalSettings
from index.store.database import Store
from index.text.tokens import cl100k
from scripts.evaluation.retrievers import Encoder, Retriever, build_hybrid

logger = logging.getLogger(__name__)

CORPUS_FILE = "corpus_train.json"
QUERIES_FILE = "queries_train.json"
NULL_TYPE = "null_query"
_HF_TIMESTAMP = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.\d+)?Z$")


@dataclass(frozen=True)
class MultihopQuestion:
    query: str
    answer: str
    question_type: str
    facts: tuple[str, ...]
    evidence_urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class RankMetrics:
    questions: int
    hits_at_10: float
    hits_at_4: float
    mrr_at_10: float


@dataclass(frozen=True)
class MultihopMetrics:
    retriever: str
    overall: RankMetrics
    by_type: tuple[tuple[str, RankMetrics], ...]
    latency_p50_ms: float
    latency_p95_ms: float
    max_chunk_tokens: int


def load_corpus(dataset_dir: Path) -> list[ArticleDraft]:
    """The benchmark's 609 news articles as drafts (timestamps turned into ISO 8601 with offset)."""
    rows = json.loads((Path(dataset_dir) / CORPUS_FILE).read_text(encoding="utf-8"))
    return [
        ArticleDraft(
            title=row["title"],
            body=row["body"],
            origin=f"{CORPUS_FILE}#{i}",
            url=row.get("url"),
            author=row.get("author"),
            published_at=_iso_timestamp(row.get("published_at")),
            category=row.get("category"),
            source=row.get("source"),
        )
        for i, row in enumerate(rows)
    ]


def load_questions(dataset_dir: Path, *, include_null: bool = False) -> list[MultihopQuestion]:
    rows = json.loads((Path(dataset_dir) / QUERIES_FILE).read_text(encoding="utf-8"))
    return [
        MultihopQuestion(
            query=row["query"],
            answer=row["answer"],
            question_type=row["question_type"],
            facts=tuple(e["fact"] for e in row["evidence_list"]),
            evidence_urls=tuple(dict.fromkeys(e["url"] for e in row["evidence_list"])),
        )
        for row in rows
        if include_null or row["question_type"] != NULL_TYPE
    ]


def as_articles(drafts: Sequence[ArticleDraft]) -> list[Article]:
    """Drafts as stored-like articles with stable ids (their position), for in-memory evaluation."""
    return [
        Article(
            id=f"mh{i:05d}",
            title=d.title,
            body=d.body,
            origin=d.origin,
            content_hash="",
            first_seen="",
            updated_at="",
            url=d.url,
            author=d.author,
            published_at=d.published_at,
            category=d.category,
            tags=d.tags,
            source=d.source,
        )
        for i, d in enumerate(drafts)
    ]


def squash(text: str) -> str:
    """The protocol's normalisation: spaces and newlines removed."""
    return text.replace(" ", "").replace("\n", "")


def first_hit_rank(hits: Sequence[Hit], facts: Sequence[str], k: int = 10) -> int | None:
    """1-based rank of the first of the top ``k`` hits holding an evidence fact, or None."""
    squashed = [squash(f) for f in facts]
    for rank, hit in enumerate(hits[:k], start=1):
        text = squash(hit.text)
        if any(f in text for f in squashed):
            return rank
    return None


def rank_metrics(ranks: Sequence[int | None]) -> RankMetrics:
    n = len(ranks)
    if not n:
        return RankMetrics(0, 0.0, 0.0, 0.0)
    return RankMetrics(
        questions=n,
        hits_at_10=sum(r is not None and r <= 10 for r in ranks) / n,
        hits_at_4=sum(r is not None and r <= 4 for r in ranks) / n,
        mrr_at_10=sum(1.0 / r for r in ranks if r is not None and r <= 10) / n,
    )


def evaluate(
    retriever: Retriever,
    questions: Sequence[MultihopQuestion],
    *,
    name: str = "hybrid",
    now: datetime | None = None,
    token_count: Callable[[str], int] | None = None,
) -> MultihopMetrics:
    """Ask every question once (k=10, default diversity) and score the rankings."""
    count = token_count or (lambda text: len(cl100k().encode_ordinary(text)))
    ranks: list[int | None] = []
    timings: list[float] = []
    longest = 0
    seen: set[int] = set()
    for question in questions:
        started = time.perf_counter()
        hits = retriever.search(question.query, k=10, now=now)
        timings.append(time.perf_counter() - started)
        ranks.append(first_hit_rank(hits, question.facts))
        for hit in hits:
            if hit.chunk_id not in seen:
                seen.add(hit.chunk_id)
                longest = max(longest, count(hit.text))
    by_type: dict[str, list[int | None]] = {}
    for question, rank in zip(questions, ranks, strict=True):
        by_type.setdefault(question.question_type, []).append(rank)
    return MultihopMetrics(
        retriever=name,
        overall=rank_metrics(ranks),
        by_type=tuple((t, rank_metrics(r)) for t, r in sorted(by_type.items())),
        latency_p50_ms=_percentile(timings, 50) * 1000,
        latency_p95_ms=_percentile(timings, 95) * 1000,
        max_chunk_tokens=longest,
    )


def archive_now(articles: Sequence[Article]) -> datetime | None:
    """The "now" of a frozen archive: the day after its newest article (relative dates resolve against it)."""
    days = [a.published_at[:10] for a in articles if a.published_at]
    return datetime.fromisoformat(max(days)) + timedelta(days=1) if days else None


def run_multihop(
    dataset_dir: Path,
    *,
    embedder: Encoder,
    workdir: Path | None = None,
    limit: int | None = None,
    settings: RetrievalSettings | None = None,
    store: Store | None = None,
) -> MultihopMetrics:
    """Build the hybrid retriever over the corpus in memory and score the answerable questions.

    ``workdir`` caches passage vectors between runs; ``limit`` keeps the first N questions. With ``store`` (an empty
    PostgreSQL archive), the dense search runs there, as on the PostgreSQL backend (pgvector HNSW).
    """
    articles = as_articles(load_corpus(dataset_dir))
    questions = load_questions(dataset_dir)[:limit] if limit else load_questions(dataset_dir)
    retriever = build_hybrid(articles, embedder, settings=settings, cache_dir=workdir, store=store)
    name = "hybrid, vectors searched in PostgreSQL" if store is not None else "hybrid"
    metrics = evaluate(retriever, questions, name=name, now=archive_now(articles))
    logger.info("MultiHop-RAG: %s", metrics.overall)
    return metrics


def _iso_timestamp(value: str | None) -> str | None:
    if not value:
        return None
    match = _HF_TIMESTAMP.match(value.strip())
    return f"{match.group(1)}T{match.group(2)}+00:00" if match else value


def _percentile(values: Sequence[float], pct: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1]
