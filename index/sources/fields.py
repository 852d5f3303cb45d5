"""Map the field names of structured records (JSON, CSV, front matter) onto ``ArticleDraft``.

Names are matched case-insensitively, ignoring ``_``, ``-``, ``:`` and spaces, so ``publishedAt``,
``published_at`` and ``Published At`` are one field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from index.errors import SourceError
from index.models import ArticleDraft
from index.sources.dates import normalise_date
from index.sources.html_text import html_fragment_to_text, looks_like_html
from index.sources.text_layout import headline_from_body, normalise_body
from index.store.identity import web_url

FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "body": ("body", "content", "text", "articlebody", "fulltext", "contentencoded"),
    "title": ("title", "headline"),
    "url": ("url", "link", "permalink", "canonicalurl"),
    "published_at": (
        "publishedat",
        "date",
        "published",
        "pubdate",
        "publishdate",
        "publisheddate",
        "datepublished",
        "postdategmt",
        "postdate",
        "createdat",
    ),
    "author": ("author", "byline", "authors", "creator", "dccreator"),
    "category": ("category", "section", "categories"),
    "tags": ("tags", "keywords"),
    "source": ("source", "site", "publisher", "sitename", "outlet"),
}
BODY_FIELDS_SENTENCE = "a body, content or text field"
MAX_TITLE_CHARS = 1_000  # longer metadata is cut with "…": a field is a line on a card, not a document
MAX_NAME_CHARS = 300  # author, source, each category and tag
MAX_URL_CHARS = 4_096
MAX_TAGS = 100


@dataclass(frozen=True)
class RecordMetadata:
    """Everything but the body; ``date_problem`` is set when a date was present but unreadable."""

    title: str = ""
    url: str | None = None
    author: str | None = None
    published_at: str | None = None
    category: str | None = None
    tags: tuple[str, ...] = ()
    source: str | None = None
    date_problem: str | None = None

    def draft(self, *, title: str, body: str, origin: str) -> ArticleDraft:
        return ArticleDraft(
            title=title,
            body=body,
            origin=origin,
            url=self.url,
            author=self.author,
            published_at=self.published_at,
            category=self.category,
            tags=self.tags,
            source=self.source,
        )


@dataclass(frozen=True)
class MappedRecord:
    draft: ArticleDraft
    date_problem: str | None


def field_key(name: str) -> str:
    return re.sub(r"[\s_\-:.]", "", str(name)).casefold()


def pick(record: Mapping[str, object], field: str) -> object:
    """The first non-empty value among ``field``'s aliases."""
    by_key = {field_key(name): value for name, value in record.items()}
    for alias in FIELD_ALIASES[field]:
        value = by_key.get(alias)
        if value not in (None, "", [], {}):
            return value
    return None


def has_body(record: Mapping[str, object]) -> bool:
    return pick(record, "body") is not None


def read_metadata(record: Mapping[str, object]) -> RecordMetadata:
    category, tags = _category_and_tags(pick(record, "category"), pick(record, "tags"))
    raw_date = pick(record, "published_at")
    date_problem = None
    try:
        published_at = normalise_date(raw_date if isinstance(raw_date, int | float) else _text(raw_date, joiner=" "))
    except ValueError:
        published_at = None
        date_problem = f"The date {_text(raw_date, joiner=' ')[:80]!r} could not be read, so the article has no date."
    return RecordMetadata(
        title=_capped(_one_line(_text(pick(record, "title"), joiner=" ")), MAX_TITLE_CHARS),
        url=_url(_one_line(_text(pick(record, "url"), joiner=" "))),
        author=_capped(_one_line(_text(pick(record, "author"), joiner=", ")), MAX_NAME_CHARS) or None,
        published_at=published_at,
        category=category,
        tags=tags,
        source=_capped(_one_line(_text(pick(record, "source"), joiner=", ")), MAX_NAME_CHARS) or None,
        date_problem=date_problem,
    )


def draft_from_record(record: Mapping[str, object], origin: str, *, label: str = "The record") -> MappedRecord:
    """Build a draft from a record; raise ``SourceError`` (its sentence starting with ``label``) without a body.

    A body that looks like HTML (a CMS export) is turned into paragraph text.
    """
    raw_body = _text(pick(record, "body"), joiner="\n\n")
    if not raw_body.strip():
        raise SourceError(f"{label} has no body text (expected {BODY_FIELDS_SENTENCE}).")
    body = html_fragment_to_text(raw_body) if looks_like_html(raw_body) else normalise_body(raw_body)
    metadata = read_metadata(record)
    draft = metadata.draft(title=metadata.title or headline_from_body(body), body=body, origin=origin)
    return MappedRecord(draft=draft, date_problem=metadata.date_problem)


def _text(value: object, *, joiner: str) -> str:
    """Strings as they are, lists joined, ``{"name": ...}`` objects by name, numbers as text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        for key in ("name", "title", "text", "value", "@value"):
            if key in value:
                return _text(value[key], joiner=joiner)
        return ""
    if isinstance(value, list | tuple):
        parts = (_text(item, joiner=joiner).strip() for item in value)
        return joiner.join(part for part in parts if part)
    return str(value)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _url(text: str) -> str | None:
    """A real web address, or None (placeholders such as ``N/A`` or ``#`` are no link to cite)."""
    return web_url(text) if len(text) <= MAX_URL_CHARS else None


def _capped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _names(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in re.split(r"[,;|]", value) if part.strip()]
    if isinstance(value, list | tuple):
        return [name for item in value for name in ([_one_line(_text(item, joiner=" "))] if item else []) if name]
    return [_one_line(_text(value, joiner=" "))] if _text(value, joiner=" ") else []


def _category_and_tags(category: object, tags: object) -> tuple[str | None, tuple[str, ...]]:
    categories = [_one_line(_text(category, joiner=" "))] if isinstance(category, str | int) else _names(category)
    tag_names = _names(tags)
    categories = [_capped(name, MAX_NAME_CHARS) for name in categories]
    tag_names = [_capped(name, MAX_NAME_CHARS) for name in tag_names]
    first = next((name for name in categories + tag_names if name), None)
    extra = [name for name in categories[1:] + tag_names if name and name != first]
    return first, tuple(dict.fromkeys(extra))[:MAX_TAGS]
