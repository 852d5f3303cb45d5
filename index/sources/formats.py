"""Which reader a file needs: by extension first, then by sniffing the text."""

from __future__ import annotations

import re
from pathlib import Path

from index.errors import SourceError
from index.sources.wordpress import is_wordpress_export

FORMATS = ("text", "markdown", "html", "json", "jsonl", "csv", "wxr")
SUFFIX_FORMATS = {
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".wxr": "wxr",
}
SNIFFED_SUFFIXES = frozenset({".xml"})
_HTML_START = re.compile(r"\A\s*(<!--.*?-->\s*)*(<!doctype html|<html|<head|<body)", re.I | re.S)
_FRONT_MATTER_START = re.compile(r"\A---[ \t]*\n")


def detect_format(path: Path, text: str) -> str:
    """The format of ``path``: its extension decides, unless it is unknown or ``.xml``, then the text does."""
    by_suffix = SUFFIX_FORMATS.get(path.suffix.lower())
    if by_suffix:
        return by_suffix
    if is_wordpress_export(text):
        return "wxr"
    if path.suffix.lower() in SNIFFED_SUFFIXES:
        raise SourceError("The XML file is not a WordPress export, the only XML format Archivist reads.")
    if _HTML_START.match(text[:4096]):
        return "html"
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        return "json"
    if _FRONT_MATTER_START.match(stripped):
        return "markdown"
    return "text"


def check_format_name(name: str) -> str:
    if name not in FORMATS:
        raise SourceError(f"Unknown format {name!r}; expected one of {', '.join(FORMATS)}.")
    return name
