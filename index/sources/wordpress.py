"""WordPress WXR exports: published posts only, their HTML content turned into paragraph text."""

from __future__ import annotations

import re

import lxml.etree

from index.errors import SourceError
from index.models import FileProblem
from index.sources.extraction import Extraction

_CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
_DC_NS = "http://purl.org/dc/elements/1.1/"
_WXR_MARK = "wordpress.org/export/"
_NO_DATE = "0000-00-00 00:00:00"
_POSITION_SUFFIX = re.compile(r",\s*line \d+, column \d+$")


def is_wordpress_export(text: str) -> bool:
    head = text[:4096]
    return "<rss" in head and _WXR_MARK in head


def read_wordpress_export(text: str, file: str) -> Extraction:
    root = _parse(text)
    wp = _wordpress_namespace(root)
    if root.tag != "rss" or wp is None:
        raise SourceError("The XML file is not a WordPress export (expected an <rss> document with wp: fields).")
    channel = root.find("channel")
    if channel is None:
        raise SourceError("The WordPress export has no <channel> element.")
    site = _text(channel.find("title")) or None
    extraction = Extraction()
    skipped = 0
    for number, item in enumerate(channel.iter("item"), start=1):
        if _text(item.find(f"{{{wp}}}post_type")) != "post" or _text(item.find(f"{{{wp}}}status")) != "publish":
            skipped += 1
            continue
        extraction.add_record(_record(item, wp, site), file, number)
    if skipped:
        extraction.notes.append(
            FileProblem(file, f"Skipped {skipped} items that are not published posts (pages, attachments, drafts).")
        )
    if not extraction.drafts and not extraction.problems:
        raise SourceError("The WordPress export holds no published posts.")
    return extraction


def _parse(text: str) -> lxml.etree._Element:
    """The parsed export; a file that is not well-formed XML (e.g. half-downloaded) is refused whole,
    because a parser that recovers merges and drops posts without a word."""
    parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True, recover=False, huge_tree=True)
    try:
        root = lxml.etree.fromstring(text.lstrip("\ufeff").encode("utf-8"), parser)
    except lxml.etree.XMLSyntaxError as error:
        line, column = error.position
        reason = _POSITION_SUFFIX.sub("", error.msg or "")
        raise SourceError(
            f"The WordPress export is not well-formed XML at line {line}, column {column} ({reason}), "
            "so none of it was read."
        ) from error
    if root is None:
        raise SourceError("The WordPress export is not readable XML.")
    return root


def _wordpress_namespace(root: lxml.etree._Element) -> str | None:
    return next((uri for uri in root.nsmap.values() if uri and _WXR_MARK in uri and "excerpt" not in uri), None)


def _record(item: lxml.etree._Element, wp: str, site: str | None) -> dict[str, object]:
    categories = [_text(c) for c in item.findall("category") if c.get("domain") in (None, "category") and _text(c)]
    tags = [_text(c) for c in item.findall("category") if c.get("domain") == "post_tag" and _text(c)]
    gmt = _text(item.find(f"{{{wp}}}post_date_gmt"))
    local = _text(item.find(f"{{{wp}}}post_date"))
    return {
        "title": _text(item.find("title")),
        "body": _text(item.find(f"{{{_CONTENT_NS}}}encoded")),
        "url": _text(item.find("link")) or None,
        "author": _text(item.find(f"{{{_DC_NS}}}creator")) or None,
        "published_at": (gmt + "+00:00" if gmt and gmt != _NO_DATE else None)
        or _text(item.find("pubDate"))
        or (local if local != _NO_DATE else None),
        "category": categories[0] if categories else None,
        "tags": categories[1:] + tags,
        "source": site,
    }


def _text(element: lxml.etree._Element | None) -> str:
    return "".join(element.itertext()).strip() if element is not None else ""
