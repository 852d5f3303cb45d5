"""Hostile and mistaken input through the real `archivist` CLI: one sentence on stderr, exit 1, nothing changed."""

import errno
import hashlib
import json
import shutil
import sqlite3
import time

import pytest
from click.testing import CliRunner

from bot.cli import cli
from index.store.database import Store


@pytest.fixture
def home(built_home, tmp_path, model_cache, monkeypatch):
    home = tmp_path / "home"
    shutil.copytree(built_home, home)
    monkeypatch.setenv("ARCHIVIST_MODEL_CACHE", str(model_cache))
    for name in ("ARCHIVIST_CONFIG", "ARCHIVIST_CHUNK_TOKENS", "ARCHIVIST_MAX_FILE_MB"):
        monkeypatch.delenv(name, raising=False)
    return home


def invoke(home, *args: str):
    """The CLI as a user runs it; an exception escaping it (a traceback) fails the test."""
    return CliRunner().invoke(cli, ["--home", str(home), *args], catch_exceptions=False)


def archive_digest(home) -> str:
    """What is stored: every article row and every index generation, by content."""
    conn = sqlite3.connect(home / "archive.db")
    try:
        rows = conn.execute("SELECT * FROM articles ORDER BY id").fetchall()
        rows += conn.execute("SELECT * FROM chunks ORDER BY id").fetchall()
        rows += conn.execute("SELECT * FROM index_generations ORDER BY generation").fetchall()
    finally:
        conn.close()
    files = sorted((p.name, p.read_bytes()) for p in (home / "index").glob("vectors-*"))
    return hashlib.sha256(repr((rows, files)).encode("utf-8", "surrogatepass")).hexdigest()


def refused(result, *phrases: str) -> None:
    """Exit 1 with one sentence naming the problem, and no traceback."""
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert all(phrase in result.output for phrase in phrases), result.output


@pytest.mark.parametrize("command", ["search", "ask"])
@pytest.mark.parametrize(
    ("options", "phrase"),
    [
        (["--after", "notadate"], "“after” must be a date like 2023-11-12."),
        (["--before", "2023-13-45"], "“before” must be a date"),
        (["--after", "2023-12-01", "--before", "2023-11-01"], "“after” must come before “before”."),
        (["--after", "2023-11-01", "--before", "2023-11-01"], "“after” must come before “before”."),
    ],
)
def test_bad_date_filters_are_refused_with_one_sentence(home, command, options, phrase):
    refused(invoke(home, command, "NATO", *options), phrase)


@pytest.mark.parametrize("k", ["-3", "0", "100000"])
def test_an_unusable_result_count_is_refused(home, k):
    refused(invoke(home, "search", "NATO", "-k", k), "between 1 and 100", k)


def test_a_one_megabyte_question_is_refused_at_once(home, tmp_path):
    started = time.monotonic()
    refused(invoke(home, "ask", "why " * 250_000), "999,999 characters", "at most 1,000")
    refused(invoke(home, "search", "x" * 1001), "at most 1,000")
    questions = tmp_path / "q.txt"
    questions.write_text("What does NATO's article 5 say?\n" + "why " * 2000 + "\n", encoding="utf-8")
    refused(invoke(home, "ask", "--questions", str(questions)), "at most 1,000")
    assert time.monotonic() - started < 5


def test_invalid_utf8_in_arguments_is_one_sentence(home):
    # What Python makes of a command-line argument holding the byte 0xff (os.fsdecode: a lone surrogate).
    bad = b"NATO \xff treaty".decode("utf-8", "surrogateescape")
    refused(invoke(home, "search", bad), "not UTF-8")
    refused(invoke(home, "ask", bad), "not UTF-8")
    refused(invoke(home, "search", "NATO", "--source", bad), "not UTF-8")


@pytest.mark.parametrize("option", ["--questions", "--queries"])
def test_a_batch_file_that_is_not_utf8_is_refused_before_anything_is_answered(home, tmp_path, option):
    batch = tmp_path / "batch.txt"
    batch.write_bytes(b"What does NATO's article 5 say?\nFTX \xff\xfe trial\n")
    command = "ask" if option == "--questions" else "search"
    refused(invoke(home, command, option, str(batch)), "not UTF-8 text")


@pytest.mark.parametrize("command", [["stats"], ["search", "NATO"], ["ingest", "nothing.txt"], ["index"]])
def test_a_home_that_cannot_be_created_is_one_sentence(tmp_path, command):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    result = invoke(blocker / "home", *command)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert blocker.read_text(encoding="utf-8") == "not a folder"


