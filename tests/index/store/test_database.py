"""The store on both backends (SQLite: migrations, WAL, read-only opens; PostgreSQL), one transaction per article."""

import os
import sqlite3
import time

import psycopg
import pytest

from index.errors import ArchiveCorrupt, ArchiveReadOnly, ArchiveUnavailable
from index.models import Article, ChunkSpan
from index.store import database
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


def test_article_round_trips_with_its_chunks(archive_at):
    store = Store(archive_at)
    article = make_article()
    store.put_article(article, spans(article.body))
    assert store.get("a1") == article
    assert [c.text for c in store.chunks_of("a1")] == [article.body]


def test_replacing_an_article_replaces_its_chunks(archive_at):
    store = Store(archive_at)
    store.put_article(make_article(), spans("One sentence. Two sentences."))
    new = make_article(body="Changed text entirely.")
    store.put_article(new, spans(new.body))
    assert [c.text for c in store.chunks_of("a1")] == ["Changed text entirely."]
    assert store.count("articles") == 1


def test_a_failed_write_leaves_the_previous_version(archive_at):
    store = Store(archive_at)
    store.put_article(make_article(), spans("One sentence. Two sentences."))
    broken = make_article(body="New body.")
    bad_chunks = [ChunkSpan(0, 0, 4, "New ", 1), ChunkSpan(0, 4, 9, "body.", 1)]  # duplicate ordinal
    with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError)):
        store.put_article(broken, bad_chunks)
    assert store.get("a1").body == "One sentence. Two sentences."
    assert len(store.chunks_of("a1")) == 1


def test_recent_lists_newest_first_and_filters(archive_at):
    store = Store(archive_at)
    store.put_article(make_article("old", body="Old.", published_at="2020-01-01T00:00:00+00:00"), spans("Old."))
    store.put_article(make_article("new", body="New.", published_at="2024-01-01T00:00:00+00:00"), spans("New."))
    store.put_article(make_article("other", body="Other.", source="Elsewhere"), spans("Other."))
    assert [a.id for a in store.list_articles(source="monitor")] == ["new", "old"]
    assert store.distinct("source") == ["Monitor", "Elsewhere"]


def test_vectors_are_kept_by_text_hash_and_pruned(archive_at):
    import numpy as np

    store = Store(archive_at)
    store.put_vectors("m", [("h1", np.ones(4, np.float32)), ("h2", np.zeros(4, np.float32))])
    assert set(store.get_vectors("m", ["h1", "h2", "h3"], 4)) == {"h1", "h2"}
    assert store.drop_vectors_except("m", {"h1"}) == 1
    assert store.known_vector_hashes("m") == {"h1"}


def test_bodies_are_read_a_page_at_a_time_and_writes_may_come_between_pages(archive_at):
    import numpy as np

    store = Store(archive_at)
    for n in range(7):
        store.put_article(make_article(f"a{n}", body=f"Body {n}.", content_hash=f"h{n}"), spans(f"Body {n}."))
    bodies = []
    for body in store.iter_bodies(page=3):
        bodies.append(body)
        store.put_vectors("m", [(body, np.ones(4, np.float32))])  # a write between reads, as the re-index does
    assert bodies == [f"Body {n}." for n in range(7)]
    assert [r.chunk_id for r in store.chunk_records([3, 1, 99])] == [1, 3], "only ids that exist, in id order"


def test_a_pass_over_every_chunk_reads_them_all_in_id_order_however_they_are_paged(archive_at, monkeypatch):
    store = Store(archive_at)
    for n in range(7):
        store.put_article(make_article(f"a{n}", body=f"Body {n}.", content_hash=f"h{n}"), spans(f"Body {n}."))
    store.delete_articles(["a3"])  # a gap in the ids
    whole = [(r.chunk_id, r.text) for r in store.chunk_records()]
    monkeypatch.setattr(database, "CHUNK_PAGE", 2)
    assert [(r.chunk_id, r.text) for r in store.chunk_records()] == whole
    assert [text for _, text in whole] == [f"Body {n}." for n in (0, 1, 2, 4, 5, 6)]


def test_a_marking_pass_drops_the_vectors_of_texts_it_did_not_meet(archive_at):
    import numpy as np

    store = Store(archive_at)
    store.put_vectors("m", [(h, np.ones(4, np.float32)) for h in ("kept", "gone")], "sentence_vectors")
    store.put_vectors("other", [("gone", np.ones(4, np.float32))], "sentence_vectors")
    store.start_marking("sentence_vectors")
    assert store.mark("sentence_vectors", ["kept", "new", "kept"]) == ["kept", "new"]
    assert store.mark("sentence_vectors", ["new", "later"]) == ["later"], "met before in this pass"
    assert store.existing_vector_hashes("m", ["kept", "new", "gone"], "sentence_vectors") == {"kept", "gone"}
    store.hold("sentence_vectors", [("later", "Later."), ("new", "New.")])
    assert store.held_count("sentence_vectors") == 2
    assert list(store.held("sentence_vectors", 1)) == [[("later", "Later.")], [("new", "New.")]], "in hash order"
    assert store.drop_unmarked_vectors("m", "sentence_vectors") == 1
    assert store.known_vector_hashes("m", "sentence_vectors") == {"kept"}
    assert store.known_vector_hashes("other", "sentence_vectors") == {"gone"}, "another model's vectors stay"
    store.start_marking("sentence_vectors")  # a new pass starts from nothing marked
    assert store.mark("sentence_vectors", ["kept"]) == ["kept"]


