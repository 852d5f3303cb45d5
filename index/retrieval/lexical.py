"""BM25 over short texts (chunks, titles), built on bm25s with Snowball stemming, saved to and loaded from one file.

``tokenize`` is the one analyser used for both documents and queries: lower-cased word
tokens, English stop words removed, each word reduced to its Snowball stem. The index
answers with a dense score array over all documents so the caller can fuse it with
other signals and apply filters as masks.

Building takes minutes at a million passages, so an index can be saved (``save``) and opened memory-mapped
(``load``): processes that open the same file share its pages. A saved index records a ``documents_key`` of the
exact texts and settings it was built from and a checksum of its arrays; ``load`` refuses (``LexicalIndexUnusable``)
a file that is missing, truncated, damaged or built from other documents, and the caller builds afresh.

File layout: ``MAGIC``, a 4-byte little-endian header length, a UTF-8 JSON header (document count, key, vocabulary,
checksum and the length of each array), then the score matrix's ``data``, ``indices`` and ``indptr`` arrays (bm25s's
per-term compressed columns), each at a 64-byte aligned offset.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import struct
import tempfile
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

from index.errors import IndexUnavailable
from index.store.durable import fsync_folder

logger = logging.getLogger(__name__)
# bm25s sets its own logger to DEBUG at import, which would print "Building index from tokens" on every start.
logging.getLogger("bm25s").setLevel(logging.WARNING)

# Words are runs of letters/digits; an apostrophe inside a word ("Altman's", "don't") splits it.
_WORD = re.compile(r"[^\W_]+")

# English function words: they carry no topic and only dilute BM25's query-term weights.
STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her
    here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not
    now of off on once only or other our ours ourselves out over own same she should so some such than that the
    their theirs them themselves then there these they this those through to too under until up very was we
    were what when where which while who whom why will with would you your yours yourself yourselves s t d ll
    m re ve
    """.split()
)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    stemmer = Stemmer.Stemmer("english")
    stemmer.maxCacheSize = 200_000
    return stemmer


def tokenize(text: str) -> list[str]:
    """Stemmed, stop-word-free, lower-cased word tokens of ``text``, in order."""
    words = [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS]
    return _stemmer().stemWords(words)


MAGIC = b"ARCHIVIST-BM25\x01"
_HEADER_LENGTH = struct.Struct("<I")
_ALIGN = 64
_ARRAYS = (("data", np.float32), ("indices", np.int32), ("indptr", np.int64))
_CHECKSUM_BLOCK = 1 << 24


