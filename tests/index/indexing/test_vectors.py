import dataclasses
import hashlib
import json
import os
import struct
import tracemalloc

import numpy as np
import pytest

from index.errors import IndexUnavailable
from index.indexing.vectors import (
    FLAT,
    HASH_BYTES,
    HNSW,
    HNSW_M,
    MAGIC,
    IndexCorrupt,
    IndexFile,
    IndexMismatch,
    build_index,
    build_index_in_blocks,
    open_index,
    write_generation,
)

DIM = 32
MODEL = "all-MiniLM-L6-v2"


def clustered(count: int, *, dim: int = DIM, seed: int = 0) -> np.ndarray:
    """Unit vectors shaped like sentence embeddings: a shared direction, 200 topics of 20 sub-topics each, and noise.

    The topic structure is the same for every seed; ``seed`` only draws different points from it.
    """
    structure = np.random.default_rng(0)
    common = _unit(structure.standard_normal(dim))
    topics = _unit(structure.standard_normal((200, dim)))
    subtopics = _unit(structure.standard_normal((200, 20, dim)))
    rng = np.random.default_rng(seed + 1)
    topic, subtopic = rng.integers(0, 200, count), rng.integers(0, 20, count)
    noise = _unit(rng.standard_normal((count, dim)))
    return _unit(0.5 * common + topics[topic] + 0.6 * subtopics[topic, subtopic] + noise).astype(np.float32)


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=-1, keepdims=True)


def chunk_ids(count: int) -> np.ndarray:
    """Sparse, shuffled ids so that a result holding row numbers instead of chunk ids is caught."""
    return np.random.default_rng(1).permutation(count).astype(np.int64) * 7 + 1000


