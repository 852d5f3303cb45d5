from concurrent.futures import ThreadPoolExecutor

import numpy as np

from index.answering.sentence_cache import SentenceVectorCache
from tests.index.embedding.fake_embedding import BagOfWordsEmbedder

TEXTS = ["Rates rose again.", "The court ruled.", "Markets fell sharply.", "Banks lent less."]


def test_vectors_are_the_embedders_in_the_order_asked_and_each_text_is_embedded_once():
    inner = BagOfWordsEmbedder()
    cache = SentenceVectorCache(inner)
    first = cache.encode_passages([TEXTS[0], TEXTS[1], TEXTS[0]])
    assert np.array_equal(first, inner.encode_passages([TEXTS[0], TEXTS[1], TEXTS[0]]))
    inner.passages_encoded = 0
    again = cache.encode_passages([TEXTS[1], TEXTS[2], TEXTS[0]])
    assert inner.passages_encoded == 1  # only the new sentence
    assert np.array_equal(again, BagOfWordsEmbedder().encode_passages([TEXTS[1], TEXTS[2], TEXTS[0]]))
    assert cache.encode_passages([]).shape == (0, 384)


def test_stored_vectors_are_used_before_anything_is_embedded():
    inner = BagOfWordsEmbedder()
    stored = {TEXTS[0]: np.full(384, 0.5, dtype=np.float32)}
    asked = []
    cache = SentenceVectorCache(inner, stored=lambda texts: asked.extend(texts) or [stored.get(t) for t in texts])
    vectors = cache.encode_passages([TEXTS[0], TEXTS[1]])
    assert np.array_equal(vectors[0], stored[TEXTS[0]])
    assert np.array_equal(vectors[1], BagOfWordsEmbedder().encode_passages([TEXTS[1]])[0])
    assert inner.passages_encoded == 1 and asked == [TEXTS[0], TEXTS[1]]
    cache.encode_passages([TEXTS[1], TEXTS[0]])
    assert asked == [TEXTS[0], TEXTS[1]]  # both were kept in memory


def test_the_least_recently_used_vectors_are_dropped_at_the_bound():
    inner = BagOfWordsEmbedder()
    cache = SentenceVectorCache(inner, max_items=2)
    cache.encode_passages([TEXTS[0], TEXTS[1]])
    cache.encode_passages([TEXTS[0]])  # TEXTS[1] is now the oldest
    cache.encode_passages([TEXTS[2]])
    assert len(cache) == 2
    inner.passages_encoded = 0
    cache.encode_passages([TEXTS[0], TEXTS[2]])
    assert inner.passages_encoded == 0
    cache.encode_passages([TEXTS[1]])
    assert inner.passages_encoded == 1


def test_threads_sharing_the_cache_get_right_vectors():
    cache = SentenceVectorCache(BagOfWordsEmbedder(), max_items=3)
    expected = BagOfWordsEmbedder().encode_passages(TEXTS)
    batches = [[TEXTS[i % 4], TEXTS[(i + 1) % 4]] for i in range(200)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(cache.encode_passages, batches))
    for batch, result in zip(batches, results, strict=True):
        assert np.array_equal(result, np.stack([expected[TEXTS.index(t)] for t in batch]))


def test_the_evaluations_memo_keeps_every_vector_and_reloads_them_from_its_file(tmp_path):
    from scripts.evaluation.answers import MemoEncoder

    inner = BagOfWordsEmbedder()
    memo = MemoEncoder(inner)
    vectors = memo.encode_passages(TEXTS)
    path = MemoEncoder.cache_file(tmp_path, "all-MiniLM-L6-v2/onnx-int8")
    assert path.name == "sentences-all-MiniLM-L6-v2-onnx-int8.npz"
    memo.save(path)
    fresh_inner = BagOfWordsEmbedder()
    reloaded = MemoEncoder(fresh_inner)
    reloaded.load(path)
    assert np.array_equal(reloaded.encode_passages(TEXTS), vectors) and fresh_inner.passages_encoded == 0
    assert np.array_equal(reloaded.encode_query("Rates rose again?"), inner.encode_query("Rates rose again?"))
