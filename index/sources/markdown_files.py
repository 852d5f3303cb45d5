"""Markdown articles, with or without YAML front matter (title, date, author, tags, categories, url, source)."""

from __future__ import annotations

import re
from dataclasses import replace

import yaml
from markdown_it import MarkdownIt

from index.models import FileProblem
from index.sources.extraction import Extraction
from index.sources.fields import read_metadata
from index.sources.html_text import html_fragment_to_text
from index.sources.page_chrome import strip_page_chrome
from index.sources.plain_text import dateline, split_headline
from index.sources.text_layout import check_line_lengths, normalise_body

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_FIRST_H1 = re.compile(r"\A\s*#[ \t]+(.+?)[ \t]*#*[ \t]*(?:\n|\Z)")
_RENDERER = MarkdownIt("commonmark", {"html": True})


def read_markdown(text: str, origin: str) -> Extraction:
    """Title from front matter, else a leading ``# heading``, else the first line; body rendered to plain text."""
    check_line_lengths(text)
    extraction = Extraction()
    fields, text = _front_matter(normalise_body(text), origin, extraction)
    metadata = read_metadata(fields)
    title = metadata.title
    if not title and (heading := _FIRST_H1.match(text)):
        title, text = " ".join(heading.group(1).split()), text[heading.end() :]
    rendered = html_fragment_to_text(_RENDERER.render(text))
    if not title:
        title, rendered = split_headline(rendered)
    body = strip_page_chrome(rendered)
    draft = metadata.draft(title=title, body=body, origin=origin)
    if not draft.published_at:
        draft = replace(draft, published_at=dateline(rendered))
    if metadata.date_problem:
        extraction.notes.append(FileProblem(origin, metadata.date_problem))
    extraction.drafts.append(draft)
    return extraction


def _front_matter(text: str, origin: str, extraction: Extraction) -> tuple[dict[str, object], str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        loaded = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        loaded = None
    if not isinstance(loaded, dict):
        extraction.notes.append(FileProblem(origin, "The front matter is not valid YAML fields, so it was ignored."))
        return {}, text[match.end() :]
    return {str(key): value for key, value in loaded.items()}, text[match.end() :]
