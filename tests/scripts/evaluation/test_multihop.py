import json

import pytest

from index.models import Hit
from index.retrieval.hybrid import HybridRetriever
from scripts.evaluation import multihop
from scripts.evaluation.retrievers import DenseBaseline, build_hybrid, chunk_records, embed_passages, vector_index
from tests.index.embedding.fake_embedding import BagOfWordsEmbedder


def hit(text, chunk_id=1):
    return Hit(chunk_id, "a", "t", None, None, None, None, None, text, 0, len(text), 1.0)


def test_a_fact_counts_whatever_its_spaces_and_line_breaks():
    hits = [hit("Nothing here."), hit("He said:\nthe  board\nfired him. Then he left.")]
    assert multihop.first_hit_rank(hits, ["the board fired him."]) == 2
    assert multihop.first_hit_rank(hits, ["the board hired him."]) is None


def test_only_the_top_k_hits_count():
    hits = [hit("x")] * 10 + [hit("the fact")]
    assert multihop.first_hit_rank(hits, ["the fact"]) is None
    assert multihop.first_hit_rank(hits, ["the fact"], k=11) == 11


def test_rank_metrics_follow_the_protocol():
    metrics = multihop.rank_metrics([1, 4, 5, None])
    assert metrics.hits_at_10 == 0.75
    assert metrics.hits_at_4 == 0.5
    assert metrics.mrr_at_10 == pytest.approx((1 + 1 / 4 + 1 / 5) / 4)


def test_loader_reads_articles_and_answerable_questions(tmp_path):
    corpus = [
        {
            "title": "T",
            "body": "B",
            "source": "S",
            "author": None,
            "category": "c",
            "url": "u",
            "published_at": "2023-11-27 08:45:59.000000000Z",
        }
    ]
    queries = [
        {
            "query": "q1",
            "answer": "a",
            "question_type": "inference_query",
            "evidence_list": [{"fact": "f1", "url": "u"}, {"fact": "f2", "url": "u"}],
        },
        {"query": "q2", "answer": "Insufficient information.", "question_type": "null_query", "evidence_list": []},
    ]
    (tmp_path / "corpus_train.json").write_text(json.dumps(corpus))
    (tmp_path / "queries_train.json").write_text(json.dumps(queries))
    [draft] = multihop.load_corpus(tmp_path)
    assert draft.published_at == "2023-11-27T08:45:59+00:00"
    assert (draft.title, draft.source, draft.url) == ("T", "S", "u")
    [question] = multihop.load_questions(tmp_path)
    assert question.facts == ("f1", "f2") and question.evidence_urls == ("u",)
    assert len(multihop.load_questions(tmp_path, include_null=True)) == 2


def subset(datasets, questions: int, distractors: int):
    """The first answerable questions over their evidence articles plus unrelated articles."""
    drafts = multihop.load_corpus(datasets / "multihop_rag")
    asked = multihop.load_questions(datasets / "multihop_rag")[:questions]
    wanted = {url for q in asked for url in q.evidence_urls}
    evidence = [d for d in drafts if d.url in wanted]
    others = [d for d in drafts if d.url not in wanted][:distractors]
    return multihop.as_articles(evidence + others), asked


def test_hybrid_on_a_multihop_subset_scores_above_a_sane_floor(datasets):
    articles, questions = subset(datasets, 40, 60)
    metrics = multihop.evaluate(build_hybrid(articles, BagOfWordsEmbedder()), questions)
    assert metrics.overall.questions == 40
    assert metrics.overall.hits_at_10 >= 0.85
    assert metrics.overall.mrr_at_10 >= 0.6
    assert 200 <= metrics.max_chunk_tokens <= 256
    assert {t for t, _ in metrics.by_type} <= {"comparison_query", "inference_query", "temporal_query"}


def test_with_the_vectors_searched_in_postgresql_the_hybrid_scores_as_with_faiss(datasets, postgres_server):
    from index.store.database import Store

    articles, questions = subset(datasets, 40, 60)
    with_faiss = multihop.evaluate(build_hybrid(articles, BagOfWordsEmbedder()), questions)
    store = Store(postgres_server.new_database())
    in_postgresql = multihop.evaluate(build_hybrid(articles, BagOfWordsEmbedder(), store=store), questions)
    assert store.count("vectors") > 0, "the dense search ran in the database"
    assert abs(in_postgresql.overall.hits_at_10 - with_faiss.overall.hits_at_10) <= 0.01
    assert abs(in_postgresql.overall.mrr_at_10 - with_faiss.overall.mrr_at_10) <= 0.01
    store.close()


@pytest.mark.slow
def test_with_the_real_model_hybrid_beats_dense_search_alone(datasets, model_cache):
    from index.embedding.factory import load_embedder

    articles, questions = subset(datasets, 10, 2)
    embedder = load_embedder("onnx-int8", model_cache)
    records = chunk_records(articles)
    index = vector_index(records, embed_passages(records, embedder), embedder)
    hybrid = multihop.evaluate(HybridRetriever.build(records, index, embedder), questions)
    dense = multihop.evaluate(DenseBaseline(records, index, embedder), questions, name="dense")
    assert hybrid.overall.hits_at_10 >= 0.85
    assert hybrid.overall.mrr_at_10 >= dense.overall.mrr_at_10 + 0.1
