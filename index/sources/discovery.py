"""Expand the paths a user names (files, folders, glob patterns) into the files to read."""

from __future__ import annotations

import glob
from collections.abc import Iterator, Sequence
from pathlib import Path

from index.sources.formats import SNIFFED_SUFFIXES, SUFFIX_FORMATS

FOLDER_SUFFIXES = frozenset(SUFFIX_FORMATS) | SNIFFED_SUFFIXES
NOT_ARTICLE_STEMS = frozenset({"readme", "license", "licence", "copying", "changelog", "provenance", "notice"})
_GLOB_CHARS = frozenset("*?[")


def iter_inputs(paths: Sequence[str | Path]) -> Iterator[Path]:
    """Files to read, each once, in a stable order.

    A file named directly is always yielded, whatever its extension. A folder is walked recursively in
    sorted order, skipping hidden files and folders, files whose extension no reader handles, and
    README/LICENSE/CHANGELOG/PROVENANCE-style files that describe the folder rather than hold articles.
    A glob pattern expands like a list of named paths. A path that does not exist (or a pattern matching
    nothing) is yielded as is, so ``read_file`` reports it like any other unreadable input.
    """
    seen: set[Path] = set()
    for raw in paths:
        for path in _expand(Path(raw)):
            key = path.resolve()
            if key not in seen:
                seen.add(key)
                yield path


def _expand(path: Path) -> Iterator[Path]:
    if path.is_dir():
        yield from _walk(path)
    elif path.exists() or not _GLOB_CHARS.intersection(str(path)):
        yield path
    else:
        matches = sorted(glob.glob(str(path), recursive=True))
        if not matches:
            yield path
        for match in matches:
            candidate = Path(match)
            if candidate.is_dir():
                yield from _walk(candidate)
            elif not _is_hidden(candidate.name):
                yield candidate


def _walk(folder: Path) -> Iterator[Path]:
    entries = sorted(folder.iterdir(), key=lambda entry: entry.name)
    for entry in entries:
        if _is_hidden(entry.name):
            continue
        if entry.is_dir():
            if not entry.is_symlink():  # a linked folder could loop back on itself
                yield from _walk(entry)
        elif entry.is_file() and _is_article_file(entry):
            yield entry


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def _is_article_file(path: Path) -> bool:
    return path.suffix.lower() in FOLDER_SUFFIXES and path.stem.lower() not in NOT_ARTICLE_STEMS
