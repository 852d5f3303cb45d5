import numpy as np

from index.retrieval.lexical import LexicalIndex, tokenize


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


# -- saved to a file and opened memory-mapped --------------------------------------------------------------------

import pytest  # noqa: E402

from index.retrieval.lexical import LexicalIndexUnusable, documents_key  # noqa: E402

DOCUMENTS = [
    "OpenAI's board fired Sam Altman on Friday.",
    "Regulators are investigating the merger of two airlines.",
    "Sam Altman returned as chief executive after the board resigned.",
    "The weather in Paris was mild and sunny all week.",
    "Über-long naïve café token: Zürich's résumé, 2023–2024!",
]
QUERIES = ["Why was Altman fired by the board?", "airline merger investigation", "café in Zürich", "zyzzyva"]


@pytest.fixture
def saved(tmp_path):
    index = LexicalIndex.build(DOCUMENTS)
    path = tmp_path / "lexical-000001.bm25"
    index.save(path, key=documents_key(DOCUMENTS))
    return index, path


def test_an_opened_index_scores_exactly_as_a_fresh_build(saved):
    fresh, path = saved
    opened = LexicalIndex.load(path, key=documents_key(DOCUMENTS))
    assert len(opened) == len(fresh) == len(DOCUMENTS)
    for query in QUERIES:
        assert np.array_equal(opened.scores(query), fresh.scores(query))
    assert opened.scores("Altman board").argmax() in (0, 2)
    assert not list(path.parent.glob(".*.tmp"))  # the temp file became the index


def test_an_empty_index_round_trips(tmp_path):
    path = tmp_path / "empty.bm25"
    LexicalIndex.build([]).save(path, key=documents_key([]))
    opened = LexicalIndex.load(path, key=documents_key([]))
    assert len(opened) == 0 and opened.scores("anything").shape == (0,)


def test_the_key_changes_with_any_document_its_order_or_the_bm25_parameters():
    keys = {
        documents_key(DOCUMENTS),
        documents_key(DOCUMENTS[::-1]),
        documents_key(DOCUMENTS[:-1]),
        documents_key([*DOCUMENTS[:-1], DOCUMENTS[-1] + " "]),
        documents_key(DOCUMENTS, k1=1.5),
        documents_key(DOCUMENTS, b=0.5),
    }
    assert len(keys) == 6
    assert documents_key(list(DOCUMENTS)) == documents_key(DOCUMENTS)


def test_an_index_built_from_other_documents_is_refused(saved):
    _, path = saved
    with pytest.raises(LexicalIndexUnusable, match="other documents"):
        LexicalIndex.load(path, key=documents_key(DOCUMENTS[:-1]))


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(LexicalIndexUnusable, match="missing"):
        LexicalIndex.load(tmp_path / "absent.bm25", key="k")


@pytest.mark.parametrize("keep", [0, 5, 20, 200, -1, -9])
def test_a_truncated_file_is_refused(saved, keep):
    _, path = saved
    data = path.read_bytes()
    path.write_bytes(data[:keep])
    with pytest.raises(LexicalIndexUnusable):
        LexicalIndex.load(path, key=documents_key(DOCUMENTS))


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"\0" * 4096,
        b"ARCHIVIST-BM25\x01" + b"\xff\xff\xff\xff",
        b"ARCHIVIST-BM25\x01\x05\0\0\0[1,2]",
        bytes(range(256)) * 64,
    ],
)
def test_a_garbage_file_is_refused(tmp_path, garbage):
    path = tmp_path / "garbage.bm25"
    path.write_bytes(garbage)
    with pytest.raises(LexicalIndexUnusable):
        LexicalIndex.load(path, key=documents_key(DOCUMENTS))


def test_a_flipped_byte_anywhere_after_the_header_is_refused(saved):
    _, path = saved
    data = bytearray(path.read_bytes())
    for position in (len(data) - 1, len(data) - 40, len(data) // 2 + 200):
        damaged = bytearray(data)
        damaged[position] ^= 0x01
        path.write_bytes(bytes(damaged))
        with pytest.raises(LexicalIndexUnusable):
            LexicalIndex.load(path, key=documents_key(DOCUMENTS))


def test_trailing_bytes_are_refused(saved):
    _, path = saved
    path.write_bytes(path.read_bytes() + b"\0" * 64)
    with pytest.raises(LexicalIndexUnusable, match="trailing"):
        LexicalIndex.load(path, key=documents_key(DOCUMENTS))