def exact_top(ids: np.ndarray, vectors: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    scores = vectors @ query
    return [int(ids[row]) for row in np.argsort(-scores, kind="stable")[:k]]


@pytest.fixture(scope="module")
def small_data():
    return chunk_ids(2_000), clustered(2_000)


@pytest.mark.parametrize("threshold,kind", [(50_000, FLAT), (1_000, HNSW)])
def test_round_trip_gives_identical_results(tmp_path, small_data, threshold, kind):
    ids, vectors = small_data
    built = build_index(ids, vectors, model_name=MODEL, hnsw_threshold=threshold)
    manifest = write_generation(built, tmp_path, 1)
    reopened = open_index(manifest)

    assert (reopened.kind, reopened.count, reopened.dim) == (kind, 2_000, DIM)
    assert manifest.path == tmp_path / "vectors-000001.faiss"
    queries = clustered(20, seed=5)
    allowed = ids[::3]
    for query in queries:
        assert reopened.search(query, 10) == built.search(query, 10)
        assert reopened.search(query, 10, allowed=allowed) == built.search(query, 10, allowed=allowed)


def test_flat_search_is_exact_and_returns_chunk_ids(small_data):
    ids, vectors = small_data
    index = build_index(ids, vectors, model_name=MODEL)
    query = clustered(1, seed=9)[0]

    hits = index.search(query, 10)

    assert [chunk_id for chunk_id, _ in hits] == exact_top(ids, vectors, query, 10)
    scores = [score for _, score in hits]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == pytest.approx(float(np.max(vectors @ query)), abs=1e-5)


def test_search_many_matches_single_searches(small_data):
    ids, vectors = small_data
    index = build_index(ids, vectors, model_name=MODEL)
    queries = clustered(4, seed=3)

    assert index.search_many(queries, 5) == [index.search(query, 5) for query in queries]


def test_k_larger_than_index_returns_every_vector_once():
    ids, vectors = chunk_ids(3), clustered(3)
    index = build_index(ids, vectors, model_name=MODEL)

    hits = index.search(vectors[0], 10)

    assert sorted(chunk_id for chunk_id, _ in hits) == sorted(ids.tolist())


def test_hnsw_recall_at_10_against_exact_search():
    count, dim = 20_000, 64
    ids, vectors = chunk_ids(count), clustered(count, dim=dim)
    queries = clustered(200, dim=dim, seed=11)
    index = build_index(ids, vectors, model_name=MODEL, hnsw_threshold=10_000)
    assert index.kind == HNSW

    found = 0
    for query in queries:
        approximate = {chunk_id for chunk_id, _ in index.search(query, 10)}
        found += len(approximate & set(exact_top(ids, vectors, query, 10)))

    assert found / (10 * len(queries)) >= 0.98


@pytest.mark.parametrize("threshold,share", [(50_000, 0.1), (1_000, 0.02), (1_000, 0.3)])
def test_allowed_restricts_results_to_allowed_ids_exactly(small_data, threshold, share):
    ids, vectors = small_data
    index = build_index(ids, vectors, model_name=MODEL, hnsw_threshold=threshold)
    keep = np.random.default_rng(4).random(ids.size) < share
    allowed = np.concatenate([ids[keep], np.array([-5, 999_999_999])])  # unknown ids are ignored
    query = clustered(1, seed=12)[0]

    hits = index.search(query, 10, allowed=allowed)

    assert [chunk_id for chunk_id, _ in hits] == exact_top(ids[keep], vectors[keep], query, 10)
    assert index.search(query, 10, allowed=np.array([], dtype=np.int64)) == []
    assert {chunk_id for chunk_id, _ in index.search(query, 10, allowed=ids[:2])} == set(ids[:2].tolist())


def private_memory_mb() -> float:
    """This process's anonymous (unshared, not file-backed) resident memory."""
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    pytest.skip("no /proc/self/status RssAnon here")


@pytest.mark.parametrize("threshold", [1_000_000, 1_000])
def test_an_opened_index_reads_its_vectors_from_the_shared_file_not_private_memory(tmp_path, threshold):
    count, dim = 10_000, 512  # 20 MB of vectors, which an index read into memory would hold twice while loading
    vectors = np.random.default_rng(3).standard_normal((count, dim)).astype(np.float32)
    built = build_index(np.arange(count, dtype=np.int64), vectors, model_name=MODEL, hnsw_threshold=threshold)
    manifest = write_generation(built, tmp_path, 1)
    queries = vectors[:5]
    expected = [built.search(q, 10) for q in queries]
    del built, vectors
    before = private_memory_mb()
    opened = open_index(manifest)
    assert [opened.search(q, 10) for q in queries] == expected
    grown = private_memory_mb() - before
    graph = 0 if threshold > count else count * 2 * HNSW_M * 4 / 1e6  # HNSW links are read into memory
    assert grown < graph + 10, f"opening the index took {grown:.0f} MB of private memory"


def file_memory_mb() -> float:
    """This process's resident pages of mapped files."""
    for line in open("/proc/self/status"):
        if line.startswith("RssFile:"):
            return int(line.split()[1]) / 1024
    pytest.skip("no /proc/self/status RssFile here")


@pytest.fixture
def big_generation(tmp_path):
    """A written generation of 20 MB of vectors with row hashes, its chunk ids, and the manifest."""
    count, dim = 10_000, 512
    vectors = np.random.default_rng(4).standard_normal((count, dim)).astype(np.float32)
    ids = np.arange(count, dtype=np.int64)
    built = build_index(ids, vectors, model_name=MODEL, hnsw_threshold=count + 1, hashes=text_hashes(count, seed=5))
    return write_generation(built, tmp_path, 1), ids


def test_writing_a_generation_never_holds_a_second_copy_of_the_index(tmp_path, big_generation):
    manifest, _ = big_generation
    index = open_index(manifest)
    updated = index.updated(
        index.changes_for(*_same_rows(index)), np.empty((0, index.dim), np.float32), *_same_rows(index)
    )
    tracemalloc.start()
    try:
        written = write_generation(updated, tmp_path, 2)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert written.path.stat().st_size == manifest.path.stat().st_size  # the same index, 20 MB
    assert peak < 12e6, f"writing a 20 MB index held {peak / 1e6:.0f} MB at once"  # blocks of 4 MB, not all of it
    assert open_index(written).search(np.ones(512, np.float32), 5) == index.search(np.ones(512, np.float32), 5)


def _same_rows(index):
    return index.ids, index.hashes


def test_opening_and_updating_a_generation_reads_its_file_without_keeping_its_pages(big_generation):
    manifest, ids = big_generation
    before = file_memory_mb()
    index = open_index(manifest)  # the checksum reads every byte of the file
    opened = file_memory_mb() - before
    updated = index.updated(
        index.changes_for(*_same_rows(index)), np.empty((0, index.dim), np.float32), *_same_rows(index)
    )
    copied = file_memory_mb() - before
    assert opened < 5 and copied < 5, f"{opened:.0f} MB, then {copied:.0f} MB of the 20 MB file stayed resident"
    assert updated.count == ids.size


def test_an_index_whose_file_is_replaced_after_opening_is_updated_from_what_it_opened(tmp_path, small_data):
    ids, vectors = small_data
    hashes = text_hashes(ids.size, seed=6)
    manifest = write_generation(build_index(ids, vectors, model_name=MODEL, hashes=hashes), tmp_path / "a", 1)
    index = open_index(manifest)
    write_generation(build_index(ids[:10], vectors[:10], model_name=MODEL, hashes=hashes[:10]), tmp_path / "b", 1)
    os.replace(tmp_path / "b" / manifest.path.name, manifest.path)  # the same name, another file

    updated = index.updated(index.changes_for(ids, hashes), np.empty((0, DIM), np.float32), ids, hashes)

    assert updated.count == ids.size and updated.search(vectors[42], 1)[0][0] == ids[42]


def test_an_opened_index_keeps_answering_after_newer_generations_replace_its_file(tmp_path, small_data):
    ids, vectors = small_data
    index = build_index(ids, vectors, model_name=MODEL)
    opened = open_index(write_generation(index, tmp_path, 1))
    expected = opened.search(vectors[0], 10)
    for generation in (2, 3):
        write_generation(build_index(ids[:100], vectors[:100], model_name=MODEL), tmp_path, generation)
    assert not (tmp_path / "vectors-000001.faiss").exists()
    assert opened.search(vectors[0], 10) == expected and opened.count == 2_000


def test_generations_rotate_keeping_the_previous_one(tmp_path, small_data):
    ids, vectors = small_data
    index = build_index(ids, vectors, model_name=MODEL)
    manifests = [write_generation(index, tmp_path, generation) for generation in (1, 2, 3)]

    assert sorted(path.name for path in tmp_path.iterdir()) == ["vectors-000002.faiss", "vectors-000003.faiss"]
    assert open_index(manifests[1]).count == open_index(manifests[2]).count == 2_000
    with pytest.raises(IndexUnavailable, match="missing"):
        open_index(manifests[0])


def test_truncated_file_is_detected(tmp_path, small_data):
    ids, vectors = small_data
    manifest = write_generation(build_index(ids, vectors, model_name=MODEL), tmp_path, 1)
    data = manifest.path.read_bytes()
    manifest.path.write_bytes(data[: len(data) // 2])

    with pytest.raises(IndexCorrupt, match="truncated"):
        open_index(manifest)


@pytest.mark.parametrize("where", [0.01, 0.5, 0.999])
def test_flipped_byte_is_detected(tmp_path, small_data, where):
    ids, vectors = small_data
    manifest = write_generation(build_index(ids, vectors, model_name=MODEL), tmp_path, 1)
    data = bytearray(manifest.path.read_bytes())
    data[int(len(data) * where)] ^= 0x01
    manifest.path.write_bytes(bytes(data))

    with pytest.raises(IndexCorrupt):
        open_index(manifest)


@pytest.mark.parametrize("change", [{"dim": DIM + 1}, {"model_name": "other-model"}, {"count": 1_999}, {"kind": HNSW}])
def test_manifest_disagreeing_with_file_is_detected(tmp_path, small_data, change):
    ids, vectors = small_data
    manifest = write_generation(build_index(ids, vectors, model_name=MODEL), tmp_path, 1)
    field = next(iter(change))

    with pytest.raises(IndexMismatch, match=field):
        open_index(dataclasses.replace(manifest, **change))


def test_stray_temp_file_from_a_crash_is_ignored_then_cleaned_up(tmp_path, small_data):
    ids, vectors = small_data
    index = build_index(ids, vectors, model_name=MODEL)
    manifest = write_generation(index, tmp_path, 1)
    stray = tmp_path / ".vectors-000002.tmp"
    stray.write_bytes(manifest.path.read_bytes()[:1000])  # killed mid-write of generation 2

    assert open_index(manifest).search(vectors[0], 1)[0][0] == ids[0]

    write_generation(index, tmp_path, 2)
    assert not stray.exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["vectors-000001.faiss", "vectors-000002.faiss"]


def test_failed_rename_leaves_previous_generation_and_no_temp_file(tmp_path, small_data, monkeypatch):
    ids, vectors = small_data
    index = build_index(ids, vectors, model_name=MODEL)
    manifest = write_generation(index, tmp_path, 1)

    def refuse(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("index.indexing.vectors.os.replace", refuse)
    with pytest.raises(OSError):
        write_generation(index, tmp_path, 2)

    assert [path.name for path in tmp_path.iterdir()] == ["vectors-000001.faiss"]
    assert open_index(manifest).count == 2_000


def test_invalid_input_is_refused(small_data):
    ids, vectors = small_data
    with pytest.raises(ValueError, match="unique"):
        build_index(np.zeros(2_000, dtype=np.int64), vectors, model_name=MODEL)
    with pytest.raises(ValueError, match="ids"):
        build_index(ids[:10], vectors, model_name=MODEL)
    index = build_index(ids, vectors, model_name=MODEL)
    with pytest.raises(ValueError, match="dimensions"):
        index.search(np.ones(DIM + 1, dtype=np.float32), 5)


def test_an_index_built_a_block_at_a_time_finds_what_one_built_at_once_does(small_data):
    ids, vectors = small_data
    queries = clustered(50, seed=9)
    for threshold in (10_000, 1_000):  # exact, then HNSW
        whole = build_index(ids, vectors, model_name=MODEL, hnsw_threshold=threshold)
        blocks = (vectors[start : start + 300].copy() for start in range(0, len(ids), 300))
        built = build_index_in_blocks(ids, DIM, blocks, model_name=MODEL, hnsw_threshold=threshold)
        assert built.kind == whole.kind == (FLAT if threshold > len(ids) else HNSW)
        found = [[i for i, _ in built.search(q, 10)] for q in queries]
        exact = [exact_top(ids, vectors, q, 10) for q in queries]
        recall = np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact, strict=True)])
        assert recall == 1.0 if built.kind == FLAT else recall >= 0.95
    with pytest.raises(ValueError, match="2000 ids for 10 vectors"):
        build_index_in_blocks(ids, DIM, [vectors[:10].copy()], model_name=MODEL)
    with pytest.raises(ValueError, match="more vectors than the 10 ids"):
        build_index_in_blocks(ids[:10], DIM, [vectors[:20].copy()], model_name=MODEL)
    with pytest.raises(ValueError, match="float32"):
        build_index_in_blocks(ids, DIM, [vectors.astype(np.float64)], model_name=MODEL)


def test_empty_archive_round_trips_and_finds_nothing(tmp_path):
    index = build_index(np.empty(0, dtype=np.int64), np.empty((0, DIM), dtype=np.float32), model_name=MODEL)

    reopened = open_index(write_generation(index, tmp_path, 0))

    assert reopened.count == 0
    assert reopened.search(np.ones(DIM, dtype=np.float32), 5) == []


# -- updating a generation instead of rebuilding it -----------------------------------------------------------------


def text_hashes(count: int, *, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, HASH_BYTES), dtype=np.uint8)


