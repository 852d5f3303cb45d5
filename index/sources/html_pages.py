"""Saved HTML pages: main text and metadata (meta tags, JSON-LD) extracted by trafilatura, offline."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import trafilatura

from index.errors import SourceError
from index.models import ArticleDraft, FileProblem
from index.sources.dates import normalise_date
from index.sources.extraction import Extraction
from index.sources.page_chrome import strip_page_chrome
from index.sources.text_layout import lines_as_paragraphs, paragraphs

_DATE_OPTIONS = {"extensive_search": False, "original_date": True, "outputformat": "%Y-%m-%dT%H:%M:%S%z"}
_MIDNIGHT_WITHOUT_ZONE = re.compile(r"T00:00:00$")
MAX_TAGS = 150_000  # article pages hold a few thousand; extraction time grows with the tree


def read_html_page(text: str, origin: str) -> Extraction:
    tags = text.count("<")
    if tags > MAX_TAGS:
        raise SourceError(
            f"The HTML page has about {tags:,} tags (the limit is {MAX_TAGS:,}), too many for one article page."
        )
    document = trafilatura.bare_extraction(
        text,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        deduplicate=False,
        date_extraction_params=_DATE_OPTIONS,
    )
    if document is None or not (document.text or "").strip():
        raise SourceError("No article text was found in the HTML page.")
    title = " ".join((document.title or "").split())
    blocks = paragraphs(lines_as_paragraphs(document.text))
    if blocks and title and " ".join(blocks[0].split()) == title:
        blocks = blocks[1:]
    body = strip_page_chrome("\n\n".join(blocks))
    extraction = Extraction()
    published_at = _page_date(document.date, origin, extraction)
    categories = [name for name in (document.categories or []) if name]
    tags = tuple(dict.fromkeys(categories[1:] + [name for name in (document.tags or []) if name]))
    extraction.drafts.append(
        ArticleDraft(
            title=title,
            body=body,
            origin=origin,
            url=document.url or None,
            author=document.author or None,
            published_at=published_at,
            category=categories[0] if categories else None,
            tags=tags,
            source=document.sitename or _host(document.url),
        )
    )
    return extraction


def _page_date(value: str | None, origin: str, extraction: Extraction) -> str | None:
    if not value:
        return None
    try:
        normalised = normalise_date(value)
    except ValueError:
        extraction.notes.append(FileProblem(origin, f"The page date {value!r} could not be read, so it has no date."))
        return None
    if normalised and _MIDNIGHT_WITHOUT_ZONE.search(normalised):
        return normalised[:10]  # the page gave a day, not a time
    return normalised


def _host(url: str | None) -> str | None:
    if not url:
        return None
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.") or None
