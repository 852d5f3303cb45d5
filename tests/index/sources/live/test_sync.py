"""Syncing the test site (real text, real site chrome) as an RSS feed, a WordPress REST API and a sitemap."""

from __future__ import annotations

import re
import time

import pytest

from index.errors import SourceError
from index.sources.live.detect import detect
from index.sources.live.fetch import AddressPolicy, FetchConfig, Fetcher
from index.sources.live.registry import Registry
from index.sources.live.sync import Syncer, SyncOptions
from index.store.database import Store
from tests.index.sources.live.site import COOKIE, FOOTER, NAV, Fault, Post, TestSite, many_posts, real_posts

POSTS = 12
PER_PAGE = 4  # three pages of WordPress posts
CHROME = ("Recent Posts", "Read More", COOKIE, FOOTER, NAV)
ENDPOINTS = {"rss": "/feed/", "wordpress": "/", "sitemap": "/sitemap.xml"}


@pytest.fixture
def site():
    server = TestSite(real_posts(POSTS), feed_size=POSTS).start()
    yield server
    server.stop()


@pytest.fixture
def store(archive_at):
    """The archive on each backend: the registry's pages, hosts and sources are stored in either."""
    archive = Store(archive_at)
    yield archive
    archive.close()


@pytest.fixture
def sqlite_store(tmp_path):
    """The archive for the tests of each kind of source: what they vary is fetching and reading, not storage."""
    archive = Store(tmp_path / "archive.db")
    yield archive
    archive.close()


def make_fetcher(wall=time.time, **changes) -> Fetcher:
    config = {"policy": AddressPolicy.parse("127.0.0.1"), "min_delay": 0.0, "timeout": 5.0, **changes}
    return Fetcher(FetchConfig(**config), wall=wall)


def add(store: Store, url: str, kind: str = "auto"):
    with make_fetcher() as fetcher:
        found = detect(fetcher, url, kind)
    return Registry(store).add(url, found.kind, found.name, found.endpoint)


def sync(store: Store, wall=time.time, **fetch_changes):
    with make_fetcher(wall, **fetch_changes) as fetcher:
        return Syncer(store, fetcher, SyncOptions(per_page=PER_PAGE)).sync()


def words(text: str) -> str:
    return " ".join(text.replace("\ufeff", "").split())


def by_url(store: Store) -> dict:
    return {a.url: a for a in store.list_articles()}


@pytest.mark.parametrize("kind", ["rss", "wordpress", "sitemap"])
def test_auto_detection_finds_each_kind(site, sqlite_store, kind):
    source = add(sqlite_store, site.base + ENDPOINTS[kind])
    assert source.kind == kind
    assert (
        source.endpoint
        == {
            "rss": site.base + "/feed/",
            "wordpress": site.base + "/wp-json/",
            "sitemap": site.base + "/sitemap.xml",
        }[kind]
    )


def test_a_site_without_any_source_is_refused_in_one_sentence(site, store):
    site.faults["/sitemap.xml"] = Fault(status=404)
    site.faults["/wp-json/"] = Fault(status=404)
    site.faults["/robots.txt"] = Fault(status=404)
    with pytest.raises(SourceError, match="^No RSS/Atom feed, WordPress REST API or sitemap was found at"):
        add(store, site.base + site.posts[2].path)


@pytest.mark.parametrize("kind", ["rss", "wordpress", "sitemap"])
def test_first_sync_stores_every_post_in_full_without_site_chrome(site, sqlite_store, kind):
    add(sqlite_store, site.base + ENDPOINTS[kind])
    (report,) = sync(sqlite_store)
    assert report.synced and report.errors == ()
    assert report.added == POSTS and report.new_articles == ()  # the backfill of a new source is never "new"
    stored = by_url(sqlite_store)
    assert len(stored) == POSTS
    for post in site.published():
        article = stored[site.base + post.path]
        assert article.title == post.title
        for paragraph in post.paragraphs:
            assert words(paragraph) in words(article.body)
        for chrome in CHROME:
            assert chrome not in article.body, (post.id, chrome)
        if kind != "sitemap":  # from a page alone, the byline is trafilatura's reading (it drops e-mail bylines)
            assert article.author == post.author
        assert article.published_at and article.published_at.startswith(f"{post.date:%Y-%m-%d}")
    if kind == "wordpress":
        assert len(site.requested("/wp-json/wp/v2/posts?per_page=4&page=3&orderby=modified")) == 1
        assert site.requested("/wp-json/wp/v2/posts?per_page=4&page=4&orderby=modified") == []
        assert {a.category for a in stored.values()} >= {p.category for p in site.published()}


