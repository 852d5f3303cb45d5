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
updating from a previous index (``updated``) both end in ``_assembled``, so the same documents give the same arrays
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
import re
import struct
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import Stemmer

from index.errors import IndexUnavailable
from index.store.durable import write_arrays

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
_MERGE_BLOCK = 1 << 20  # postings an update merges and sorts at a time
_TF_DTYPES = ("|u1", "<u2", "<u4", "<u8")  # the smallest that holds the largest count is saved

Postings = tuple[np.ndarray, np.ndarray, np.ndarray]  # terms, documents and term counts, one entry per pair


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
        return TokenizedDocuments.of(documents).index(keys, k1=k1, b=b)

    def updated(
        self, documents: Sequence[str], keys: DocumentKeys, *, k1: float = 1.2, b: float = 0.75
    ) -> LexicalIndex:
        """The index of ``documents`` (named by ``keys``, in this order), reusing this index's term counts of every
        document whose id and text hash are unchanged and tokenizing only the others.

        Scores are exactly those of ``build(documents, keys=keys)``.
        """
        position = _previous_positions(self.keys, keys)
        fresh = np.flatnonzero(position < 0)
        words, runs = _runs(documents[i] for i in fresh.tolist())
        terms, docs, tf = _joined(runs)
        del runs
        # Each previous document's new position (-1: gone).
        moved = np.full(len(self), -1, np.int32)
        kept = np.flatnonzero(position >= 0)
        moved[position[kept]] = kept
        # Both vocabularies are sorted: Python's sort merges the two runs in linear time.
        previous_words = list(self._vocabulary)
        merged = list(dict.fromkeys(sorted(previous_words + words)))
        column = {word: i for i, word in enumerate(merged)}
        old_column = np.fromiter(map(column.__getitem__, previous_words), np.int32, count=len(previous_words))
        new_column = np.fromiter(map(column.__getitem__, words), np.int32, count=len(words))
        logger.info("BM25 index of %d documents: %d reused, %d tokenized", len(keys), kept.size, fresh.size)
        terms, docs = new_column[terms], fresh[docs]
        order = np.lexsort((docs, terms))  # the new postings by term, then document: few, so sorted at once
        added = (terms[order], docs[order], tf[order])
        del terms, docs, tf, order

        def blocks() -> Iterator[Postings]:
            return self._merged(added, old_column, moved, len(merged), len(keys))

        return _assembled(merged, blocks, keys, k1=k1, b=b)

    def _merged(
        self, added: Postings, old_column: np.ndarray, moved: np.ndarray, words: int, size: int
    ) -> Iterator[Postings]:
        """This index's postings of the documents kept (``moved``: each one's new position, -1 if gone) under the
        merged vocabulary's columns (``old_column``; ``words`` in all), merged with the ``added`` postings (sorted by
        term, then document), in blocks of whole terms of about ``_MERGE_BLOCK`` postings, each sorted by term, then
        document: never every posting at once in 64-bit integers, as a global sort would need."""
        indptr, columns = self._indptr, old_column.size
        start = first_word = 0
        while True:
            end = columns
            if start < columns:  # whole terms, at least one, up to _MERGE_BLOCK postings
                end = int(np.searchsorted(indptr, indptr[start] + _MERGE_BLOCK, side="right")) - 1
                end = min(max(end, start + 1), columns)
            last_word = int(old_column[end]) if end < columns else words
            low, high = int(indptr[start]), int(indptr[end])
            terms = np.repeat(old_column[start:end], np.diff(indptr[start : end + 1]))
            docs = moved[self._indices[low:high]]
            keep = docs >= 0
            new = slice(*np.searchsorted(added[0], [first_word, last_word]))
            terms = np.concatenate([terms[keep], added[0][new]])
            docs = np.concatenate([docs[keep], added[1][new]])
            tf = np.concatenate([self._tf[low:high][keep], added[2][new]])
            order = np.argsort((terms - first_word).astype(np.int64) * max(size, 1) + docs, kind="stable")
            yield terms[order], docs[order], tf[order]
            if end >= columns:
                return
            start, first_word = end, last_word

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
        write_arrays(path, MAGIC + _HEADER_LENGTH.pack(len(encoded)) + encoded, arrays, align=_ALIGN)
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
        digest = _checksum_start({k: v for k, v in header.items() if k not in ("counts", "checksum")})
        arrays = {}
        try:
            with open(path, "rb") as handle:  # one file for the maps and the checksum, even if the path is replaced
                for (name, dtype), count in zip(dtypes.items(), counts, strict=True):
                    offset += -offset % _ALIGN
                    end = offset + count * dtype.itemsize
                    if end > file_size:
                        raise LexicalIndexUnusable(f"The BM25 index file {path} is truncated.")
                    arrays[name] = (
                        np.memmap(handle, dtype=dtype, mode="r", offset=offset, shape=(count,))
                        if count
                        else np.empty(0, dtype)
                    )
                    # Read, not through the map: pages read through it would all stay in this process's memory.
                    handle.seek(offset)
                    while offset < end:
                        block = handle.read(min(_CHECKSUM_BLOCK, end - offset))
                        if not block:
                            raise LexicalIndexUnusable(f"The BM25 index file {path} is truncated.")
                        digest.update(block)
                        offset += len(block)
        except OSError as error:
            raise LexicalIndexUnusable(f"The BM25 index file {path} cannot be read: {error.strerror}.") from error
        except ValueError as error:  # the file shrank after its header was read: a map would reach past its end
            raise LexicalIndexUnusable(f"The BM25 index file {path} is truncated.") from error
        if offset != file_size:
            raise LexicalIndexUnusable(f"The BM25 index file {path} has trailing bytes.")
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


