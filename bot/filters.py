"""Turn slash-command filter options into the engine's ``Filters``."""

from __future__ import annotations

from datetime import date, datetime

from bot.errors import InvalidOption
from index.models import Filters


def _iso(name: str, value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text).isoformat()
        return datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat()
    except ValueError:
        raise InvalidOption(f"“{name}” must be a date like 2023-11-12.") from None


def filters_from_options(
    after: str | None = None,
    before: str | None = None,
    source: str | None = None,
    category: str | None = None,
) -> Filters | None:
    """``Filters`` for the given options, or None when no option restricts anything."""
    filters = Filters(
        after=_iso("after", after),
        before=_iso("before", before),
        source=source.strip() if source and source.strip() else None,
        category=category.strip() if category and category.strip() else None,
    )
    if filters.after and filters.before and filters.after[:10] >= filters.before[:10]:
        raise InvalidOption("“after” must come before “before”.")
    return None if filters == Filters() else filters
