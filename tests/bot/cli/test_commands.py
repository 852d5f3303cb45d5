"""`archivist` as a user runs it: stable JSON, one-sentence errors, exit codes."""

import json
import shutil
import sqlite3
from contextlib import closing

import pytest
from click.testing import CliRunner

from bot.cli import cli
from tests.index.present.samples import ESCAPES, controls


@pytest.fixture
def run(built_home, tmp_path, model_cache, monkeypatch):
    home = tmp_path / "home"
    shutil.copytree(built_home, home)
    monkeypatch.setenv("ARCHIVIST_MODEL_CACHE", str(model_cache))
    runner = CliRunner()

    def invoke(*args: str, color: bool = False):
        return runner.invoke(cli, ["--home", str(home), *args], catch_exceptions=False, color=color)

    invoke.home = home
    return invoke


def test_help_lists_every_command():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in ("ingest", "index", "search", "ask", "chat", "recent", "articles", "stats", "eval", "run"):
        assert name in result.output


def test_ingest_json_summary_and_rerun(run, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "story.md").write_text(
        "---\ntitle: Harbour cranes\n---\nCranes were installed.", encoding="utf-8"
    )
    (tmp_path / "in" / "empty.txt").write_bytes(b"")
    first = json.loads(run("ingest", str(tmp_path / "in"), "--json").output)
    assert first["added"] == 1 and first["skipped"][0]["origin"].endswith("empty.txt")
    again = json.loads(run("ingest", str(tmp_path / "in"), "--json").output)
    assert again["unchanged"] == 1 and again["added"] == 0


