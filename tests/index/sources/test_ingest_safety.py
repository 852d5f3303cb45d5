"""Nothing stored is lost or overwritten by ingestion: uploads survive --prune, a URL never lets one record
replace another, files that fail to read keep their articles, '#' in a name is not a record number, and two
ingests at once each report only what they wrote."""

import json
import os
import threading
from pathlib import Path

import pytest

from index.sources.ingest import IngestOptions, Upload, ingest
from index.store.database import Store

PRUNE = IngestOptions(prune=True)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "home" / "archive.db")
    yield s
    s.close()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def records(*bodies: str, url=None) -> str:
    return json.dumps([{"title": f"Story {n}", "body": body, "url": url} for n, body in enumerate(bodies, 1)])


def snapshot(store: Store) -> dict[str, tuple[str, str]]:
    return {a.id: (a.content_hash, a.origin) for a in store.list_articles()}


# -- 1. uploads ---------------------------------------------------------------------------------------
def test_uploaded_articles_survive_prune_and_reuploads_are_unchanged(store, tmp_path):
    write(tmp_path / "in" / "a.txt", "On disk\n\nA story kept in a file.")
    data = records("An uploaded story about the harbour.", "Another uploaded story about the bridge.").encode()
    first = ingest(store, [Upload("feed.json", data)])
    assert first.added == 2
    origins = sorted(a.origin for a in store.list_articles())
    assert all(o.startswith("upload:") and o.endswith(("#1", "#2")) for o in origins)
    ingest(store, [tmp_path / "in"])
    for paths in ([tmp_path / "in"], [tmp_path / "elsewhere.txt"], [Upload("other.txt", b"Other\n\nText here.")]):
        assert ingest(store, paths, PRUNE).pruned == 0
    assert len(store.list_articles()) == 4
    again = ingest(store, [Upload("renamed.json", data)], PRUNE)
    assert (again.added, again.updated, again.unchanged, again.pruned) == (0, 0, 2, 0)


def test_the_bots_ingest_path_gives_uploads_an_origin_prune_leaves_alone(tmp_path):
    from bot.cogs.moderation import _ingest_bytes
    from index.engine import Engine
    from index.settings import Settings

    engine = Engine(Settings(home=tmp_path / "home", model_cache=tmp_path / "cache"))
    try:
        report = _ingest_bytes(engine, "../new stories.txt", b"Uploaded headline\n\nUploaded through Discord.")
        assert report.added == 1
        (article,) = engine.store.list_articles()
        assert article.origin.startswith("upload:")
        write(tmp_path / "folder" / "x.txt", "Folder story\n\nFrom a folder.")
        assert engine.ingest([tmp_path / "folder"], prune=True).pruned == 0
        assert {a.title for a in engine.store.list_articles()} == {"Uploaded headline", "Folder story"}
    finally:
        engine.close()


# -- 2. URLs --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["N/A", "none", "", "#", "/news/story", "story.html", "ftp://x.org/a", "javascript:x"])
def test_placeholder_urls_are_not_identities(store, tmp_path, url):
    path = write(tmp_path / "feed.json", records("First body about rain.", "Second body about snow.", url=url))
    first = ingest(store, [path])
    assert first.added == 2 and not first.skipped
    assert all(a.url is None for a in store.list_articles())
    assert ingest(store, [path]).unchanged == 2


@pytest.mark.parametrize("kind", ["json", "csv", "two files"])
def test_two_bodies_claiming_one_url_are_never_one_article(store, tmp_path, kind):
    url = "https://news.example/story"
    if kind == "json":
        paths = [write(tmp_path / "feed.json", records("The first body.", "A different second body.", url=url))]
    elif kind == "csv":
        csv_text = f"title,body,url\nOne,The first body.,{url}\nTwo,A different second body.,{url}\n"
        paths = [write(tmp_path / "feed.csv", csv_text)]
    else:
        paths = [
            write(tmp_path / "a.json", records("The first body.", url=url)),
            write(tmp_path / "b.json", records("A different second body.", url=url)),
        ]
    report = ingest(store, paths)
    assert report.added == 1
    (conflict,) = report.skipped
    assert url in conflict.reason and "not stored over it" in conflict.reason
    (article,) = store.list_articles()
    assert article.body == "The first body."
    for _ in range(2):
        again = ingest(store, paths)
        assert (again.added, again.updated, again.unchanged) == (0, 0, 1) and len(again.skipped) == 1
        assert store.list_articles()[0].body == "The first body."