def _checksum_start(size: int, vocabulary: dict[str, int]) -> hashlib.blake2b:
    """A checksum under way over what a saved index holds besides its arrays."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(json.dumps([size, vocabulary], sort_keys=True).encode("utf-8"))
    return digest


class LexicalIndexUnusable(IndexUnavailable):
    """A saved BM25 index is missing, truncated, damaged or was built from other documents."""


def documents_key(documents: Iterable[str], *, k1: float = 1.2, b: float = 0.75) -> str:
    """A digest of the documents, in order, and of everything else that decides their BM25 scores."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"lucene k1={k1!r} b={b!r} {_WORD.pattern} {' '.join(sorted(STOPWORDS))}\0".encode())
    digest.update(Stemmer.Stemmer("english").stemWord("running").encode())  # a stemmer change shows here
    for document in documents:
        digest.update(document.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


class LexicalIndex:
    """BM25 (Lucene variant) over a fixed list of documents, addressed by position."""

    def __init__(
        self, vocabulary: dict[str, int], data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, size: int
    ) -> None:
        self._vocabulary = vocabulary
        self._data = data
        self._indices = indices
        self._indptr = indptr
        self._size = size

    @classmethod
    def build(cls, documents: Iterable[str], *, k1: float = 1.2, b: float = 0.75) -> LexicalIndex:
        tokens = [tokenize(doc) for doc in documents]
        return cls.from_tokens(tokens, k1=k1, b=b)

    @classmethod
    def from_tokens(cls, tokens: Sequence[list[str]], *, k1: float = 1.2, b: float = 0.75) -> LexicalIndex:
        """Index pre-tokenized documents (as produced by ``tokenize``)."""
        if not tokens:
            return cls({}, np.zeros(0, np.float32), np.zeros(0, np.int32), np.zeros(1, np.int64), 0)
        model = bm25s.BM25(k1=k1, b=b, method="lucene")
        model.index([list(t) for t in tokens], show_progress=False)
        logger.debug("BM25 index over %d documents", len(tokens))
        matrix = model.scores
        arrays = [np.ascontiguousarray(matrix[name], dtype=dtype) for name, dtype in _ARRAYS]
        terms = arrays[2].size - 1  # bm25s also lists "" in its vocabulary, past the matrix's last column
        vocabulary = {token: column for token, column in model.vocab_dict.items() if column < terms}
        return cls(vocabulary, *arrays, len(tokens))

    def __len__(self) -> int:
        return self._size

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for ``query`` (float32, zeros when no query term is known)."""
        return self.scores_for_tokens(tokenize(query))

    def scores_for_tokens(self, query_tokens: Sequence[str]) -> np.ndarray:
        if not self._size:
            return np.zeros(0, dtype=np.float32)
        ids = [self._vocabulary[t] for t in dict.fromkeys(query_tokens) if t in self._vocabulary]
        scores = np.zeros(self._size, dtype=np.float32)
        # bm25s stores each term's precomputed document scores as one column of a sparse matrix;
        # a term lists a document at most once, so a fancy-indexed add is exact (and much faster
        # than bm25s's own np.add.at).
        data, indices, indptr = self._data, self._indices, self._indptr
        for token in ids:
            start, end = indptr[token], indptr[token + 1]
            scores[indices[start:end]] += data[start:end]
        return scores

    def save(self, path: Path, *, key: str) -> None:
        """Write the index durably to ``path`` (temp file, fsync, rename) under ``key`` (see ``documents_key``)."""
        path = Path(path)
        arrays = [np.ascontiguousarray(getattr(self, f"_{name}"), dtype=dtype) for name, dtype in _ARRAYS]
        checksum = _checksum_start(self._size, self._vocabulary)
        for array in arrays:
            checksum.update(memoryview(array).cast("B"))
        header = {"size": self._size, "key": key, "vocabulary": self._vocabulary, "checksum": checksum.hexdigest()}
        header["counts"] = [int(a.size) for a in arrays]
        encoded = json.dumps(header, sort_keys=True).encode("utf-8")
        # A name of its own: two processes may save the same index at once, and the last rename wins.
        handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False)
        temp = Path(handle.name)
        try:
            with handle:
                handle.write(MAGIC + _HEADER_LENGTH.pack(len(encoded)) + encoded)
                for array in arrays:
                    handle.write(b"\0" * (-handle.tell() % _ALIGN))
                    handle.write(memoryview(array).cast("B"))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        fsync_folder(path.parent)
        logger.info("saved BM25 index of %d documents to %s", self._size, path)

    @classmethod
    def load(cls, path: Path, *, key: str) -> LexicalIndex:
        """Open the index saved at ``path`` memory-mapped, if it was saved under ``key`` and verifies.

        Raises ``LexicalIndexUnusable`` when the file is missing, truncated, damaged or saved under another key.
        """
        path = Path(path)
        try:
            with open(path, "rb") as handle:
                fixed = handle.read(len(MAGIC) + _HEADER_LENGTH.size)
                if len(fixed) != len(MAGIC) + _HEADER_LENGTH.size or not fixed.startswith(MAGIC):
                    raise LexicalIndexUnusable(f"The BM25 index file {path} has no valid header.")
                (length,) = _HEADER_LENGTH.unpack_from(fixed, len(MAGIC))
                header = json.loads(handle.read(length).decode("utf-8"))
            file_size = path.stat().st_size
        except FileNotFoundError:
            raise LexicalIndexUnusable(f"The BM25 index file {path} is missing.") from None
        except OSError as error:
            raise LexicalIndexUnusable(f"The BM25 index file {path} cannot be read: {error.strerror}.") from error
        except (UnicodeDecodeError, ValueError) as error:
            raise LexicalIndexUnusable(f"The BM25 index file {path} has an unreadable header.") from error
        try:
            size, vocabulary, counts = int(header["size"]), header["vocabulary"], [int(c) for c in header["counts"]]
            saved_key, checksum = header["key"], header["checksum"]
        except (KeyError, TypeError, ValueError) as error:
            raise LexicalIndexUnusable(f"The BM25 index file {path} has an unreadable header.") from error
        if saved_key != key:
            raise LexicalIndexUnusable(f"The BM25 index file {path} was built from other documents.")
        if len(counts) != len(_ARRAYS) or min(counts) < 0 or size < 0 or not isinstance(vocabulary, dict):
            raise LexicalIndexUnusable(f"The BM25 index file {path} has an unreadable header.")
        offset = len(MAGIC) + _HEADER_LENGTH.size + length
        arrays, digest = [], _checksum_start(size, vocabulary)
        for (_, dtype), count in zip(_ARRAYS, counts, strict=True):
            offset += -offset % _ALIGN
            end = offset + count * np.dtype(dtype).itemsize
            if end > file_size:
                raise LexicalIndexUnusable(f"The BM25 index file {path} is truncated.")
            array = (
                np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=(count,)) if count else np.empty(0, dtype)
            )
            for start in range(0, count, _CHECKSUM_BLOCK):
                digest.update(memoryview(np.ascontiguousarray(array[start : start + _CHECKSUM_BLOCK])).cast("B"))
            arrays.append(array)
            offset = end
        if offset != file_size:
            raise LexicalIndexUnusable(f"The BM25 index file {path} has trailing bytes.")
        if digest.hexdigest() != checksum:
            raise LexicalIndexUnusable(f"The BM25 index file {path} is damaged: its checksum does not match.")
        data, indices, indptr = arrays
        terms = indptr.size - 1
        if (
            terms < 0
            or indptr[0] != 0
            or indptr[-1] != data.size
            or indices.size != data.size
            or any(not isinstance(i, int) or not 0 <= i < terms for i in vocabulary.values())
        ):
            raise LexicalIndexUnusable(f"The BM25 index file {path} does not hold the index its header describes.")
        return cls(vocabulary, data, indices, indptr, size)
