"""`archivist sources` and `archivist sync` as a user runs them, against the local test site."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bot.cli import cli
from tests.index.sources.live.site import Fault, TestSite, real_posts


@pytest.fixture
def site():
    server = TestSite(real_posts(6)).start()
    yield server
    server.stop()


@pytest.fixture
def run(tmp_path, model_cache, monkeypatch):
    monkeypatch.setenv("ARCHIVIST_MODEL_CACHE", str(model_cache))
    monkeypatch.setenv("ARCHIVIST_SOURCES_MIN_DELAY", "0")
    monkeypatch.setenv("ARCHIVIST_SOURCES_TIMEOUT_SECONDS", "2")
    runner = CliRunner()

    def invoke(*args: str, allow_local: bool = True):
        env = {"ARCHIVIST_SOURCES_ALLOW_PRIVATE": "127.0.0.1" if allow_local else ""}
        return runner.invoke(cli, ["--home", str(tmp_path / "home"), *args], env=env, catch_exceptions=False)

    return invoke


def test_a_local_source_is_refused_without_the_allow_list(run, site):
    result = run("sources", "add", site.base + "/feed/", allow_local=False)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.strip() == (
        "Error: 127.0.0.1 resolves to 127.0.0.1, which is not a public address, so it is not fetched "
        "(ARCHIVIST_SOURCES_ALLOW_PRIVATE can allow it)."
    )
    assert site.requests == []
    refused = run("sources", "add", "file:///etc/passwd")
    assert refused.exit_code == 1 and "Only http and https URLs are fetched, not file." in refused.output


@pytest.mark.slow
def test_sync_stores_indexes_and_removes_a_deleted_post_from_search_and_ask(run, site):
    added = json.loads(run("sources", "add", site.base + "/", "--json").output)
    assert (added["kind"], added["name"], added["endpoint"]) == (
        "wordpress",
        "The Test Gazette",
        site.base + "/wp-json/",
    )
    first = json.loads(run("sync", "--json").output)
    (source,) = first["sources"]
    assert source["added"] == 6 and source["errors"] == [] and first["indexed"]["total_vectors"] > 0
    listed = json.loads(run("sources", "list", "--json").output)
    assert listed["articles"] == 6 and listed["last_status"].startswith("6 added")

    doomed = site.posts[4]
    question = f"What happened in {doomed.title}?"
    hits = json.loads(run("search", doomed.title, "--json").output)["hits"]
    assert hits[0]["url"] == site.base + doomed.path

    again = json.loads(run("sync", "--json").output)
    assert again["sources"][0]["added"] == 0 and again["sources"][0]["not_modified"] >= 1
    assert again["indexed"] is None  # nothing changed, nothing to index

    site.delete(4)
    removed = json.loads(run("sync", "--json").output)
    assert removed["sources"][0]["removed"] == 1 and removed["indexed"] is not None
    hits = json.loads(run("search", doomed.title, "--json").output)["hits"]
    assert hits and all(h["url"] != site.base + doomed.path for h in hits)
    answer = json.loads(run("ask", question, "--json").output)
    assert all(q["url"] != site.base + doomed.path for q in answer["quotes"] + answer["related"])


def test_sync_exits_1_only_when_no_source_synced(run, site):
    run("sources", "add", site.base + "/feed/")
    run("sources", "add", site.base + "/sitemap.xml")
    site.faults["/feed/"] = Fault(status=500, body=b"down")
    partly = run("sync", "--no-index")
    assert partly.exit_code == 0
    assert "HTTP 500" in partly.output and "6 added" in partly.output
    site.faults["/sitemap.xml"] = Fault(status=503, headers={"Retry-After": "600"}, body=b"maintenance")
    broken = run("sync", "--no-index")
    assert broken.exit_code == 1 and broken.output.rstrip().endswith("Error: No source could be synced.")


def test_remove_deletes_the_sources_articles_unless_kept(run, site):
    run("sources", "add", site.base + "/feed/")
    run("sources", "add", site.base + "/sitemap.xml", "--name", "Gazette sitemap")
    run("sync", "--no-index")
    kept = run("sources", "remove", "1", "--keep-articles")
    assert kept.output.strip() == "Removed source 1; 0 of its articles deleted."
    listed = [json.loads(line) for line in run("sources", "list", "--json").output.splitlines()]
    assert [(s["id"], s["name"], s["articles"]) for s in listed] == [(2, "Gazette sitemap", 6)]
    missing = run("sources", "remove", "9")
    assert missing.exit_code == 1 and "There is no source 9" in missing.output