@pytest.mark.parametrize("kind", ["rss", "wordpress", "sitemap"])
def test_second_sync_is_conditional_and_changes_nothing(site, sqlite_store, kind):
    add(sqlite_store, site.base + ENDPOINTS[kind])
    sync(sqlite_store)
    before = {a.id: (a.content_hash, a.updated_at) for a in sqlite_store.list_articles()}
    site.requests.clear()
    (report,) = sync(sqlite_store)
    assert report.synced and (report.added, report.updated, report.removed) == (0, 0, 0)
    assert report.not_modified >= 1
    asked = [(path, conditional) for path, conditional in site.requests if path != "/robots.txt"]
    assert asked and all(conditional for _, conditional in asked), asked
    assert {a.id: (a.content_hash, a.updated_at) for a in sqlite_store.list_articles()} == before


@pytest.mark.parametrize("kind", ["rss", "wordpress", "sitemap"])
def test_an_edited_post_is_updated_in_place(site, sqlite_store, kind):
    add(sqlite_store, site.base + ENDPOINTS[kind])
    sync(sqlite_store)
    post = site.posts[7]
    old = by_url(sqlite_store)[site.base + post.path]
    time.sleep(1.05)  # updated_at has one-second resolution
    site.edit(7, "Correction: an earlier version of this article misstated the date of the meeting.")
    (report,) = sync(sqlite_store)
    assert (report.added, report.updated, report.removed) == (0, 1, 0)
    assert report.new_articles == ()  # an edit is never announced
    new = by_url(sqlite_store)[site.base + post.path]
    assert new.id == old.id and new.first_seen == old.first_seen and new.updated_at > old.updated_at
    assert new.body.endswith("misstated the date of the meeting.")


@pytest.mark.parametrize("kind", ["rss", "wordpress", "sitemap"])
def test_a_deleted_post_is_removed(site, sqlite_store, kind):
    add(sqlite_store, site.base + ENDPOINTS[kind])
    sync(sqlite_store)
    gone = site.base + site.posts[5].path
    site.delete(5)
    (report,) = sync(sqlite_store)
    assert report.removed == 1 and report.errors == ()
    assert gone not in by_url(sqlite_store) and len(by_url(sqlite_store)) == POSTS - 1
    assert sqlite_store.count("chunks") == sum(len(sqlite_store.chunks_of(a.id)) for a in sqlite_store.list_articles())


@pytest.mark.parametrize("kind", ["rss", "wordpress", "sitemap"])
def test_a_new_post_is_reported_as_new_once(site, sqlite_store, kind):
    add(sqlite_store, site.base + ENDPOINTS[kind])
    sync(sqlite_store)
    site.publish(
        Post(
            99,
            "Harbour authority opens a second container terminal",
            ["The new terminal doubles capacity."] * 3,
            "Ana Ruiz",
            "business",
            ["ports"],
            site.posts[1].date,
            site.posts[1].date,
        )
    )
    (first,) = sync(sqlite_store)
    (second,) = sync(sqlite_store)
    assert first.added == 1 and len(first.new_articles) == 1
    assert sqlite_store.get(first.new_articles[0]).title == "Harbour authority opens a second container terminal"
    assert second.new_articles == () and second.added == 0


