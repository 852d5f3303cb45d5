"""What kind of source a URL is: an RSS/Atom feed, a WordPress site (its REST API) or a sitemap.

``auto`` looks, in order, at the document itself (a feed or a sitemap), the WordPress API link (the
``Link: <…/wp-json/>; rel="https://api.w.org/"`` header, the same ``<link>`` in the page, or ``/wp-json/``),
a feed the page announces with ``<link rel="alternate">``, and finally the site's sitemaps (``Sitemap:`` lines in
robots.txt, then ``/sitemap.xml``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import lxml.html

from index.errors import FetchFailed, SourceError
from index.sources.live.feeds import looks_like_feed, parse_feed
from index.sources.live.fetch import Fetcher, Response
from index.sources.live.sitemaps import looks_like_sitemap, parse_sitemap
from index.sources.live.wordpress_api import API_REL

DETECTABLE = ("auto", "rss", "wordpress", "sitemap")
_LINK_HEADER = re.compile(r"<([^>]+)>\s*;\s*rel=\"?([^\";]+)\"?")
_FEED_TYPES = ("application/rss+xml", "application/atom+xml")


@dataclass(frozen=True)
class Detected:
    kind: str
    endpoint: str  # the feed, the REST API root (ending in /) or the sitemap
    name: str


def detect(fetcher: Fetcher, url: str, kind: str = "auto") -> Detected:
    if kind not in DETECTABLE:
        raise SourceError(f"The kind must be one of {', '.join(DETECTABLE)}, not {kind!r}.")
    response = fetcher.get(url).check()
    page = response.url
    if kind in ("auto", "rss") and looks_like_feed(response.body):
        feed = parse_feed(response.body)
        return Detected("rss", page, feed.title or _host(page))
    if kind in ("auto", "sitemap") and looks_like_sitemap(response.body):
        parse_sitemap(response.body, max_bytes=fetcher.config.max_bytes)
        return Detected("sitemap", page, _host(page))
    links = _page_links(response)
    if kind in ("auto", "wordpress"):
        found = _wordpress(fetcher, page, links)
        if found is not None:
            return found
    if kind in ("auto", "rss"):
        for feed_url in links.get("feeds", []):
            found = _try(fetcher, feed_url, looks_like_feed)
            if found is not None:
                feed = parse_feed(found.body)
                return Detected("rss", found.url, feed.title or _host(page))
    if kind in ("auto", "sitemap"):
        origin = _origin(page)
        candidates = fetcher.robots_for(page).sitemaps() + [origin + "/sitemap.xml", origin + "/sitemap_index.xml"]
        for sitemap_url in dict.fromkeys(candidates):
            if _origin(sitemap_url) != origin:
                continue
            found = _try(fetcher, sitemap_url, looks_like_sitemap)
            if found is not None:
                parse_sitemap(found.body, max_bytes=fetcher.config.max_bytes)
                return Detected("sitemap", found.url, _host(page))
    wanted = {"auto": "RSS/Atom feed, WordPress REST API or sitemap", "rss": "RSS or Atom feed"}
    wanted |= {"wordpress": "WordPress REST API", "sitemap": "sitemap"}
    raise SourceError(f"No {wanted[kind]} was found at {url}.")


def _wordpress(fetcher: Fetcher, page: str, links: dict[str, list[str]]) -> Detected | None:
    candidates = links.get("api", []) + [_origin(page) + "/wp-json/"]
    for api in dict.fromkeys(candidates):
        found = _try(fetcher, api, lambda body: body.lstrip()[:1] == b"{")
        if found is None:
            continue
        try:
            index = json.loads(found.body)
        except ValueError:
            continue
        if isinstance(index, dict) and "wp/v2" in (index.get("namespaces") or []):
            endpoint = found.url if found.url.endswith("/") else found.url + "/"
            return Detected("wordpress", endpoint, str(index.get("name") or "").strip() or _host(page))
    return None


def _try(fetcher: Fetcher, url: str, looks_right) -> Response | None:
    try:
        response = fetcher.get(url)
    except FetchFailed:
        return None
    if response.status == 200 and looks_right(response.body):
        return response
    return None


def _page_links(response: Response) -> dict[str, list[str]]:
    links: dict[str, list[str]] = {"api": [], "feeds": []}
    for target, rel in _LINK_HEADER.findall(response.headers.get("link", "")):
        if rel.strip() == API_REL:
            links["api"].append(urljoin(response.url, target))
    if b"<" not in response.body[:4096]:
        return links
    try:
        document = lxml.html.document_fromstring(response.body[:2_000_000])
    except (lxml.etree.ParserError, ValueError):
        return links
    for element in document.iter("link"):
        rel, href = (element.get("rel") or "").strip(), (element.get("href") or "").strip()
        if not href:
            continue
        if rel == API_REL:
            links["api"].append(urljoin(response.url, href))
        elif rel == "alternate" and (element.get("type") or "").strip().lower() in _FEED_TYPES:
            links["feeds"].append(urljoin(response.url, href))
    return links


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _host(url: str) -> str:
    return (urlsplit(url).hostname or url).removeprefix("www.")
