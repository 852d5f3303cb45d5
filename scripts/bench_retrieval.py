"""Retrieval quality and latency: BM25, dense, plain RRF and the hybrid retriever in one run.

MultiHop-RAG (paper protocol: 2,255 answerable questions, 256-token chunks, fact-in-chunk hits):
Hits@10, Hits@4, MRR@10 overall and per question type, as ratios against BM25 alone, plus an
ablation of the hybrid (each idea removed in turn). SQuAD dev: answer inside the top-5 chunks of
the right article. Latency: hybrid search p50/p95 warm, one query at a time, query embedding
included. Scale: a synthetic archive of ``--scale`` chunks (MultiHop-RAG chunks repeated with
words dropped, random metadata and random unit vectors in an HNSW index), BM25 build time and
search p50/p95. Latency is printed with FAISS's default OpenMP threads and with one thread: for one
query at a time on a busy two-core machine, one thread avoids OpenMP's spinning and is much faster.

    .venv/bin/python scripts/bench_retrieval.py [--kind onnx-int8] [--cache /tmp/archivist-bench]
        [--limit N] [--skip-multihop] [--skip-squad] [--skip-ablation] [--scale 100000]

Passage vectors are cached in ``--cache`` (keyed by model and text), so a second run embeds nothing.
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import faiss
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index.embedding.base import DEFAULT_KIND, KINDS  # noqa: E402
from index.embedding.factory import load_embedder  # noqa: E402
from index.indexing.vectors import build_index  # noqa: E402
from index.retrieval.hybrid import ChunkRecord, HybridRetriever, RetrievalSettings  # noqa: E402
from scripts.evaluation import multihop, squad  # noqa: E402
from scripts.evaluation.retrievers import (  # noqa: E402
    BM25Baseline,
    DenseBaseline,
    RRFBaseline,
    chunk_records,
    embed_passages,
    vector_index,
)

DATASETS = ROOT.parent / "shared" / "datasets"

ABLATION: list[tuple[str, dict]] = [
    ("hybrid (all on)", {}),
    ("- dense (BM25 + metadata)", {"use_dense": False}),
    ("- metadata boosts", {"use_metadata": False}),
    ("- source boost", {"source_bonus": 0.0}),
    ("- date boost", {"date_bonus": 0.0}),
    ("- title in BM25", {"title_in_lexical": False}),
    ("- outlet balancing", {"balance_sources": False}),
    ("- diversity cap (no cap)", {"per_article": 1000}),
    ("diversity cap 2", {"per_article": 2}),
    ("lexical weight 0.5", {"lexical_weight": 0.5}),
    ("lexical weight 0.8", {"lexical_weight": 0.8}),
]


class Memo:
    """Remembers query vectors, so every retriever in the run embeds each question once."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = inner.name
        self._seen: dict[str, np.ndarray] = {}

    def encode_query(self, text: str) -> np.ndarray:
        if text not in self._seen:
            self._seen[text] = self.inner.encode_query(text)
        return self._seen[text]

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.encode_passages(texts)


def _row(name: str, m: multihop.RankMetrics, base: multihop.RankMetrics | None) -> str:
    def cell(value: float, reference: float | None) -> str:
        return f"{value:.3f}" + (f" ({value / reference:.2f}x)" if reference else "")

    return (
        f"| {name} | {cell(m.hits_at_10, base and base.hits_at_10)} | {cell(m.hits_at_4, base and base.hits_at_4)} "
        f"| {cell(m.mrr_at_10, base and base.mrr_at_10)} |"
    )


