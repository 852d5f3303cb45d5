"""A news site on 127.0.0.1 built from real text, serving what a WordPress site serves.

Posts come from the seed page (data/seed-article.txt) and MultiHop-RAG articles (data/multihop_rag_slice.json).
Every article page wraps its paragraphs in the seed page's site chrome (navigation, a "Recent Posts" sidebar of
"Read More" teasers, a cookie notice, a footer). The site serves:

* ``/`` with the ``Link: <…/wp-json/>; rel="https://api.w.org/"`` header, ``/feed/`` (RSS 2.0, summaries
  only, the ``feed_size`` newest posts), ``/wp-json/wp/v2/posts`` (paged, ``modified_after``, ``_fields=id``,
  ``_embed`` for author and terms), ``/sitemap.xml`` (an index) and ``/post-sitemap.xml`` (with lastmod),
  ``/robots.txt`` disallowing ``/private/``, and every post page at ``/YYYY/MM/DD/slug/``;
* ETag and Last-Modified on every answer, 304 for a matching conditional request;
* ``faults``: a path (with or without its query) mapped to a misbehaviour (status, slow, huge, malformed,
  redirect).

Every request is recorded (method, path, conditional or not). The server listens on 127.0.0.1 only and is
stopped by the test.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

DATA = Path(__file__).resolve().parents[4] / "data"
SEED_CHROME_HEADINGS = ("Recent Posts", "Read More", "This website uses cookies")
NAV = "Home | World | Politics | Technology | About us | Contact"
FOOTER = "© 2026 The Test Gazette. All rights reserved. Privacy policy."
COOKIE = "This website uses cookies."
BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Post:
    id: int
    title: str
    paragraphs: list[str]
    author: str
    category: str
    tags: list[str]
    date: datetime
    modified: datetime
    status: str = "publish"

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")[:60] or f"post-{self.id}"

    @property
    def path(self) -> str:
        return f"/{self.date:%Y/%m/%d}/{self.slug}/"

    def content_html(self) -> str:
        return "".join(f"<p>{html.escape(p)}</p>\n" for p in self.paragraphs)


def real_posts(count: int) -> list[Post]:
    """The seed article and the first ``count - 1`` MultiHop-RAG articles, dated a day apart."""
    seed = (DATA / "seed-article.txt").read_text(encoding="utf-8")
    seed_paragraphs = [p.strip() for p in seed.split("\n\n") if p.strip()]
    seed_body = seed_paragraphs[1 : seed_paragraphs.index("Recent Posts")]
    records = [
        {"title": seed_paragraphs[0], "body": "\n\n".join(seed_body), "author": "Daniel Hart", "category": "world"}
    ]
    records += json.loads((DATA / "multihop_rag_slice.json").read_text(encoding="utf-8"))
    posts = []
    for number, record in enumerate(records[:count], start=1):
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n|\n", record["body"]) if len(p.strip()) > 1]
        when = BASE_TIME + timedelta(days=number, minutes=number)
        posts.append(
            Post(
                id=number,
                title=record["title"],
                paragraphs=paragraphs,
                author=record.get("author") or "Staff",
                category=record.get("category") or "news",
                tags=["tag-" + (record.get("category") or "news")],
                date=when,
                modified=when,
            )
        )
    return posts


def many_posts(count: int) -> list[Post]:
    """``count`` distinct posts: the real ones repeated, each with a numbered dispatch line, one a minute."""
    real = real_posts(96)
    posts = []
    for number in range(count):
        base = real[number % len(real)]
        dispatch = f"Dispatch {number + 1} of the test site, filed from the archive desk."
        when = BASE_TIME + timedelta(minutes=number)  # distinct dates, slugs and addresses
        posts.append(
            replace(
                base,
                id=number + 1,
                title=f"No. {number + 1}: {base.title}",
                paragraphs=[*base.paragraphs, dispatch],
                date=when,
                modified=when,
            )
        )
    return posts


@dataclass
class Fault:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0  # seconds before each of ``drip`` parts of the body
    drip: int = 1
    huge: int = 0  # bytes of filler streamed after the body


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        """Quiet: the fetcher hangs up on slow and huge answers on purpose."""


class TestSite:
    """The site's state (posts, faults) and its HTTP server."""

    __test__ = False

    def __init__(self, posts: list[Post], *, feed_size: int = 10) -> None:
        self.posts = {post.id: post for post in posts}
        self.feed_size = feed_size
        self.faults: dict[str, Fault] = {}
        self.requests: list[tuple[str, bool]] = []  # (path with query, conditional?)
        self.extra_disallow = "/private/"
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> TestSite:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- changes a test makes -------------------------------------------------------------------
    def edit(self, post_id: int, paragraph: str) -> None:
        with self._lock:
            post = self.posts[post_id]
            post.paragraphs.append(paragraph)
            post.modified = max(p.modified for p in self.posts.values()) + timedelta(minutes=1)

    def delete(self, post_id: int) -> None:
        with self._lock:
            del self.posts[post_id]

    def publish(self, post: Post) -> None:
        with self._lock:
            newest = max(p.modified for p in self.posts.values())
            post.date = post.modified = newest + timedelta(minutes=1)
            self.posts[post.id] = post

    def requested(self, prefix: str) -> list[str]:
        return [path for path, _ in self.requests if path.startswith(prefix)]

    def conditional_share(self) -> tuple[int, int]:
        """(conditional requests, all requests) since the counter was last cleared."""
        return sum(1 for _, conditional in self.requests if conditional), len(self.requests)

    # -- documents ------------------------------------------------------------------------------
    def published(self) -> list[Post]:
        return sorted((p for p in self.posts.values() if p.status == "publish"), key=lambda p: p.date)

    def page(self, post: Post) -> str:
        others = [p for p in reversed(self.published()) if p.id != post.id][:5]
        sidebar = "".join(
            f"<li><h4><a href='{o.path}'>{html.escape(o.title)}</a></h4><p>{html.escape(o.paragraphs[0][:120])}"
            f"… <a href='{o.path}'>Read More</a></p><time>{o.date:%B %d, %Y}</time></li>"
            for o in others
        )
        return (
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(post.title)} - The Test Gazette</title>"
            f"<meta property='og:title' content='{html.escape(post.title)}'>"
            f"<meta property='og:site_name' content='The Test Gazette'>"
            f"<meta name='author' content='{html.escape(post.author)}'>"
            f"<meta property='article:published_time' content='{post.date.isoformat()}'>"
            f"<link rel='canonical' href='{self.base}{post.path}'></head><body>"
            f"<header><nav>{NAV}</nav></header><main><article><h1>{html.escape(post.title)}</h1>"
            f"<div class='entry-content'>{post.content_html()}</div></article></main>"
            f"<aside><h3>Recent Posts</h3><ul>{sidebar}</ul></aside>"
            f"<div class='cookie'>{COOKIE} <a href='/privacy'>Read More</a></div>"
            f"<footer>{FOOTER}</footer></body></html>"
        )

    def feed(self) -> str:
        newest = list(reversed(self.published()))[: self.feed_size]
        build = max((p.modified for p in self.posts.values()), default=BASE_TIME)
        items = "".join(
            f"<item><title>{html.escape(p.title)}</title><link>{self.base}{p.path}</link>"
            f"<guid isPermaLink='false'>{self.base}/?p={p.id}</guid><pubDate>{format_datetime(p.date)}</pubDate>"
            f"<dc:creator>{html.escape(p.author)}</dc:creator><category>{html.escape(p.category)}</category>"
            f"<description>{html.escape(p.paragraphs[0][:200])} [&#8230;]</description></item>"
            for p in newest
        )
        return (
            "<?xml version='1.0' encoding='UTF-8'?><rss version='2.0' "
            "xmlns:dc='http://purl.org/dc/elements/1.1/'><channel><title>The Test Gazette</title>"
            f"<link>{self.base}/</link><description>News</description>"
            f"<lastBuildDate>{format_datetime(build)}</lastBuildDate>{items}</channel></rss>"
        )

    def post_json(self, post: Post, embed: bool) -> dict:
        data = {
            "id": post.id,
            "date_gmt": post.date.strftime("%Y-%m-%dT%H:%M:%S"),
            "modified_gmt": post.modified.strftime("%Y-%m-%dT%H:%M:%S"),
            "status": post.status,
            "link": self.base + post.path,
            "title": {"rendered": html.escape(post.title)},
            "content": {"rendered": post.content_html(), "protected": False},
            "excerpt": {"rendered": f"<p>{html.escape(post.paragraphs[0][:100])}</p>"},
            "author": 1,
            "categories": [1],
            "tags": [2],
        }
        if embed:
            data["_embedded"] = {
                "author": [{"id": 1, "name": post.author}],
                "wp:term": [
                    [{"id": 1, "taxonomy": "category", "name": post.category}],
                    [{"id": 2, "taxonomy": "post_tag", "name": tag} for tag in post.tags],
                ],
            }
        return data

    def posts_api(self, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        per_page = min(100, int(query.get("per_page", ["10"])[0]))
        page = int(query.get("page", ["1"])[0])
        posts = self.published()
        after = query.get("modified_after", [None])[0]
        if after:
            cutoff = datetime.fromisoformat(after).replace(tzinfo=UTC)
            posts = [p for p in posts if p.modified > cutoff]
        order = query.get("orderby", ["date"])[0]
        posts.sort(key=lambda p: (p.modified, p.id) if order == "modified" else p.id if order == "id" else p.date)
        if query.get("order", ["desc"])[0] == "desc":
            posts.reverse()
        total_pages = max(1, -(-len(posts) // per_page))
        if page > total_pages:
            body = {"code": "rest_post_invalid_page_number", "message": "The page number requested is larger."}
            return 400, {"Content-Type": "application/json"}, json.dumps(body).encode()
        chunk = posts[(page - 1) * per_page : page * per_page]
        if query.get("_fields", [""])[0] == "id":
            items = [{"id": p.id} for p in chunk]
        else:
            items = [self.post_json(p, "_embed" in query) for p in chunk]
        headers = {
            "Content-Type": "application/json; charset=UTF-8",
            "X-WP-Total": str(len(posts)),
            "X-WP-TotalPages": str(total_pages),
        }
        return 200, headers, json.dumps(items).encode()

    def sitemap(self, index: bool) -> str:
        if index:
            return (
                "<?xml version='1.0' encoding='UTF-8'?><sitemapindex "
                "xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
                f"<sitemap><loc>{self.base}/post-sitemap.xml</loc></sitemap></sitemapindex>"
            )
        urls = "".join(
            f"<url><loc>{self.base}{p.path}</loc><lastmod>{p.modified.isoformat()}</lastmod></url>"
            for p in self.published()
        )
        urls += f"<url><loc>{self.base}/private/staff-only/</loc></url>"
        return f"<?xml version='1.0' encoding='UTF-8'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>{urls}</urlset>"

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            if path == "/robots.txt":
                text = f"User-agent: *\nDisallow: {self.extra_disallow}\n\nSitemap: {self.base}/sitemap.xml\n"
                return 200, {"Content-Type": "text/plain"}, text.encode()
            if path == "/":
                headers = {"Content-Type": "text/html", "Link": f'<{self.base}/wp-json/>; rel="https://api.w.org/"'}
                return 200, headers, b"<html><body><h1>The Test Gazette</h1></body></html>"
            if path.endswith("/feed/"):  # the site feed, and the same feed under other paths for more sources
                return 200, {"Content-Type": "application/rss+xml; charset=UTF-8"}, self.feed().encode()
            if path == "/wp-json/":
                body = {"name": "The Test Gazette", "namespaces": ["wp/v2"]}
                return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()
            if path == "/wp-json/wp/v2/posts":
                return self.posts_api(query)
            if path in ("/sitemap.xml", "/post-sitemap.xml"):
                return 200, {"Content-Type": "application/xml"}, self.sitemap(path == "/sitemap.xml").encode()
            for post in self.posts.values():
                if post.path == path and post.status == "publish":
                    return 200, {"Content-Type": "text/html; charset=UTF-8"}, self.page(post).encode()
            return 404, {"Content-Type": "text/html"}, b"<html><body>Not found</body></html>"


def _handler(site: TestSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):  # noqa: A002 - the base class's name
            """Quiet: the site records requests itself."""

        def do_GET(self) -> None:  # noqa: N802 - the base class's name
            parts = urlsplit(self.path)
            conditional = "If-None-Match" in self.headers or "If-Modified-Since" in self.headers
            site.requests.append((self.path, conditional))
            fault = site.faults.get(self.path) or site.faults.get(parts.path)
            if fault is not None:
                self._fault(fault)
                return
            status, headers, body = site.answer(parts.path, parse_qs(parts.query))
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if status == 200:
                headers = {**headers, "ETag": etag, "Last-Modified": format_datetime(BASE_TIME, usegmt=True)}
                if self.headers.get("If-None-Match") == etag:
                    self._send(304, {"ETag": etag}, b"")
                    return
            self._send(status, headers, body)

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _fault(self, fault: Fault) -> None:
            self.send_response(fault.status)
            for name, value in fault.headers.items():
                self.send_header(name, value)
            if fault.huge:
                self.send_header("Connection", "close")
            else:
                self.send_header("Content-Length", str(len(fault.body)))
            self.end_headers()
            try:
                step = max(1, -(-len(fault.body) // fault.drip))
                for start in range(0, max(len(fault.body), 1), step):
                    time.sleep(fault.delay)
                    self.wfile.write(fault.body[start : start + step])
                    self.wfile.flush()
                block = b"x" * 65_536
                for _ in range(fault.huge // len(block)):
                    self.wfile.write(block)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading, as it should
            if fault.huge:
                self.close_connection = True

    return Handler