def test_a_read_only_store_reads_and_never_writes(tmp_path):
    store = Store(tmp_path / "archive.db")
    store.put_article(make_article(), spans("One sentence. Two sentences."))
    store.close()
    before = (tmp_path / "archive.db").read_bytes()
    reader = Store(tmp_path / "archive.db", read_only=True)
    assert reader.get("a1").title == "Title" and reader.count("chunks") == 1
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader.put_article(make_article("a2", body="Other."), spans("Other."))
    reader.close()
    assert (tmp_path / "archive.db").read_bytes() == before


def test_a_read_only_open_falls_back_to_immutable_when_sqlite_cannot_share_memory(tmp_path, monkeypatch):
    store = Store(tmp_path / "archive.db")
    store.put_article(make_article(), spans("One sentence. Two sentences."))
    store.close()
    opened = []
    connect = sqlite3.connect

    def unwritable_folder(target, *args, **kwargs):  # what SQLite says when it cannot create the -shm file
        opened.append(target)
        if "immutable=1" not in str(target):
            raise sqlite3.OperationalError("unable to open database file")
        return connect(target, *args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", unwritable_folder)
    reader = Store(tmp_path / "archive.db", read_only=True)
    assert reader.get("a1").title == "Title"
    assert "mode=ro" in opened[0] and "immutable=1" in opened[-1]


def test_a_read_only_store_opens_a_folder_whose_name_is_not_utf8(tmp_path):
    folder = tmp_path / os.fsdecode(b"caf\xe9 archive")
    Store(folder / "archive.db").put_article(make_article(), spans("One sentence. Two sentences."))
    assert Store(folder / "archive.db", read_only=True).get("a1").title == "Title"


def test_reading_an_archive_that_needs_a_migration_says_so_and_leaves_it(tmp_path, monkeypatch):
    Store(tmp_path / "archive.db").close()
    before = (tmp_path / "archive.db").read_bytes()
    newer = [*MIGRATIONS, lambda db: db.execute("CREATE TABLE later (x TEXT)")]  # as the next version's code
    monkeypatch.setattr(database, "MIGRATIONS", newer)
    with pytest.raises(ArchiveReadOnly, match="schema upgrade"):
        Store(tmp_path / "archive.db", read_only=True)
    assert (tmp_path / "archive.db").read_bytes() == before
    assert Store(tmp_path / "archive.db").schema_version() == len(newer), "a writing open migrates"


def test_reading_a_home_without_an_archive_creates_nothing(tmp_path):
    with pytest.raises(ArchiveUnavailable, match="archivist ingest"):
        Store(tmp_path / "nowhere" / "archive.db", read_only=True)
    assert not (tmp_path / "nowhere").exists()


def test_a_file_that_is_not_an_archive_is_a_named_error(tmp_path):
    path = tmp_path / "archive.db"
    path.write_bytes(os.urandom(4096))
    for read_only in (False, True):
        with pytest.raises(ArchiveCorrupt, match="damaged"):
            Store(path, read_only=read_only)


def test_a_home_under_a_regular_file_is_a_named_error(tmp_path):
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(ArchiveUnavailable, match="Not a directory"):
        Store(tmp_path / "file" / "home" / "archive.db")


def test_on_postgresql_a_read_only_store_reads_and_a_write_is_refused_in_one_sentence(postgres_server):
    url = postgres_server.new_database()
    Store(url).put_article(make_article(), spans("One sentence. Two sentences."))
    reader = Store(url, read_only=True)
    assert reader.get("a1").title == "Title" and reader.count("chunks") == 1
    with pytest.raises(ArchiveReadOnly, match="reading only"):
        reader.put_article(make_article("a2", body="Other."), spans("Other."))
    assert Store(url).count("articles") == 1


def test_on_postgresql_an_empty_database_is_no_archive_to_read_and_a_wrong_address_is_one_sentence(postgres_server):
    url = postgres_server.new_database()
    with pytest.raises(ArchiveUnavailable, match="no archive in postgresql://postgres@/archive_"):
        Store(url, read_only=True)
    assert Store(url).schema_version() == len(MIGRATIONS), "a writing open creates the tables"
    with pytest.raises(ArchiveUnavailable, match=r"PostgreSQL database at postgresql://who:\*\*\*@/nowhere"):
        Store(f"postgresql://who:secret@/nowhere?host={postgres_server.folder}")


def test_on_postgresql_two_processes_opening_a_new_archive_at_once_migrate_it_once(postgres_server):
    import threading

    url = postgres_server.new_database()
    errors = []

    def open_it():
        try:
            Store(url).close()
        except Exception as exc:  # noqa: BLE001 - the test reports what any thread raised
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert Store(url).db.conn.execute("SELECT COUNT(*) FROM _migrations").fetchone()[0] == len(MIGRATIONS)


def test_on_postgresql_vectors_stored_before_the_database_searched_them_are_found_after_the_upgrade(postgres_server):
    import numpy as np

    url = postgres_server.new_database()
    rng = np.random.default_rng(5)
    stored = {f"{n:032x}": rng.standard_normal(8).astype(np.float32) for n in range(50)}
    old = Store(url)
    old.put_vectors("m", list(stored.items()))
    with old.db.conn:  # the archive as migration 7 left it: vectors as bytes only
        old.db.conn.execute("ALTER TABLE vectors DROP COLUMN embedding")
        old.db.conn.execute("INSERT INTO vectors VALUES ('garbled', 'm', ?)", (b"\x00\x01\x02",))
        old.db.conn.execute(
            "INSERT INTO vectors VALUES ('not a number', 'm', ?)", (np.full(8, np.nan, np.float32).tobytes(),)
        )
        old.db.conn.execute("DELETE FROM _migrations WHERE number = 8")
    old.close()

    store = Store(url)
    assert store.schema_version() == len(MIGRATIONS)
    query = stored[f"{7:032x}"]
    assert store.nearest_vectors("m", query, 1) == [(f"{7:032x}", pytest.approx(1.0, abs=1e-6))]
    assert store.count("vectors") == 52, "vectors that cannot be searched are kept as they were"
    store.ensure_vector_search(8)
    assert len(store.nearest_vectors("m", query, 60)) == 50


def _connections_to(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as admin:
        return admin.execute(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()[0]


def test_on_postgresql_a_connection_the_server_dropped_is_replaced_before_the_next_read(postgres_server):
    url = postgres_server.new_database()
    store = Store(url)
    store.put_article(make_article(), spans("One sentence. Two sentences."))
    with psycopg.connect(url, autocommit=True) as admin:  # what a server restart or a failover does to a replica
        dropped = admin.execute(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "  # waits until it has ended
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    assert dropped, "the store held a connection"
    assert store.count("articles") == 1, "answered on a new connection, not with an error"
    store.put_article(make_article("a2", body="Other."), spans("Other."))
    assert store.count("articles") == 2
    store.close()


def test_on_postgresql_many_threads_share_a_bounded_pool_and_reads_pass_a_held_write(postgres_server):
    import threading

    from index.store.postgres import POOL_SIZE

    url = postgres_server.new_database()
    store = Store(url)
    store.put_article(make_article(), spans("One sentence. Two sentences."))
    writing, done = threading.Event(), threading.Event()

    def writer():
        with store.db.conn:  # a write transaction held open while the readers read
            store.db.conn.execute("BEGIN IMMEDIATE")
            store.db.conn.execute("UPDATE articles SET title = 'Held' WHERE id = 'a1'")
            writing.set()
            done.wait(30)

    counts, errors = [], []

    def reader():
        try:
            for _ in range(20):
                counts.append(store.count("articles"))
        except Exception as exc:  # noqa: BLE001 - the test reports what any thread raised
            errors.append(exc)

    held = threading.Thread(target=writer)
    held.start()
    assert writing.wait(10)
    readers = [threading.Thread(target=reader) for _ in range(3 * POOL_SIZE)]
    for thread in readers:
        thread.start()
    for thread in readers:
        thread.join(60)
    open_connections = _connections_to(url)
    done.set()
    held.join(10)
    assert not errors and counts == [1] * (3 * POOL_SIZE * 20)
    assert open_connections <= POOL_SIZE, "one process opens at most the pool's connections, however many threads"
    assert store.get("a1").title == "Held"
    store.close()
    deadline = time.monotonic() + 5  # a server process ends a moment after its client has gone
    while _connections_to(url) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _connections_to(url) == 0, "closing the store closes its connections"


def test_on_postgresql_a_reindex_keeps_its_connection_while_other_threads_borrow_from_the_pool(postgres_server):
    import threading

    from index.store.postgres import REINDEX_LOCK

    url = postgres_server.new_database()
    store = Store(url)
    borrowed, release, theirs = threading.Event(), threading.Event(), []

    def borrow():  # another thread of the process takes a connection from the pool and keeps it a while
        with store.db.conn:
            theirs.append(store.db.conn.execute("SELECT pg_backend_pid()").fetchone()[0])
            borrowed.set()
            release.wait(10)

    with store.reindex_lock() as held:
        assert held
        store.start_marking("vectors")  # a temp table: it lives on one connection only
        before = store.db.conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        other = threading.Thread(target=borrow)
        other.start()
        assert borrowed.wait(10)
        after = store.db.conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        assert store.mark("vectors", ["h"]) == ["h"], "the temp table is still this session's"
        with psycopg.connect(url, autocommit=True) as admin:
            lockers = admin.execute(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = %s", (REINDEX_LOCK,)
            ).fetchall()
        release.set()
        other.join(10)
        store.stop_marking("vectors")
    assert before == after != theirs[0], "the re-index's statements stay on the connection that holds its lock"
    assert lockers == [(before,)]
    store.close()
