import numpy as np
import pytest

from index.store import compact
from index.store.database import Store


def unit_vectors(n: int, dim: int = 384, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_a_vector_takes_a_quarter_of_the_bytes_and_keeps_its_cosines():
    vectors = unit_vectors(200)
    decoded = np.stack([compact.decode(compact.encode(v), 384) for v in vectors])
    assert len(compact.encode(vectors[0])) == 384 + 4
    cosines, approx = vectors @ vectors[0], decoded @ decoded[0]
    assert np.abs(cosines - approx).max() < 2e-3


def test_zero_and_non_finite_vectors():
    assert not compact.decode(compact.encode(np.zeros(8, np.float32)), 8).any()
    with pytest.raises(ValueError, match="non-finite"):
        compact.encode(np.array([0.1, np.nan, 0.2], np.float32))


def test_a_blob_of_another_size_is_not_a_vector():
    assert compact.decode(b"\x00" * 7, 4) is None
    assert compact.decode(np.ones(5, np.float32).tobytes(), 4) is None


def test_sentence_vectors_are_stored_compactly_and_old_float32_rows_still_read(tmp_path):
    store = Store(tmp_path / "archive.db")
    old, new = unit_vectors(2, dim=16)
    with store.db.conn as conn:  # a row as written before compact storage
        conn.execute("INSERT INTO sentence_vectors VALUES ('old', 'm', ?)", (old.tobytes(),))
    store.put_vectors("m", [("new", new)], "sentence_vectors")
    store.put_vectors("m", [("passage", new)])
    (size,) = store.db.conn.execute("SELECT length(vector) FROM sentence_vectors WHERE text_hash = 'new'").fetchone()
    assert size == 16 + 4
    (size,) = store.db.conn.execute("SELECT length(vector) FROM vectors WHERE text_hash = 'passage'").fetchone()
    assert size == 16 * 4, "passage vectors, which build the search index, stay float32"
    found = store.get_vectors("m", ["old", "new", "missing"], 16, "sentence_vectors")
    assert set(found) == {"old", "new"}
    assert np.array_equal(found["old"], old) and np.abs(found["new"] - new).max() < 0.01
    assert store.get_vectors("m", ["new"], 8, "sentence_vectors") == {}, "another model's size reads as missing"
