"""A folder of hostile and broken inputs, made at test time, run through `archivist ingest` as a subprocess
on a home that already holds articles: no traceback, a reason for every bad entry, every good file stored,
and nothing stored before lost or changed."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

CLI = [sys.executable, "-c", "from bot.cli import main; main()"]
URL = "https://news.example/shared-url"


def archivist(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [*CLI, "--home", str(home), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env
    )


def stored(home: Path) -> dict[str, dict]:
    """Every stored article's listing row by id, as ``archivist articles list --json`` prints it."""
    listing = archivist(home, "articles", "list", "--json")
    assert listing.returncode == 0, listing.stderr
    rows = [json.loads(line) for line in listing.stdout.splitlines() if line.strip()]
    return {row["id"]: row for row in rows}


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


def wxr(items: int) -> str:
    body = "".join(
        f"<item><title>Post {n}</title><link>https://site.example/{n}</link>"
        f"<content:encoded><![CDATA[<p>WordPress post {n} says something of its own.</p>]]></content:encoded>"
        "<wp:post_type>post</wp:post_type><wp:status>publish</wp:status></item>\n"
        for n in range(1, items + 1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:wp="http://wordpress.org/export/1.2/">'
        f"<channel><title>Site</title>\n{body}</channel></rss>\n"
    )


GOOD = {
    "good/plain.txt": "Harbour storm\n\nThe storm closed the harbour for two days.",
    "good/notes.md": "---\ntitle: Council budget\nauthor: Desk\n---\nThe council passed its budget on Monday.",
    "good/feed.json": json.dumps(
        [
            {"title": "Bridge opens", "body": "The new bridge opened to traffic.", "url": "N/A"},
            {"title": "Bridge tolls", "body": "Tolls on the bridge start in May.", "url": "N/A"},
        ]
    ),
    "good/briefs.csv": "title,body,url\nLibrary,The library reopens next week.,https://news.example/library\n",
    "good/site.xml": wxr(2),
    "good/hash#12.txt": "Hash in the name\n\nA file whose name holds a hash and digits.",
}
GOOD_TITLES = {
    "Harbour storm",
    "Council budget",
    "Bridge opens",
    "Bridge tolls",
    "Library",
    "Post 1",
    "Post 2",
    "Hash in the name",
}


def build_corpus(root: Path, outside: Path) -> dict[str, str]:
    """Write the corpus; return each bad entry's name with a word its reason must contain."""
    for name, text in GOOD.items():
        write(root / name, text)
    nested = '{"title": "Deep", "body": ' + "[" * 900 + '"x"' + "]" * 900 + "}"
    bomb = "---\na: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + n)}: &{chr(98 + n)} [{', '.join(['*' + chr(97 + n)] * 9)}]\n" for n in range(8)
    )
    bad = {
        "bad/truncated.json": ('[{"title": "Cut", "body": "This JSON was cut off', "JSON"),
        "bad/truncated.csv": ('title,body\nCut,"This CSV was cut', "CSV"),
        "bad/truncated.xml": (wxr(5)[:700], "XML"),
        "bad/truncated.html": ("<html><head><title>Cut off befo", "HTML"),
        "bad/empty.txt": ("", "empty"),
        "bad/blank.md": ("   \n\n  ", "empty"),
        "bad/garbage.txt": (bytes(range(256)) * 40, "binary"),
        "bad/huge-line.txt": ("Huge\n\n" + "word " * 40_000, "line"),
        "bad/nested.json": (nested, "nested"),
        "bad/bomb.md": (bomb + "title: *i\n---\nBody.\n", "alias"),
        "bad/dupes.json": (
            json.dumps([{"body": "First claim to the URL.", "url": URL}, {"body": "Second claim.", "url": URL}]),
            "URL",
        ),
    }
    expected = {}
    for name, (data, word) in bad.items():
        write(root / name, data)
        expected[os.path.basename(name) + ("#2" if name.endswith("dupes.json") else "")] = word
    write(root / os.fsdecode(b"bad/name-\xff\xfe.txt"), "Bad name\n\nUnreadable name.")
    expected["name-\\xff\\xfe.txt"] = "UTF-8"
    os.mkfifo(root / "bad" / "pipe.txt")
    expected["pipe.txt"] = "regular file"
    write(outside / "secret.txt", "Secret\n\nA file outside the ingested folder.")
    (root / "bad" / "secret.txt").symlink_to(outside / "secret.txt")
    expected["secret.txt"] = "symbolic link"
    (root / "bad" / "inside.txt").symlink_to(root / "good" / "plain.txt")
    expected["inside.txt"] = "symbolic link"
    (root / "bad" / "root").symlink_to("/")
    expected["root"] = "symbolic link"
    (root / "bad" / "loop").symlink_to(root / "bad")
    expected["loop"] = "symbolic link"
    return expected


@pytest.fixture
def home(tmp_path) -> Path:
    """A home already holding articles, one of them uploaded through the bot."""
    from index.sources.ingest import Upload, ingest
    from index.store.database import Store

    home = tmp_path / "home"
    existing = tmp_path / "existing"
    write(existing / "old.txt", "Old story\n\nStored before the hostile run.")
    write(existing / "old.json", json.dumps([{"title": "Old record", "body": "An older record.", "url": URL}]))
    store = Store(home / "archive.db")
    ingest(store, [existing, Upload("upload.txt", b"Uploaded\n\nUploaded through the bot.")])
    store.close()
    return home


def test_hostile_corpus_is_ingested_without_losing_or_leaking_anything(tmp_path, home):
    corpus = tmp_path / "corpus"
    expected = build_corpus(corpus, tmp_path / "outside")
    before = stored(home)
    assert len(before) == 3
    run = archivist(home, "ingest", str(corpus), f"{corpus}/**/*.json", "--prune", "--json")
    assert "Traceback" not in run.stdout + run.stderr, run.stderr
    assert run.returncode == 0, run.stderr  # exit 1 only when nothing at all could be read
    report = json.loads(run.stdout)
    reasons = {Path(p["origin"]).name.replace("##", "#"): p["reason"] for p in report["skipped"] + report["failed"]}
    for name, word in expected.items():
        assert name in reasons, f"{name} was not reported; reported: {sorted(reasons)}"
        assert word.lower() in reasons[name].lower(), (name, reasons[name])
    assert report["pruned"] == 0 and report["added"] == len(GOOD_TITLES)
    after = stored(home)
    for aid, row in before.items():
        assert aid in after, f"{row['title']} was lost"
        assert (after[aid]["content_hash"], after[aid]["origin"]) == (row["content_hash"], row["origin"])
    titles = {row["title"] for row in after.values()}
    assert titles == GOOD_TITLES | {row["title"] for row in before.values()}
    assert not any(row["origin"].startswith(("/etc", "/proc", str(tmp_path / "outside"))) for row in after.values())


def test_nothing_readable_exits_non_zero_with_one_sentence(tmp_path, home):
    write(tmp_path / "only-bad" / "empty.txt", "")
    os.mkfifo(tmp_path / "only-bad" / "pipe.txt")
    run = archivist(home, "ingest", str(tmp_path / "only-bad"), f"{tmp_path}/missing-*.json")
    assert run.returncode == 1 and "Traceback" not in run.stdout + run.stderr
    assert "Nothing could be read" in run.stderr
