"""Markdown articles, with or without YAML front matter (title, date, author, tags, categories, url, source)."""

from __future__ import annotations

import re
from dataclasses import replace

import yaml
from markdown_it import MarkdownIt

from index.errors import SourceError
from index.models import FileProblem
from index.sources.extraction import Extraction
from index.sources.fields import read_metadata
from index.sources.html_text import html_fragment_to_text
from index.sources.page_chrome import strip_page_chrome
from index.sources.plain_text import dateline, split_headline
from index.sources.text_layout import check_line_lengths, normalise_body

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_FIRST_H1 = re.compile(r"\A\s*#[ \t]+(.+?)[ \t]*#*[ \t]*(?:\n|\Z)")
MAX_FRONT_MATTER_CHARS = 64_000
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


class _NoAliasLoader(yaml.SafeLoader):
    """The safe loader, refusing anchors and aliases: front matter never needs them, and alias expansion
    turns a few hundred bytes into gigabytes ("billion laughs")."""

    def compose_node(self, parent, index):  # noqa: ANN001, ANN201 - PyYAML's signature
        if self.check_event(yaml.AliasEvent) or getattr(self.peek_event(), "anchor", None):
            event = self.peek_event()
            raise SourceError(
                "The front matter uses a YAML anchor or alias (line "
                f"{event.start_mark.line + 1}, column {event.start_mark.column + 1}), which Archivist does not expand."
            )
        return super().compose_node(parent, index)


def _front_matter(text: str, origin: str, extraction: Extraction) -> tuple[dict[str, object], str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    if len(match.group(1)) > MAX_FRONT_MATTER_CHARS:
        raise SourceError(f"The front matter is longer than {MAX_FRONT_MATTER_CHARS:,} characters.")
    try:
        loaded = yaml.load(match.group(1), Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError:
        loaded = None
    if not isinstance(loaded, dict):
        extraction.notes.append(FileProblem(origin, "The front matter is not valid YAML fields, so it was ignored."))
        return {}, text[match.end() :]
    return {str(key): value for key, value in loaded.items()}, text[match.end() :]
