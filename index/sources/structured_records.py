"""Multi-article files: JSON (one object, a list, or a list under a key), JSON Lines and CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

from index.errors import SourceError
from index.models import FileProblem
from index.sources.extraction import Extraction
from index.sources.fields import BODY_FIELDS_SENTENCE, draft_from_record, field_key, has_body
from index.sources.origins import record_origin

LIST_KEYS = ("articles", "items", "data", "posts", "entries", "results", "documents", "records", "stories", "news")
_NO_ARTICLES = f"JSON holds no articles (expected objects with {BODY_FIELDS_SENTENCE})."
_CSV_DELIMITERS = ",;\t|"
MAX_JSON_DEPTH = 64  # articles are a few levels deep; hundreds of levels is an attack or a bug
_UNREADABLE = object()
_TOO_DEEP = f"The JSON is nested more than {MAX_JSON_DEPTH} levels deep, too deep to be articles."


def read_json(text: str, file: str) -> Extraction:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        if error.msg == "Extra data":
            return read_json_lines(text, file)
        raise SourceError(
            f"The file is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})."
        ) from error
    except RecursionError:
        raise SourceError(_TOO_DEEP) from None
    if _too_deep(data):
        raise SourceError(_TOO_DEEP)
    if isinstance(data, dict) and has_body(data):
        mapped = draft_from_record(data, file)
        extraction = Extraction(drafts=[mapped.draft])
        if mapped.date_problem:
            extraction.notes.append(FileProblem(file, mapped.date_problem))
        return extraction
    records = _record_list(data)
    if records is None or not any(isinstance(record, dict) and has_body(record) for record in records):
        raise SourceError(_NO_ARTICLES)
    extraction = Extraction()
    for number, record in enumerate(records, start=1):
        extraction.add_record(record, file, number)
    return extraction


def read_json_lines(text: str, file: str) -> Extraction:
    """One JSON object per line; a record's number is its line number."""
    extraction = Extraction()
    records: list[tuple[int, object]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            extraction.problems.append(
                FileProblem(record_origin(file, number), f"Line {number} is not valid JSON ({error.msg}).")
            )
            continue
        except RecursionError:
            record = _UNREADABLE
        if record is _UNREADABLE or _too_deep(record):
            extraction.problems.append(
                FileProblem(record_origin(file, number), f"Line {number} is nested too deeply to read.")
            )
            continue
        records.append((number, record))
    if not records:
        raise SourceError("The file is not valid JSON Lines (no line holds a JSON value).")
    if not any(isinstance(record, dict) and has_body(record) for _, record in records):
        raise SourceError(_NO_ARTICLES)
    for number, record in records:
        extraction.add_record(record, file, number)
    return extraction


def read_csv(text: str, file: str) -> Extraction:
    dialect = _sniff_dialect(text)
    previous_limit = csv.field_size_limit()
    csv.field_size_limit(max(previous_limit, len(text) + 1))
    try:
        _refuse_cut_off(text, dialect)
        reader = csv.DictReader(io.StringIO(text, newline=""), dialect=dialect)
        header = reader.fieldnames or []
        if not any(field_key(name) in ("body", "content", "text", "articlebody", "fulltext") for name in header):
            raise SourceError(f"The CSV header has no body column (expected {BODY_FIELDS_SENTENCE}).")
        extraction = Extraction()
        for number, row in enumerate(reader, start=1):
            if not any((value or "").strip() for value in row.values() if isinstance(value, str)):
                continue
            extraction.add_record({key: value for key, value in row.items() if key is not None}, file, number)
        return extraction
    except csv.Error as error:
        raise SourceError(f"The CSV file could not be parsed ({error}).") from error
    finally:
        csv.field_size_limit(previous_limit)


def _refuse_cut_off(text: str, dialect: type[csv.Dialect] | csv.Dialect) -> None:
    """Refuse a CSV file that ends inside a quoted field: it was cut off, and its last record would be
    stored cut short. (Other quoting slips are left to the forgiving parse that follows.)"""
    strict = csv.reader(io.StringIO(text, newline=""), dialect=dialect, strict=True)
    try:
        for _ in strict:
            pass
    except csv.Error as error:
        if "unexpected end of data" in str(error):
            raise SourceError(
                f"The CSV file ends inside a quoted field (from line {strict.line_num}), so it looks cut off; "
                "none of it was read."
            ) from error


def _too_deep(data: object) -> bool:
    """True when lists and objects nest deeper than ``MAX_JSON_DEPTH`` (checked without recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return True
        if isinstance(value, dict):
            stack.extend((child, depth + 1) for child in value.values() if isinstance(child, dict | list))
        elif isinstance(value, list):
            stack.extend((child, depth + 1) for child in value if isinstance(child, dict | list))
    return False


def _record_list(data: object, depth: int = 0) -> list[object] | None:
    if isinstance(data, list):
        return data
    if not isinstance(data, dict) or depth > 1:
        return None
    by_key = {field_key(key): value for key, value in data.items()}
    for key in LIST_KEYS:
        if isinstance(by_key.get(key), list):
            return by_key[key]
    for value in _lists_and_objects(data):
        found = _record_list(value, depth + 1)
        if found and any(isinstance(record, dict) and has_body(record) for record in found):
            return found
    return None


def _lists_and_objects(data: dict[str, object]) -> Iterator[object]:
    return (value for value in data.values() if isinstance(value, list | dict))


def _sniff_dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    try:
        return csv.Sniffer().sniff(text[:8192], delimiters=_CSV_DELIMITERS)
    except csv.Error:
        return csv.excel