class TokenizedDocuments:
    """Documents tokenized one at a time, as they are added, into runs of postings: a BM25 index can be built from
    a stream of texts without holding them (``index``).

    Each run holds, for each (document, term) pair of a span of consecutive documents of about ``_MERGE_BLOCK``
    postings, the term's number, the document's position and how often the term occurs there, as 32-bit integers:
    never every token of every document (a token is a string object of its own), and no sort spans more than one run.
    """

    def __init__(self) -> None:
        self._column: dict[str, int] = {}  # term -> number, in the order first met
        self._runs: list[Postings] = []
        self._terms, self._docs, self._counts = array.array("i"), array.array("i"), array.array("i")
        self._added = 0

    @classmethod
    def of(cls, documents: Iterable[str]) -> TokenizedDocuments:
        tokenized = cls()
        for document in documents:
            tokenized.add(document)
        return tokenized

    def add(self, document: str) -> None:
        tf = Counter(self._column.setdefault(word, len(self._column)) for word in tokenize(document))
        self._terms.extend(tf.keys())
        self._counts.extend(tf.values())
        self._docs.extend(itertools.repeat(self._added, len(tf)))
        self._added += 1
        if len(self._terms) >= _MERGE_BLOCK:
            self._end_run()

    def _end_run(self) -> None:
        as_array = lambda values: np.frombuffer(values, np.int32) if values else np.zeros(0, np.int32)  # noqa: E731
        self._runs.append((as_array(self._terms), as_array(self._docs), as_array(self._counts)))
        self._terms, self._docs, self._counts = array.array("i"), array.array("i"), array.array("i")

    def runs(self) -> tuple[list[str], list[Postings]]:
        """The sorted distinct terms, and the runs with each term numbered by its place among them, each run sorted
        by term, then document. The documents added are handed over: add none after."""
        if self._terms:
            self._end_run()
        met, runs = list(self._column), self._runs
        self._column, self._runs = {}, []
        order = sorted(range(len(met)), key=met.__getitem__)
        rank = np.empty(len(met), dtype=np.int32)
        rank[order] = np.arange(len(met), dtype=np.int32)
        for number, (terms, docs, counts) in enumerate(runs):
            terms = rank[terms]
            by_term = np.argsort(terms, kind="stable")  # documents come in order, so this sorts by term, then document
            runs[number] = (terms[by_term], docs[by_term], counts[by_term])
        return [met[i] for i in order], runs

    def index(self, keys: DocumentKeys, *, k1: float = 1.2, b: float = 0.75) -> LexicalIndex:
        """The index of the documents added, in the order added; ``keys`` name them."""
        if len(keys) != self._added:
            raise ValueError(f"{len(keys)} keys for {self._added} documents")
        words, runs = self.runs()
        return _assembled(words, lambda: _merged_runs(runs, len(words)), keys, k1=k1, b=b)


