"""`archivist` as a user runs it: stable JSON, one-sentence errors, exit codes."""

import json
import shutil

import pytest
from click.testing import CliRunner

from bot.cli import cli


@pytest.fixture
def run(built_home, tmp_path, model_cache, monkeypatch):
    home = tmp_path / "home"
    shutil.copytree(built_home, home)
    monkeypatch.setenv("ARCHIVIST_MODEL_CACHE", str(model_cache))
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, ["--home", str(home), *args], catch_exceptions=False)

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
