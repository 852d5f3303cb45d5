"""Checking what a user typed before the engine uses it: filters, counts and question text.

The CLI and the bot both pass their raw option strings through here, so a bad date, an empty date
range, a negative count or an overlong question gets the same sentence (an ``InvalidInput``) at both edges.
"""

from __future__ import annotations

from datetime import date, datetime

from index.errors import InvalidInput
from index.models import Filters

MAX_QUESTION_CHARS = 1_000  # longer text is not a question; scoring it costs seconds per 10,000 characters
MAX_RESULTS = 100  # most hits one search returns


def checked_text(text: str, what: str = "question") -> str:
    """``text`` stripped, if it is usable as a question or query; else ``InvalidInput``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"The {what} holds bytes that are not UTF-8 text.") from None
    text = text.strip()
    if len(text) > MAX_QUESTION_CHARS:
        raise InvalidInput(
            f"The {what} is {len(text):,} characters long; ask in at most {MAX_QUESTION_CHARS:,} characters."
        )
    return text


def checked_count(k: int, what: str = "number of results") -> int:
    """``k`` if it is a usable number of results (1 to ``MAX_RESULTS``); else ``InvalidInput``."""
    if not 1 <= k <= MAX_RESULTS:
        raise InvalidInput(f"The {what} must be between 1 and {MAX_RESULTS}, not {k}.")
    return k


def _iso_date(name: str, value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    text = checked_text(value, f"“{name}” date")
    try:
        if len(text) == 10:
            return date.fromisoformat(text).isoformat()
        return datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat()
    except ValueError:
        raise InvalidInput(f"“{name}” must be a date like 2023-11-12.") from None


def _name(name: str, value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    return checked_text(value, f"“{name}” filter")


def parse_filters(
    after: str | None = None,
    before: str | None = None,
    source: str | None = None,
    category: str | None = None,
    author: str | None = None,
) -> Filters | None:
    """Validated ``Filters`` from raw option strings, or None when nothing restricts the search."""
    filters = Filters(
        after=_iso_date("after", after),
        before=_iso_date("before", before),
        source=_name("source", source),
        category=_name("category", category),
        author=_name("author", author),
    )
    if filters.after and filters.before and filters.after[:10] >= filters.before[:10]:
        raise InvalidInput("“after” must come before “before”.")
    return None if filters == Filters() else filters


def check_filters(filters: Filters | None) -> Filters | None:
    """``parse_filters`` applied to a ``Filters`` built elsewhere."""
    if filters is None:
        return None
    return parse_filters(filters.after, filters.before, filters.source, filters.category, filters.author)
