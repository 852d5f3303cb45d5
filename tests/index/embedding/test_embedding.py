"""The embedder: unit vectors in input order, the fast kind agreeing with fp32, the ONNX cache."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from index.embedding import onnx_backend as embedding_onnx
from index.embedding.base import DIM, MAX_WORD_PIECES, Embedder, EmbedderUnavailable
from index.embedding.factory import load_embedder
from index.errors import ArchivistError

NEWS = [
    "The Federal Reserve held interest rates steady on Wednesday, signalling that it may cut them next year.",
    "Sam Bankman-Fried was found guilty of fraud by a jury in Manhattan after a month-long trial.",
    "The Eagles beat the Chiefs 21-17 after a second-half comeback at Arrowhead Stadium.",
    "Apple unveiled a new MacBook Pro powered by its M3 chips at an evening event.",
    "Heavy rain flooded parts of southern England, and the Met Office issued an amber warning for Friday.",
    "OpenAI's board removed Sam Altman as chief executive, saying he had not been consistently candid.",
]


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def fast(onnx_cache: Path) -> Embedder:
    return load_embedder("onnx-int8", onnx_cache)


@pytest.fixture(scope="module")
def reference() -> Embedder:
    return load_embedder("torch-fp32", Path("/nonexistent"))


@pytest.mark.parametrize("kind", ["fast", "reference"])
def test_vectors_are_unit_length_float32_of_384_dimensions(kind: str, request: pytest.FixtureRequest) -> None:
    embedder: Embedder = request.getfixturevalue(kind)
    vectors = embedder.encode_passages(NEWS)
    query = embedder.encode_query("Who won the Eagles game?")
    assert embedder.dim == DIM == 384
    assert vectors.shape == (len(NEWS), 384) and vectors.dtype == np.float32
    assert query.shape == (384,) and query.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert abs(np.linalg.norm(query) - 1.0) < 1e-5


def test_no_texts_give_an_empty_matrix(fast: Embedder) -> None:
    assert fast.encode_passages([]).shape == (0, 384)


@pytest.mark.parametrize("kind", ["fast", "reference"])
def test_same_text_gives_the_same_vector(kind: str, request: pytest.FixtureRequest) -> None:
    embedder: Embedder = request.getfixturevalue(kind)
    np.testing.assert_array_equal(embedder.encode_query(NEWS[0]), embedder.encode_query(NEWS[0]))
    np.testing.assert_array_equal(embedder.encode_passages(NEWS), embedder.encode_passages(NEWS))


@pytest.mark.parametrize("kind", ["fast", "reference"])
def test_rows_follow_input_order_despite_length_sorting(kind: str, request: pytest.FixtureRequest) -> None:
    embedder: Embedder = request.getfixturevalue(kind)
    texts = [NEWS[2], NEWS[4] * 3, NEWS[0][:20], NEWS[1], NEWS[5] * 2, NEWS[3]]
    batched = embedder.encode_passages(texts, batch_size=2)
    alone = np.stack([embedder.encode_query(t) for t in texts])
    assert list(np.argmax(batched @ alone.T, axis=1)) == list(range(len(texts)))
    assert np.min((batched * alone).sum(axis=1)) > 0.98


def test_progress_reports_every_batch_up_to_the_total(fast: Embedder) -> None:
    seen: list[tuple[int, int]] = []
    fast.encode_passages(NEWS, batch_size=4, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(4, 6), (6, 6)]


def test_fast_kind_agrees_with_fp32(fast: Embedder, reference: Embedder) -> None:
    cosines = (fast.encode_passages(NEWS) * reference.encode_passages(NEWS)).sum(axis=1)
    assert cosines.min() >= 0.98
    query = "Was Sam Bankman-Fried convicted?"
    ranking = np.argsort(-(fast.encode_passages(NEWS) @ fast.encode_query(query)))
    assert ranking[0] == 1
    assert float(fast.encode_query(query) @ reference.encode_query(query)) >= 0.98


def test_model_reads_only_max_word_pieces(fast: Embedder) -> None:
    assert fast.max_word_pieces == MAX_WORD_PIECES == 254
    assert fast.count_word_pieces("Bankman-Fried") == 4  # bank ##man - fried
    long_text = " ".join(NEWS * 12)
    assert fast.count_word_pieces(long_text) > fast.max_word_pieces
    np.testing.assert_array_equal(
        fast.encode_query(long_text), fast.encode_query(long_text + " A tail the model never reads.")
    )


def test_second_load_reuses_the_cached_export(
    fast: Embedder, onnx_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached = sorted(onnx_cache.glob("*.onnx"))
    assert len(cached) == 1
    before = cached[0].stat().st_mtime_ns

    def no_export(*args: object) -> None:
        raise AssertionError("the model was exported again")

    monkeypatch.setattr(embedding_onnx, "build_model", no_export)
    again = load_embedder("onnx-int8", onnx_cache)
    assert sorted(onnx_cache.glob("*.onnx")) == cached and cached[0].stat().st_mtime_ns == before
    np.testing.assert_array_equal(again.encode_query(NEWS[0]), fast.encode_query(NEWS[0]))
    assert not [p for p in onnx_cache.iterdir() if p.name.startswith(".onnx-build-")]


def test_unknown_kind_is_a_named_error(tmp_path: Path) -> None:
    with pytest.raises(EmbedderUnavailable, match="Unknown embedder kind 'tflite'") as caught:
        load_embedder("tflite", tmp_path)
    assert isinstance(caught.value, ArchivistError)


def test_missing_onnxruntime_is_a_named_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(EmbedderUnavailable, match="needs onnxruntime"):
        load_embedder("onnx-int8", tmp_path)
    assert not list(tmp_path.iterdir())
