"""The answer verifier: the real fitted cross-encoder tells an answering sentence from an on-topic one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.answering.quotes import rank_quotes
from index.answering.trees import ModelFileError
from index.answering.verifier import ADAPTER_PATH, Verifier, load_adapter
from index.embedding import onnx_backend as embedding_onnx
from index.models import Hit
from tests.index.embedding.fake_embedding import BagOfWordsEmbedder

QUESTION = "Why is General Motors recalling Cadillac Lyriq SUVs?"
ANSWERS = (
    "General Motors is recalling about 1,000 Cadillac Lyriq SUVs because a software fault can leave the electric "
    "parking brake engaged."
)
ON_TOPIC = "General Motors sold more Cadillac Lyriq SUVs in October than in any month before."


@pytest.fixture(scope="module")
def verifier(model_cache: Path) -> Verifier:
    return Verifier(model_cache)


def test_the_sentence_that_answers_scores_above_one_that_only_shares_the_topic(verifier: Verifier) -> None:
    answers, on_topic, unrelated = verifier.verify(QUESTION, [ANSWERS, ON_TOPIC, "Heavy rain flooded Valencia."])
    assert answers > on_topic and answers > unrelated
    assert answers > 0 > unrelated  # log-odds: it says yes to one and no to the other


def test_scores_barely_depend_on_the_batch(verifier: Verifier) -> None:
    alone = verifier.verify(QUESTION, [ANSWERS])
    together = verifier.verify(QUESTION, [ON_TOPIC, "x " * 300, ANSWERS])
    # int8 activations are scaled per batch, so a batch's other rows move a score a little (0.1 seen), no more.
    np.testing.assert_allclose(alone[0], together[2], atol=0.25)
    assert verifier.verify(QUESTION, []).shape == (0,)


def test_quote_ranking_records_the_verdicts_and_leads_with_the_answer(verifier: Verifier) -> None:
    body = f"{ON_TOPIC} {ANSWERS} Dealers will update the software for free."
    hits = [Hit(1, "gm", "GM recall", None, None, None, None, None, body, 0, len(body), 3.0)]
    embedder = BagOfWordsEmbedder()
    plain = rank_quotes(QUESTION, hits, {"gm": body}, embedder=embedder, max_quotes=1)
    verified = rank_quotes(QUESTION, hits, {"gm": body}, embedder=embedder, max_quotes=1, verifier=verifier)
    assert plain[0].sentence.verified is None
    assert ANSWERS in verified[0].quote.text and verified[0].sentence.verified > 0


def test_a_second_verifier_reuses_the_cached_export(
    verifier: Verifier, model_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_export(*args: object) -> None:
        raise AssertionError("the verifier was exported again")

    monkeypatch.setattr(embedding_onnx, "build_model", no_export)
    again = Verifier(model_cache)
    np.testing.assert_array_equal(again.verify(QUESTION, [ANSWERS]), verifier.verify(QUESTION, [ANSWERS]))
    assert len(list(model_cache.glob("verifier-*.onnx"))) == 1


def test_the_adapter_shifts_every_layer_of_the_bundled_model() -> None:
    adapter = load_adapter(ADAPTER_PATH)
    layers = {name.split(".")[2] for name in adapter.deltas}
    assert layers == {str(n) for n in range(6)}
    assert all(np.abs(delta).max() > 0 for delta in adapter.deltas.values())


def test_an_unreadable_adapter_is_a_named_error(tmp_path: Path) -> None:
    broken = tmp_path / "verifier.npz"
    broken.write_bytes(b"not an npz file")
    with pytest.raises(ModelFileError, match="cannot be read as a verifier adapter"):
        load_adapter(broken)
    np.savez(broken, scale=np.float32(2.0))
    with pytest.raises(ModelFileError):
        load_adapter(broken)
