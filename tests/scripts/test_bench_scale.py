"""The scale probe's synthetic archive and stand-in embedder: what its figures rest on."""

import json

import numpy as np

from index.text.chunking import chunk_body
from scripts.bench_scale import StubEmbedder, real_sentences, write_archive, write_update


def test_the_stub_embedder_gives_each_text_its_own_fixed_unit_vector():
    embedder = StubEmbedder()
    vectors = embedder.encode_passages(["one text", "another text", "one text"])
    assert vectors.shape == (3, embedder.dim) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert np.array_equal(vectors[0], vectors[2]) and not np.allclose(vectors[0], vectors[1])
    assert np.array_equal(StubEmbedder().encode_query("one text"), vectors[0])


def test_the_synthetic_archive_holds_about_the_passages_asked_for_made_of_real_sentences(tmp_path, datasets):
    articles = write_archive(tmp_path, 600, seed=18)
    records = [json.loads(line) for path in sorted(tmp_path.glob("*.jsonl")) for line in path.open(encoding="utf-8")]
    assert len(records) == articles and len({r["url"] for r in records}) == articles
    passages = sum(len(chunk_body(r["body"], max_tokens=256, overlap_tokens=32)) for r in records)
    assert 450 <= passages <= 750
    openings = {sentence[:40] for sentence in real_sentences()}  # MultiHop-RAG and SQuAD only, never bbc_news
    paragraphs = [p for r in records for p in r["body"].split("\n\n")]
    assert paragraphs and all(p[:40] in openings for p in paragraphs)
    assert write_archive(tmp_path / "again", 600, seed=18) == articles  # the same archive for the same seed


def test_the_update_is_new_articles_none_of_the_archive_has(tmp_path, datasets):
    articles = write_archive(tmp_path / "archive", 300, seed=18)
    write_update(tmp_path / "update", articles, 5, seed=18)
    urls = {json.loads(line)["url"] for path in (tmp_path / "archive").glob("*.jsonl") for line in path.open()}
    update = [json.loads(line) for line in (tmp_path / "update" / "update.jsonl").open(encoding="utf-8")]
    assert len(update) == 5 and not {r["url"] for r in update} & urls
