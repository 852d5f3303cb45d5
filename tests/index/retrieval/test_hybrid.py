import logging
from datetime import datetime

import numpy as np
import pytest

from index.models import Article, Filters
from index.retrieval.hybrid import HybridRetriever
from index.retrieval.lexical import LexicalIndex
from scripts.evaluation.retrievers import build_hybrid
from tests.index.embedding.fake_embedding import BagOfWordsEmbedder


def article(article_id, title, body, *, source, published_at, category="technology", author=None):
    return Article(
        id=article_id,
        title=title,
        body=body,
        origin=f"test://{article_id}",
        content_hash=article_id,
        first_seen="2023-12-01T00:00:00+00:00",
        updated_at="2023-12-01T00:00:00+00:00",
        url=f"https://example.com/{article_id}",
        author=author,
        published_at=published_at,
        category=category,
        source=source,
    )


FTX = "Sam Bankman-Fried stood trial in Manhattan for fraud at the crypto exchange FTX."
ARTICLES = [
    article(
        "tc",
        "FTX founder on trial",
        FTX + " Prosecutors laid out the case.",
        source="TechCrunch",
        published_at="2023-10-02T10:00:00+00:00",
        author="Jacquelyn Melinek",
    ),
    article(
        "verge",
        "The FTX trial begins",
        FTX + " Jurors heard opening statements.",
        source="The Verge",
        published_at="2023-10-04T10:00:00+00:00",
        author="Elizabeth Lopatto",
    ),
    article(
        "fortune",
        "Bankman-Fried's fraud trial",
        FTX + " Lawyers swapped opening statements.",
        source="Fortune",
        published_at="2023-11-03T10:00:00+00:00",
        category="business",
    ),
    article(
        "age",
        "Trial of FTX boss",
        FTX + " The verdict is expected soon.",
        source="The Age",
        published_at="2023-12-12T10:00:00+00:00",
        category="business",
        author="Tom Maloney",
    ),
    article(
        "nfl",
        "Chiefs beat the Packers",
        "Patrick Mahomes threw two touchdowns as the Chiefs beat the Packers.",
        source="Sporting News",
        published_at="2023-12-03T10:00:00+00:00",
        category="sports",
    ),
    article(
        "undated", "FTX explained", FTX + " Here is what you need to know.", source="Yahoo News", published_at=None
    ),
]
NOW = datetime(2023, 12, 15, 12, 0)


@pytest.fixture(scope="module")
def retriever() -> HybridRetriever:
    return build_hybrid(ARTICLES, BagOfWordsEmbedder())


def test_relevant_article_comes_first(retriever):
    hits = retriever.search("Who threw touchdowns for the Chiefs?", now=NOW)
    assert hits[0].article_id == "nfl"


@pytest.mark.parametrize(
    ("filters", "allowed"),
    [
        (Filters(source="TechCrunch"), {"tc"}),
        (Filters(source="the verge"), {"verge"}),
        (Filters(category="Business"), {"fortune", "age"}),
        (Filters(author="maloney"), {"age"}),
        (Filters(after="2023-10-04"), {"verge", "fortune", "age", "nfl"}),
        (Filters(before="2023-10-04"), {"tc"}),
        (Filters(after="2023-10-03", before="2023-12-01"), {"verge", "fortune"}),
        (Filters(after="2023-10-01", category="technology"), {"tc", "verge"}),
    ],
)
def test_filters_are_respected(retriever, filters, allowed):
    hits = retriever.search("FTX trial fraud", k=10, filters=filters, now=NOW)
    assert hits, "a filter that some articles satisfy must return them"
    assert {h.article_id for h in hits} <= allowed


def test_filter_nothing_satisfies_returns_nothing(retriever):
    assert retriever.search("FTX trial", filters=Filters(source="Wired"), now=NOW) == []
    assert retriever.search("FTX trial", filters=Filters(after="2024-01-01"), now=NOW) == []


