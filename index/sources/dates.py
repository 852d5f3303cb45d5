"""Turn the many ways sources write dates into ISO 8601 strings.

A value that names its timezone becomes timezone-aware; a value that does not stays naive
(no timezone is invented); a value with no time of day stays a plain date.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

logger = logging.getLogger(__name__)

_FRACTION = re.compile(r"(\.\d{6})\d+")
_HAS_TIME = re.compile(r"\d{1,2}:\d{2}")
_EPOCH_SECONDS = (1e8, 1e10)  # 1973 .. 2286
_DATEPARSER_SETTINGS = {
    "PARSERS": ["custom-formats", "absolute-time"],
    "REQUIRE_PARTS": ["year", "month", "day"],
    "PREFER_DAY_OF_MONTH": "first",
}


def normalise_date(value: object) -> str | None:
    """Return ``value`` as ISO 8601, or None when it is empty.

    Raises ``ValueError`` when the value is present but is not a date.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a date")
    if isinstance(value, int | float):
        return _from_epoch(float(value))
    text = str(value).strip()
    if not text:
        return None
    if re.fullmatch(r"\d{9,13}(\.\d+)?", text):
        return _from_epoch(float(text))
    parsed = _parse_iso(text) or _parse_rfc2822(text) or _parse_free_text(text)
    if parsed is None:
        raise ValueError(f"{text!r} is not a date")
    return format_datetime(parsed, has_time=bool(_HAS_TIME.search(text)))


def format_datetime(moment: datetime, *, has_time: bool = True) -> str:
    """ISO 8601 text: a date alone when there is no time of day, seconds precision otherwise."""
    if not has_time and moment.tzinfo is None:
        return moment.date().isoformat()
    return moment.replace(microsecond=0).isoformat()


def _from_epoch(number: float) -> str:
    seconds = number / 1000 if number > _EPOCH_SECONDS[1] else number
    if not _EPOCH_SECONDS[0] <= seconds <= _EPOCH_SECONDS[1]:
        raise ValueError(f"{number!r} is not a plausible timestamp")
    return format_datetime(datetime.fromtimestamp(seconds, tz=UTC))


def _parse_iso(text: str) -> datetime | None:
    candidate = _FRACTION.sub(r"\1", text)
    try:
        return datetime.fromisoformat(candidate)
    except ValueError:
        return None


def _parse_rfc2822(text: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed


def _parse_free_text(text: str) -> datetime | None:
    if len(text) > 100 or not re.search(r"\d", text):
        return None
    import dateparser  # slow to import; only needed for unusual formats

    return dateparser.parse(text, languages=["en"], settings=_DATEPARSER_SETTINGS)
