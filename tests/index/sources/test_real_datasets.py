"""The shared datasets load as the acceptance criteria describe."""

from datetime import datetime

from index.sources import read_file


def test_multihop_corpus_loads_as_609_articles(datasets):
    path = datasets / "multihop_rag" / "corpus_train.json"
    result = read_file(path)
    assert not result.fatal and result.problems == () and result.notes == ()
    assert len(result.drafts) == 609
    first = result.drafts[0]
    assert first.title == "200+ of the best deals from Amazon's Cyber Monday sale"
    assert first.published_at == "2023-11-27T08:45:59+00:00"
    assert (first.source, first.category, first.author) == ("Mashable", "entertainment", None)
    assert first.url == "https://mashable.com/article/cyber-monday-deals-amazon-2023"
    assert first.origin == f"{path.resolve()}#1"
    assert all(d.title and d.body and d.source and d.category for d in result.drafts)
    assert all(datetime.fromisoformat(d.published_at).utcoffset() is not None for d in result.drafts)
    assert sum(1 for d in result.drafts if d.author) == 541  # 64 null and 4 empty authors in the corpus
    assert len({d.origin for d in result.drafts}) == 609


def test_bbc_pound_sign_is_decoded_from_cp1252(datasets):
    result = read_file(datasets / "bbc_news" / "bbc" / "sport" / "199.txt")
    (draft,) = result.drafts
    assert draft.title == "Chelsea sack Mutu"
    assert "a £15.8m signing from Parma" in draft.body
    assert draft.encoding_note == "decoded as cp1252 (the file is not valid UTF-8)"


def test_bbc_file_headline_and_body(datasets):
    (draft,) = read_file(datasets / "bbc_news" / "bbc" / "business" / "001.txt").drafts
    assert draft.title == "Ad sales boost Time Warner profit"
    assert draft.body.startswith("Quarterly profits at US media giant TimeWarner jumped 76% to $1.13bn (£600m)")
    assert draft.body.count("\n\n") >= 3
    assert draft.published_at is None and draft.source is None
