"""Read one file into article drafts, turning every problem into a per-file or per-record reason."""

from __future__ import annotations

import errno
import logging
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from index.errors import SourceError
from index.models import ArticleDraft, FileProblem
from index.sources.decoding import decode_bytes
from index.sources.extraction import Extraction
from index.sources.formats import check_format_name, detect_format
from index.sources.html_pages import read_html_page
from index.sources.markdown_files import read_markdown
from index.sources.origins import file_origin, upload_origin
from index.sources.plain_text import read_plain_text
from index.sources.structured_records import read_csv, read_json, read_json_lines
from index.sources.text_layout import check_line_lengths, normalise_body
from index.sources.wordpress import read_wordpress_export

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 20_000_000
READERS: dict[str, Callable[[str, str], Extraction]] = {
    "text": read_plain_text,
    "markdown": read_markdown,
    "html": read_html_page,
    "json": read_json,
    "jsonl": read_json_lines,
    "csv": read_csv,
    "wxr": read_wordpress_export,
}


@dataclass(frozen=True)
class FileResult:
    """What one file gave.

    ``fatal`` means the file as a whole could not be read (``problems`` then holds the one reason and
    ``drafts`` is empty). Otherwise ``problems`` lists the articles or records that were skipped, and
    ``notes`` what was worth knowing but did not stop anything (e.g. "decoded as cp1252").
    """

    origin: str
    drafts: tuple[ArticleDraft, ...]
    problems: tuple[FileProblem, ...]
    notes: tuple[FileProblem, ...]
    fatal: bool


def read_file(path: Path, *, format: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> FileResult:
    """Read ``path`` as ``format`` (detected when None). Never raises for bad input.

    Only a regular file is read, and a symbolic link in the last place of ``path`` is refused (the caller
    resolves the links it means to follow), so a FIFO or a link swapped in after discovery can neither block
    nor redirect the read.
    """
    path = Path(path)
    origin = file_origin(path)
    try:
        data = _read_bytes(path, max_bytes)
    except SourceError as error:
        return _failed(origin, str(error))
    return _read_data(data, path, origin, format)


def read_upload(name: str, data: bytes, *, format: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> FileResult:
    """Read an uploaded file's bytes; ``name`` only tells the format. Its origin is ``upload:<sha256>``."""
    origin = upload_origin(data)
    if len(data) > max_bytes:
        return _failed(origin, f"The file is larger than the {_size(max_bytes)} cap.")
    return _read_data(data, Path(name), origin, format)


def _read_data(data: bytes, path: Path, origin: str, format: str | None) -> FileResult:
    try:
        decoded = decode_bytes(data)
        fmt = check_format_name(format) if format else detect_format(path, decoded.text)
        extraction = READERS[fmt](decoded.text, origin)
    except SourceError as error:
        return _failed(origin, str(error))
    except RecursionError:
        return _failed(origin, "The file is nested too deeply to read.")
    except Exception as error:  # a third-party parser choking on odd input must not stop the batch
        logger.exception("unexpected error while reading %s", origin)
        return _failed(origin, f"The file could not be read ({type(error).__name__}: {error}).")
    notes = list(extraction.notes)
    if decoded.note:
        notes.insert(0, FileProblem(origin, decoded.note))
    drafts, problems = _checked_drafts(extraction, decoded.note)
    return FileResult(origin=origin, drafts=tuple(drafts), problems=tuple(problems), notes=tuple(notes), fatal=False)


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        descriptor = os.open(path, flags)
    except FileNotFoundError as error:
        raise SourceError("The file does not exist.") from error
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise SourceError("The file is a symbolic link, which is not followed.") from error
        if error.errno == errno.EISDIR:
            raise SourceError("The path is a folder, not a file.") from error
        raise SourceError(f"The file could not be opened ({error.strerror or error}).") from error
    try:
        mode = os.fstat(descriptor).st_mode
        if stat.S_ISDIR(mode):
            raise SourceError("The path is a folder, not a file.")
        if not stat.S_ISREG(mode):
            raise SourceError("It is not a regular file (a FIFO, socket or device), so it was not read.")
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            data = handle.read(max_bytes + 1)
    except OSError as error:
        raise SourceError(f"The file could not be read ({error.strerror or error}).") from error
    finally:
        os.close(descriptor)
    if len(data) > max_bytes:
        raise SourceError(f"The file is larger than the {_size(max_bytes)} cap.")
    return data


def _checked_drafts(extraction: Extraction, encoding_note: str | None) -> tuple[list[ArticleDraft], list[FileProblem]]:
    drafts: list[ArticleDraft] = []
    problems = list(extraction.problems)
    for draft in extraction.drafts:
        body = normalise_body(draft.body)
        if not body.strip():
            problems.append(FileProblem(draft.origin, "The article has no body text after cleaning."))
            continue
        try:
            check_line_lengths(body, what="The article")
        except SourceError as error:
            problems.append(FileProblem(draft.origin, str(error)))
            continue
        title = draft.title.strip() or body.split("\n", 1)[0][:120]
        drafts.append(replace(draft, title=title, body=body, encoding_note=encoding_note))
    return drafts, problems


def _failed(origin: str, reason: str) -> FileResult:
    return FileResult(origin=origin, drafts=(), problems=(FileProblem(origin, reason),), notes=(), fatal=True)


def _size(count: int) -> str:
    if count >= 1_000_000:
        return f"{count / 1_000_000:g} MB"
    if count >= 1_000:
        return f"{count / 1_000:g} kB"
    return f"{count} bytes"
