"""What search needs of every chunk, held as arrays instead of records.

A retriever scores every chunk of a generation on each question, but it reads the text and metadata of only the
few it returns. ``ChunkTable`` keeps per chunk its id, its article's number and a digest of its text, and per article
its id, outlet, author, section and publication date: about 40 bytes a chunk, where a ``ChunkRecord`` with its text
took about 2.8 KB (171 MB for 62k passages). The records of the chunks returned are read back when they are
returned (``Fetch``), and a chunk whose text changed since the table was made is not returned: its scores were
computed on the old text, and its offsets may no longer point into the article.

Making the table means reading every chunk (at a million passages, most of a process's 30 s start), so a table is
saved beside its generation's BM25 index with a stamp saying what it was made from, and opened instead while that
still holds. The file is a versioned header, the arrays and a checksum over both; any fault is ``ChunkTableUnusable``.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from index.errors import IndexUnavailable
from index.models import ChunkRecord
from index.retrieval.lexical import text_hash64
from index.store.durable import write_arrays

Fetch = Callable[[Sequence[int]], Iterable[ChunkRecord]]  # chunk ids -> those of their records that exist

MAGIC = b"ARCHIVIST-CHUNKS\x01"  # the last byte is the format version
_HEADER_LENGTH = struct.Struct("<I")
_ALIGN = 64
_ARRAYS = {"chunk_ids": np.dtype("<i8"), "article": np.dtype("<i8"), "digests": np.dtype("<u8")}
_COLUMNS = ("article_ids", "sources", "authors", "categories", "published")


class ChunkTableUnusable(IndexUnavailable):
    """A saved chunk table is missing, truncated, damaged or of another format version."""


class ChunkTable:
    """Chunks in the order the lexical index numbers them, with their articles' metadata as columns."""

    def __init__(
        self,
        chunk_ids: np.ndarray,
        article: np.ndarray,
        digests: np.ndarray,
        articles: dict[str, list],
    ) -> None:
        """``article`` numbers each chunk's article in ``articles``, whose lists (``_COLUMNS``) have one entry each."""
        self.chunk_ids, self.article, self._digests = chunk_ids, article, digests
        self.article_ids: list[str] = articles["article_ids"]
        self.sources: list[str] = articles["sources"]
        self.authors: list[str] = articles["authors"]
        self.categories: list[str] = articles["categories"]
        self.published: list[str | None] = articles["published"]
        self._order = np.argsort(self.chunk_ids, kind="stable")
        self._sorted = self.chunk_ids[self._order]

    @classmethod
    def of(cls, records: Iterable[ChunkRecord]) -> ChunkTable:
        """The table of ``records``, read one at a time: the records themselves are not kept."""
        ids: list[int] = []
        digests: list[bytes] = []
        article_of: list[int] = []
        numbers: dict[str, int] = {}
        articles: dict[str, list] = {name: [] for name in _COLUMNS}
        for record in records:
            number = numbers.get(record.article_id)
            if number is None:
                number = numbers[record.article_id] = len(articles["article_ids"])
                articles["article_ids"].append(record.article_id)
                articles["sources"].append(record.source or "")
                articles["authors"].append(record.author or "")
                articles["categories"].append((record.category or "").lower())
                articles["published"].append(record.published_at)
            ids.append(record.chunk_id)
            digests.append(text_hash64(record.text))
            article_of.append(number)
        return cls(
            np.array(ids, dtype=np.int64),
            np.array(article_of, dtype=np.int64),
            np.frombuffer(b"".join(digests), dtype=np.uint64) if digests else np.zeros(0, np.uint64),
            articles,
        )

    def save(self, path: Path, *, stamp: dict) -> None:
        """Write the table durably to ``path`` (temp file, fsync, rename) with ``stamp``, the caller's note of what
        it was made from, which ``load`` gives back: a table read again from its file need not be made again."""
        path = Path(path)
        columns = json.dumps({name: getattr(self, name) for name in _COLUMNS}, ensure_ascii=False).encode("utf-8")
        arrays = [
            np.ascontiguousarray(getattr(self, name if name != "digests" else "_digests"), dtype=dtype)
            for name, dtype in _ARRAYS.items()
        ]
        arrays.append(np.frombuffer(columns, dtype=np.uint8))
        header: dict = {"stamp": stamp, "chunks": len(self), "articles": len(self.article_ids), "columns": len(columns)}
        checksum = _checksum_start(header)
        for part in arrays:
            checksum.update(part.view(np.uint8))
        header["checksum"] = checksum.hexdigest()
        encoded = json.dumps(header, sort_keys=True).encode("utf-8")
        write_arrays(path, MAGIC + _HEADER_LENGTH.pack(len(encoded)) + encoded, arrays, align=_ALIGN)

    @classmethod
    def stamp_of(cls, path: Path) -> dict:
        """The stamp the table at ``path`` was saved with, its arrays unread and unchecked (``load`` checks them)."""
        return _read_header(Path(path))[0]["stamp"]

    @classmethod
    def load(cls, path: Path) -> tuple[ChunkTable, dict]:
        """The table saved at ``path`` and its stamp, if the file verifies; else ``ChunkTableUnusable``."""
        path = Path(path)
        header, offset, content = _read_header(path)
        unreadable = ChunkTableUnusable(f"The chunk table file {path} does not hold the table its header describes.")
        try:
            chunks, count, length = int(header["chunks"]), int(header["articles"]), int(header["columns"])
            expected = header.pop("checksum")
        except (KeyError, TypeError, ValueError):
            raise unreadable from None
        checksum = _checksum_start(header)
        parts = []
        for dtype, size in [*((d, chunks) for d in _ARRAYS.values()), (np.dtype(np.uint8), length)]:
            offset += -offset % _ALIGN
            end = offset + size * dtype.itemsize
            if size < 0 or end > len(content):
                raise ChunkTableUnusable(f"The chunk table file {path} is truncated.")
            parts.append(np.frombuffer(content, dtype=dtype, count=size, offset=offset))
            checksum.update(content[offset:end])
            offset = end
        if offset != len(content):
            raise ChunkTableUnusable(f"The chunk table file {path} has trailing bytes.")
        if checksum.hexdigest() != expected:
            raise ChunkTableUnusable(f"The chunk table file {path} is damaged: its checksum does not match.")
        chunk_ids, article, digests, columns = parts
        try:
            articles = json.loads(columns.tobytes().decode("utf-8"))
        except ValueError:
            raise unreadable from None
        if (
            not isinstance(articles, dict)
            or sorted(articles) != sorted(_COLUMNS)
            or any(not isinstance(articles[name], list) or len(articles[name]) != count for name in _COLUMNS)
            or (chunks and not 0 <= int(article.min()) <= int(article.max()) < count)
        ):
            raise unreadable
        return cls(chunk_ids, article, digests, articles), header["stamp"]

    def __len__(self) -> int:
        return int(self.chunk_ids.size)

    def positions(self, chunk_ids: Sequence[int]) -> np.ndarray:
        """The position of each chunk id, -1 for those the table does not hold."""
        wanted = np.asarray(chunk_ids, dtype=np.int64)
        if not len(self) or not wanted.size:
            return np.full(wanted.shape, -1, dtype=np.int64)
        slot = np.minimum(np.searchsorted(self._sorted, wanted), len(self) - 1)
        return np.where(self._sorted[slot] == wanted, self._order[slot], -1)

    def holds(self, position: int, record: ChunkRecord) -> bool:
        """Does ``record`` still have the text the chunk at ``position`` had when the table was made?"""
        return np.frombuffer(text_hash64(record.text), dtype=np.uint64)[0] == self._digests[position]


