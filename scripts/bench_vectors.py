"""Benchmark the vector index: build time, warm single-query latency, HNSW recall and filtered search.

Usage: .venv/bin/python scripts/bench_vectors.py [--count 100000] [--dim 384] [--queries 300] [--vectors FILE.npy]

Without --vectors the data is synthetic: unit vectors shaped like sentence embeddings (a shared direction,
200 topics of 20 sub-topics, noise), which have lower nearest-neighbour contrast than real MiniLM vectors and
so are the harder case for HNSW. With --vectors FILE.npy (n, dim) float32, the last --queries rows are the
queries and the rest the archive. Prints markdown tables.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

from index.indexing.vectors import (
    HNSW_EF_CONSTRUCTION,
    HNSW_EF_SEARCH,
    HNSW_M,
    build_index,
    open_index,
    write_generation,
)

MODEL = "synthetic"


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=-1, keepdims=True)


def synthetic(count: int, dim: int, seed: int) -> np.ndarray:
    structure = np.random.default_rng(0)
    common = unit(structure.standard_normal(dim))
    topics = unit(structure.standard_normal((200, dim)))
    subtopics = unit(structure.standard_normal((200, 20, dim)))
    rng = np.random.default_rng(seed + 1)
    topic, subtopic = rng.integers(0, 200, count), rng.integers(0, 20, count)
    noise = unit(rng.standard_normal((count, dim)))
    return unit(0.5 * common + topics[topic] + 0.6 * subtopics[topic, subtopic] + noise).astype(np.float32)


def percentiles(seconds: list[float]) -> str:
    milliseconds = np.array(seconds) * 1000
    return f"{np.percentile(milliseconds, 50):.2f} | {np.percentile(milliseconds, 95):.2f}"


def timed_searches(search, queries: np.ndarray) -> tuple[list[float], list[list[int]]]:
    search(queries[0])  # warm up
    seconds, results = [], []
    for query in queries:
        start = time.perf_counter()
        hits = search(query)
        seconds.append(time.perf_counter() - start)
        results.append([chunk_id for chunk_id, _ in hits])
    return seconds, results


def recall(found: list[list[int]], truth: np.ndarray, k: int = 10) -> float:
    return float(
        np.mean([len(set(row) & set(exact[:k].tolist())) / k for row, exact in zip(found, truth, strict=True)])
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--vectors", type=Path)
    args = parser.parse_args()

    if args.vectors:
        loaded = unit(np.load(args.vectors).astype(np.float32))
        vectors, queries = loaded[: -args.queries], loaded[-args.queries :]
    else:
        vectors, queries = synthetic(args.count, args.dim, seed=0), synthetic(args.queries, args.dim, seed=7)
    count, dim = vectors.shape
    ids = np.random.default_rng(3).permutation(count).astype(np.int64) * 3 + 17
    print(
        f"{count} vectors x {dim} dims, {len(queries)} queries, HNSW M={HNSW_M} efConstruction="
        f"{HNSW_EF_CONSTRUCTION} efSearch={HNSW_EF_SEARCH}, faiss {faiss.__version__}\n"
    )

    faiss.omp_set_num_threads(2)
    start = time.perf_counter()
    flat = build_index(ids, vectors, model_name=MODEL, hnsw_threshold=count + 1)
    flat_build = time.perf_counter() - start
    start = time.perf_counter()
    hnsw = build_index(ids, vectors, model_name=MODEL, hnsw_threshold=0)
    hnsw_build = time.perf_counter() - start

    print("| step (2 threads) | flat | hnsw |\n|---|---|---|")
    print(f"| build s | {flat_build:.2f} | {hnsw_build:.1f} |")
    with tempfile.TemporaryDirectory() as folder:
        row = []
        for generation, index in enumerate((flat, hnsw), start=1):
            start = time.perf_counter()
            manifest = write_generation(index, Path(folder), generation)
            written = time.perf_counter() - start
            start = time.perf_counter()
            open_index(manifest)
            row.append((written, time.perf_counter() - start, manifest.path.stat().st_size / 2**20))
        print(f"| write_generation s | {row[0][0]:.2f} | {row[1][0]:.2f} |")
        print(f"| open_index (sha256 + load) s | {row[0][1]:.2f} | {row[1][1]:.2f} |")
        print(f"| file MiB | {row[0][2]:.0f} | {row[1][2]:.0f} |")

    truth_index = faiss.IndexFlatIP(dim)
    truth_index.add(vectors)
    _, truth_rows = truth_index.search(queries, 10)
    truth = ids[truth_rows]

    print("\n| search k=10, one query at a time, warm | threads | p50 ms | p95 ms | recall@10 |\n|---|---|---|---|---|")
    for threads in (1, 2):
        faiss.omp_set_num_threads(threads)
        for name, index in (("flat", flat), (f"hnsw efSearch={HNSW_EF_SEARCH}", hnsw)):
            seconds, found = timed_searches(lambda query, index=index: index.search(query, 10), queries)
            print(f"| {name} | {threads} | {percentiles(seconds)} | {recall(found, truth):.4f} |")
    faiss.omp_set_num_threads(1)
    default_ef = hnsw.ef_search
    for ef_search in (16, 32, 64, 128, 256):
        hnsw.ef_search = ef_search
        seconds, found = timed_searches(lambda query: hnsw.search(query, 10), queries)
        print(f"| hnsw efSearch={ef_search} | 1 | {percentiles(seconds)} | {recall(found, truth):.4f} |")
    hnsw.ef_search = default_ef

    raw_hnsw = faiss.deserialize_index(hnsw.serialized())
    print(
        "\n| allowed share (1 thread, k=10) | exact scan p50 / p95 ms, recall | hnsw graph+selector efSearch="
        f"{2 * HNSW_EF_SEARCH} | hnsw VectorIndex.search (policy) |\n|---|---|---|---|"
    )
    for share in (0.01, 0.05, 0.10, 0.50):
        allowed = ids[np.random.default_rng(4).random(count) < share]
        subset_rows = np.flatnonzero(np.isin(ids, allowed))
        subset_index = faiss.IndexFlatIP(dim)
        subset_index.add(vectors[subset_rows])
        _, filtered_rows = subset_index.search(queries, 10)
        filtered_truth = ids[subset_rows][filtered_rows]

        def graph(query: np.ndarray, allowed: np.ndarray = allowed) -> list[tuple[int, float]]:
            params = faiss.SearchParametersHNSW(efSearch=2 * HNSW_EF_SEARCH, sel=faiss.IDSelectorBatch(allowed))
            scores, labels = raw_hnsw.search(query[None, :], 10, params=params)
            return list(zip(labels[0].tolist(), scores[0].tolist(), strict=True))

        cells = []
        for search in (
            lambda query, allowed=allowed: flat.search(query, 10, allowed=allowed),
            graph,
            lambda query, allowed=allowed: hnsw.search(query, 10, allowed=allowed),
        ):
            seconds, found = timed_searches(search, queries)
            cells.append(f"{percentiles(seconds).replace(' |', ' /')}, {recall(found, filtered_truth):.4f}")
        print(f"| {share:.0%} | " + " | ".join(cells) + " |")

    print("\n| flat size (1 thread) | p50 ms | p95 ms |\n|---|---|---|")
    for size in (25_000, 50_000, 100_000, 200_000):
        if args.vectors and size > count:
            break
        sized = vectors[:size] if size <= count else synthetic(size, dim, seed=0)
        index = build_index(np.arange(size, dtype=np.int64), sized, model_name=MODEL, hnsw_threshold=size + 1)
        seconds, _ = timed_searches(lambda query, index=index: index.search(query, 10), queries)
        print(f"| {size} | {percentiles(seconds)} |")


if __name__ == "__main__":
    main()
