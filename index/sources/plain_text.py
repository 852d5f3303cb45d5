"""Plain-text articles: the headline on the first non-empty line, the body after it."""

from __future__ import annotations

from index.models import ArticleDraft
from index.sources.dates import normalise_date
from index.sources.extraction import Extraction
from index.sources.page_chrome import is_date_only, strip_page_chrome
from index.sources.text_layout import check_line_lengths, headline_from_body, normalise_body, paragraphs

MAX_HEADLINE_CHARS = 300


def split_headline(text: str) -> tuple[str, str]:
    """(headline, rest). A first line too long to be a headline stays in the body and is shortened as title."""
    text = normalise_body(text)
    first, _, rest = text.partition("\n")
    if len(first) > MAX_HEADLINE_CHARS:
        return headline_from_body(first), text
    return " ".join(first.split()), rest


def dateline(body: str) -> str | None:
    """The date of a body whose first paragraph is a date alone (e.g. "January 31, 2026")."""
    blocks = paragraphs(body)
    if not blocks or not is_date_only(blocks[0]):
        return None
    try:
        return normalise_date(blocks[0].strip().strip("|·-–— "))
    except ValueError:
        return None


def read_plain_text(text: str, origin: str) -> Extraction:
    check_line_lengths(text)
    title, rest = split_headline(text)
    draft = ArticleDraft(title=title, body=strip_page_chrome(rest), origin=origin, published_at=dateline(rest))
    return Extraction(drafts=[draft])
