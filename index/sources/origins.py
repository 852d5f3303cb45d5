"""Origins: where a draft came from, so a later run can tell when that place has disappeared.

- A single-article file's origin is its absolute path, with every ``#`` in it doubled (``a#1.txt`` becomes
  ``a##1.txt``), so a file name can never look like a record number.
- A record inside a multi-article file (JSON list, JSON Lines, CSV, WordPress export) gets ``<file origin>#<N>``,
  N being the 1-based record number (the line number for JSON Lines): the one single ``#`` before the digits.
- A file uploaded through the bot has no path: its origin is ``upload:<sha256 of its bytes>`` (records add ``#N``).
  It never starts with ``/``, so no file walk produces it and ``--prune`` never looks for it on disk.

Origins stored before ``#`` was doubled still parse: ``legacy_files`` lists every file such an origin could mean.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

UPLOAD_PREFIX = "upload:"
_TRAILING_RECORD = re.compile(r"(#+)(\d+)$")
_LEGACY_RECORD = re.compile(r"#\d+$")


@dataclass(frozen=True)
class ParsedOrigin:
    file: Path | None  # None for uploads and web addresses
    record: int | None


def file_origin(path: Path) -> str:
    return str(path.resolve()).replace("#", "##")


def upload_origin(data: bytes) -> str:
    return UPLOAD_PREFIX + hashlib.sha256(data).hexdigest()


def record_origin(file: str, number: int) -> str:
    return f"{file}#{number}"


def is_file_origin(origin: str) -> bool:
    return origin.startswith("/")


def parse_origin(origin: str) -> ParsedOrigin:
    """The file (if any) and record number an origin names."""
    base, record = origin, None
    match = _TRAILING_RECORD.search(origin)
    if match and len(match.group(1)) % 2 == 1:
        base, record = origin[: match.end(1) - 1], int(match.group(2))
    if not is_file_origin(base):
        return ParsedOrigin(file=None, record=record)
    return ParsedOrigin(file=Path(base.replace("##", "#")), record=record)


def origin_file(origin: str) -> Path | None:
    """The file an origin points into (its ``#N`` record suffix removed); None when it is not a file."""
    return parse_origin(origin).file


def file_part(origin: str) -> str:
    """The origin of the file holding this origin's record (the origin itself for a whole file)."""
    match = _TRAILING_RECORD.search(origin)
    if match and len(match.group(1)) % 2 == 1:
        return origin[: match.end(1) - 1]
    return origin


def legacy_files(origin: str) -> tuple[Path, ...]:
    """Every file an origin could name, read by today's rule and by the rule before ``#`` was doubled."""
    if not is_file_origin(origin):
        return ()
    candidates = [parse_origin(origin).file, Path(_LEGACY_RECORD.sub("", origin)), Path(origin)]
    return tuple(dict.fromkeys(path for path in candidates if path is not None))


def display_path(path: Path | str) -> str:
    """A path as text that can always be printed and stored (bytes that are not UTF-8 shown as ``\\xNN``)."""
    return str(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