def test_malformed_filter_date_is_refused(retriever):
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        retriever.search("FTX trial", filters=Filters(after="last tuesday"), now=NOW)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("According to The Verge, what happened at the FTX trial?", "verge"),
        ("What did Fortune report about the FTX trial?", "fortune"),
        ("FTX trial, as reported by The Age", "age"),
    ],
)
def test_named_outlet_is_favoured(retriever, question, expected):
    assert retriever.search(question, now=NOW)[0].article_id == expected


def test_named_author_is_favoured(retriever):
    assert retriever.search("What did Elizabeth Lopatto write about the FTX trial?", now=NOW)[0].article_id == "verge"


def test_named_publication_day_is_favoured(retriever):
    assert retriever.search("the FTX trial story published on November 3, 2023", now=NOW)[0].article_id == "fortune"


def test_latest_prefers_the_newest_article(retriever):
    assert retriever.search("latest on the FTX trial", now=NOW)[0].article_id == "age"


def test_last_week_prefers_articles_from_last_week(retriever):
    wednesday = datetime(2023, 11, 8, 12, 0)  # last week: Monday 30 October to Sunday 5 November
    assert retriever.search("FTX trial news from last week", now=wednesday)[0].article_id == "fortune"


def test_several_named_outlets_each_get_a_place_near_the_top(retriever):
    hits = retriever.search("Do TechCrunch and The Age agree about the FTX trial?", k=4, now=NOW)
    assert {h.article_id for h in hits[:2]} == {"tc", "age"}


def _long_article() -> Article:
    paragraphs = [
        f"Paragraph {i}: the Epic v. Google antitrust trial heard testimony about app store fees and billing. "
        + "Filler sentence about the courtroom. " * 30
        for i in range(12)
    ]
    return article(
        "long", "Epic v. Google", "\n\n".join(paragraphs), source="The Verge", published_at="2023-11-07T10:00:00+00:00"
    )


def test_results_are_diverse_unless_asked_otherwise():
    short = article(
        "short",
        "Google trial",
        "Epic Games sued Google over app store fees.",
        source="TechCrunch",
        published_at="2023-11-06T10:00:00+00:00",
    )
    retriever = build_hybrid([_long_article(), short, *ARTICLES], BagOfWordsEmbedder())
    cap = retriever.settings.per_article
    diverse = retriever.search("Epic v. Google antitrust trial app store fees", k=10, now=NOW)
    per_article = {}
    for hit in diverse:
        per_article[hit.article_id] = per_article.get(hit.article_id, 0) + 1
    assert per_article["long"] == cap
    assert "short" in per_article
    everything = retriever.search("Epic v. Google antitrust trial app store fees", k=10, diverse=False, now=NOW)
    assert sum(h.article_id == "long" for h in everything) > cap


def test_hits_carry_exact_offsets_and_article_metadata():
    long = _long_article()
    bodies = {a.id: a for a in [long, *ARTICLES]}
    retriever = build_hybrid([long, *ARTICLES], BagOfWordsEmbedder())
    hits = retriever.search("Epic Google trial testimony FTX", k=10, diverse=False, now=NOW)
    assert len(hits) == 10
    for hit in hits:
        source = bodies[hit.article_id]
        assert source.body[hit.start : hit.end] == hit.text
        assert (hit.title, hit.url, hit.source, hit.published_at) == (
            source.title,
            source.url,
            source.source,
            source.published_at,
        )
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_empty_query_or_archive_returns_nothing(retriever):
    assert retriever.search("   ", now=NOW) == []
    assert build_hybrid([], BagOfWordsEmbedder()).search("FTX", now=NOW) == []


# -- the BM25 index saved with a generation ------------------------------------------------------------------------


def build_with_file(articles, lexical_file, *, save, previous=None):
    from index.indexing.vectors import build_index
    from scripts.evaluation.retrievers import chunk_records

    embedder = BagOfWordsEmbedder()
    records = chunk_records(articles)
    vectors = embedder.encode_passages([r.text for r in records])
    index = build_index(np.array([r.chunk_id for r in records]), vectors, model_name="bag-of-words")
    return HybridRetriever.build(
        records, index, embedder, lexical_file=lexical_file, previous_lexical_file=previous, save=save
    )


