"""Turn slash-command filter options into the engine's ``Filters`` (validated by the engine's own rules)."""

from __future__ import annotations

from index.filters import parse_filters
from index.models import Filters


def filters_from_options(
    after: str | None = None,
    before: str | None = None,
    source: str | None = None,
    category: str | None = None,
) -> Filters | None:
    """``Filters`` for the given options, or None when no option restricts anything; ``InvalidInput`` if bad."""
    return parse_filters(after, before, source, category)