def fetch_from(records: Sequence[ChunkRecord]) -> Fetch:
    """A ``Fetch`` over records held in memory (for callers that have them anyway)."""
    by_id = {record.chunk_id: record for record in records}
    return lambda ids: [by_id[i] for i in ids if i in by_id]


def _read_header(path: Path) -> tuple[dict, int, bytes]:
    """The JSON header of the table file at ``path``, where its arrays begin, and the whole file."""
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise ChunkTableUnusable(f"The chunk table file {path} is missing.") from None
    except OSError as error:
        raise ChunkTableUnusable(f"The chunk table file {path} cannot be read: {error.strerror}.") from error
    start = len(MAGIC) + _HEADER_LENGTH.size
    if len(content) < start or not content.startswith(MAGIC[:-1]):
        raise ChunkTableUnusable(f"The chunk table file {path} has no valid header.")
    if not content.startswith(MAGIC):
        raise ChunkTableUnusable(f"The chunk table file {path} was saved in another format version.")
    (length,) = _HEADER_LENGTH.unpack_from(content, len(MAGIC))
    try:
        header = json.loads(content[start : start + length].decode("utf-8"))
    except ValueError:
        header = None
    if not isinstance(header, dict) or "stamp" not in header:
        raise ChunkTableUnusable(f"The chunk table file {path} has an unreadable header.")
    return header, start + length, content


def _checksum_start(header: dict) -> hashlib.blake2b:
    digest = hashlib.blake2b(digest_size=16)
    digest.update(json.dumps(header, sort_keys=True).encode("utf-8"))
    return digest
