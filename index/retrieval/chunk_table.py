"""What search needs of every chunk, held as arrays instead of records.

A retriever scores every chunk of a generation on each question, but it reads the text and metadata of only the
few it returns. ``ChunkTable`` keeps per chunk its id, its article's number and a digest of its text, and per article
its id, outlet, author, section and publication date: about 40 bytes a chunk, where a ``ChunkRecord`` with its text
took about 2.8 KB (171 MB for 62k passages). The records of the chunks returned are read back when they are
returned (``Fetch``), and a chunk whose text changed since the table was made is not returned: its scores were
computed on the old text, and its offsets may no longer point into the article.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

from index.models import ChunkRecord
from index.retrieval.lexical import text_hash64

Fetch = Callable[[Sequence[int]], Iterable[ChunkRecord]]  # chunk ids -> those of their records that exist


class ChunkTable:
    """Chunks in the order the lexical index numbers them, with their articles' metadata as columns."""

    def __init__(self, records: Iterable[ChunkRecord]) -> None:
        ids: list[int] = []
        digests: list[bytes] = []
        article_of: list[int] = []
        numbers: dict[str, int] = {}
        self.article_ids: list[str] = []
        self.sources: list[str] = []
        self.authors: list[str] = []
        self.categories: list[str] = []
        self.published: list[str | None] = []
        for record in records:  # one at a time: the records themselves are not kept
            number = numbers.get(record.article_id)
            if number is None:
                number = numbers[record.article_id] = len(self.article_ids)
                self.article_ids.append(record.article_id)
                self.sources.append(record.source or "")
                self.authors.append(record.author or "")
                self.categories.append((record.category or "").lower())
                self.published.append(record.published_at)
            ids.append(record.chunk_id)
            digests.append(text_hash64(record.text))
            article_of.append(number)
        self.chunk_ids = np.array(ids, dtype=np.int64)
        self.article = np.array(article_of, dtype=np.int64)
        self._digests = np.frombuffer(b"".join(digests), dtype=np.uint64) if digests else np.zeros(0, np.uint64)
        self._order = np.argsort(self.chunk_ids, kind="stable")
        self._sorted = self.chunk_ids[self._order]

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
