"""BM25 (Lucene variant) over short texts (chunks, titles) with Snowball stemming, in NumPy: built, saved to one
file, opened memory-mapped, and updated from a previous generation's file.

``tokenize`` is the one analyser used for both documents and queries: lower-cased word
tokens, English stop words removed, each word reduced to its Snowball stem. The index
answers with a dense score array over all documents so the caller can fuse it with
other signals and apply filters as masks.

Scores are those of bm25s's "lucene" method, which this module replaced: for a term of document frequency ``df``
among ``N`` documents, ``idf = ln(1 + (N - df + 0.5) / (df + 0.5))`` (rounded to float32), and a document of ``dl``
tokens holding it ``tf`` times scores ``idf * tf / (tf + k1 * (1 - b + b * dl / avgdl))``, kept as float32. Each
term's scores are precomputed as one column (``data`` and ``indices`` from ``indptr[t]`` to ``indptr[t + 1]``), so
a query is a gather-add over its terms' columns.

An index is held in one canonical form: terms sorted, each term's postings in document order. Building afresh and
updating from a previous index (``updated``) both end in ``_scored``, so the same documents give the same arrays
and exactly the same scores whichever way they came.

Each document is known by ``DocumentKeys``: an id (a chunk id) and a hash of its text. ``updated`` keeps the
postings (term counts) of every document whose id and hash are unchanged, tokenizes only the others, and scores
every posting again, since ``N`` and ``avgdl`` moved: at a million passages tokenizing is most of a build's time.

A saved index holds its keys and term counts besides its scores, and is saved under a ``documents_key`` of the
exact documents (ids and texts). A process opening the file reads the texts once (``KeyReader``), hashing them
together for that key and one by one for the keys an update would need if the file turns out unusable. ``load`` refuses (``LexicalIndexUnusable``) a file that is missing,
truncated, damaged, of another format version, analyser or BM25 parameters, or (given a key) saved under another
key, and the caller updates or builds afresh.

File layout: ``MAGIC`` (its last byte is the format version), a 4-byte little-endian header length, a UTF-8 JSON
header (document count, key, k1, b, analyser, vocabulary in column order, the counts' dtype, the length of each
array and a checksum), then the arrays ``data``, ``indices``, ``indptr``, ``tf`` (term counts, parallel to ``data``), ``ids``
and ``hashes`` (the documents' keys), each at a 64-byte aligned offset.
"""

from __future__ import annotations

import array
import hashlib
import itertools
import json
import logging
import math
import os
import re
import struct
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import Stemmer

from index.errors import IndexUnavailable
from index.store.durable import fsync_folder

logger = logging.getLogger(__name__)

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


@lru_cache(maxsize=1)
def _analyser() -> str:
    """A digest of what decides a text's tokens: postings saved under another analyser cannot be reused."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{_WORD.pattern} {' '.join(sorted(STOPWORDS))}\0".encode())
    digest.update(Stemmer.Stemmer("english").stemWord("running").encode())  # a stemmer change shows here
    return digest.hexdigest()


MAGIC = b"ARCHIVIST-BM25\x02"
_HEADER_LENGTH = struct.Struct("<I")
_ALIGN = 64
_CHECKSUM_BLOCK = 1 << 24
_SCORE_BLOCK = 1 << 20  # postings scored at a time
_TF_DTYPES = ("|u1", "<u2", "<u4", "<u8")  # the smallest that holds the largest count is saved


class LexicalIndexUnusable(IndexUnavailable):
    """A saved BM25 index is missing, truncated, damaged, of another version or was built from other documents."""


def documents_key(ids: Iterable[int], documents: Iterable[str], *, k1: float = 1.2, b: float = 0.75) -> str:
    """A digest of the documents' ids and texts, in order, and of everything else that decides their BM25 scores."""
    reader = KeyReader(k1=k1, b=b)
    for document_id, document in zip(ids, documents, strict=True):
        reader.add(document_id, document)
    return reader.key()


def text_hash64(document: str) -> bytes:
    """The 8-byte hash that names a document's exact text in ``DocumentKeys``."""
    return hashlib.blake2b(document.encode("utf-8", "surrogatepass"), digest_size=8).digest()