def _runs(documents: Iterable[str]) -> tuple[list[str], list[Postings]]:
    """``documents`` as runs of postings (see ``TokenizedDocuments``)."""
    return TokenizedDocuments.of(documents).runs()


def _joined(runs: Sequence[Postings]) -> Postings:
    """The postings of ``runs``, one after another."""
    if not runs:
        return np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.int32)
    return tuple(np.concatenate([run[part] for run in runs]) for part in range(3))


def _merged_runs(runs: Sequence[Postings], words: int) -> Iterator[Postings]:
    """The postings of ``runs`` (each sorted by term, then document, and each run's documents after the previous
    run's) in blocks of whole terms of about ``_MERGE_BLOCK`` postings, each sorted by term, then document."""
    df = np.zeros(words, np.int64)
    for terms, _, _ in runs:
        df += np.bincount(terms, minlength=words)
    ends = np.cumsum(df)
    cuts = np.unique(np.searchsorted(ends, np.arange(_MERGE_BLOCK, int(ends[-1]) if words else 0, _MERGE_BLOCK)))
    bounds = [0, *(int(c) + 1 for c in cuts if c + 1 < words), words]
    for first, last in itertools.pairwise(bounds):
        spans = (slice(*np.searchsorted(run[0], [first, last])) for run in runs)
        terms, docs, tf = _joined([tuple(part[span] for part in run) for run, span in zip(runs, spans, strict=True)])
        by_term = np.argsort(terms, kind="stable")  # the runs come in document order
        yield terms[by_term], docs[by_term], tf[by_term]


def _assembled(
    words: list[str], blocks: Callable[[], Iterator[Postings]], keys: DocumentKeys, *, k1: float, b: float
) -> LexicalIndex:
    """The index of the postings ``blocks()`` yields (``terms`` indexing ``words``, ``docs``, ``tf``), block after block
    in term order and each sorted by term, then document: unused words dropped, every score computed from the counts.

    Two passes over the blocks: the first counts each term's documents and each document's length, the second
    scores the postings into arrays of their final size, so memory holds the result and one block."""
    size = len(keys)
    df = np.zeros(len(words), np.int64)
    lengths = np.zeros(size, np.float64)  # exact: integers below 2**53, in any order
    largest = 0
    for terms, docs, tf in blocks():
        df += np.bincount(terms, minlength=len(words))
        lengths += np.bincount(docs, weights=tf, minlength=size)
        largest = max(largest, int(tf.max()) if tf.size else 0)
    used = df > 0
    column = (np.cumsum(used) - 1).astype(np.int32)
    words = list(itertools.compress(words, used.tolist()))
    df = df[used]
    indptr = np.zeros(len(words) + 1, np.int64)
    np.cumsum(df, out=indptr[1:])
    # As bm25s computed them: idf in float64 via math.log, rounded to float32; the rest in float64, then float32.
    distinct, which = np.unique(df, return_inverse=True)
    idf = np.array([math.log(1 + (size - d + 0.5) / (d + 0.5)) for d in distinct.tolist()], np.float32)[which]
    norm = k1 * ((1 - b) + b * lengths / (lengths.mean() if size else 1.0))  # per document
    del lengths
    total = int(indptr[-1])
    data, indices = np.empty(total, np.float32), np.empty(total, np.int32)
    counts = np.empty(total, next(t for t in _TF_DTYPES if largest <= np.iinfo(t).max))
    done = 0
    for terms, docs, tf in blocks():
        for start in range(0, tf.size, _SCORE_BLOCK):  # float64 only a slice at a time
            part = slice(start, start + _SCORE_BLOCK)
            count = tf[part].astype(np.float64)
            scores = idf[column[terms[part]]].astype(np.float64) * (count / (norm[docs[part]] + count))
            data[done + start : done + start + count.size] = scores.astype(np.float32)
        indices[done : done + tf.size] = docs
        counts[done : done + tf.size] = tf
        done += tf.size
    arrays = {"data": data, "indices": indices, "indptr": indptr, "tf": counts}
    return LexicalIndex({word: i for i, word in enumerate(words)}, arrays, keys, k1=k1, b=b)
