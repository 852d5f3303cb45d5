"""Sitemaps (sitemaps.org): URL sets with <lastmod>, and sitemap indexes, parsed from bytes with lxml.

The parser resolves no entities and loads nothing from the network; gzip sitemaps are decompressed with a cap.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import lxml.etree

from index.errors import SourceError

MAX_URLS = 50_000  # the sitemaps.org limit per file
_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@dataclass(frozen=True)
class SitemapEntry:
    loc: str
    lastmod: str | None


@dataclass(frozen=True)
class Sitemap:
    is_index: bool
    entries: tuple[SitemapEntry, ...]  # pages, or child sitemaps of an index


def looks_like_sitemap(body: bytes) -> bool:
    head = _maybe_gunzip(body, 1_000_000)[:2048].lower()
    return b"<urlset" in head or b"<sitemapindex" in head


def parse_sitemap(body: bytes, *, max_bytes: int = 50_000_000) -> Sitemap:
    data = _maybe_gunzip(body, max_bytes)
    parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True, recover=False, huge_tree=False)
    try:
        root = lxml.etree.fromstring(data, parser)
    except lxml.etree.XMLSyntaxError as error:
        raise SourceError(f"The sitemap is not readable XML ({error.msg}).") from error
    tag = lxml.etree.QName(root).localname
    if tag not in ("urlset", "sitemapindex"):
        raise SourceError(f"The document is not a sitemap (its root element is <{tag}>).")
    child = "sitemap" if tag == "sitemapindex" else "url"
    entries = []
    for element in root.iter(_NS + child, child):
        loc = _text(element, "loc")
        if loc.startswith(("http://", "https://")):
            entries.append(SitemapEntry(loc, _text(element, "lastmod") or None))
        if len(entries) >= MAX_URLS:
            break
    return Sitemap(is_index=tag == "sitemapindex", entries=tuple(entries))


def _text(element: lxml.etree._Element, name: str) -> str:
    found = element.find(_NS + name)
    if found is None:
        found = element.find(name)
    return (found.text or "").strip() if found is not None else ""


def _maybe_gunzip(body: bytes, max_bytes: int) -> bytes:
    if not body.startswith(b"\x1f\x8b"):
        return body
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, max_bytes + 1)
    except zlib.error as error:
        raise SourceError(f"The gzip sitemap is damaged ({error}).") from error
    if len(data) > max_bytes:
        raise SourceError(f"The gzip sitemap unpacks to more than {max_bytes / 1_000_000:g} MB.")
    return data
