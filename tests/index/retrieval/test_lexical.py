import math
import random
import tracemalloc

import numpy as np
import pytest

import index.retrieval.lexical
from index.retrieval.lexical import (
    MAGIC,
    DocumentKeys,
    LexicalIndex,
    LexicalIndexUnusable,
    TokenizedDocuments,
    documents_key,
    tokenize,
)


def test_tokenize_stems_lowercases_and_drops_stop_words():
    assert tokenize("The Companies were RUNNING to the courts") == ["compani", "run", "court"]


def test_tokenize_splits_possessives_and_keeps_numbers():
    assert tokenize("Altman’s 2023 firing") == ["altman", "2023", "fire"]


def test_best_document_is_the_one_sharing_rare_query_words():
    index = LexicalIndex.build(
        [
            "The weather in Paris was mild and sunny.",
            "OpenAI's board fired Sam Altman on Friday.",
            "Sam went to the market on Friday.",
        ]
    )
    scores = index.scores("Why was Altman fired by the board?")
    assert int(np.argmax(scores)) == 1
    assert scores[0] == 0.0


def test_inflected_query_matches_stemmed_documents():
    index = LexicalIndex.build(["Regulators are investigating the merger.", "A quiet day."])
    assert index.scores("investigation of mergers")[0] > 0


def test_unknown_or_stop_word_query_scores_nothing():
    index = LexicalIndex.build(["Sam Altman returns as chief executive."])
    assert not index.scores("zyzzyva quux").any()
    assert not index.scores("the and of").any()


def test_empty_index_answers_with_empty_scores():
    index = LexicalIndex.build([])
    assert len(index) == 0
    assert index.scores("anything").shape == (0,)


def test_scores_are_lucene_bm25_as_bm25s_computed_them():
    index = LexicalIndex.build(["cat sat", "cat cat dog"])  # 2 and 3 tokens: avgdl 2.5, k1 1.2, b 0.75
    rare, common = math.log(2), math.log(1.2)  # idf of a term in one document, in both
    short, long = 1.2 * (0.25 + 0.75 * 2 / 2.5), 1.2 * (0.25 + 0.75 * 3 / 2.5)
    assert index.scores("cat") == pytest.approx([common / (1 + short), common * 2 / (2 + long)], rel=1e-6)
    assert index.scores("sat dog") == pytest.approx([rare / (1 + short), rare / (1 + long)], rel=1e-6)


# -- saved to a file and opened memory-mapped --------------------------------------------------------------------

DOCUMENTS = [
    "OpenAI's board fired Sam Altman on Friday.",
    "Regulators are investigating the merger of two airlines.",
    "Sam Altman returned as chief executive after the board resigned.",
    "The weather in Paris was mild and sunny all week.",
    "Über-long naïve café token: Zürich's résumé, 2023–2024!",
]
QUERIES = ["Why was Altman fired by the board?", "airline merger investigation", "café in Zürich", "zyzzyva"]
IDS = [11, 12, 13, 14, 15]
KEY = documents_key(IDS, DOCUMENTS)


@pytest.fixture
def saved(tmp_path):
    index = LexicalIndex.build(DOCUMENTS, keys=DocumentKeys.of(IDS, DOCUMENTS))
    path = tmp_path / "lexical-000001.bm25"
    index.save(path, key=KEY)
    return index, path


def test_an_opened_index_scores_exactly_as_a_fresh_build(saved):
    fresh, path = saved
    opened = LexicalIndex.load(path, key=KEY)
    assert len(opened) == len(fresh) == len(DOCUMENTS)
    for query in QUERIES:
        assert np.array_equal(opened.scores(query), fresh.scores(query))
    assert opened.scores("Altman board").argmax() in (0, 2)
    assert not list(path.parent.glob(".*.tmp"))  # the temp file became the index


def test_an_empty_index_round_trips(tmp_path):
    path = tmp_path / "empty.bm25"
    LexicalIndex.build([]).save(path, key=documents_key([], []))
    opened = LexicalIndex.load(path, key=documents_key([], []))
    assert len(opened) == 0 and opened.scores("anything").shape == (0,)


def test_a_document_is_known_by_its_id_and_exact_text():
    keys = DocumentKeys.of([1, 2, 3], ["a", "b", "c"])
    assert keys.ids.tolist() == [1, 2, 3]
    assert len(set(keys.hashes.tolist())) == 3
    assert keys.hashes.tolist() == DocumentKeys.of([7, 8, 9], ["a", "b", "c"]).hashes.tolist()
    assert keys.hashes[2] != DocumentKeys.of([3], ["c "]).hashes[0]


def test_the_key_changes_with_any_document_its_id_its_order_or_the_bm25_parameters():
    keys = {
        KEY,
        documents_key(IDS[::-1], DOCUMENTS[::-1]),
        documents_key(IDS[:-1], DOCUMENTS[:-1]),
        documents_key([*IDS[:-1], 16], DOCUMENTS),
        documents_key(IDS, [*DOCUMENTS[:-1], DOCUMENTS[-1] + " "]),
        documents_key(IDS, DOCUMENTS, k1=1.5),
        documents_key(IDS, DOCUMENTS, b=0.5),
    }
    assert len(keys) == 7
    assert documents_key(iter(IDS), list(DOCUMENTS)) == KEY


