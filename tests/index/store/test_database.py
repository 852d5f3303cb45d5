"""The SQLite store: migrations, WAL, one transaction per article."""

import sqlite3

from index.models import Article, ChunkSpan
from index.store.database import MIGRATIONS, Store


def make_article(article_id="a1", body="One sentence. Two sentences.", **extra) -> Article:
    fields = dict(
        id=article_id,
        title="Title",
        body=body,
        origin="/tmp/x.txt",
        content_hash="h-" + body,
        first_seen="2024-01-01T00:00:00+00:00",
        updated_at="2024-01-01T00:00:00+00:00",
        published_at="2023-11-12T08:00:00+00:00",
        tags=("nato", "ukraine"),
        source="Monitor",
    )
    fields.update(extra)
    return Article(**fields)


def spans(body: str) -> list[ChunkSpan]:
    return [ChunkSpan(0, 0, len(body), body, 5)]


def test_new_store_applies_every_migration_once_and_uses_wal(tmp_path):
    store = Store(tmp_path / "archive.db")
    assert store.schema_version() == len(MIGRATIONS)
    assert store.db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()
    again = Store(tmp_path / "archive.db")
    assert again.schema_version() == len(MIGRATIONS)


def test_article_round_trips_with_its_chunks(tmp_path):
    store = Store(tmp_path / "archive.db")
    article = make_article()
    store.put_article(article, spans(article.body))
    assert store.get("a1") == article
    assert [c.text for c in store.chunks_of("a1")] == [article.body]


def test_replacing_an_article_replaces_its_chunks(tmp_path):
    store = Store(tmp_path / "archive.db")
    store.put_article(make_article(), spans("One sentence. Two sentences."))
    new = make_article(body="Changed text entirely.")
    store.put_article(new, spans(new.body))
    assert [c.text for c in store.chunks_of("a1")] == ["Changed text entirely."]
    assert store.count("articles") == 1


def test_a_failed_write_leaves_the_previous_version(tmp_path):
    store = Store(tmp_path / "archive.db")
    store.put_article(make_article(), spans("One sentence. Two sentences."))
    broken = make_article(body="New body.")
    bad_chunks = [ChunkSpan(0, 0, 4, "New ", 1), ChunkSpan(0, 4, 9, "body.", 1)]  # duplicate ordinal
    try:
        store.put_article(broken, bad_chunks)
    except sqlite3.IntegrityError:
        pass
    assert store.get("a1").body == "One sentence. Two sentences."
    assert len(store.chunks_of("a1")) == 1


def test_recent_lists_newest_first_and_filters(tmp_path):
    store = Store(tmp_path / "archive.db")
    store.put_article(make_article("old", body="Old.", published_at="2020-01-01T00:00:00+00:00"), spans("Old."))
    store.put_article(make_article("new", body="New.", published_at="2024-01-01T00:00:00+00:00"), spans("New."))
    store.put_article(make_article("other", body="Other.", source="Elsewhere"), spans("Other."))
    assert [a.id for a in store.list_articles(source="monitor")] == ["new", "old"]
    assert store.distinct("source") == ["Monitor", "Elsewhere"]


def test_vectors_are_kept_by_text_hash_and_pruned(tmp_path):
    import numpy as np

    store = Store(tmp_path / "archive.db")
    store.put_vectors("m", [("h1", np.ones(4, np.float32)), ("h2", np.zeros(4, np.float32))])
    assert set(store.get_vectors("m", ["h1", "h2", "h3"], 4)) == {"h1", "h2"}
    assert store.drop_vectors_except("m", {"h1"}) == 1
    assert store.known_vector_hashes("m") == {"h1"}