class KeyReader:
    """Reads documents one at a time, holding none of them, for their ``documents_key`` and ``DocumentKeys``."""

    def __init__(self, *, k1: float = 1.2, b: float = 0.75) -> None:
        self._digest = hashlib.blake2b(digest_size=16)
        self._digest.update(f"{_analyser()} lucene k1={k1!r} b={b!r}\0".encode())
        self._ids: list[int] = []
        self._hashes: list[bytes] = []

    def add(self, document_id: int, document: str) -> None:
        self._digest.update(int(document_id).to_bytes(8, "little", signed=True))
        self._digest.update(document.encode("utf-8", "surrogatepass"))
        self._digest.update(b"\0")
        self._ids.append(document_id)
        self._hashes.append(text_hash64(document))

    def key(self) -> str:
        return self._digest.hexdigest()

    def keys(self) -> DocumentKeys:
        return DocumentKeys(np.array(self._ids, dtype=np.int64), np.frombuffer(b"".join(self._hashes), "<u8"))


@dataclass(frozen=True, eq=False)
class DocumentKeys:
    """Who each document is, by position: an id (a chunk id) and a hash of its exact text.

    A document whose text changed under the same id is a new document: its postings are not reused.
    """

    ids: np.ndarray  # int64
    hashes: np.ndarray  # uint64, the first 8 bytes of the text's BLAKE2b

    @classmethod
    def of(cls, ids: Iterable[int], documents: Sequence[str]) -> DocumentKeys:
        digests = b"".join(text_hash64(d) for d in documents)
        return cls(np.fromiter(ids, np.int64, count=len(documents)), np.frombuffer(digests, "<u8"))

    def __len__(self) -> int:
        return int(self.ids.size)


