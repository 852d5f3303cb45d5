"""Chunk invariants: exact offsets, token budget, sentence boundaries, full coverage."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.text.chunking import chunk_body, split_sentences
from index.text.tokens import cl100k
from tests.conftest import ROOT, SEED_PAGE

ENC = cl100k()


def assert_invariants(body: str, chunks, max_tokens: int) -> None:
    covered = [False] * len(body)
    for number, chunk in enumerate(chunks):
        assert chunk.ordinal == number
        assert body[chunk.start : chunk.end] == chunk.text
        assert chunk.text == chunk.text.strip() and chunk.text
        assert chunk.token_count == len(ENC.encode_ordinary(chunk.text)) <= max_tokens
        for i in range(chunk.start, chunk.end):
            covered[i] = True
    assert all(covered[i] or body[i].isspace() for i in range(len(body))), "every visible character is in a chunk"
    starts = [c.start for c in chunks]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)


def test_news_article_chunks_end_on_sentence_boundaries():
    body = SEED_PAGE.read_text(encoding="utf-8")
    chunks = chunk_body(body, max_tokens=64, overlap_tokens=16)
    assert len(chunks) > 5
    assert_invariants(body, chunks, 64)
    ends = {s.end for s in split_sentences(body)}
    assert all(c.end in ends for c in chunks), "no chunk ends inside a sentence"


def test_consecutive_chunks_overlap_by_whole_sentences():
    body = " ".join(f"Sentence number {i} is here." for i in range(60))
    chunks = chunk_body(body, max_tokens=40, overlap_tokens=12)
    for left, right in zip(chunks, chunks[1:], strict=False):
        assert right.start < left.end, "windows share their boundary sentence"
        assert right.start > left.start


def test_zero_overlap_gives_disjoint_chunks():
    body = " ".join(f"Sentence number {i} is here." for i in range(60))
    chunks = chunk_body(body, max_tokens=40, overlap_tokens=0)
    assert all(right.start >= left.end for left, right in zip(chunks, chunks[1:], strict=False))


def test_a_sentence_longer_than_the_budget_is_cut_between_words():
    body = "Intro. " + " ".join(["word"] * 500) + ". Outro."
    chunks = chunk_body(body, max_tokens=50, overlap_tokens=10)
    assert_invariants(body, chunks, 50)
    assert all(not c.text[0].isalnum() or body[c.start - 1].isspace() for c in chunks if c.start > 0)


def test_a_line_without_spaces_is_cut_between_characters():
    body = "x" * 20_000
    chunks = chunk_body(body, max_tokens=100)
    assert_invariants(body, chunks, 100)


def test_abbreviations_do_not_end_sentences():
    text = "Mr. Smith met Dr. Jones in the U.S. on Monday. They talked."
    assert [text[s.start : s.end] for s in split_sentences(text)] == [
        "Mr. Smith met Dr. Jones in the U.S. on Monday.",
        "They talked.",
    ]


def test_empty_and_blank_bodies_give_no_chunks():
    assert chunk_body("") == []
    assert chunk_body(" \n\n \t") == []


def test_bad_budgets_are_refused():
    with pytest.raises(ValueError):
        chunk_body("text", max_tokens=4)
    with pytest.raises(ValueError):
        chunk_body("text", max_tokens=64, overlap_tokens=64)


@pytest.mark.slow
def test_multihop_corpus_chunks_fit_the_protocol():
    for doc in json.loads((ROOT / "data" / "multihop_rag_slice.json").read_text(encoding="utf-8"))[:60]:
        assert_invariants(doc["body"], chunk_body(doc["body"]), 256)


text_pieces = st.one_of(
    st.text(min_size=1, max_size=40),
    st.sampled_from(["😀", "👩‍👩‍👧", "שלום עולם.", "مرحبا بالعالم. ", "\n\n", ". ", "! ", "? ", "…", " ", "“Quote.” "]),
    st.text(alphabet="abc ", min_size=200, max_size=2000),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pieces=st.lists(text_pieces, max_size=30), max_tokens=st.integers(8, 120), overlap=st.integers(0, 7))
def test_invariants_hold_on_random_text(pieces, max_tokens, overlap):
    body = "".join(pieces)
    assert_invariants(body, chunk_body(body, max_tokens=max_tokens, overlap_tokens=overlap), max_tokens)
