"""Benchmark the vector index: build time, warm single-query latency, HNSW recall and filtered search.

Usage: .venv/bin/python scripts/bench_vectors.py [--count 100000] [--dim 384] [--queries 300] [--vectors FILE.npy]
                                                [--postgres]

Without --vectors the data is synthetic: unit vectors shaped like sentence embeddings (a shared direction,
200 topics of 20 sub-topics, noise), which have lower nearest-neighbour contrast than real MiniLM vectors and
so are the harder case for HNSW. With --vectors FILE.npy (n, dim) float32, the last --queries rows are the
queries and the rest the archive. Prints markdown tables.

With --postgres, the same vectors are also stored in a throwaway PostgreSQL 16 (``tests/postgres.py``, durable, on a
unix socket) and searched there as the PostgreSQL backend searches them (pgvector HNSW through ``DatabaseVectors``):
storing and index build time, then the same searches beside FAISS's, in the same run.
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


def allowed_share(
    ids: np.ndarray, vectors: np.ndarray, queries: np.ndarray, share: float
) -> tuple[np.ndarray, np.ndarray]:
    """A random ``share`` of the ids (the same for every call with that share), and each query's exact best 10 of
    them."""
    allowed = ids[np.random.default_rng(4).random(ids.size) < share]
    rows = np.flatnonzero(np.isin(ids, allowed))
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors[rows])
    _, best = exact.search(queries, 10)
    return allowed, ids[rows][best]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--vectors", type=Path)
    parser.add_argument("--postgres", action="store_true", help="compare with pgvector in a throwaway PostgreSQL")
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
        allowed, filtered_truth = allowed_share(ids, vectors, queries, share)

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

    if args.postgres:
        compare_postgres(ids, vectors, queries, truth, hnsw)

    print("\n| flat size (1 thread) | p50 ms | p95 ms |\n|---|---|---|")
    for size in (25_000, 50_000, 100_000, 200_000):
        if args.vectors and size > count:
            break
        sized = vectors[:size] if size <= count else synthetic(size, dim, seed=0)
        index = build_index(np.arange(size, dtype=np.int64), sized, model_name=MODEL, hnsw_threshold=size + 1)
        seconds, _ = timed_searches(lambda query, index=index: index.search(query, 10), queries)
        print(f"| {size} | {percentiles(seconds)} |")


def compare_postgres(ids: np.ndarray, vectors: np.ndarray, queries: np.ndarray, truth: np.ndarray, hnsw) -> None:
    """The same searches through pgvector's HNSW index in PostgreSQL, beside FAISS HNSW's (one thread)."""
    import sys
    from functools import partial

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from index.indexing.indexer import text_hash
    from index.indexing.vectors import DatabaseVectors, hash_rows
    from index.store.database import VECTOR_EF_SEARCH, VECTOR_HNSW_EF_CONSTRUCTION, VECTOR_HNSW_M, Store
    from tests.postgres import PostgresServer

    count, dim = vectors.shape
    hashes = [text_hash(f"passage {n}") for n in range(count)]
    server = PostgresServer(durable=True).start()
    try:
        store = Store(server.new_database())
        start = time.perf_counter()
        for offset in range(0, count, 256):  # as the re-index stores them: a batch of embeddings at a time
            store.put_vectors(
                MODEL, list(zip(hashes[offset : offset + 256], vectors[offset : offset + 256], strict=True))
            )
        stored = time.perf_counter() - start
        start = time.perf_counter()
        store.ensure_vector_search(dim)
        built = time.perf_counter() - start
        size = store.db.conn.execute(f"SELECT pg_relation_size('vectors_hnsw_{dim}')").fetchone()[0]
        database = DatabaseVectors(ids, hash_rows(hashes), dim=dim, model_name=MODEL)
        database = database.searching_with(partial(store.nearest_vectors, MODEL))
        print(
            f"\n| PostgreSQL + pgvector (m={VECTOR_HNSW_M}, ef_construction={VECTOR_HNSW_EF_CONSTRUCTION}, "
            f"ef_search={VECTOR_EF_SEARCH}) | |\n|---|---|"
        )
        print(f"| store {count} vectors, 256 a transaction, s | {stored:.1f} |")
        print(f"| build the HNSW index s | {built:.1f} |")
        print(f"| HNSW index MiB | {size / 2**20:.0f} |")
        faiss.omp_set_num_threads(1)
        print("\n| search, one query at a time, warm | k | p50 ms | p95 ms | recall@10 |\n|---|---|---|---|---|")
        for k in (10, 100):
            for name, index in (("FAISS hnsw (in process)", hnsw), ("pgvector hnsw (DatabaseVectors)", database)):
                seconds, found = timed_searches(lambda query, index=index, k=k: index.search(query, k), queries)
                print(f"| {name} | {k} | {percentiles(seconds)} | {recall([f[:10] for f in found], truth):.4f} |")
        print(
            "\n| allowed share (k=10) | FAISS hnsw p50 / p95 ms, recall | pgvector p50 / p95 ms, recall |\n|---|---|---|"
        )
        for share in (0.01, 0.05, 0.10, 0.50):
            allowed, filtered_truth = allowed_share(ids, vectors, queries, share)
            cells = []
            for index in (hnsw, database):
                seconds, found = timed_searches(
                    lambda query, index=index, allowed=allowed: index.search(query, 10, allowed=allowed), queries
                )
                cells.append(f"{percentiles(seconds).replace(' |', ' /')}, {recall(found, filtered_truth):.4f}")
            print(f"| {share:.0%} | " + " | ".join(cells) + " |")
        store.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