def test_an_index_built_from_other_documents_is_refused(saved):
    _, path = saved
    with pytest.raises(LexicalIndexUnusable, match="other documents"):
        LexicalIndex.load(path, key=documents_key([*IDS[:-1], 16], DOCUMENTS))


@pytest.mark.parametrize("settings", [{"k1": 1.5}, {"b": 0.5}])
def test_an_index_saved_with_other_bm25_parameters_is_refused(saved, settings):
    _, path = saved
    with pytest.raises(LexicalIndexUnusable, match="other BM25 settings"):
        LexicalIndex.load(path, key=KEY, **settings)


def test_a_file_of_the_previous_format_version_is_refused(saved):
    _, path = saved
    path.write_bytes(MAGIC[:-1] + b"\x01" + path.read_bytes()[len(MAGIC) :])
    with pytest.raises(LexicalIndexUnusable, match="another format version"):
        LexicalIndex.load(path, key=KEY)


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(LexicalIndexUnusable, match="missing"):
        LexicalIndex.load(tmp_path / "absent.bm25", key=KEY)


@pytest.mark.parametrize("keep", [0, 5, 20, 200, -1, -9])
def test_a_truncated_file_is_refused(saved, keep):
    _, path = saved
    data = path.read_bytes()
    path.write_bytes(data[:keep])
    with pytest.raises(LexicalIndexUnusable):
        LexicalIndex.load(path, key=KEY)


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"\0" * 4096,
        MAGIC + b"\xff\xff\xff\xff",
        MAGIC + b"\x05\0\0\0[1,2]",
        MAGIC + b"\x02\0\0\0{}",
        bytes(range(256)) * 64,
    ],
)
def test_a_garbage_file_is_refused(tmp_path, garbage):
    path = tmp_path / "garbage.bm25"
    path.write_bytes(garbage)
    with pytest.raises(LexicalIndexUnusable):
        LexicalIndex.load(path, key=KEY)


