"""A generation searched in PostgreSQL (pgvector HNSW): its file names chunks and texts; the database finds them."""

from functools import partial

import numpy as np
import pytest

from index.errors import IndexUnavailable
from index.indexing import vectors as vector_module
from index.indexing.vectors import PGVECTOR, DatabaseVectors, IndexCorrupt, open_index, write_generation
from index.store.database import Store
from tests.index.indexing.test_vectors import DIM, MODEL, chunk_ids, clustered, exact_top

COUNT = 2_000


def hex_hashes(count: int, *, seed: int) -> list[str]:
    return [bytes(row).hex() for row in np.random.default_rng(seed).integers(0, 256, (count, 16), dtype=np.uint8)]


@pytest.fixture(scope="module")
def database(postgres_server):
    """A PostgreSQL archive holding ``COUNT`` clustered vectors under random text hashes, with their HNSW index, and
    one more vector no chunk of the generation holds (stored for a later one)."""
    ids, vectors, hashes = chunk_ids(COUNT), clustered(COUNT), hex_hashes(COUNT + 1, seed=3)
    store = Store(postgres_server.new_database())
    store.put_vectors(MODEL, list(zip(hashes[:COUNT], vectors, strict=True)))
    store.ensure_vector_search(DIM)
    return store, ids, vectors, hashes


def generation(database, tmp_path) -> DatabaseVectors:
    store, ids, _, hashes = database
    rows = vector_module.hash_rows(hashes[:COUNT])
    manifest = write_generation(DatabaseVectors(ids, rows, dim=DIM, model_name=MODEL), tmp_path, 1)
    opened = open_index(manifest)
    assert isinstance(opened, DatabaseVectors) and manifest.kind == PGVECTOR
    return opened.searching_with(partial(store.nearest_vectors, MODEL))


def test_a_search_in_the_database_finds_what_an_exact_search_does(database, tmp_path):
    _, ids, vectors, _ = database
    index = generation(database, tmp_path)
    recall = []
    for query in clustered(50, seed=9):
        found = index.search(query, 10)
        assert [score for _, score in found] == sorted((score for _, score in found), reverse=True)
        recall.append(len({c for c, _ in found} & set(exact_top(ids, vectors, query, 10))) / 10)
    assert np.mean(recall) >= 0.95
    chunk, score = index.search(vectors[7], 1)[0]
    assert chunk == ids[7] and score == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("exact_below", [vector_module.DATABASE_EXACT_AMONG, 10])  # exact, then by the HNSW index
def test_a_search_among_allowed_chunks_returns_only_them_and_the_best_of_them(
    database, tmp_path, monkeypatch, exact_below
):
    monkeypatch.setattr(vector_module, "DATABASE_EXACT_AMONG", exact_below)
    _, ids, vectors, _ = database
    index = generation(database, tmp_path)
    allowed = ids[::3]
    for query in clustered(20, seed=11):
        found = [chunk for chunk, _ in index.search(query, 10, allowed=allowed)]
        assert set(found) <= set(allowed.tolist())
        exact = exact_top(allowed, vectors[::3], query, 10)
        assert len(set(found) & set(exact)) >= 9


def test_a_text_is_found_for_every_chunk_of_the_generation_holding_it_and_no_other(database, tmp_path):
    store, ids, vectors, hashes = database
    twin = np.array([ids[0], 999_999_991], dtype=np.int64)  # two chunks with one text
    rows = vector_module.hash_rows([hashes[0], hashes[0]])
    pair = DatabaseVectors(twin, rows, dim=DIM, model_name=MODEL, nearest=partial(store.nearest_vectors, MODEL))
    assert sorted(chunk for chunk, _ in pair.search(vectors[0], 5)) == sorted(twin.tolist())
    store.put_vectors(MODEL, [(hashes[COUNT], vectors[0])])  # the same vector, for a text of a later generation
    store.put_vectors(MODEL, [("damaged", vectors[0])])  # and a row whose text hash is no hash
    try:
        found = generation(database, tmp_path).search(vectors[0], 3)
        assert ids[0] in [chunk for chunk, _ in found] and len(found) == 3
    finally:
        store.drop_vectors_except(MODEL, set(hashes[:COUNT]))


def test_a_generation_file_that_lost_its_chunk_list_is_refused(database, tmp_path):
    _, ids, _, hashes = database
    rows = vector_module.hash_rows(hashes[:COUNT])
    manifest = write_generation(DatabaseVectors(ids, rows, dim=DIM, model_name=MODEL), tmp_path, 1)
    data = manifest.path.read_bytes()
    manifest.path.write_bytes(data[:-100])
    with pytest.raises(IndexCorrupt, match="truncated"):
        open_index(manifest)


def test_a_generation_not_given_its_database_says_so(database):
    _, ids, _, hashes = database
    index = DatabaseVectors(ids, vector_module.hash_rows(hashes[:COUNT]), dim=DIM, model_name=MODEL)
    assert index.holds(ids[:2], vector_module.hash_rows(hashes[:2])).all()
    with pytest.raises(IndexUnavailable, match="database"):
        index.search(np.ones(DIM, np.float32), 3)