QUESTIONS = ["FTX trial opening statements", "Chiefs Packers touchdowns", "latest Taylor Swift news"]


def results(retriever):
    return [[(h.chunk_id, h.score) for h in retriever.search(q, k=5, now=NOW)] for q in QUESTIONS]


def test_a_saved_bm25_index_is_opened_next_time_with_the_same_results(tmp_path, monkeypatch, retriever):
    path = tmp_path / "lexical-000001.bm25"
    built = build_with_file(ARTICLES, path, save=True)
    assert path.exists() and results(built) == results(retriever)

    def no_build(*args, **kwargs):
        raise AssertionError("rebuilt although a matching saved index exists")

    monkeypatch.setattr(LexicalIndex, "build", no_build)
    assert results(build_with_file(ARTICLES, path, save=True)) == results(retriever)


def test_a_saved_index_of_other_chunks_is_not_used_and_not_overwritten_unless_saving(tmp_path, retriever):
    path = tmp_path / "lexical-000001.bm25"
    build_with_file(ARTICLES[:3], path, save=True)  # an older archive under the same name
    stale = path.read_bytes()
    assert results(build_with_file(ARTICLES, path, save=False)) == results(retriever)
    assert path.read_bytes() == stale  # reading never writes
    assert results(build_with_file(ARTICLES, path, save=True)) == results(retriever)
    assert path.read_bytes() != stale


@pytest.mark.parametrize("damage", ["truncate", "garbage", "flip"])
def test_a_damaged_saved_index_is_rebuilt_with_one_warning(tmp_path, caplog, retriever, damage):
    path = tmp_path / "lexical-000001.bm25"
    build_with_file(ARTICLES, path, save=True)
    data = path.read_bytes()
    path.write_bytes(
        {"truncate": data[: len(data) // 2], "garbage": b"\x00\xff" * 999, "flip": data[:-1] + bytes([data[-1] ^ 1])}[
            damage
        ]
    )
    with caplog.at_level(logging.INFO, logger="index.retrieval.hybrid"):
        rebuilt = build_with_file(ARTICLES, path, save=False)
    assert results(rebuilt) == results(retriever)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "BM25" in warnings[0].getMessage()


def test_a_new_generation_updates_the_previous_saved_index_and_searches_as_a_fresh_build(
    tmp_path, monkeypatch, retriever
):
    previous, path = tmp_path / "lexical-000001.bm25", tmp_path / "lexical-000002.bm25"
    build_with_file(ARTICLES[:4], previous, save=True)  # the same chunk ids: they are numbered in article order

    def no_build(*args, **kwargs):
        raise AssertionError("built afresh although the previous generation's index could be updated")

    with monkeypatch.context() as patch:
        patch.setattr(LexicalIndex, "build", no_build)
        updated = build_with_file(ARTICLES, path, save=True, previous=previous)
        assert results(updated) == results(retriever)
        assert results(build_with_file(ARTICLES, path, save=False)) == results(retriever)  # saved, and opened


@pytest.mark.parametrize("damage", ["missing", "old format", "flip", "truncate"])
def test_an_unusable_previous_index_is_not_updated_but_the_index_built(tmp_path, caplog, retriever, damage):
    previous, path = tmp_path / "lexical-000001.bm25", tmp_path / "lexical-000002.bm25"
    build_with_file(ARTICLES[:4], previous, save=True)
    data = previous.read_bytes()
    if damage == "missing":
        previous.unlink()
    else:
        old_format = b"ARCHIVIST-BM25\x01" + data[15:]
        damaged = {"old format": old_format, "flip": data[:-1] + bytes([data[-1] ^ 1]), "truncate": data[:-9]}
        previous.write_bytes(damaged[damage])
    with caplog.at_level(logging.INFO, logger="index.retrieval.hybrid"):
        built = build_with_file(ARTICLES, path, save=True, previous=previous)
    assert results(built) == results(retriever) and path.exists()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == (damage != "missing") and all("BM25" in w for w in warnings)
    assert any("built" in r.getMessage() for r in caplog.records)
