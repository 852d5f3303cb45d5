"""Origins: where a draft came from, so a later run can tell when that place has disappeared.

A single-article file's origin is its absolute path. A record inside a multi-article file (JSON list,
JSON Lines, CSV, WordPress export) gets ``<absolute path>#<N>``, N being the 1-based record number
(the line number for JSON Lines).
"""

from __future__ import annotations

import re
from pathlib import Path

_RECORD_SUFFIX = re.compile(r"#\d+$")


def file_origin(path: Path) -> str:
    return str(path.resolve())


def record_origin(file: str, number: int) -> str:
    return f"{file}#{number}"


def origin_file(origin: str) -> Path:
    """The file an origin points into (its ``#N`` record suffix removed)."""
    return Path(_RECORD_SUFFIX.sub("", origin))
