"""kill -9 during `archivist sync`: the archive stays consistent and the next sync completes it."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from index.store.database import Store
from tests.index.sources.live.site import TestSite, many_posts

ARCHIVIST = [sys.executable, "-c", "from bot.cli import main; main()"]
POSTS = 250  # three pages of 100 from the REST API


def stored_articles(database) -> int:
    """Articles committed so far, read the way another process would (the sync holds its own connection)."""
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1.0) as conn:
            return conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet, or locked for a moment
        return 0


@pytest.mark.slow
def test_kill_9_during_sync_leaves_a_consistent_archive_that_the_next_sync_completes(tmp_path, model_cache):
    # Short posts keep the final indexing cheap; the requests are paced so the sync spans a few seconds.
    posts = [replace(p, paragraphs=[*p.paragraphs[:2], p.paragraphs[-1]]) for p in many_posts(POSTS)]
    site = TestSite(posts).start()
    home = tmp_path / "home"
    env = {
        **os.environ,
        "ARCHIVIST_HOME": str(home),
        "ARCHIVIST_MODEL_CACHE": str(model_cache),
        "ARCHIVIST_SENTENCE_VECTORS": "0",
        "ARCHIVIST_SOURCES_ALLOW_PRIVATE": "127.0.0.1",
        "ARCHIVIST_SOURCES_MIN_DELAY": "0.5",
        "HF_HUB_OFFLINE": "1",
    }

    def archivist(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*ARCHIVIST, *args], env=env, capture_output=True, text=True, timeout=600)

    try:
        assert archivist("sources", "add", site.base + "/").returncode == 0
        database = home / "archive.db"
        proc = subprocess.Popen([*ARCHIVIST, "sync"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while stored_articles(database) == 0 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL, "the sync finished before it was killed"

        store = Store(database)
        killed_at = store.count("articles")
        assert 0 < killed_at < POSTS, f"the kill landed after {killed_at} of {POSTS} posts"
        assert store.integrity_ok()
        half_stored = store.db.conn.execute(
            "SELECT COUNT(*) FROM articles a WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.article_id = a.id)"
        ).fetchone()[0]
        assert half_stored == 0, "every stored article has its chunks"
        dangling = store.db.conn.execute(
            "SELECT COUNT(*) FROM source_pages p WHERE p.article_id IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM articles a WHERE a.id = p.article_id)"
        ).fetchone()[0]
        assert dangling == 0, "no page state points at an article that was never stored"
        store.close()
        searched = archivist("search", "Dispatch 1 of the test site", "--json")
        assert searched.returncode == 0, searched.stderr

        finished = archivist("sync", "--json")
        assert finished.returncode == 0, finished.stderr
        (report,) = json.loads(finished.stdout)["sources"]
        assert report["errors"] == [] and report["added"] == POSTS - killed_at
        assert json.loads(finished.stdout)["indexed"] is not None

        store = Store(database)
        urls = [a.url for a in store.list_articles()]
        assert sorted(urls) == sorted(site.base + p.path for p in site.published()), "every post stored once"
        assert store.count("chunks") == sum(len(store.chunks_of(a.id)) for a in store.list_articles())
        store.close()
        last = posts[-1]
        hits = json.loads(archivist("search", last.paragraphs[-1], "--json").stdout)["hits"]
        assert hits and hits[0]["url"] == site.base + last.path
        again = json.loads(archivist("sync", "--json").stdout)["sources"][0]
        assert (again["added"], again["updated"], again["removed"]) == (0, 0, 0)
    finally:
        site.stop()
