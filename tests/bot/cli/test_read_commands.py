"""Reading commands never write: they answer from the last index generation, on a busy or read-only archive."""

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from tests.bot.cli.test_bad_input import archive_digest
from tests.conftest import ROOT


@pytest.fixture
def home(built_home, tmp_path, model_cache, monkeypatch):
    home = tmp_path / "home"
    shutil.copytree(built_home, home)
    monkeypatch.setenv("ARCHIVIST_MODEL_CACHE", str(model_cache))
    return home


def invoke(home, *args: str):
    result = CliRunner().invoke(cli, ["--home", str(home), *args], catch_exceptions=False)
    return result


def ingest_new_story(home, tmp_path) -> str:
    folder = tmp_path / "new"
    folder.mkdir()
    (folder / "quay.txt").write_text(
        "Zanzibar quay reopens\n\nThe Zanzibar quay reopened with twelve new harbour cranes on Monday.",
        encoding="utf-8",
    )
    report = json.loads(invoke(home, "ingest", str(folder), "--json").stdout)
    assert report["added"] == 1
    return "Zanzibar quay harbour cranes"


def test_search_and_ask_answer_from_the_last_generation_while_an_index_runs(home, tmp_path):
    query = ingest_new_story(home, tmp_path)
    before = archive_digest(home)
    with open(home / "index" / "index.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as `archivist index` in another process holds it
        started = time.monotonic()
        searched = invoke(home, "search", query, "--json")
        asked = invoke(home, "ask", "When did the Zanzibar quay reopen?")
        elapsed = time.monotonic() - started
    assert searched.exit_code == 0 and asked.exit_code == 0, searched.output + asked.output
    data = json.loads(searched.stdout)
    assert data["pending_articles"] == 1
    assert data["hits"] and not any("Zanzibar" in hit["title"] for hit in data["hits"])
    note = "Note: 1 newer article awaits indexing"
    assert note in searched.stderr and note in asked.stderr and note not in asked.stdout
    assert elapsed < 30, f"reading took {elapsed:.1f}s"
    assert archive_digest(home) == before, "a reading command wrote to the archive"

    assert invoke(home, "index").exit_code == 0
    data = json.loads(invoke(home, "search", query, "--json").stdout)
    assert data["pending_articles"] == 0 and "Zanzibar" in data["hits"][0]["title"]


def test_a_changed_article_is_searched_as_indexed_until_the_next_index(home, tmp_path):
    listed = [json.loads(line) for line in invoke(home, "articles", "list", "--json").stdout.splitlines()]
    seed = next(a for a in listed if a["origin"].endswith("seed-article.txt"))
    changed = tmp_path / "seed-article.txt"
    body = json.loads(invoke(home, "articles", "show", seed["id"], "--json").stdout)["body"]
    changed.write_text(f"{seed['title']}\n\n{body} A closing sentence about Zanzibar quays.", encoding="utf-8")
    invoke(home, "ingest", str(changed))
    data = json.loads(invoke(home, "search", "Zanzibar quays", "--json").stdout)
    assert data["pending_articles"] >= 1
    for hit in data["hits"]:  # every hit quotes the stored text at its offsets, none the unindexed new text
        shown = json.loads(invoke(home, "articles", "show", hit["article_id"], "--json").stdout)["body"]
        assert shown[hit["start"] : hit["end"]] == hit["text"] and "Zanzibar" not in hit["text"]


def _read_only_copy(home: Path, folder: Path) -> Path:
    """A copy of ``home`` whose files and folders nobody may write."""
    copy = folder / "home"
    shutil.copytree(home, copy)
    (folder / "story.txt").write_text("Cranes\n\nHarbour cranes were installed.", encoding="utf-8")
    for path in [folder / "story.txt", *copy.rglob("*"), copy]:
        os.chmod(path, 0o555 if path.is_dir() else 0o444)
    return copy


def _archivist(*args: str) -> subprocess.CompletedProcess:
    """`archivist` in a process that file permissions bind (root keeps them too, without its override powers)."""
    command = [sys.executable, "-c", "from bot.cli import main; main()", *args]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: file permissions cannot bind this process")
        command = [setpriv, "--bounding-set", "-dac_override,-dac_read_search,-fowner", "--", *command]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "command",
    [["stats", "--json"], ["articles", "list", "--json"], ["recent", "-n", "3"], ["search", "NATO", "--json"]],
)
def test_a_read_only_home_serves_reading_commands_and_refuses_writing_in_one_sentence(home, tmp_path, command):
    copy = _read_only_copy(home, tmp_path / "mounted-backup")
    try:
        before = archive_digest(copy)
        files = sorted(p.name for p in copy.rglob("*"))
        proc = _archivist("--home", str(copy), *command)
        assert proc.returncode == 0 and proc.stdout.strip(), proc.stderr
        assert "readonly" not in proc.stderr and "Traceback" not in proc.stderr
        writing = _archivist("--home", str(copy), "ingest", str(copy.parent / "story.txt"))
        assert writing.returncode == 1 and "Traceback" not in writing.stderr
        assert writing.stderr.strip().splitlines() == [writing.stderr.strip()], writing.stderr
        assert "read-only" in writing.stderr or "Cannot write" in writing.stderr, writing.stderr
        assert archive_digest(copy) == before and sorted(p.name for p in copy.rglob("*")) == files
    finally:
        for path in [copy, *copy.rglob("*")]:
            os.chmod(path, 0o755)