@pytest.mark.parametrize(
    "content",
    [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", b"chunk_tokens = [unclosed", b"home = 'x'\nhome = 'y'\n"],
)
def test_a_broken_or_binary_config_file_is_one_sentence(home, tmp_path, monkeypatch, content):
    config = tmp_path / "archivist.toml"
    config.write_bytes(content)
    monkeypatch.setenv("ARCHIVIST_CONFIG", str(config))
    refused(invoke(home, "stats"), str(config))


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ARCHIVIST_MAX_FILE_MB", "inf"),
        ("ARCHIVIST_MAX_FILE_MB", "nan"),
        ("ARCHIVIST_COOLDOWN_SECONDS", "NaN"),
        ("ARCHIVIST_PROGRESS_INTERVAL_SECONDS", "-inf"),
        ("ARCHIVIST_HNSW_THRESHOLD", "1e999"),
    ],
)
def test_infinite_or_nan_settings_are_refused(home, monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    refused(invoke(home, "stats"), variable)


def test_inf_in_a_toml_file_is_refused(home, tmp_path, monkeypatch):
    config = tmp_path / "archivist.toml"
    config.write_text("hnsw_threshold = inf\n", encoding="utf-8")
    monkeypatch.setenv("ARCHIVIST_CONFIG", str(config))
    refused(invoke(home, "stats"), "hnsw_threshold")


@pytest.mark.parametrize("value", ["257", "1000", "100000"])
def test_chunks_larger_than_the_embedder_reads_are_refused(home, tmp_path, monkeypatch, value):
    monkeypatch.setenv("ARCHIVIST_CHUNK_TOKENS", value)
    (tmp_path / "story.txt").write_text("Cranes\n\nHarbour cranes were installed.", encoding="utf-8")
    before = archive_digest(home)
    refused(invoke(home, "ingest", str(tmp_path / "story.txt")), "ARCHIVIST_CHUNK_TOKENS must be at most 256")
    assert archive_digest(home) == before


@pytest.mark.parametrize("damage", ["garbage", "header", "truncated"])
def test_a_corrupted_database_is_one_sentence_and_left_as_it_was(home, tmp_path, damage):
    db = home / "archive.db"
    data = bytearray(db.read_bytes())
    if damage == "garbage":
        data = bytearray(b"\x00garbage, not SQLite\xff" * 200)
    elif damage == "header":
        data[:16] = b"Not SQLite fmt\x00\x00"
    else:
        data = data[: len(data) // 3]
    db.write_bytes(bytes(data))
    for command in (["stats"], ["search", "NATO"], ["articles", "list"], ["ingest", str(tmp_path)], ["index"]):
        result = invoke(home, *command)
        assert result.exit_code == 1 and "Traceback" not in result.output, (command, result.output)
        assert len(result.output.strip().splitlines()) == 1, (command, result.output)
    assert db.read_bytes() == bytes(data)


def test_disk_full_during_ingest_is_one_sentence_and_keeps_the_archive(home, tmp_path, monkeypatch):
    before = archive_digest(home)
    connect = Store.db.fget

    def full_disk(store):
        db = connect(store)
        pages = db.conn.execute("PRAGMA page_count").fetchone()[0]
        db.conn.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own SQLITE_FULL once the file must grow
        return db

    monkeypatch.setattr(Store, "db", property(full_disk))
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "big.txt").write_text("Big story\n\n" + "A long sentence about cranes.\n" * 20_000, "utf-8")
    refused(invoke(home, "ingest", str(tmp_path / "in")), "disk")
    monkeypatch.undo()
    assert archive_digest(home) == before


def test_disk_full_while_writing_the_index_is_one_sentence_and_keeps_the_generation(home, monkeypatch):
    from index.indexing import vectors

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    before = archive_digest(home)
    monkeypatch.setattr(vectors.os, "fsync", no_space)
    refused(invoke(home, "index", "--full"), "The disk is full")
    monkeypatch.undo()
    assert archive_digest(home) == before
    assert not [p for p in (home / "index").iterdir() if p.name.startswith(".")], "no temp file left"
    stats = json.loads(invoke(home, "stats", "--json").output)
    assert stats["index_generation"] == 1


@pytest.mark.parametrize("depth", [900, 100_000])
def test_deeply_nested_json_is_a_skipped_file_not_a_traceback(home, tmp_path, depth):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * depth + '{"title": "t", "body": "b"}' + "]" * depth, encoding="utf-8")
    lines = tmp_path / "deep.jsonl"
    lines.write_text(
        '{"title": "Fine", "body": "A fine body about cranes."}\n' + "[" * depth + "]" * depth + "\n", "utf-8"
    )
    before = archive_digest(home)
    result = invoke(home, "ingest", str(deep), "--json")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert archive_digest(home) == before
    report = json.loads(invoke(home, "ingest", str(lines), "--json").stdout)
    assert report["added"] == 1 and len(report["skipped"]) + len(report["failed"]) == 1, report