def bench_multihop(embedder, cache: Path, limit: int | None, ablation: bool) -> HybridRetriever:
    articles = multihop.as_articles(multihop.load_corpus(DATASETS / "multihop_rag"))
    questions = multihop.load_questions(DATASETS / "multihop_rag")[:limit] if limit else None
    questions = questions or multihop.load_questions(DATASETS / "multihop_rag")
    now = multihop.archive_now(articles)
    records = chunk_records(articles)
    started = time.perf_counter()
    vectors = embed_passages(records, embedder, cache)
    print(
        f"MultiHop-RAG: {len(articles)} articles, {len(records)} chunks, passages ready in "
        f"{time.perf_counter() - started:.1f}s; {len(questions)} questions; embedder {embedder.name}"
    )
    index = vector_index(records, vectors, embedder)
    memo = Memo(embedder)
    bm25 = BM25Baseline(records)
    dense = DenseBaseline(records, index, memo)
    hybrid = HybridRetriever.build(records, index, memo)
    results = [
        ("BM25 (chunk text)", multihop.evaluate(bm25, questions, name="bm25", now=now)),
        ("dense MiniLM (FAISS exact)", multihop.evaluate(dense, questions, name="dense", now=now)),
        ("plain RRF (k=60)", multihop.evaluate(RRFBaseline(bm25, dense), questions, name="rrf", now=now)),
        ("hybrid", multihop.evaluate(hybrid, questions, now=now)),
    ]
    base = results[0][1].overall
    print("\n| retriever | Hits@10 | Hits@4 | MRR@10 |\n|---|---|---|---|")
    for name, metrics in results:
        print(_row(name, metrics.overall, base))
    final = results[-1][1]
    print(f"\nhybrid per question type (largest returned chunk: {final.max_chunk_tokens} cl100k tokens):")
    print("| type | questions | Hits@10 | Hits@4 | MRR@10 |\n|---|---|---|---|---|")
    for kind, m in final.by_type:
        print(f"| {kind} | {m.questions} | {m.hits_at_10:.3f} | {m.hits_at_4:.3f} | {m.mrr_at_10:.3f} |")
    if ablation:
        print("\nAblation (hybrid with one change):\n| variant | Hits@10 | Hits@4 | MRR@10 |\n|---|---|---|---|")
        for name, change in ABLATION:
            settings = replace(RetrievalSettings(), **change)
            if settings.title_in_lexical == hybrid.settings.title_in_lexical:
                variant = HybridRetriever(
                    hybrid._chunks, hybrid._lexical, index, memo, settings, hybrid._fetch, hybrid.lexical_key
                )
            else:
                variant = HybridRetriever.build(records, index, memo, settings=settings)
            print(_row(name, multihop.evaluate(variant, questions, now=now).overall, None), flush=True)
    return HybridRetriever.build(records, index, embedder)


def bench_latency(retriever: HybridRetriever, embedder, queries: Sequence[str], label: str) -> None:
    """Warm p50/p95 of whole searches, one at a time, with FAISS's default threads and with one thread."""
    default = faiss.omp_get_max_threads()
    for threads in (default, 1):
        faiss.omp_set_num_threads(threads)
        for query in queries[:5]:
            retriever.search(query)
        searches, encodes = [], []
        for query in queries:
            started = time.perf_counter()
            embedder.encode_query(query)
            encodes.append(time.perf_counter() - started)
            started = time.perf_counter()
            retriever.search(query)
            searches.append(time.perf_counter() - started)
        s = statistics.quantiles(searches, n=100, method="inclusive")
        e = statistics.quantiles(encodes, n=100, method="inclusive")
        print(
            f"{label}, FAISS threads {threads}: {len(searches)} queries, search p50 {s[49] * 1000:.1f} ms, "
            f"p95 {s[94] * 1000:.1f} ms (query embedding alone: p50 {e[49] * 1000:.1f}, p95 {e[94] * 1000:.1f})"
        )
    faiss.omp_set_num_threads(default)


