"""Ingestion through the store: idempotence, updates, duplicates, pruning, bad input, crash safety."""

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from index.sources.ingest import IngestOptions, ingest, read_nothing
from index.store.database import Store
from tests.conftest import SEED_PAGE


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "home" / "archive.db")
    yield s
    s.close()


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_reingesting_unchanged_files_writes_nothing(store, tmp_path):
    write(tmp_path / "in" / "a.txt", "First headline\n\nSome body text. More body text.")
    write(tmp_path / "in" / "b.txt", "Second headline\n\nA different story entirely.")
    first = ingest(store, [tmp_path / "in"])
    assert (first.added, first.unchanged) == (2, 0)
    before = store.db.conn.total_changes
    again = ingest(store, [tmp_path / "in"])
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
    assert store.db.conn.total_changes == before


def test_a_changed_file_updates_its_article_and_chunks(store, tmp_path):
    path = write(tmp_path / "a.txt", "Headline\n\nOriginal body sentence.")
    ingest(store, [path])
    write(tmp_path / "a.txt", "Headline\n\nA corrected body sentence.")
    report = ingest(store, [path])
    assert report.updated == 1
    (article,) = store.list_articles()
    assert article.body == "A corrected body sentence."
    assert [c.text for c in store.chunks_of(article.id)] == ["A corrected body sentence."]


def test_near_exact_duplicates_collapse(store, tmp_path):
    write(tmp_path / "a.txt", "Headline\n\nThe same story, told once.")
    write(tmp_path / "copy.txt", "Headline\n\nthe SAME story -- told once!")
    report = ingest(store, [tmp_path])
    assert (report.added, report.duplicates) == (1, 1)


def test_prune_removes_articles_whose_file_disappeared(store, tmp_path):
    write(tmp_path / "in" / "a.txt", "Kept\n\nThis one stays.")
    gone = write(tmp_path / "in" / "b.txt", "Gone\n\nThis one goes.")
    ingest(store, [tmp_path / "in"])
    gone.unlink()
    assert ingest(store, [tmp_path / "in"]).pruned == 0, "without --prune nothing is removed"
    assert ingest(store, [tmp_path / "in"], IngestOptions(prune=True)).pruned == 1
    assert [a.title for a in store.list_articles()] == ["Kept"]


def test_bad_inputs_are_reported_per_file_and_good_ones_kept(store, tmp_path):
    folder = tmp_path / "mixed"
    write(folder / "good.txt", "Good headline\n\nA perfectly fine article.")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02\xff" * 100)
    (folder / "utf16.txt").write_bytes("UTF-16 headline\n\nBody in UTF-16.".encode("utf-16"))
    (folder / "cp1252.txt").write_bytes("Pound headline\n\nIt cost \xa3100.".encode("cp1252"))
    write(folder / "notarticles.json", json.dumps({"hello": [1, 2, 3]}))
    write(folder / "broken.html", "<html><head><title>Broken</title><body><p>Unclosed <b>markup<div>")
    write(folder / "huge.txt", "Huge\n\n" + "x" * 3000)
    write(folder / "chrome.txt", "Only chrome\n\nRecent Posts\n\nRead More")
    report = ingest(store, [folder, tmp_path / "missing-folder"], IngestOptions(max_bytes=2000))
    titles = {a.title for a in store.list_articles()}
    assert {"Good headline", "UTF-16 headline", "Pound headline"} <= titles
    assert (
        "It cost £100."
        in store.find_by_id(next(a.id for a in store.list_articles() if a.title == "Pound headline")).body
    )
    reasons = {os.path.basename(p.origin.split("#")[0]): p.reason for p in report.skipped + report.failed}
    for name in ("empty.txt", "binary.txt", "notarticles.json", "huge.txt", "missing-folder"):
        assert name in reasons and reasons[name], f"{name} needs a reason"
    assert not read_nothing(report)


def test_nothing_readable_is_reported_as_such(store, tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    report = ingest(store, [tmp_path / "empty.txt"])
    assert read_nothing(report) and report.skipped


@pytest.mark.slow
def test_multihop_corpus_loads_as_is_and_reloads_unchanged(store, datasets):
    corpus = datasets / "multihop_rag" / "corpus_train.json"
    report = ingest(store, [corpus])
    assert report.added == 609 and not report.skipped and not report.failed
    articles = store.list_articles()
    assert all(a.title and a.source and a.category for a in articles)
    assert all(a.published_at.endswith("+00:00") for a in articles)
    assert sum(1 for a in articles if a.author) >= 540
    before = store.db.conn.total_changes
    again = ingest(store, [corpus])
    assert again.unchanged == 609 and again.added == again.updated == 0
    assert store.db.conn.total_changes == before


@pytest.mark.slow
def test_bbc_folder_collapses_exact_duplicates_and_decodes_the_pound(store, datasets):
    folder = datasets / "bbc_news" / "bbc"
    files = sorted(folder.rglob("*.txt"))
    distinct = {f.read_bytes() for f in files if f.name != "README.TXT"}
    report = ingest(store, [folder])
    assert report.added == store.count("articles")
    assert report.added <= len(distinct) and report.added + report.duplicates >= len(distinct)
    sport_199 = [a for a in store.list_articles() if a.origin.endswith("sport/199.txt")]
    assert sport_199 and "£" in sport_199[0].body


def test_seed_page_keeps_the_article_and_drops_the_site_chrome(store):
    report = ingest(store, [SEED_PAGE])
    assert report.added == 1
    (article,) = store.list_articles()
    assert article.title == "Ukraine pessimistic about joining alliance as NATO meeting in Lithuania approaches"
    assert article.body.endswith(
        "It’s compulsory for all member states to join in to protect the country being attacked."
    )
    for chrome in ("Recent Posts", "This website uses cookies", "Read More", "Geopolitical Monitor", "Grammys 2026"):
        assert chrome not in article.body


KILL_SCRIPT = """
import sys
from index.store.database import Store
from index.sources.ingest import ingest
ingest(Store(sys.argv[1]), [sys.argv[2]])
"""


def _article_count(db) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
    finally:
        conn.close()


@pytest.mark.slow
def test_a_kill_during_ingestion_leaves_a_consistent_archive(tmp_path, datasets):
    rng = random.Random(1234)
    db = tmp_path / "archive.db"
    killed_while_writing = 0
    for _ in range(3):
        Store(db).close()
        before = _article_count(db)
        proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(db), str(datasets / "bbc_news" / "bbc")])
        deadline = time.monotonic() + 60
        while proc.poll() is None and _article_count(db) == before and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 1.0))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed_while_writing += 1
        proc.wait()
        store = Store(db)
        assert store.integrity_ok()
        for article in store.list_articles():
            chunks = store.chunks_of(article.id)
            assert chunks, f"{article.id} was stored without its chunks"
            assert all(article.body[c.start : c.end] == c.text for c in chunks)
        store.close()
    assert killed_while_writing >= 2
    store = Store(db)
    report = ingest(store, [datasets / "bbc_news" / "bbc"])
    assert not report.failed and store.count("articles") == report.added + report.unchanged + report.updated
