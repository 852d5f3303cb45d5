"""Expand the paths a user names (files, folders, glob patterns) into the files to read.

The paths named are taken as given (the operating system resolves them). Everything found under them, by a
folder walk or a glob, is untrusted: a symbolic link is never followed unless ``follow_symlinks`` is set, and
then only to a regular file inside the named paths; folders reached through links are never entered; only
regular files are read (never a FIFO, socket or device); and the walk stops after ``max_entries`` entries. Each
entry that cannot be used (an unreadable folder, a name that is not UTF-8, a link, a special file) becomes one
problem with a reason, and the walk goes on.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from index.models import FileProblem
from index.sources.formats import SNIFFED_SUFFIXES, SUFFIX_FORMATS
from index.sources.origins import display_path

FOLDER_SUFFIXES = frozenset(SUFFIX_FORMATS) | SNIFFED_SUFFIXES
NOT_ARTICLE_STEMS = frozenset({"readme", "license", "licence", "copying", "changelog", "provenance", "notice"})
DEFAULT_MAX_ENTRIES = 1_000_000
_GLOB_CHARS = frozenset("*?[")
_NOT_FOUND = "No such file, folder or matching glob."
_LINK = "It is a symbolic link, which is not followed (use --follow-symlinks to read links to files inside the given paths)."


@dataclass
class Discovery:
    """The files to read (resolved, each once, in a stable order) and the entries skipped on the way."""

    files: list[Path] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)
    missing: list[FileProblem] = field(default_factory=list)  # named paths that match nothing at all


class _CapReached(Exception):
    pass


class _Walker:
    def __init__(self, roots: list[Path], follow_symlinks: bool, max_entries: int) -> None:
        self.roots = roots
        self.follow_symlinks = follow_symlinks
        self.max_entries = max_entries
        self.visited = 0
        self.result = Discovery()
        self._seen: set[Path] = set()

    # -- entries -------------------------------------------------------------------------------
    def skip(self, path: Path | str, reason: str) -> None:
        self.result.problems.append(FileProblem(display_path(path), reason))

    def add(self, path: Path) -> None:
        if path not in self._seen:
            self._seen.add(path)
            self.result.files.append(path)

    def entries(self, folder: Path) -> list[os.DirEntry]:
        try:
            with os.scandir(folder) as listing:
                found = []
                for entry in listing:
                    self.visited += 1
                    if self.visited > self.max_entries:
                        raise _CapReached
                    found.append(entry)
        except OSError as error:
            self.skip(folder, f"The folder could not be read ({error.strerror or error}).")
            return []
        return sorted(found, key=lambda entry: entry.name)

    def usable_name(self, entry: os.DirEntry) -> bool:
        try:
            entry.name.encode("utf-8")
        except UnicodeEncodeError:
            self.skip(entry.path, "The name is not valid UTF-8, so it was not read.")
            return False
        return True

    def found_file(self, path: Path, *, named: bool) -> None:
        """A file found by a walk or a glob (``named=False``) or named by the user."""
        try:
            info = os.lstat(path)
        except OSError as error:
            self.skip(path, f"The file could not be examined ({error.strerror or error}).")
            return
        if stat.S_ISLNK(info.st_mode) and not named:
            target = self.link_target(path)
            if target is not None:
                self.add(target)
            return
        if named:
            try:
                info = os.stat(path)
            except OSError as error:
                self.skip(path, f"The file could not be examined ({error.strerror or error}).")
                return
        if not stat.S_ISREG(info.st_mode):
            self.skip(path, "It is not a regular file (a FIFO, socket or device), so it was not read.")
            return
        self.add(path.resolve())

    def link_target(self, link: Path) -> Path | None:
        if not self.follow_symlinks:
            self.skip(link, _LINK)
            return None
        try:
            target = link.resolve(strict=True)
            info = os.stat(target)
        except (OSError, RuntimeError) as error:
            self.skip(link, f"The symbolic link is broken or loops ({getattr(error, 'strerror', None) or error}).")
            return None
        if not stat.S_ISREG(info.st_mode):
            self.skip(link, "The symbolic link does not point to a regular file, so it was not followed.")
            return None
        if not any(target == root or target.is_relative_to(root) for root in self.roots):
            self.skip(link, "The symbolic link points outside the given paths, so it was not followed.")
            return None
        return target

    # -- folders and globs ---------------------------------------------------------------------------
    def walk(self, folder: Path) -> None:
        for entry in self.entries(folder):
            if _is_hidden(entry.name) or not self.usable_name(entry):
                continue
            path = Path(entry.path)
            if entry.is_symlink():
                if _is_article_file(path):
                    self.found_file(path, named=False)
                elif _points_to_folder(entry):
                    self.skip(path, "It is a symbolic link to a folder, which is never followed.")
                continue
            if entry.is_dir(follow_symlinks=False):
                self.walk(path)
            elif _is_article_file(path):
                self.found_file(path, named=False)

    def glob(self, folder: Path, parts: list[str]) -> Iterator[Path]:
        """Paths under ``folder`` matching ``parts`` (``**`` = any number of folders), never through a link."""
        head, rest = parts[0], parts[1:]
        if head == "**":
            if not rest:
                yield folder
                return
            yield from self.glob(folder, rest)
            for entry in self.entries(folder):
                if not _is_hidden(entry.name) and entry.is_dir(follow_symlinks=False) and self.usable_name(entry):
                    yield from self.glob(Path(entry.path), parts)
            return
        for entry in self.entries(folder):
            if not fnmatch.fnmatchcase(entry.name, head) or (_is_hidden(entry.name) and not head.startswith(".")):
                continue
            if not self.usable_name(entry):
                continue
            if not rest:
                yield Path(entry.path)
            elif entry.is_dir(follow_symlinks=False):
                yield from self.glob(Path(entry.path), rest)


def discover(
    paths: Sequence[str | Path], *, follow_symlinks: bool = False, max_entries: int = DEFAULT_MAX_ENTRIES
) -> Discovery:
    """Files to read under ``paths``, each once, in a stable order, and every entry skipped with its reason.

    A file named directly is always read, whatever its extension. A folder is walked recursively in sorted
    order, skipping hidden files and folders, files whose extension no reader handles, and
    README/LICENSE/CHANGELOG/PROVENANCE-style files that describe the folder rather than hold articles. A glob
    pattern expands like a list of named paths.
    """
    roots = [_root(Path(raw)) for raw in paths]
    walker = _Walker([root for root in roots if root is not None], follow_symlinks, max_entries)
    for raw in paths:
        try:
            _expand(walker, Path(raw))
        except _CapReached:
            walker.skip(raw, f"The walk stopped after {max_entries:,} entries (the cap), so the rest was not read.")
            break
    return walker.result


def _expand(walker: _Walker, path: Path) -> None:
    text = str(path)
    if _GLOB_CHARS.isdisjoint(text) or os.path.lexists(path):
        if not os.path.lexists(path):
            walker.result.missing.append(FileProblem(display_path(path), _NOT_FOUND))
        elif path.is_dir():
            walker.walk(path)
        else:
            walker.found_file(path, named=True)
        return
    base, parts = _split_pattern(path)
    matches = list(walker.glob(base, parts)) if base.is_dir() else []
    if not matches:
        walker.result.missing.append(FileProblem(display_path(path), _NOT_FOUND))
    for match in matches:
        if not match.is_symlink() and match.is_dir():
            walker.walk(match)
        else:
            walker.found_file(match, named=False)


def _split_pattern(pattern: Path) -> tuple[Path, list[str]]:
    parts = pattern.parts
    first = next(i for i, part in enumerate(parts) if not _GLOB_CHARS.isdisjoint(part))
    return Path(*parts[:first]) if first else Path("."), list(parts[first:])


def _root(path: Path) -> Path | None:
    if not _GLOB_CHARS.isdisjoint(str(path)) and not os.path.lexists(path):
        path = _split_pattern(path)[0]
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return None


def _points_to_folder(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:  # a link that loops
        return True


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def _is_article_file(path: Path) -> bool:
    return path.suffix.lower() in FOLDER_SUFFIXES and path.stem.lower() not in NOT_ARTICLE_STEMS