def bench_squad(embedder, cache: Path, limit: int | None) -> None:
    drafts, questions = squad.load_squad(DATASETS / "squad_v1.1_dev" / "dev-v1.1.json")
    questions = questions[:limit] if limit else questions
    articles = multihop.as_articles(drafts)
    ids = [a.id for a in articles]
    records = chunk_records(articles)
    index = vector_index(records, embed_passages(records, embedder, cache), embedder)
    memo = Memo(embedder)
    bm25 = BM25Baseline(records)
    dense = DenseBaseline(records, index, memo)
    rows = [
        ("BM25 (chunk text)", bm25),
        ("dense MiniLM", dense),
        ("plain RRF", RRFBaseline(bm25, dense)),
        ("hybrid", HybridRetriever.build(records, index, memo)),
        ("hybrid, diverse=False", _Undiverse(HybridRetriever.build(records, index, memo))),
    ]
    print(f"\nSQuAD dev: {len(articles)} articles, {len(records)} chunks, {len(questions)} questions")
    print("| retriever | answer in top-5 chunks of the right article | right article first |\n|---|---|---|")
    for name, retriever in rows:
        m = squad.evaluate(retriever, questions, ids, name=name)
        print(f"| {name} | {m.answer_in_top5:.3f} | {m.article_in_top1:.3f} |", flush=True)


class _Undiverse:
    def __init__(self, inner: HybridRetriever) -> None:
        self.inner = inner

    def search(self, query: str, **kwargs):
        return self.inner.search(query, **{**kwargs, "diverse": False})


def synthetic_records(size: int, seed: int = 7) -> list[ChunkRecord]:
    """``size`` chunks: MultiHop-RAG chunk texts with 15% of words dropped, random outlet/date/article."""
    rng = random.Random(seed)
    base = chunk_records(multihop.as_articles(multihop.load_corpus(DATASETS / "multihop_rag")))
    sources = sorted({r.source for r in base if r.source})
    out: list[ChunkRecord] = []
    article = 0
    while len(out) < size:
        template = base[len(out) % len(base)]
        if len(out) % 10 == 0:
            article += 1
        words = [w for w in template.text.split(" ") if rng.random() > 0.15]
        text = " ".join(words)
        day = 1 + rng.randrange(28)
        out.append(
            replace(
                template,
                chunk_id=len(out) + 1,
                article_id=f"s{article}",
                text=text,
                start=0,
                end=len(text),
                source=rng.choice(sources),
                published_at=f"2023-{rng.choice((9, 10, 11, 12)):02d}-{day:02d}T12:00:00+00:00",
            )
        )
    return out


def bench_scale(embedder, size: int, queries: Sequence[str]) -> None:
    records = synthetic_records(size)
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((len(records), embedder.dim)).astype(np.float32)
    started = time.perf_counter()
    index = build_index(np.array([r.chunk_id for r in records]), vectors, model_name=embedder.name)
    print(
        f"\nScale: {len(records)} synthetic chunks; {index.kind} vector index built in "
        f"{time.perf_counter() - started:.1f}s"
    )
    started = time.perf_counter()
    retriever = HybridRetriever.build(records, index, embedder)
    print(f"BM25 index (title + chunk) built in {time.perf_counter() - started:.1f}s")
    bench_latency(retriever, embedder, queries, f"hybrid search at {len(records)} chunks")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", choices=KINDS, default=DEFAULT_KIND)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/archivist-bench"))
    parser.add_argument("--limit", type=int, default=None, help="first N questions of each dataset")
    parser.add_argument("--skip-multihop", action="store_true")
    parser.add_argument("--skip-squad", action="store_true")
    parser.add_argument("--skip-ablation", action="store_true")
    parser.add_argument("--scale", type=int, default=100_000, help="synthetic archive size (0: skip)")
    parser.add_argument("--latency-queries", type=int, default=300)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    embedder = load_embedder(args.kind, args.cache / "models")
    queries = [q.query for q in multihop.load_questions(DATASETS / "multihop_rag")]
    sample = random.Random(1).sample(queries, min(args.latency_queries, len(queries)))
    if not args.skip_multihop:
        hybrid = bench_multihop(embedder, args.cache, args.limit, not args.skip_ablation)
        print()
        bench_latency(hybrid, embedder, sample, "hybrid search on MultiHop-RAG")
    if not args.skip_squad:
        bench_squad(embedder, args.cache, args.limit)
    if args.scale:
        bench_scale(embedder, args.scale, sample)


if __name__ == "__main__":
    main()