class LexicalIndex:
    """BM25 (Lucene variant) over a fixed list of documents, addressed by position; ``keys`` says who they are."""

    def __init__(
        self,
        vocabulary: dict[str, int],
        arrays: dict[str, np.ndarray],
        keys: DocumentKeys,
        *,
        k1: float,
        b: float,
    ) -> None:
        self._vocabulary = vocabulary  # term -> column, in column order
        self._data, self._indices, self._indptr, self._tf = (arrays[n] for n in ("data", "indices", "indptr", "tf"))
        self.keys = keys
        self._k1, self._b = k1, b

    @classmethod
    def build(
        cls, documents: Iterable[str], *, keys: DocumentKeys | None = None, k1: float = 1.2, b: float = 0.75
    ) -> LexicalIndex:
        """Index ``documents``; ``keys`` name them for a later ``updated`` (default: their positions)."""
        documents = list(documents)
        keys = keys if keys is not None else DocumentKeys.of(range(len(documents)), documents)
        return _scored(*_postings(documents), keys, k1=k1, b=b)  # no local keeps the postings

    def updated(
        self, documents: Sequence[str], keys: DocumentKeys, *, k1: float = 1.2, b: float = 0.75
    ) -> LexicalIndex:
        """The index of ``documents`` (named by ``keys``, in this order), reusing this index's term counts of every
        document whose id and text hash are unchanged and tokenizing only the others.

        Scores are exactly those of ``build(documents, keys=keys)``.
        """
        position = _previous_positions(self.keys, keys)
        fresh = np.flatnonzero(position < 0)
        words, terms, docs, tf = _postings(documents[i] for i in fresh.tolist())
        # Each previous document's new position (-1: gone), then its kept postings, all at once.
        moved = np.full(len(self), -1, np.int64)
        kept = np.flatnonzero(position >= 0)
        moved[position[kept]] = kept
        old_terms = np.repeat(np.arange(len(self._vocabulary), dtype=np.int64), np.diff(self._indptr))
        new_docs = moved[self._indices]
        keep = new_docs >= 0
        # Both vocabularies are sorted: Python's sort merges the two runs in linear time.
        previous_words = list(self._vocabulary)
        merged = list(dict.fromkeys(sorted(previous_words + words)))
        column = {word: i for i, word in enumerate(merged)}
        old_column = np.fromiter(map(column.__getitem__, previous_words), np.int64, count=len(previous_words))
        new_column = np.fromiter(map(column.__getitem__, words), np.int64, count=len(words))
        logger.info("BM25 index of %d documents: %d reused, %d tokenized", len(keys), kept.size, fresh.size)
        return _scored(
            merged,
            np.concatenate([old_column[old_terms[keep]], new_column[terms]]),
            np.concatenate([new_docs[keep], fresh[docs]]),
            np.concatenate([self._tf[keep], tf]),
            keys,
            k1=k1,
            b=b,
        )

    def __len__(self) -> int:
        return len(self.keys)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for ``query`` (float32, zeros when no query term is known)."""
        return self.scores_for_tokens(tokenize(query))

    def scores_for_tokens(self, query_tokens: Sequence[str]) -> np.ndarray:
        ids = [self._vocabulary[t] for t in dict.fromkeys(query_tokens) if t in self._vocabulary]
        scores = np.zeros(len(self), dtype=np.float32)
        # A term lists a document at most once, so a fancy-indexed add over its column is exact.
        data, indices, indptr = self._data, self._indices, self._indptr
        for token in ids:
            start, end = indptr[token], indptr[token + 1]
            scores[indices[start:end]] += data[start:end]
        return scores

    def _arrays(self) -> dict[str, np.ndarray]:
        return {
            "data": self._data,
            "indices": self._indices,
            "indptr": self._indptr,
            "tf": self._tf,
            "ids": self.keys.ids,
            "hashes": self.keys.hashes,
        }

    def _header(self) -> dict:
        """What a saved index holds besides its arrays (and their lengths and checksum)."""
        return {
            "size": len(self),
            "k1": self._k1,
            "b": self._b,
            "analyser": _analyser(),
            "vocabulary": list(self._vocabulary),
            "tf": np.dtype(self._tf.dtype).str,
        }

    def save(self, path: Path, *, key: str) -> None:
        """Write the index durably to ``path`` (temp file, fsync, rename) under ``key`` (see ``documents_key``)."""
        path = Path(path)
        header = {**self._header(), "key": key}
        arrays = [np.ascontiguousarray(a, dtype=_dtypes(header["tf"])[n]) for n, a in self._arrays().items()]
        checksum = _checksum_start(header)
        for part in arrays:
            checksum.update(part.view(np.uint8))
        header["counts"] = [int(a.size) for a in arrays]
        header["checksum"] = checksum.hexdigest()
        encoded = json.dumps(header, sort_keys=True).encode("utf-8")
        # A name of its own: two processes may save the same index at once, and the last rename wins.
        handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False)
        temp = Path(handle.name)
        try:
            with handle:
                handle.write(MAGIC + _HEADER_LENGTH.pack(len(encoded)) + encoded)
                for part in arrays:
                    handle.write(b"\0" * (-handle.tell() % _ALIGN))
                    handle.write(part.view(np.uint8))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        fsync_folder(path.parent)
        logger.info("saved BM25 index of %d documents to %s", len(self), path)

    @classmethod
    def load(cls, path: Path, *, key: str | None = None, k1: float = 1.2, b: float = 0.75) -> LexicalIndex:
        """Open the index saved at ``path`` memory-mapped, if it verifies and (given ``key``) was saved under it.

        Raises ``LexicalIndexUnusable`` when the file is missing, truncated, damaged, of another format version,
        analyser or BM25 parameters, or built from other documents.
        """
        path = Path(path)
        header, offset, file_size = _read_header(path)
        try:
            size, vocabulary, counts = int(header["size"]), header["vocabulary"], [int(c) for c in header["counts"]]
            dtypes, checksum = _dtypes(header["tf"]), header["checksum"]
            settings, saved_key = (header["analyser"], header["k1"], header["b"]), header["key"]
        except (KeyError, TypeError, ValueError) as error:
            raise LexicalIndexUnusable(f"The BM25 index file {path} has an unreadable header.") from error
        if settings != (_analyser(), k1, b):
            raise LexicalIndexUnusable(f"The BM25 index file {path} was built with other BM25 settings.")
        if key is not None and saved_key != key:
            raise LexicalIndexUnusable(f"The BM25 index file {path} was built from other documents.")
        if (
            len(counts) != len(dtypes)
            or min(counts) < 0
            or not isinstance(vocabulary, list)
            or not all(isinstance(word, str) for word in vocabulary)
        ):
            raise LexicalIndexUnusable(f"The BM25 index file {path} has an unreadable header.")
        arrays = {}
        for (name, dtype), count in zip(dtypes.items(), counts, strict=True):
            offset += -offset % _ALIGN
            end = offset + count * dtype.itemsize
            if end > file_size:
                raise LexicalIndexUnusable(f"The BM25 index file {path} is truncated.")
            arrays[name] = (
                np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=(count,)) if count else np.empty(0, dtype)
            )
            offset = end
        if offset != file_size:
            raise LexicalIndexUnusable(f"The BM25 index file {path} has trailing bytes.")
        digest = _checksum_start({k: v for k, v in header.items() if k not in ("counts", "checksum")})
        for part in arrays.values():
            for start in range(0, part.size, _CHECKSUM_BLOCK):
                digest.update(np.ascontiguousarray(part[start : start + _CHECKSUM_BLOCK]).view(np.uint8))
        if digest.hexdigest() != checksum:
            raise LexicalIndexUnusable(f"The BM25 index file {path} is damaged: its checksum does not match.")
        indptr = arrays["indptr"]
        if (
            indptr.size != len(vocabulary) + 1
            or indptr[0] != 0
            or indptr[-1] != arrays["data"].size
            or not arrays["data"].size == arrays["indices"].size == arrays["tf"].size
            or not size == arrays["ids"].size == arrays["hashes"].size
        ):
            raise LexicalIndexUnusable(f"The BM25 index file {path} does not hold the index its header describes.")
        vocabulary_columns = {word: i for i, word in enumerate(vocabulary)}
        return cls(vocabulary_columns, arrays, DocumentKeys(arrays["ids"], arrays["hashes"]), k1=k1, b=b)


def _read_header(path: Path) -> tuple[dict, int, int]:
    """The JSON header of the file at ``path``, where its arrays begin and the file's size."""
    try:
        with open(path, "rb") as handle:
            fixed = handle.read(len(MAGIC) + _HEADER_LENGTH.size)
            if len(fixed) != len(MAGIC) + _HEADER_LENGTH.size or not fixed.startswith(MAGIC[:-1]):
                raise LexicalIndexUnusable(f"The BM25 index file {path} has no valid header.")
            if not fixed.startswith(MAGIC):  # MAGIC's last byte is the format version
                raise LexicalIndexUnusable(f"The BM25 index file {path} was saved in another format version.")
            (length,) = _HEADER_LENGTH.unpack_from(fixed, len(MAGIC))
            header = json.loads(handle.read(length).decode("utf-8"))
        file_size = path.stat().st_size
    except FileNotFoundError:
        raise LexicalIndexUnusable(f"The BM25 index file {path} is missing.") from None
    except OSError as error:
        raise LexicalIndexUnusable(f"The BM25 index file {path} cannot be read: {error.strerror}.") from error
    except (UnicodeDecodeError, ValueError) as error:
        raise LexicalIndexUnusable(f"The BM25 index file {path} has an unreadable header.") from error
    if not isinstance(header, dict):
        raise LexicalIndexUnusable(f"The BM25 index file {path} has an unreadable header.")
    return header, len(MAGIC) + _HEADER_LENGTH.size + length, file_size