def test_a_flipped_byte_anywhere_after_the_header_is_refused(saved):
    _, path = saved
    data = bytearray(path.read_bytes())
    for position in (len(data) - 1, len(data) - 40, len(data) // 2 + 200):
        damaged = bytearray(data)
        damaged[position] ^= 0x01
        path.write_bytes(bytes(damaged))
        with pytest.raises(LexicalIndexUnusable):
            LexicalIndex.load(path, key=KEY)


def test_trailing_bytes_are_refused(saved):
    _, path = saved
    path.write_bytes(path.read_bytes() + b"\0" * 64)
    with pytest.raises(LexicalIndexUnusable, match="trailing"):
        LexicalIndex.load(path, key=KEY)


# -- updated from a previous generation's index --------------------------------------------------------------------

WORDS = "quay crane harbour ship cargo strike union port wage ferry tide storm dock berth pilot freight".split()


def stories(count: int, seed: int) -> list[str]:
    """Texts of varied lengths (some empty) over a small vocabulary, so terms repeat within and across them."""
    rng = random.Random(seed)
    return [" ".join(rng.choices(WORDS, k=rng.randint(0, 25))) for _ in range(count)]


UPDATE_QUERIES = ["harbour crane strike", "ferry pilot wage", "Zanzibar quay", "storm", "vanished", "tide tide"]


def internals(index: LexicalIndex) -> list:
    return [index._vocabulary, *(np.asarray(a) for a in index._arrays().values())]


@pytest.fixture
def generations(tmp_path):
    """A saved index of 60 stories, and the next generation: 7 removed, 2 changed, 10 added, 1 repeated, shuffled."""
    ids = list(range(60))
    texts = stories(60, seed=1)
    texts[20] += " vanished"  # its only document is removed
    path = tmp_path / "lexical-000001.bm25"
    LexicalIndex.build(texts, keys=DocumentKeys.of(ids, texts)).save(path, key=documents_key(ids, texts))
    following = {i: t for i, t in zip(ids, texts, strict=True) if i not in (3, 7, 20, 21, 22, 23, 24)}
    following[5] = "Zanzibar quay reopened with twelve new cranes."
    following[9] = texts[9] + " storm"
    following.update(zip(range(100, 110), stories(10, seed=2), strict=True))
    documents = [*following.items(), (12, following[12])]  # one chunk listed twice is tokenized the second time
    random.Random(3).shuffle(documents)
    return path, [i for i, _ in documents], [t for _, t in documents]


@pytest.mark.parametrize("block", [None, 5], ids=["one block", "blocks of 5 postings"])
def test_an_updated_index_scores_exactly_as_a_fresh_build_and_tokenizes_only_new_documents(
    generations, monkeypatch, block
):
    path, ids, texts = generations
    if block:  # an update merges and scores its postings a few terms at a time, as at a million passages
        monkeypatch.setattr(index.retrieval.lexical, "_MERGE_BLOCK", block)
        monkeypatch.setattr(index.retrieval.lexical, "_SCORE_BLOCK", 3)
    keys = DocumentKeys.of(ids, texts)
    tokenized = []
    analyse = index.retrieval.lexical.tokenize
    monkeypatch.setattr(index.retrieval.lexical, "tokenize", lambda text: tokenized.append(text) or analyse(text))
    updated = LexicalIndex.load(path).updated(texts, keys)
    assert len(tokenized) == 2 + 10 + 1  # the changed, the added and the repeated chunk; none of the 51 kept
    monkeypatch.undo()  # the fresh build below with the default blocks
    fresh = LexicalIndex.build(texts, keys=keys)
    assert len(updated) == len(fresh) == 64
    for query in UPDATE_QUERIES:
        assert np.array_equal(updated.scores(query), fresh.scores(query)), query
    assert not updated.scores("vanished").any() and updated.scores("Zanzibar").argmax() == ids.index(5)
    for ours, theirs in zip(internals(updated), internals(fresh), strict=True):
        assert np.array_equal(ours, theirs)  # one canonical form, whichever way it came


def test_a_build_in_runs_of_a_few_postings_is_the_same_index(monkeypatch):
    texts = stories(80, seed=4)
    whole = LexicalIndex.build(texts)
    monkeypatch.setattr(index.retrieval.lexical, "_MERGE_BLOCK", 7)  # many runs, merged a few terms at a time
    monkeypatch.setattr(index.retrieval.lexical, "_SCORE_BLOCK", 3)
    in_runs = LexicalIndex.build(texts)
    for ours, theirs in zip(internals(in_runs), internals(whole), strict=True):
        assert np.array_equal(ours, theirs)


def test_documents_added_one_at_a_time_make_the_same_index_and_their_keys_must_match(monkeypatch):
    monkeypatch.setattr(index.retrieval.lexical, "_MERGE_BLOCK", 7)
    texts, ids = stories(60, seed=5), list(range(100, 160))
    tokenized = TokenizedDocuments()
    for text in texts:  # as a stream of chunks gives them, none kept
        tokenized.add(text)
    with pytest.raises(ValueError, match="59 keys for 60 documents"):
        tokenized.index(DocumentKeys.of(ids[:-1], texts[:-1]))
    streamed = tokenized.index(DocumentKeys.of(ids, texts))
    built = LexicalIndex.build(texts, keys=DocumentKeys.of(ids, texts))
    for ours, theirs in zip(internals(streamed), internals(built), strict=True):
        assert np.array_equal(ours, theirs)
    assert streamed.keys.ids.tolist() == ids


def test_building_and_updating_hold_a_few_bytes_a_posting_not_every_posting_in_64_bit_integers(tmp_path, monkeypatch):
    monkeypatch.setattr(index.retrieval.lexical, "_MERGE_BLOCK", 1 << 12)  # a million passages hold many blocks
    texts, ids = stories(20_000, seed=7), list(range(20_000))
    tracemalloc.start()
    try:
        built = LexicalIndex.build(texts, keys=DocumentKeys.of(ids, texts))
        _, building = tracemalloc.get_traced_memory()
        built.save(tmp_path / "lexical-000001.bm25", key="first")
        previous = LexicalIndex.load(tmp_path / "lexical-000001.bm25")
        more, more_ids = texts + stories(200, seed=8), ids + list(range(20_000, 20_200))
        keys = DocumentKeys.of(more_ids, more)
        held, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        previous.updated(more, keys)
        updating = tracemalloc.get_traced_memory()[1] - held
    finally:
        tracemalloc.stop()
    postings = built._data.size  # about 160,000; the index itself keeps 9 bytes of each
    # A global sort of every posting by a 64-bit key held over 60 bytes a posting either way.
    assert building / postings < 48 and updating / postings < 30, (building / postings, updating / postings)


def test_an_updated_index_round_trips_through_its_file_and_updates_again(generations, tmp_path):
    path, ids, texts = generations
    keys = DocumentKeys.of(ids, texts)
    updated = LexicalIndex.load(path).updated(texts, keys)
    second = tmp_path / "lexical-000002.bm25"
    updated.save(second, key=documents_key(ids, texts))
    opened = LexicalIndex.load(second, key=documents_key(ids, texts))
    for query in UPDATE_QUERIES:
        assert np.array_equal(opened.scores(query), updated.scores(query))
    again = opened.updated(texts[:40], DocumentKeys.of(ids[:40], texts[:40]))  # from a memory-mapped file
    fresh = LexicalIndex.build(texts[:40], keys=DocumentKeys.of(ids[:40], texts[:40]))
    for query in UPDATE_QUERIES:
        assert np.array_equal(again.scores(query), fresh.scores(query))


def test_updating_to_nothing_or_from_nothing_is_a_fresh_build(generations):
    path, ids, texts = generations
    keys = DocumentKeys.of(ids, texts)
    assert len(LexicalIndex.load(path).updated([], DocumentKeys.of([], []))) == 0
    from_empty = LexicalIndex.build([]).updated(texts, keys)
    for ours, theirs in zip(internals(from_empty), internals(LexicalIndex.build(texts, keys=keys)), strict=True):
        assert np.array_equal(ours, theirs)
