"""Retrievers built in memory over a list of articles, for benchmarks and evaluations.

``chunk_records`` chunks articles exactly as the store does (``chunk_body`` defaults) and numbers
the chunks; ``build_hybrid`` embeds them, builds the FAISS index and the hybrid retriever. Passage
vectors can be cached in a folder (keyed by model name and text), so re-running a benchmark over the
same corpus embeds nothing. The baselines of the issue are here too: BM25 alone, dense alone and
both fused by plain reciprocal rank, over the same chunks.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Protocol

import numpy as np

from index.indexing.indexer import text_hash
from index.indexing.vectors import DatabaseVectors, VectorIndex, build_index, hash_rows
from index.models import Article, Filters, Hit
from index.retrieval.hybrid import ChunkRecord, HybridRetriever, RetrievalSettings, VectorSearch, passage_text
from index.retrieval.lexical import LexicalIndex
from index.store.database import Store
from index.text.chunking import chunk_body

logger = logging.getLogger(__name__)

RRF_K = 60


class Encoder(Protocol):
    name: str

    def encode_query(self, text: str) -> np.ndarray: ...

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray: ...


class Retriever(Protocol):
    def search(
        self,
        query: str,
        *,
        k: int = 10,
        filters: Filters | None = None,
        diverse: bool = True,
        now: datetime | None = None,
    ) -> list[Hit]: ...


def chunk_records(articles: Sequence[Article]) -> list[ChunkRecord]:
    """Every chunk of every article as a ``ChunkRecord``, numbered from 1 in article order."""
    records: list[ChunkRecord] = []
    for article in articles:
        for span in chunk_body(article.body):
            records.append(
                ChunkRecord(
                    chunk_id=len(records) + 1,
                    article_id=article.id,
                    ordinal=span.ordinal,
                    start=span.start,
                    end=span.end,
                    text=span.text,
                    title=article.title,
                    source=article.source,
                    author=article.author,
                    category=article.category,
                    published_at=article.published_at,
                    url=article.url,
                )
            )
    return records


def embed_passages(records: Sequence[ChunkRecord], embedder: Encoder, cache_dir: Path | None = None) -> np.ndarray:
    """Normalised passage vectors of ``records`` (n, dim), read from / written to ``cache_dir`` when given."""
    texts = [passage_text(r) for r in records]
    digest = hashlib.sha256(_model_name(embedder).encode())
    for text in texts:
        digest.update(hashlib.sha256(text.encode()).digest())
    cache = Path(cache_dir) / f"passages-{digest.hexdigest()[:24]}.npy" if cache_dir else None
    if cache is not None and cache.exists():
        vectors = np.load(cache)
        if vectors.shape[0] == len(texts):
            logger.info("read %d cached passage vectors from %s", len(texts), cache)
            return vectors
    started = time.perf_counter()
    vectors = np.asarray(embedder.encode_passages(texts), dtype=np.float32) if texts else np.zeros((0, 384), "f4")
    logger.info("embedded %d passages in %.1fs", len(texts), time.perf_counter() - started)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(".partial.npy")
        np.save(partial, vectors)
        partial.replace(cache)
    return vectors


def vector_index(records: Sequence[ChunkRecord], vectors: np.ndarray, embedder: Encoder) -> VectorIndex:
    ids = np.array([r.chunk_id for r in records], dtype=np.int64)
    return build_index(ids, vectors, model_name=_model_name(embedder))


def database_vectors(
    records: Sequence[ChunkRecord], vectors: np.ndarray, embedder: Encoder, store: Store
) -> DatabaseVectors:
    """The vectors stored in ``store`` (PostgreSQL) and searched there, as the PostgreSQL backend searches them."""
    hashes = [text_hash(passage_text(r)) for r in records]
    name = _model_name(embedder)
    for start in range(0, len(records), 256):
        store.put_vectors(name, list(zip(hashes[start : start + 256], vectors[start : start + 256], strict=True)))
    store.ensure_vector_search(vectors.shape[1])
    ids = np.array([r.chunk_id for r in records], dtype=np.int64)
    found = DatabaseVectors(ids, hash_rows(hashes), dim=vectors.shape[1], model_name=name)
    return found.searching_with(partial(store.nearest_vectors, name))


def build_hybrid(
    articles: Sequence[Article],
    embedder: Encoder,
    *,
    settings: RetrievalSettings | None = None,
    cache_dir: Path | None = None,
    store: Store | None = None,
) -> HybridRetriever:
    """The engine's hybrid retriever over ``articles``, built in memory; with ``store`` (PostgreSQL), its dense search
    runs in that database (pgvector) instead of FAISS."""
    records = chunk_records(articles)
    vectors = embed_passages(records, embedder, cache_dir)
    if store is not None:
        dense: VectorSearch = database_vectors(records, vectors, embedder, store)
    else:
        dense = vector_index(records, vectors, embedder)
    return HybridRetriever.build(records, dense, embedder, settings=settings)


# -- baselines ---------------------------------------------------------------------------------------


@dataclass
class _Ranked:
    """Shared hit construction for the baselines: a record list and a ranking function."""

    records: Sequence[ChunkRecord]

    def hits(self, positions: Sequence[int], scores: Sequence[float]) -> list[Hit]:
        out = []
        for position, score in zip(positions, scores, strict=True):
            r = self.records[position]
            out.append(
                Hit(
                    r.chunk_id,
                    r.article_id,
                    r.title,
                    r.url,
                    r.source,
                    r.author,
                    r.category,
                    r.published_at,
                    r.text,
                    r.start,
                    r.end,
                    float(score),
                )
            )
        return out


class BM25Baseline(_Ranked):
    """BM25 over chunk text alone (no title, no metadata, no diversity)."""

    def __init__(self, records: Sequence[ChunkRecord]) -> None:
        super().__init__(records)
        self._index = LexicalIndex.build(r.text for r in records)

    def scores(self, query: str) -> np.ndarray:
        return self._index.scores(query)

    def search(self, query: str, *, k: int = 10, **_: object) -> list[Hit]:
        scores = self.scores(query)
        order = np.argsort(-scores, kind="stable")[:k]
        return self.hits(order, scores[order])


class DenseBaseline(_Ranked):
    """Exact cosine search over the chunk vectors alone."""

    def __init__(self, records: Sequence[ChunkRecord], index: VectorIndex, embedder: Encoder) -> None:
        super().__init__(records)
        self._index = index
        self._embedder = embedder
        self._position = {r.chunk_id: i for i, r in enumerate(records)}

    def ranked(self, query: str, k: int) -> list[tuple[int, float]]:
        found = self._index.search(self._embedder.encode_query(query), k)
        return [(self._position[chunk_id], score) for chunk_id, score in found]

    def search(self, query: str, *, k: int = 10, **_: object) -> list[Hit]:
        ranked = self.ranked(query, k)
        return self.hits([p for p, _ in ranked], [s for _, s in ranked])


class RRFBaseline(_Ranked):
    """BM25 and dense rankings fused by plain reciprocal rank (k = 60) over each one's top 100."""

    def __init__(self, lexical: BM25Baseline, dense: DenseBaseline, depth: int = 100) -> None:
        super().__init__(lexical.records)
        self._lexical = lexical
        self._dense = dense
        self._depth = depth

    def search(self, query: str, *, k: int = 10, **_: object) -> list[Hit]:
        fused: dict[int, float] = {}
        lexical = self._lexical.scores(query)
        for rank, position in enumerate(np.argsort(-lexical, kind="stable")[: self._depth]):
            fused[int(position)] = fused.get(int(position), 0.0) + 1.0 / (RRF_K + rank + 1)
        for rank, (position, _) in enumerate(self._dense.ranked(query, self._depth)):
            fused[position] = fused.get(position, 0.0) + 1.0 / (RRF_K + rank + 1)
        best = sorted(fused.items(), key=lambda item: -item[1])[:k]
        return self.hits([p for p, _ in best], [s for _, s in best])


def _model_name(embedder: object) -> str:
    return str(getattr(embedder, "name", type(embedder).__name__))