def _dtypes(tf: object) -> dict[str, np.dtype]:
    """The saved arrays' names and types, in file order; ``tf`` is the counts' saved dtype."""
    if tf not in _TF_DTYPES:
        raise ValueError(f"unknown term count type {tf!r}")
    names = ("data", "indices", "indptr", "tf", "ids", "hashes")
    return dict(zip(names, map(np.dtype, ("<f4", "<i4", "<i8", tf, "<i8", "<u8")), strict=True))


def _checksum_start(header: dict) -> hashlib.blake2b:
    """A checksum under way over what a saved index holds besides its arrays."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(json.dumps(header, sort_keys=True).encode("utf-8"))
    return digest


def _previous_positions(previous: DocumentKeys, keys: DocumentKeys) -> np.ndarray:
    """For each document of ``keys``, the position of the same document (id and hash) in ``previous``, else -1.

    Each previous document is reused at most once: a repeated key after its first is tokenized again.
    """
    if not len(previous) or not len(keys):
        return np.full(len(keys), -1, np.int64)
    order = np.argsort(previous.ids, kind="stable")
    slot = np.minimum(np.searchsorted(previous.ids[order], keys.ids), order.size - 1)
    found = order[slot]
    same = (previous.ids[found] == keys.ids) & (previous.hashes[found] == keys.hashes)
    position = np.where(same, found, -1)
    reused = np.flatnonzero(same)
    _, first = np.unique(found[reused], return_index=True)
    repeated = np.setdiff1d(reused, reused[first], assume_unique=True)
    position[repeated] = -1
    return position


def _postings(documents: Iterable[str]) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Documents as postings, tokenized one at a time: their sorted distinct terms, and for each (document, term)
    pair the term's index in them, the document's position and how often the term occurs there. Only the postings
    are held, as integers, never every token of every document (a token is a string object of its own)."""
    column: dict[str, int] = {}  # term -> number, in the order first met
    terms, docs, counts = array.array("i"), array.array("i"), array.array("i")
    for position, document in enumerate(documents):
        tf = Counter(column.setdefault(word, len(column)) for word in tokenize(document))
        terms.extend(tf.keys())
        counts.extend(tf.values())
        docs.extend(itertools.repeat(position, len(tf)))
    met = list(column)
    order = sorted(range(len(met)), key=met.__getitem__)
    rank = np.empty(len(met), dtype=np.int32)
    rank[order] = np.arange(len(met), dtype=np.int32)
    as_array = lambda values: np.frombuffer(values, np.int32) if values else np.zeros(0, np.int32)  # noqa: E731
    return [met[i] for i in order], rank[as_array(terms)], as_array(docs), as_array(counts)


