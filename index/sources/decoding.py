"""Bytes to text: byte-order mark, then strict UTF-8, then cp1252, then latin-1; binary files refused."""

from __future__ import annotations

import codecs
import unicodedata
from dataclasses import dataclass

from index.errors import SourceError

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig", None),
    (codecs.BOM_UTF16_LE, "utf-16", "decoded as UTF-16 (little-endian byte-order mark)"),
    (codecs.BOM_UTF16_BE, "utf-16", "decoded as UTF-16 (big-endian byte-order mark)"),
)
_SAMPLE_CHARS = 65_536
_MAX_CONTROL_SHARE = 0.05
_ALLOWED_CONTROLS = frozenset("\t\n\r\f\v")


@dataclass(frozen=True)
class DecodedText:
    text: str
    note: str | None  # set when the text was not plain UTF-8, e.g. "decoded as cp1252"


def decode_bytes(data: bytes) -> DecodedText:
    """Decode file contents, or raise ``SourceError`` for empty, binary or undecodable data."""
    if not data.strip():
        raise SourceError("The file is empty.")
    for bom, encoding, note in _BOMS:
        if data.startswith(bom):
            return _checked(_decode_with_bom(data, encoding), note)
    if b"\x00" in data:
        raise SourceError("The file is binary (it contains NUL bytes).")
    try:
        return _checked(data.decode("utf-8"), None)
    except UnicodeDecodeError:
        pass
    try:
        return _checked(data.decode("cp1252"), "decoded as cp1252 (the file is not valid UTF-8)")
    except UnicodeDecodeError:
        return _checked(data.decode("latin-1"), "decoded as latin-1 (the file is not valid UTF-8 or cp1252)")


def _decode_with_bom(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise SourceError(
            f"The file starts with a {encoding.upper()} byte-order mark but byte {error.start} cannot be decoded."
        ) from error


def _checked(text: str, note: str | None) -> DecodedText:
    if not text.strip():
        raise SourceError("The file is empty.")
    sample = text[:_SAMPLE_CHARS]
    controls = sum(1 for char in sample if char not in _ALLOWED_CONTROLS and unicodedata.category(char) == "Cc")
    if controls > _MAX_CONTROL_SHARE * len(sample):
        raise SourceError("The file is binary (too many control characters to be text).")
    return DecodedText(text=text, note=note)