def changed_archive(ids: np.ndarray, vectors: np.ndarray, hashes: np.ndarray):
    """The next state of an archive: 5% of its chunks removed, 5% rewritten (same id, new text and vector), 5% new."""
    rng = np.random.default_rng(21)
    fate = rng.random(ids.size)
    kept = fate >= 0.05
    new_ids, new_vectors, new_hashes = ids[kept], vectors[kept].copy(), hashes[kept].copy()
    rewritten = fate[kept] < 0.10
    new_vectors[rewritten] = clustered(int(rewritten.sum()), seed=22)
    new_hashes[rewritten] = text_hashes(int(rewritten.sum()), seed=23)
    added = ids.size // 20
    new_ids = np.concatenate([new_ids, np.arange(added, dtype=np.int64) * 7 + 3])  # ids the archive never had
    new_vectors = np.concatenate([new_vectors, clustered(added, seed=24)])
    new_hashes = np.concatenate([new_hashes, text_hashes(added, seed=25)])
    order = rng.permutation(new_ids.size)  # the scan's order owes nothing to the rows' order
    return new_ids[order], new_vectors[order], new_hashes[order], ids[~kept], ids[kept][rewritten]


@pytest.mark.parametrize("threshold", [50_000, 1_000])
def test_an_updated_generation_answers_as_a_rebuilt_one_and_never_returns_a_removed_or_stale_row(
    tmp_path, small_data, threshold
):
    ids, vectors = small_data
    hashes = text_hashes(ids.size, seed=20)
    previous = open_index(write_generation(build_index(ids, vectors, model_name=MODEL, hnsw_threshold=threshold,
                                                       hashes=hashes), tmp_path, 1))  # fmt: skip
    new_ids, new_vectors, new_hashes, removed, rewritten = changed_archive(ids, vectors, hashes)

    changes = previous.changes_for(new_ids, new_hashes)
    assert sorted(new_ids[changes.add].tolist()) == sorted([*rewritten.tolist(), *range(3, 7 * (ids.size // 20), 7)])
    updated = previous.updated(changes, new_vectors[changes.add], new_ids, new_hashes)
    reopened = open_index(write_generation(updated, tmp_path, 2))
    rebuilt = build_index(new_ids, new_vectors, model_name=MODEL, hnsw_threshold=threshold)

    assert reopened.count == rebuilt.count == new_ids.size
    assert reopened.rows == ids.size + changes.add.size  # the removed and rewritten rows are still there, dead
    assert sorted(reopened.ids.tolist()) == sorted(new_ids.tolist())
    queries = np.concatenate([clustered(20, seed=26), vectors[np.isin(ids, rewritten)][:10]])
    gone = set(removed.tolist())
    overlap = 0
    for query in queries:
        found = reopened.search(query, 10)
        assert not gone & {chunk_id for chunk_id, _ in found}
        for chunk_id, score in found:  # a rewritten chunk is found by its new vector only
            assert score == pytest.approx(float(new_vectors[new_ids == chunk_id][0] @ query), abs=1e-5)
        overlap += len({c for c, _ in found} & set(exact_top(new_ids, new_vectors, query, 10)))
        allowed = np.concatenate([removed[:50], new_ids[:300]])
        assert {c for c, _ in reopened.search(query, 10, allowed=allowed)} <= set(new_ids[:300].tolist())
        if threshold == 50_000:
            assert found == rebuilt.search(query, 10)
    assert overlap / (10 * len(queries)) >= 0.98


def test_an_index_without_row_hashes_cannot_be_updated(tmp_path, small_data):
    ids, vectors = small_data
    previous = open_index(write_generation(build_index(ids, vectors, model_name=MODEL), tmp_path, 1))
    assert previous.hashes is None
    assert previous.changes_for(ids, text_hashes(ids.size, seed=1)) is None


def test_a_generation_written_before_row_hashes_still_opens(tmp_path, small_data):
    ids, vectors = small_data
    built = build_index(ids, vectors, model_name=MODEL)
    payload = built.serialized()
    header = json.dumps(
        {
            "kind": FLAT,
            "count": ids.size,
            "dim": DIM,
            "model_name": MODEL,
            "ef_search": 128,
            "payload_bytes": int(payload.size),
        }  # fmt: skip
    ).encode()
    path = tmp_path / "vectors-000001.faiss"
    path.write_bytes(MAGIC + struct.pack("<I", len(header)) + header + payload.tobytes())
    manifest = IndexFile(path, 1, hashlib.sha256(path.read_bytes()).hexdigest(), ids.size, DIM, FLAT, MODEL)

    opened = open_index(manifest)

    assert opened.hashes is None and opened.count == ids.size
    assert opened.search(vectors[7], 3) == built.search(vectors[7], 3)
