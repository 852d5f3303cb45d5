"""RSS and Atom feeds, parsed by feedparser from bytes (never from a URL, so it fetches nothing itself)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import feedparser

from index.errors import SourceError
from index.sources.html_text import html_fragment_to_text

MAX_ITEMS = 500
FULL_CONTENT_CHARS = 600  # content shorter than this is treated as a summary: the item's page is fetched


@dataclass(frozen=True)
class FeedItem:
    link: str
    title: str
    content_html: str | None  # the full article, when the feed carries it
    author: str | None
    published: str | None
    categories: tuple[str, ...]


@dataclass(frozen=True)
class Feed:
    title: str | None
    items: tuple[FeedItem, ...]


def looks_like_feed(body: bytes) -> bool:
    head = body[:2048].lstrip().lower()
    return b"<rss" in head or b"<feed" in head or b"<rdf:rdf" in head


def parse_feed(body: bytes) -> Feed:
    parsed = feedparser.parse(io.BytesIO(body), sanitize_html=True, resolve_relative_uris=False)
    if not parsed.get("version") and not parsed.entries:
        raise SourceError("The document is not an RSS or Atom feed.")
    items = []
    for entry in parsed.entries[:MAX_ITEMS]:
        link = (entry.get("link") or "").strip()
        if not link.startswith(("http://", "https://")):
            continue
        items.append(
            FeedItem(
                link=link,
                title=" ".join((entry.get("title") or "").split()),
                content_html=_full_content(entry),
                author=entry.get("author") or None,
                published=entry.get("published") or entry.get("updated") or None,
                categories=tuple(t.get("term") for t in entry.get("tags", []) if t.get("term")),
            )
        )
    if parsed.get("bozo") and not items:  # broken XML that yielded nothing usable
        reason = parsed.get("bozo_exception")
        raise SourceError(f"The feed is not readable RSS or Atom ({reason}).")
    return Feed(title=parsed.feed.get("title") or None, items=tuple(items))


def _full_content(entry) -> str | None:
    for content in entry.get("content", []):
        value = content.get("value") or ""
        if len(html_fragment_to_text(value)) >= FULL_CONTENT_CHARS:
            return value
    return None