def test_robots_disallowed_pages_in_the_sitemap_are_never_requested(site, store):
    add(store, site.base + "/sitemap.xml")
    sync(store)
    sync(store)
    assert site.requested("/private/") == []
    assert all("/private/" not in (a.url or "") for a in store.list_articles())


def test_robots_txt_is_asked_for_conditionally_and_a_304_keeps_its_rules(site, store):
    source = add(store, site.base + "/sitemap.xml")
    sync(store)
    (host,) = Registry(store).hosts(source.id)
    assert host.origin == site.base and host.robots.etag and "Disallow: /private/" in host.robots.text
    site.requests.clear()
    site.publish(
        Post(
            50,
            "Ferry timetable changes",
            ["Ferries run hourly from May."] * 3,
            "Ana Ruiz",
            "local",
            [],
            *[site.posts[1].date] * 2,
        )
    )
    (report,) = sync(store)  # a fresh fetcher: only the kept copy knows the rules
    assert [(p, c) for p, c in site.requests if p == "/robots.txt"] == [("/robots.txt", True)]
    assert report.added == 1 and site.requested("/private/") == [], "the kept rules still hold"


def test_a_changed_robots_txt_replaces_the_kept_rules(site, store):
    source = add(store, site.base + "/sitemap.xml")
    sync(store)
    newest = Post(
        51,
        "Bridge closed for repairs",
        ["The bridge reopens in June."] * 3,
        "Li Wei",
        "local",
        [],
        *[site.posts[1].date] * 2,
    )
    site.publish(newest)
    site.extra_disallow = newest.path
    (report,) = sync(store)
    assert report.added == 0 and site.requested(newest.path) == []
    (host,) = Registry(store).hosts(source.id)
    assert f"Disallow: {newest.path}" in host.robots.text


def test_wordpress_resumes_after_a_sync_cut_short(site, store):
    """A sync that stops half-way (here: page 2 fails) keeps what it stored; the next one completes it."""
    add(store, site.base + "/")
    page_two = "/wp-json/wp/v2/posts?per_page=4&page=2&orderby=modified&order=asc&_embed=author%2Cwp%3Aterm"
    site.faults[page_two] = Fault(status=500, body=b"database error")
    (broken,) = sync(store)
    assert not broken.synced and "HTTP 500" in broken.errors[0].reason
    assert broken.added == PER_PAGE and len(by_url(store)) == PER_PAGE
    del site.faults[page_two]
    (fixed,) = sync(store)
    assert fixed.synced and fixed.added == POSTS - PER_PAGE and len(by_url(store)) == POSTS
    assert fixed.new_articles == ()  # still the backfill: the source had never synced whole


def test_a_broken_source_is_reported_and_the_others_sync_with_nothing_lost(site, store):
    broken = {
        "/malformed/feed/": Fault(body=b"<rss><channel><item><title>cut off"),
        "/error/feed/": Fault(status=500, body=b"Internal Server Error"),
        "/busy/feed/": Fault(status=429, headers={"Retry-After": "120"}, body=b"slow down"),
        "/slow/feed/": Fault(body=b"<rss>" + b" " * 20, delay=0.4, drip=10),
        "/huge/feed/": Fault(body=b"<rss>", huge=50_000_000),
    }
    for path in broken:
        add(store, site.base + path)
    add(store, site.base + "/")
    sync(store)
    count = store.count("articles")
    assert count == POSTS
    site.faults.update(broken)
    site.publish(
        Post(
            77,
            "Council approves the new cycle lanes",
            ["The vote was unanimous."] * 3,
            "Li Wei",
            "local",
            ["transport"],
            site.posts[1].date,
            site.posts[1].date,
        )
    )
    started = time.monotonic()
    reports = sync(store, timeout=1.0, max_bytes=20_000_000)
    assert time.monotonic() - started < 30
    reasons = {r.url.removeprefix(site.base): r.errors[0].reason for r in reports if not r.synced}
    assert set(reasons) == set(broken)
    assert "not readable RSS or Atom" in reasons["/malformed/feed/"] or "not an RSS" in reasons["/malformed/feed/"]
    assert "HTTP 500" in reasons["/error/feed/"]
    assert "HTTP 429; it asked to retry after 120" in reasons["/busy/feed/"]
    assert "took longer than 1 s" in reasons["/slow/feed/"]
    assert "larger than the 20 MB cap" in reasons["/huge/feed/"]
    (good,) = [r for r in reports if r.synced]
    assert good.kind == "wordpress" and good.added == 1
    assert store.count("articles") == count + 1
    statuses = {s.url.removeprefix(site.base): s.last_status for s in Registry(store).all()}
    assert statuses["/error/feed/"].startswith("failed:") and "HTTP 500" in statuses["/error/feed/"]