def test_ingest_of_nothing_readable_exits_non_zero_with_a_sentence(run, tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    result = run("ingest", str(tmp_path / "empty.txt"))
    assert result.exit_code == 1
    assert "Nothing could be read" in result.output and "Traceback" not in result.output


def test_unknown_article_is_one_sentence_not_a_traceback(run):
    result = run("articles", "show", "no-such-id")
    assert result.exit_code == 1 and "No article with id" in result.output and "Traceback" not in result.output


def test_ask_json_shape(run):
    data = json.loads(run("ask", "What does NATO's article 5 say?", "--json").output)
    assert {"question", "abstained", "quotes", "related", "as_of"} <= set(data)
    quote = data["quotes"][0]
    assert {"text", "article_id", "start", "end", "title", "url", "source", "published_at", "link"} <= set(quote)
    body = json.loads(run("articles", "show", quote["article_id"], "--json").output)["body"]
    assert body[quote["start"] : quote["end"]] == quote["text"]


def test_search_batch_mode_writes_one_json_line_per_query(run, tmp_path):
    queries = tmp_path / "q.txt"
    queries.write_text("FTX trial\n\nTaylor Swift bracelet\n", encoding="utf-8")
    lines = run("search", "--queries", str(queries), "--json", "-k", "3").output.strip().splitlines()
    assert [json.loads(line)["query"] for line in lines] == ["FTX trial", "Taylor Swift bracelet"]
    assert all(len(json.loads(line)["hits"]) == 3 for line in lines)


def test_recent_stats_and_articles_list(run):
    recent = [json.loads(line) for line in run("recent", "-n", "2", "--json").output.splitlines()]
    assert len(recent) == 2 and recent[0]["published_at"] >= recent[1]["published_at"]
    stats = json.loads(run("stats", "--json").output)
    assert stats["articles"] == 15 and stats["vectors"] == stats["chunks"] and stats["index_generation"] == 1
    listed = run("articles", "list", "--json").output.splitlines()
    assert len(listed) == 15 and "body" not in json.loads(listed[0])


def test_settings_markdown_matches_the_readme():
    from tests.conftest import ROOT

    table = CliRunner().invoke(cli, ["settings", "--markdown"]).output.strip()
    assert table in (ROOT / "README.md").read_text(encoding="utf-8")


def test_ingest_follows_symlinks_only_when_asked_and_only_inside_the_given_paths(tmp_path):
    folder = tmp_path / "in"
    (folder / "real").mkdir(parents=True)
    (folder / "real" / "story.txt").write_text("Linked story\n\nReached through a link.", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("Secret\n\nOutside the folder.", encoding="utf-8")
    (folder / "link.txt").symlink_to(folder / "real" / "story.txt")
    (folder / "secret.txt").symlink_to(tmp_path / "secret.txt")
    home = ["--home", str(tmp_path / "home")]
    plain = CliRunner().invoke(cli, [*home, "ingest", str(folder / "*.txt"), "--json"])
    assert plain.exit_code == 1, "nothing could be read"
    skipped = json.loads(plain.output.splitlines()[0])["skipped"]
    assert {p["origin"].rsplit("/", 1)[1] for p in skipped} == {"link.txt", "secret.txt"}
    result = CliRunner().invoke(cli, [*home, "ingest", str(folder / "*.txt"), "--follow-symlinks", "--json"])
    followed = json.loads(result.output)
    assert followed["added"] == 1
    (outside,) = followed["skipped"]
    assert outside["origin"].endswith("secret.txt") and "outside the given paths" in outside["reason"]


def test_article_text_cannot_drive_the_terminal_but_json_keeps_it_verbatim(run, tmp_path):
    escapes = "".join(ESCAPES)
    stored = {
        "title": f"Harbour cranes{escapes} arrive in Lisbon",
        "body": f"The harbour cranes arrived in Lisbon in May.{escapes}\n\nThe port paid $40m for the harbour cranes.",
        "author": f"Ann{escapes} Lee",
        "source": f"Harbour{escapes} Times",
        "published_at": "2023-11-02T08:00:00+00:00",
        "url": "https://news.example/cranes",
    }
    (tmp_path / "hostile.json").write_text(json.dumps([stored]), encoding="utf-8")
    assert json.loads(run("ingest", str(tmp_path / "hostile.json"), "--json").output)["added"] == 1
    assert run("index").exit_code == 0
    listed = [json.loads(line) for line in run("articles", "list", "--json").output.splitlines()]
    (article_id,) = [a["id"] for a in listed if a["url"] == stored["url"]]
    # color=True: click passes escapes through as it does to a terminal (to a pipe it strips only CSI colours)
    outputs = {
        "list": run("articles", "list", color=True).output,
        "show": run("articles", "show", article_id, color=True).output,
        "recent": run("recent", "-n", "20", color=True).output,
        "search": run("search", "harbour cranes Lisbon", color=True).output,
        "ask": run("ask", "When did the harbour cranes arrive in Lisbon?", color=True).output,
    }
    for name, output in outputs.items():
        assert controls(output) == [], (name, controls(output))
    assert "Harbour cranes arrive in Lisbon — Harbour Times / Ann Lee, 2 Nov 2023" in outputs["list"]
    assert outputs["show"].startswith("Harbour cranes arrive in Lisbon\nHarbour Times / Ann Lee, 2 Nov 2023\n")
    assert "Harbour cranes arrive in Lisbon" in outputs["search"] and "Lisbon" in outputs["ask"]
    shown = run("articles", "show", article_id, "--json").output
    assert controls(shown.rstrip("\n")) == []  # escaped as \\u001b, \\u009b, …
    data = json.loads(shown)
    with closing(sqlite3.connect(run.home / "archive.db")) as db:
        row = db.execute("SELECT title, body, author, source FROM articles WHERE id = ?", (article_id,)).fetchone()
    assert (data["title"], data["body"], data["author"], data["source"]) == row  # exactly what is stored
    assert "\x1b]0;pwned\x07" in data["title"] and "\x9b31m" in data["body"]  # which keeps the escapes
    for line in [
        *run("articles", "list", "--json").output.splitlines(),
        run("ask", "When did the harbour cranes arrive in Lisbon?", "--json").output.rstrip("\n"),
        run("search", "harbour cranes Lisbon", "--json").output.rstrip("\n"),
    ]:
        assert controls(line) == []
        json.loads(line)