def _scored(
    words: list[str],
    terms: np.ndarray,
    docs: np.ndarray,
    tf: np.ndarray,
    keys: DocumentKeys,
    *,
    k1: float,
    b: float,
) -> LexicalIndex:
    """The index of postings (``terms[i]`` indexes ``words`` and occurs ``tf[i]`` times in document ``docs[i]``):
    unused words dropped, postings sorted by term then document, every score computed from the counts."""
    size = len(keys)
    used = np.bincount(terms, minlength=len(words)) > 0
    column = (np.cumsum(used) - 1).astype(np.int32)
    words = list(itertools.compress(words, used.tolist()))
    terms = column[terms]
    tf = tf.astype(next(t for t in _TF_DTYPES if not tf.size or tf.max() <= np.iinfo(t).max))
    # Sorted by term, then document, with a stable sort (timsort for 64-bit keys): an update's postings come as runs
    # already in this order, which it merges in linear time; a build's come by document and take a full sort.
    order = np.argsort(terms.astype(np.int64) * max(size, 1) + docs, kind="stable")
    terms, docs, tf = terms[order], docs[order].astype(np.int32), tf[order]
    del order
    indptr = np.zeros(len(words) + 1, np.int64)
    np.cumsum(np.bincount(terms, minlength=len(words)), out=indptr[1:])
    # As bm25s computed them: idf in float64 via math.log, rounded to float32; the rest in float64, then float32.
    df = np.diff(indptr)
    distinct, which = np.unique(df, return_inverse=True)
    idf = np.array([math.log(1 + (size - d + 0.5) / (d + 0.5)) for d in distinct.tolist()], np.float32)[which]
    lengths = np.bincount(docs, weights=tf, minlength=size)  # float64, exact: integers below 2**53
    norm = k1 * ((1 - b) + b * lengths / (lengths.mean() if size else 1.0))  # per document
    data = np.empty(tf.size, np.float32)
    for start in range(0, tf.size, _SCORE_BLOCK):  # float64 only a block at a time
        part = slice(start, start + _SCORE_BLOCK)
        count = tf[part].astype(np.float64)
        data[part] = (idf[terms[part]].astype(np.float64) * (count / (norm[docs[part]] + count))).astype(np.float32)
    arrays = {"data": data, "indices": docs, "indptr": indptr, "tf": tf}
    return LexicalIndex({word: i for i, word in enumerate(words)}, arrays, keys, k1=k1, b=b)