def test_a_feed_that_moved_permanently_is_followed_from_then_on(site, store):
    source = add(store, site.base + "/old/feed/")
    site.faults["/old/feed/"] = Fault(status=301, headers={"Location": "/feed/"})
    (report,) = sync(store)
    assert report.synced and Registry(store).get(source.id).endpoint == site.base + "/feed/"


def test_a_gone_feed_retires_its_source_and_keeps_its_articles(site, store):
    source = add(store, site.base + "/feed/")
    sync(store)
    site.faults["/feed/"] = Fault(status=410, body=b"gone")
    (report,) = sync(store)
    assert not report.synced and "410 Gone" in report.errors[0].reason
    assert Registry(store).get(source.id).retired and store.count("articles") == POSTS
    assert sync(store) == ()  # retired sources are not synced again


def test_removing_a_source_deletes_only_its_own_articles(site, store):
    feed = add(store, site.base + "/feed/")
    sitemap = add(store, site.base + "/sitemap.xml")
    sync(store)
    registry = Registry(store)
    assert registry.remove(feed.id, keep_articles=False) == 0  # the sitemap still lists every post
    assert registry.remove(sitemap.id, keep_articles=False) == POSTS
    assert store.count("articles") == 0 and registry.all() == []


def test_a_long_retry_after_is_remembered_and_the_site_skipped_until_then(site, store):
    other = TestSite(many_posts(3)).start()
    try:
        busy = add(store, site.base + "/feed/")
        add(store, other.base + "/feed/")
        site.faults["/feed/"] = Fault(status=429, headers={"Retry-After": "3600"}, body=b"slow down")
        first = sync(store)
        assert "answered HTTP 429; it asked to retry after 3600" in first[0].errors[0].reason
        (remembered,) = Registry(store).hosts(busy.id)
        assert remembered.origin == site.base and abs(remembered.not_before - (time.time() + 3600)) < 60
        del site.faults["/feed/"]
        site.requests.clear()
        second = sync(store)
        assert not second[0].synced and site.requests == [], "the site is left alone, robots.txt included"
        assert re.fullmatch(
            re.escape(site.base) + r" asked \(HTTP 429/503 with Retry-After\) not to be fetched before "
            r"\d{4}-\d\d-\d\d \d\d:\d\d UTC, so " + re.escape(site.base + "/feed/") + " is skipped until then.",
            second[0].errors[0].reason,
        )
        assert first[1].added == 3 and second[1].synced, "another site syncs as usual"
        later = sync(store, wall=lambda: time.time() + 3601)
        assert later[0].synced and later[0].added == POSTS and later[0].errors == ()
        assert [host.not_before for host in Registry(store).hosts(busy.id)] == [None]
    finally:
        other.stop()


def test_a_long_retry_after_on_one_page_spares_the_site_the_rest_of_the_sync(site, store):
    add(store, site.base + "/sitemap.xml")
    first_page = site.published()[0].path
    site.faults[first_page] = Fault(status=503, headers={"Retry-After": "7200"}, body=b"maintenance")
    (report,) = sync(store)
    assert report.added == 0 and len(report.errors) == POSTS + 1  # and the sitemap's robots-disallowed page
    assert len(site.requested("/20")) == 1, "one article page asked, the others skipped"
    assert all("skipped until then" in e.reason for e in report.errors[1:])