def test_the_same_record_twice_is_a_duplicate_not_an_update(store, tmp_path):
    url = "https://news.example/story"
    path = write(tmp_path / "feed.json", records("Same body.", "Same body.", url=url))
    assert (ingest(store, [path]).added, ingest(store, [path]).updated) == (1, 0)


def test_a_url_article_is_still_updated_from_its_own_file(store, tmp_path):
    url = "https://news.example/story"
    path = write(tmp_path / "feed.json", records("The first body.", url=url))
    ingest(store, [path])
    write(path, records("The corrected body.", url=url))
    assert ingest(store, [path]).updated == 1
    assert store.list_articles()[0].body == "The corrected body."


# -- 3. files that fail to read keep their articles under --prune ------------------------------------------
WXR = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:wp="http://wordpress.org/export/1.2/"><channel><title>Site</title>
{items}
</channel></rss>"""
ITEM = """<item><title>Post {n}</title><link>https://site.example/{n}</link>
<content:encoded><![CDATA[<p>Body of post number {n} with its own words.</p>]]></content:encoded>
<wp:post_type>post</wp:post_type><wp:status>publish</wp:status></item>"""


def wxr(count: int) -> str:
    return WXR.format(items="\n".join(ITEM.format(n=n) for n in range(1, count + 1)))


@pytest.mark.parametrize("cut", [0.3, 0.5, 0.9, 0.999])
def test_a_truncated_wordpress_export_is_refused_whole_and_prune_keeps_its_posts(store, tmp_path, cut):
    path = write(tmp_path / "site.xml", wxr(6))
    assert ingest(store, [path]).added == 6
    before = snapshot(store)
    text = wxr(6)
    write(path, text[: int(len(text) * cut)])
    report = ingest(store, [path], PRUNE)
    (problem,) = report.skipped
    assert "not well-formed XML at line" in problem.reason and "column" in problem.reason
    assert report.pruned == 0 and snapshot(store) == before


def test_a_wordpress_export_with_a_broken_tag_is_refused_with_its_line(tmp_path):
    from index.sources import read_file

    path = write(tmp_path / "site.xml", wxr(3).replace("<title>Post 2</title>", "<title>Post 2</titel>"))
    result = read_file(path)
    (problem,) = result.problems
    assert result.fatal and problem.reason == (
        "The WordPress export is not well-formed XML at line 7, column 28 "
        "(Opening and ending tag mismatch: title line 7 and titel), so none of it was read."
    )


@pytest.mark.parametrize(
    ("name", "broken"),
    [
        ("feed.json", '[{"title": "One", "body": "Body one."}, {"title": "Tw'),
        ("feed.jsonl", '{"title": "One", "body": "Body one."}\n{"title": "Tw'),
        ("feed.csv", 'title,body\nOne,Body one.\nTwo,"Body tw'),
        ("story.md", "---\na: &a [x]\nb: *a\n---\nBody"),
        ("story.txt", ""),
    ],
)
def test_prune_never_removes_articles_of_a_file_that_failed_to_read(store, tmp_path, name, broken):
    good = {
        "feed.json": records("Body one.", "Body two."),
        "feed.jsonl": '{"title": "One", "body": "Body one."}\n{"title": "Two", "body": "Body two."}\n',
        "feed.csv": "title,body\nOne,Body one.\nTwo,Body two.\n",
        "story.md": "# Story\n\nBody of the story.",
        "story.txt": "Story\n\nBody of the story.",
    }[name]
    path = write(tmp_path / "in" / name, good)
    write(tmp_path / "in" / "other.txt", "Other\n\nAnother story.")
    ingest(store, [tmp_path / "in"])
    before = snapshot(store)
    write(path, broken)
    report = ingest(store, [tmp_path / "in"], PRUNE)
    assert report.skipped and report.pruned == 0
    assert snapshot(store) == before


def test_prune_keeps_articles_of_a_folder_that_could_not_be_read(store, tmp_path, monkeypatch):
    write(tmp_path / "in" / "locked" / "a.txt", "Locked\n\nIn a folder that will be unreadable.")
    write(tmp_path / "in" / "b.txt", "Open\n\nIn a readable folder.")
    ingest(store, [tmp_path / "in"])
    real_scandir, real_lstat = os.scandir, os.lstat
    locked = tmp_path / "in" / "locked"

    def scandir(path):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    def lstat(path, *args, **kwargs):
        if Path(path).parent == locked:
            raise PermissionError(13, "Permission denied")
        return real_lstat(path, *args, **kwargs)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(os, "lstat", lstat)
    report = ingest(store, [tmp_path / "in"], PRUNE)
    assert report.pruned == 0 and len(store.list_articles()) == 2
    assert "Permission denied" in report.skipped[0].reason


def test_prune_still_removes_what_is_really_gone(store, tmp_path):
    write(tmp_path / "in" / "feed.json", records("Body one.", "Body two."))
    gone = write(tmp_path / "in" / "gone.txt", "Gone\n\nThis one goes.")
    ingest(store, [tmp_path / "in"])
    gone.unlink()
    write(tmp_path / "in" / "feed.json", records("Body one."))
    assert ingest(store, [tmp_path / "in"], PRUNE).pruned == 2
    assert [a.body for a in store.list_articles()] == ["Body one."]


# -- 7. '#' in file names ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["story#12.txt", "story#12", "a#1#2.md", "#3"])
def test_a_file_named_with_a_hash_and_digits_is_neither_pruned_nor_re_added(store, tmp_path, name):
    path = write(tmp_path / "in" / name, "Hash headline\n\nA file whose name holds a hash and digits.")
    assert ingest(store, [path], IngestOptions(format="text")).added == 1
    for _ in range(2):
        report = ingest(store, [path], IngestOptions(prune=True, format="text"))
        assert (report.added, report.pruned, report.unchanged) == (0, 0, 1)


def test_an_origin_stored_before_hashes_were_doubled_is_not_pruned(store, tmp_path):
    path = write(tmp_path / "in" / "story#12", "Old headline\n\nStored by an older version.")
    ingest(store, [path])
    with store.db.conn:
        store.db.conn.execute("UPDATE articles SET origin = ?", (str(path.resolve()),))
    report = ingest(store, [tmp_path / "in"], IngestOptions(prune=True, format="text"))
    assert report.pruned == 0 and len(store.list_articles()) == 1


# -- 14. concurrent ingests ----------------------------------------------------------------------------
def test_two_ingests_at_once_each_report_only_what_they_wrote(tmp_path):
    folder = tmp_path / "in"
    for number in range(40):
        write(folder / f"{number:02}.txt", f"Headline {number}\n\nStory number {number} has its own body text.")
    db = tmp_path / "home" / "archive.db"
    Store(db).close()
    reports = []
    start = threading.Barrier(2)

    def run():
        store = Store(db)
        start.wait()
        reports.append(ingest(store, [folder]))
        store.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sum(r.added for r in reports) == 40
    assert all(r.added + r.unchanged == 40 and r.updated == 0 for r in reports)
    store = Store(db)
    assert store.count("articles") == 40
    store.close()


# -- 6. memory ------------------------------------------------------------------------------------------
def test_an_ingest_holds_no_draft_it_read_while_it_stores_them_and_leaves_no_file_behind(store, tmp_path, monkeypatch):
    import gc

    import index.sources.ingest as ingesting
    from index.models import ArticleDraft

    bodies = [f"Dispatch {n}: the harbour reopened.\n\nSubscribe to our newsletter today" for n in range(6)]
    for n in range(3):
        write(tmp_path / "site" / f"part-{n}.json", records(*bodies[2 * n : 2 * n + 2]))
    held = []
    store_one = ingesting._store_one

    def watched_store(store, draft, *args):
        if not held:
            gc.collect()
            held.append(sum(type(thing) is ArticleDraft for thing in gc.get_objects()))
        assert "newsletter" not in draft.body, "a line six of six documents repeat is site chrome"
        return store_one(store, draft, *args)

    monkeypatch.setattr(ingesting, "_store_one", watched_store)
    before = sorted(p.name for p in store.path.parent.iterdir())
    assert ingest(store, [tmp_path / "site"]).added == 6
    assert held == [1], "the drafts read wait on disk, not in memory: only the one being stored is held"
    assert sorted(p.name for p in store.path.parent.iterdir()) == before
