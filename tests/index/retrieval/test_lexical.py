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
