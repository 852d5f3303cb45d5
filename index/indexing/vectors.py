"""The FAISS vector index: a derived artifact built from stored chunk vectors, written crash-safely.

The index maps chunk ids to unit vectors and answers inner-product (cosine) searches. Small archives use an
exact flat index; past ``hnsw_threshold`` vectors an HNSW graph answers in well under a millisecond. Each build is
written as a numbered generation file (``vectors-000042.faiss``) through a temp file, fsync and ``os.replace``;
the returned ``IndexFile`` is the manifest the caller records, and ``open_index`` refuses any file that disagrees
with it. Nothing here touches SQLite: callers pass ids and vectors in and store the manifest they get back.

File layout: ``MAGIC``, a 4-byte little-endian header length, a UTF-8 JSON header (kind, count, rows, dim, model
name, efSearch, payload size, row-hash size), the bytes of ``faiss.serialize_index``, then 16 bytes per row: the hash of
the text that row's vector embeds (files written before row hashes have none, and are rebuilt rather than updated).

A new generation need not be built from scratch: ``VectorIndex.updated`` copies the previous one, adds the new rows
and marks the rows whose chunk was removed or rewritten as dead (chunk id -1), which every search skips. Building an
HNSW graph is most of a full re-index; adding 1% to an existing one takes a second. Dead rows still steer graph walks
but are never returned; the caller rebuilds once they are a large share of the rows (``DEAD_SHARE_REBUILD``).

``open_index`` memory-maps the file and FAISS reads the vectors in place (``IO_FLAG_MMAP_IFC``), so they are file
pages the kernel shares between every process that opens the same generation, not private memory. A generation file
is never changed once written (a new one is renamed into place), so an open index stays valid after a re-index.

On PostgreSQL the vectors are searched inside the database (pgvector) instead: a generation's file is then a
``DatabaseVectors``, the chunk ids and text hashes it holds, written and verified the same way.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import faiss
import numpy as np

from index.errors import IndexUnavailable
from index.store.durable import fsync_folder

logger = logging.getLogger(__name__)

MAGIC = b"ARCHIVIST-VECTORS\x01"
FLAT = "flat"
HNSW = "hnsw"
DEFAULT_HNSW_THRESHOLD = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 64
HNSW_EF_SEARCH = 128
# An HNSW search restricted to fewer than this share of the vectors scans the allowed rows exactly instead of walking
# the graph: graph walks lose recall and speed when most neighbours are filtered out (see scripts/bench_vectors.py).
HNSW_FILTER_EXACT_BELOW = 0.05
# An update that would leave more than this share of an index's rows dead rebuilds it instead.
DEAD_SHARE_REBUILD = 0.2
_ROW_BLOCK = 4096  # vectors normalised at a time
_WRITE_BLOCK = 1 << 22  # bytes FAISS hands a writer at a time
HASH_BYTES = 16  # a row's text hash, stored raw (``text_hash`` is its 32 hex digits)
PGVECTOR = "pgvector"  # a generation whose vectors the database searches: its file holds chunk ids and text hashes
# Among at most this many allowed chunks, a database search computes every cosine instead of asking the HNSW index
# (about 10 ms a thousand: scripts/bench_vectors.py --postgres).
DATABASE_EXACT_AMONG = 2_000

_HEADER_LENGTH = struct.Struct("<I")
_GENERATION_FILE = re.compile(r"^vectors-(\d{6,})\.faiss$")
_HEX_HASH = re.compile(rf"[0-9a-f]{{{2 * HASH_BYTES}}}")
_TEMP_PREFIX = ".vectors-"
_TEMP_SUFFIX = ".tmp"


class IndexCorrupt(IndexUnavailable):
    """The index file is truncated, damaged or unreadable."""


class IndexMismatch(IndexUnavailable):
    """The index file is intact but does not match its manifest (count, dimensions, kind or model)."""


@dataclass(frozen=True)
class IndexFile:
    """Manifest of one written generation; the caller stores it and passes it back to ``open_index``.

    ``count`` is the number of searchable vectors (dead rows excluded)."""

    path: Path
    generation: int
    checksum: str
    count: int
    dim: int
    kind: str
    model_name: str


class VectorIndex:
    """A searchable set of (chunk id, unit vector) pairs, exact or HNSW, with the text hash of each row if known.

    Rows whose chunk id is -1 are dead: left in place by ``updated`` and never returned by a search."""

    def __init__(
        self,
        index: faiss.IndexIDMap,
        *,
        kind: str,
        model_name: str,
        ef_search: int,
        hashes: np.ndarray | None = None,
        payload: np.ndarray | None = None,
        source: PayloadSource | None = None,
    ) -> None:
        self._index = index
        self._payload = payload  # the FAISS bytes the vectors are read from in place; kept open as long as the index
        self._source = source  # where those bytes lie in a file, to copy them by reading rather than through the map
        self.kind = kind
        self.model_name = model_name
        self.ef_search = ef_search
        self._hashes = hashes  # (rows, HASH_BYTES) uint8, or None
        inner = faiss.downcast_index(index.index)
        self._inner = inner
        self._storage = faiss.downcast_index(inner.storage) if kind == HNSW else inner
        self._ids = faiss.vector_to_array(index.id_map)
        self._id_order = np.argsort(self._ids, kind="stable")
        self._sorted_ids = self._ids[self._id_order]
        dead = np.flatnonzero(self._ids < 0).astype(np.int64)
        self._dead = dead.size
        self._live = None  # a selector of the live rows, when some are dead
        if dead.size:
            self._dead_rows = faiss.IDSelectorBatch(dead)  # referenced here: the negation does not own it
            self._live = faiss.IDSelectorNot(self._dead_rows)

    @property
    def count(self) -> int:
        """Searchable vectors (dead rows excluded)."""
        return int(self._index.ntotal) - self._dead

    @property
    def rows(self) -> int:
        """Rows held, dead ones included."""
        return int(self._index.ntotal)

    @property
    def hashes(self) -> np.ndarray | None:
        """The text hash of each row, (rows, HASH_BYTES) uint8; None for an index built without them."""
        return self._hashes

    @property
    def dim(self) -> int:
        return int(self._index.d)

    @property
    def ids(self) -> np.ndarray:
        """The chunk ids of the live rows, in row order (a copy)."""
        return self._ids[self._ids >= 0]

    def search(self, query: np.ndarray, k: int, *, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Best ``k`` (chunk id, inner product) pairs for one query vector, best first.

        ``allowed`` restricts results to those chunk ids (ids absent from the index are ignored). A flat index,
        or an HNSW index with under ``HNSW_FILTER_EXACT_BELOW`` of its vectors allowed, scans exactly the allowed
        rows; a broader filter on HNSW walks the graph with the filter and twice the usual efSearch.
        """
        matrix = self._as_queries(query)
        if matrix.shape[0] != 1:
            raise ValueError(f"search takes one query vector, got {matrix.shape[0]}; use search_many for a batch.")
        return self._search(matrix, k, allowed)[0]

    def search_many(
        self, queries: np.ndarray, k: int, *, allowed: np.ndarray | None = None
    ) -> list[list[tuple[int, float]]]:
        """``search`` for a (q, dim) batch: one result list per query row."""
        return self._search(self._as_queries(queries), k, allowed)

    def _search(self, matrix: np.ndarray, k: int, allowed: np.ndarray | None) -> list[list[tuple[int, float]]]:
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}.")
        if self.count == 0:
            return [[] for _ in range(matrix.shape[0])]
        if allowed is not None:
            return self._search_allowed(matrix, k, allowed)
        if self._live is not None:  # skip the dead rows: the graph walk or the scan checks each row against them
            graph = self.kind == HNSW
            params = (
                faiss.SearchParametersHNSW(sel=self._live, efSearch=max(self.ef_search, k))
                if graph
                else faiss.SearchParameters(sel=self._live)
            )
            return self._search_rows(matrix, min(k, self.count), params, graph=graph)
        params = faiss.SearchParametersHNSW(efSearch=max(self.ef_search, k)) if self.kind == HNSW else None
        scores, labels = self._index.search(matrix, min(k, self.count), params=params)
        return [_pairs(label_row, score_row) for label_row, score_row in zip(labels, scores, strict=True)]

    def _search_allowed(self, matrix: np.ndarray, k: int, allowed: np.ndarray) -> list[list[tuple[int, float]]]:
        rows = self._rows_of(np.asarray(allowed, dtype=np.int64).ravel())
        if rows.size == 0:
            return [[] for _ in range(matrix.shape[0])]
        selector = faiss.IDSelectorBatch(rows)
        graph = self.kind == HNSW and rows.size >= HNSW_FILTER_EXACT_BELOW * self.count
        params = (
            faiss.SearchParametersHNSW(sel=selector, efSearch=2 * max(self.ef_search, k))
            if graph
            else faiss.SearchParameters(sel=selector)
        )
        return self._search_rows(matrix, min(k, int(rows.size)), params, graph=graph)

    def _search_rows(
        self, matrix: np.ndarray, k: int, params: faiss.SearchParameters, *, graph: bool
    ) -> list[list[tuple[int, float]]]:
        """Search by row with ``params``' selector, walking the graph or scanning the vectors; rows become ids."""
        scores, positions = (self._inner if graph else self._storage).search(matrix, k, params=params)
        labels = np.where(positions >= 0, self._ids[np.maximum(positions, 0)], -1)
        return [_pairs(label_row, score_row) for label_row, score_row in zip(labels, scores, strict=True)]

    def _rows_of(self, chunk_ids: np.ndarray) -> np.ndarray:
        """Internal row numbers of those chunk ids that the index holds."""
        if self.count == 0 or chunk_ids.size == 0:
            return np.empty(0, dtype=np.int64)
        wanted = np.unique(chunk_ids[chunk_ids >= 0])  # sorted queries keep searchsorted cache-friendly
        found = np.minimum(np.searchsorted(self._sorted_ids, wanted), self.rows - 1)
        present = self._sorted_ids[found] == wanted
        return np.sort(self._id_order[found[present]]).astype(np.int64)

    def _as_queries(self, queries: np.ndarray) -> np.ndarray:
        matrix = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        if matrix.ndim != 2 or matrix.shape[1] != self.dim:
            raise ValueError(f"query vectors must have {self.dim} dimensions, got shape {np.shape(queries)}.")
        return _unit_rows(matrix, what="query")

    def serialized(self) -> np.ndarray:
        """The FAISS bytes of this index (uint8 array)."""
        return faiss.serialize_index(self._index)

    def _copy(self) -> faiss.IndexIDMap:
        """A copy of the FAISS index in memory it owns, read a block at a time.

        An index opened from a file is copied by reading the file, not through its memory map: pages read through
        the map would stay in this process's resident memory beside the copy (at a million vectors, 1.8 GB twice).
        """
        if self._payload is None:
            return faiss.deserialize_index(self.serialized())
        handle = self._source.reopen() if self._source is not None else None
        if handle is not None:
            with handle:
                return faiss.read_index(faiss.PyCallbackIOReader(handle.read, _WRITE_BLOCK))
        payload, offset = self._payload, 0

        def read(size: int) -> bytes:
            nonlocal offset
            block = payload[offset : offset + size].tobytes()
            offset += len(block)
            return block

        return faiss.read_index(faiss.PyCallbackIOReader(read, _WRITE_BLOCK))

    def serialize_to(self, write: Callable[[bytes], int]) -> None:
        """Pass the FAISS bytes of this index to ``write`` a block at a time (it returns how many it took)."""
        faiss.write_index(self._index, faiss.PyCallbackIOWriter(write, _WRITE_BLOCK))

    def serialized_size(self) -> int:
        """How many bytes ``serialize_to`` passes on, counted without holding them."""
        size = 0

        def count(block: bytes) -> int:
            nonlocal size
            size += len(block)
            return len(block)

        self.serialize_to(count)
        return size

    def holds(self, chunk_ids: np.ndarray, hashes: np.ndarray) -> np.ndarray:
        """For each chunk id, whether a live row holds it with that text hash ((n, HASH_BYTES) ``hashes``); an
        index without row hashes holds no text it can name, so nothing."""
        if self._hashes is None or self.count == 0:
            return np.zeros(len(chunk_ids), dtype=bool)
        return _holds(self._sorted_ids, self._id_order, self._hashes, chunk_ids, hashes)

    def changes_for(self, ids: np.ndarray, hashes: np.ndarray) -> IndexChanges | None:
        """What turns this index into one of the chunk ``ids`` (n,) embedding the texts of ``hashes`` (n,
        HASH_BYTES): the live rows to kill and the positions of ``ids`` to add. None if this index has no row
        hashes, so nothing says which of its rows still hold their chunk's current text."""
        if self._hashes is None:
            return None
        ids = np.asarray(ids, dtype=np.int64)
        live = np.flatnonzero(self._ids >= 0)
        if ids.size == 0:
            return IndexChanges(kill=live, add=np.empty(0, dtype=np.int64))
        order = np.argsort(ids, kind="stable")
        matched = order[np.minimum(np.searchsorted(ids[order], self._ids[live]), ids.size - 1)]
        same = (ids[matched] == self._ids[live]) & (hashes[matched] == self._hashes[live]).all(axis=1)
        covered = np.zeros(ids.size, dtype=bool)
        covered[matched[same]] = True
        return IndexChanges(kill=live[~same], add=np.flatnonzero(~covered))

    def updated(self, changes: IndexChanges, vectors: np.ndarray, ids: np.ndarray, hashes: np.ndarray) -> VectorIndex:
        """A new index: a copy of this one with ``changes.kill`` rows dead and the rows ``changes.add`` of ``ids``,
        ``hashes`` added with their ``vectors`` (one per added row). This index is left as it is."""
        add = changes.add
        if vectors.shape != (add.size, self.dim):
            raise ValueError(f"got vectors of shape {vectors.shape} for {add.size} rows of {self.dim} dimensions.")
        index = self._copy()
        row_ids = faiss.rev_swig_ptr(index.id_map.data(), index.ntotal)  # a view: writes go into the index
        row_ids[changes.kill] = -1
        if add.size:
            index.add_with_ids(_unit_rows(np.asarray(vectors, dtype=np.float32), what="chunk"), ids[add])
        row_hashes = np.concatenate([self._hashes, hashes[add]]) if self._hashes is not None else None
        logger.info(
            "updated %s vector index: %d rows added, %d made dead, %d live", self.kind, add.size, changes.kill.size,
            index.ntotal - int((faiss.vector_to_array(index.id_map) < 0).sum()),
        )  # fmt: skip
        return VectorIndex(
            index, kind=self.kind, model_name=self.model_name, ef_search=self.ef_search, hashes=row_hashes
        )


Nearest = Callable[..., list[tuple[str, float]]]  # (query, k, among=text hashes | None) -> (text hash, cosine), best


class DatabaseVectors:
    """A generation whose vectors stay in the archive's database, which searches them (on PostgreSQL, pgvector's HNSW
    index: ``Store.nearest_vectors``). Its file holds the chunk ids and the text hash of each: which chunks, with
    which texts, the generation holds. A search asks the database for the texts nearest the query and answers with
    the generation's chunks that hold them, so a vector stored for a later generation is never returned from this
    one; ``searching_with`` gives it the database to ask."""

    kind = PGVECTOR
    ef_search = 0

    def __init__(
        self, ids: np.ndarray, hashes: np.ndarray, *, dim: int, model_name: str, nearest: Nearest | None = None
    ) -> None:
        self._ids = np.ascontiguousarray(ids, dtype="<i8")
        if hashes.shape != (self._ids.size, HASH_BYTES):
            raise ValueError(f"got hashes of shape {hashes.shape} for {self._ids.size} chunks.")
        self._hashes = hashes
        self._dim = dim
        self.model_name = model_name
        self._nearest = nearest
        self._id_order = np.argsort(self._ids, kind="stable")
        self._sorted_ids = self._ids[self._id_order]
        keys = np.ascontiguousarray(hashes).view(f"V{HASH_BYTES}").ravel()
        self._hash_order = np.argsort(keys, kind="stable")
        self._sorted_keys = keys[self._hash_order]

    def searching_with(self, nearest: Nearest) -> DatabaseVectors:
        """This generation, searched by ``nearest``."""
        return DatabaseVectors(self._ids, self._hashes, dim=self._dim, model_name=self.model_name, nearest=nearest)

    @property
    def count(self) -> int:
        return int(self._ids.size)

    rows = count

    @property
    def hashes(self) -> np.ndarray:
        return self._hashes

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def ids(self) -> np.ndarray:
        return self._ids.copy()

    def holds(self, chunk_ids: np.ndarray, hashes: np.ndarray) -> np.ndarray:
        """For each chunk id, whether this generation holds it with that text hash."""
        if self.count == 0:
            return np.zeros(len(chunk_ids), dtype=bool)
        return _holds(self._sorted_ids, self._id_order, self._hashes, chunk_ids, hashes)

    def search(self, query: np.ndarray, k: int, *, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Best ``k`` (chunk id, cosine) pairs for one query vector, best first; only chunks in ``allowed`` if given.

        Over every chunk, the database's HNSW index is asked for a few more texts than ``k`` (some it holds may be in
        no chunk of this generation). Among a few allowed chunks, their cosines are computed exactly; among more, the
        index is asked for as many more texts as the allowed share is small (up to 1,000), and the allowed chunks'
        cosines are computed exactly only if those held fewer than ``k``."""
        if self._nearest is None:
            raise IndexUnavailable("This vector index is searched in the archive's database, and none was given.")
        if k <= 0 or self.count == 0:
            return []
        want = None
        if allowed is not None:
            rows = self._rows_of(np.asarray(allowed, dtype=np.int64))
            if rows.size == 0:
                return []
            want = set(self._ids[rows].tolist())
            if rows.size > DATABASE_EXACT_AMONG:
                share = rows.size / self.count
                found = self._chunks(self._nearest(query, min(int(2 * k / share) + 10, 1000)), want)
                if len(found) >= k:
                    return found[:k]
            among = list(dict.fromkeys(bytes(h).hex() for h in self._hashes[rows]))
            return self._chunks(self._nearest(query, k, among=among), want)[:k]  # each text is an allowed chunk's
        return self._chunks(self._nearest(query, k + 10), want)[:k]

    def _chunks(self, found: list[tuple[str, float]], want: set[int] | None) -> list[tuple[int, float]]:
        """The generation's chunks holding each found text (of ``want`` only, if given), in the order found; a row
        whose text hash is not one (a damaged row) holds none."""
        found = [(text_hash, score) for text_hash, score in found if _HEX_HASH.fullmatch(text_hash)]
        if not found:
            return []
        keys = hash_rows([text_hash for text_hash, _ in found]).view(f"V{HASH_BYTES}").ravel()
        starts = np.searchsorted(self._sorted_keys, keys, side="left")
        ends = np.searchsorted(self._sorted_keys, keys, side="right")
        out: list[tuple[int, float]] = []
        for (_, score), start, end in zip(found, starts.tolist(), ends.tolist(), strict=True):
            for chunk_id in sorted(self._ids[self._hash_order[start:end]].tolist()):
                if want is None or chunk_id in want:
                    out.append((chunk_id, float(score)))
        return out

    def _rows_of(self, chunk_ids: np.ndarray) -> np.ndarray:
        if chunk_ids.size == 0:
            return np.empty(0, dtype=np.int64)
        slot = np.minimum(np.searchsorted(self._sorted_ids, chunk_ids), self.count - 1)
        return np.unique(self._id_order[slot[self._sorted_ids[slot] == chunk_ids]])

    def serialized_size(self) -> int:
        return int(self._ids.nbytes)

    def serialize_to(self, write: Callable[[bytes], int]) -> None:
        write(memoryview(self._ids).cast("B"))


def _holds(
    sorted_ids: np.ndarray, id_order: np.ndarray, row_hashes: np.ndarray, chunk_ids: np.ndarray, hashes: np.ndarray
) -> np.ndarray:
    """For each of ``chunk_ids``, whether a row (``sorted_ids``, in the row order ``id_order``) holds it with the
    text hash given in ``hashes``."""
    if not len(chunk_ids):
        return np.zeros(0, dtype=bool)
    slot = np.minimum(np.searchsorted(sorted_ids, chunk_ids), sorted_ids.size - 1)
    rows = id_order[slot]
    return (sorted_ids[slot] == chunk_ids) & (row_hashes[rows] == hashes).all(axis=1)


@dataclass(frozen=True)
class PayloadSource:
    """Where an opened index's FAISS bytes lie: ``path`` from byte ``offset``, in the file of that device and inode."""

    path: Path
    offset: int
    device: int
    inode: int

    def reopen(self) -> BinaryIO | None:
        """The file opened at the bytes' start; None when the path no longer names the same file (a generation file
        is never changed in place, only replaced or deleted)."""
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 - the caller closes it
        except OSError:
            return None
        status = os.fstat(handle.fileno())
        if (status.st_dev, status.st_ino) != (self.device, self.inode):
            handle.close()
            return None
        handle.seek(self.offset)
        return handle


@dataclass(frozen=True)
class IndexChanges:
    """Rows of an index to make dead (``kill``) and positions of the new chunk list to add (``add``)."""

    kill: np.ndarray
    add: np.ndarray

    def dead_share_after(self, index: VectorIndex) -> float:
        """The share of rows that would be dead after applying these changes to ``index``."""
        rows = index.rows + self.add.size
        return (index.rows - index.count + self.kill.size) / rows if rows else 0.0


def hash_rows(hashes: list[str]) -> np.ndarray:
    """``text_hash`` digests (32 hex digits each) as a (n, HASH_BYTES) uint8 array."""
    raw = bytes.fromhex("".join(hashes))
    return np.frombuffer(raw, dtype=np.uint8).reshape(len(hashes), HASH_BYTES).copy()


def build_index(
    ids: np.ndarray,
    vectors: np.ndarray,
    *,
    model_name: str,
    hnsw_threshold: int = DEFAULT_HNSW_THRESHOLD,
    hashes: np.ndarray | None = None,
    overwrite: bool = False,
) -> VectorIndex:
    """Index ``vectors`` (n, dim) under the chunk ``ids`` (n,): ``build_index_in_blocks`` over one block, which is
    ``vectors`` itself with ``overwrite`` (re-normalised in place, which saves a copy of it) and a copy otherwise."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[1] == 0:
        raise ValueError(f"vectors must be an (n, dim) matrix with dim >= 1, got shape {vectors.shape}.")
    block = vectors if overwrite and vectors.flags.c_contiguous and vectors.flags.writeable else vectors.copy()
    return build_index_in_blocks(
        ids, vectors.shape[1], [block], model_name=model_name, hnsw_threshold=hnsw_threshold, hashes=hashes
    )


def build_index_in_blocks(
    ids: np.ndarray,
    dim: int,
    blocks: Iterable[np.ndarray],
    *,
    model_name: str,
    hnsw_threshold: int = DEFAULT_HNSW_THRESHOLD,
    hashes: np.ndarray | None = None,
) -> VectorIndex:
    """Index the vectors of the chunk ``ids`` (n,), which ``blocks`` give in order, a float32 (rows, ``dim``) matrix
    at a time: exact below ``hnsw_threshold`` rows, HNSW at or above. Each block is scaled to unit length in place (so
    scores are cosine similarities) and added, so the whole matrix is never held beside FAISS's copy of it (at a
    million passages, 1.5 GB). ``hashes`` (n, HASH_BYTES), the hash of the text each vector embeds, lets a later
    generation be made by ``updated``.
    """
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    if ids.ndim != 1 or dim < 1:
        raise ValueError(f"ids must be a vector and dim at least 1, got shapes {ids.shape} and {dim}.")
    if np.unique(ids).size != ids.size:
        raise ValueError("chunk ids must be unique.")
    if not model_name:
        raise ValueError("model_name must name the embedding model that produced the vectors.")
    if hashes is not None and hashes.shape != (ids.size, HASH_BYTES):
        raise ValueError(f"got hashes of shape {hashes.shape} for {ids.size} vectors.")
    if expected_kind(ids.size, hnsw_threshold) == HNSW:
        inner = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        inner.hnsw.efSearch = HNSW_EF_SEARCH
        kind = HNSW
    else:
        inner = faiss.IndexFlatIP(dim)
        kind = FLAT
    mapped = faiss.IndexIDMap(inner)
    added = 0
    for block in blocks:
        if block.dtype != np.float32 or block.ndim != 2 or block.shape[1] != dim or not block.flags.c_contiguous:
            raise ValueError(f"each block must be a C-ordered float32 (rows, {dim}) matrix, got {block.shape}.")
        if added + block.shape[0] > ids.size:
            raise ValueError(f"got more vectors than the {ids.size} ids.")
        _unit_rows(block, what="chunk", out=block)
        mapped.add_with_ids(block, ids[added : added + block.shape[0]])
        added += block.shape[0]
    if added != ids.size:
        raise ValueError(f"got {ids.size} ids for {added} vectors.")
    logger.info("built %s vector index of %d vectors (%d dims)", kind, ids.size, dim)
    return VectorIndex(mapped, kind=kind, model_name=model_name, ef_search=HNSW_EF_SEARCH, hashes=hashes)


def expected_kind(count: int, hnsw_threshold: int) -> str:
    """The kind ``build_index`` gives ``count`` vectors."""
    return HNSW if count >= hnsw_threshold else FLAT


def write_generation(index: VectorIndex | DatabaseVectors, folder: Path, generation: int) -> IndexFile:
    """Write ``index`` durably as ``folder/vectors-{generation:06d}.faiss`` and return its manifest.

    The bytes go to a temp file in the same folder, are fsynced, renamed into place with ``os.replace`` and the
    folder is fsynced. Afterwards the newest older generation is kept (the one the caller's manifest may still name
    if it crashes before recording this one); every other generation file and stray temp file is deleted.
    Only one writer may run per folder at a time.
    """
    if generation < 0:
        raise ValueError(f"generation must be non-negative, got {generation}.")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _remove_temp_files(folder)
    target = folder / f"vectors-{generation:06d}.faiss"
    temp = folder / f"{_TEMP_PREFIX}{generation:06d}{_TEMP_SUFFIX}"
    hashes = index.hashes if index.hashes is not None else np.zeros((0, HASH_BYTES), np.uint8)
    header = json.dumps(
        {
            "kind": index.kind,
            "count": index.count,
            "rows": index.rows,
            "dim": index.dim,
            "model_name": index.model_name,
            "ef_search": index.ef_search,
            "payload_bytes": index.serialized_size(),
            "hash_bytes": int(hashes.size),
        },
        sort_keys=True,
    ).encode("utf-8")
    digest = hashlib.sha256()
    try:
        with open(temp, "wb") as handle:

            def write(part: bytes | memoryview) -> int:
                handle.write(part)
                digest.update(part)
                return len(part)

            write(MAGIC + _HEADER_LENGTH.pack(len(header)) + header)
            index.serialize_to(write)  # streamed: the FAISS bytes are never all in memory beside the index
            write(memoryview(np.ascontiguousarray(hashes)))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_folder(folder)
    _remove_old_generations(folder, generation)
    logger.info("wrote vector index generation %d (%d vectors) to %s", generation, index.count, target)
    return IndexFile(
        path=target,
        generation=generation,
        checksum=digest.hexdigest(),
        count=index.count,
        dim=index.dim,
        kind=index.kind,
        model_name=index.model_name,
    )


def open_index(manifest: IndexFile) -> VectorIndex | DatabaseVectors:
    """Load the generation ``manifest`` names, verifying size, sha256 checksum, count, dimensions, kind and model.

    Raises ``IndexUnavailable`` if the file is missing, ``IndexCorrupt`` if it is truncated, damaged or
    unreadable, and ``IndexMismatch`` if it is intact but disagrees with the manifest.
    """
    path = Path(manifest.path)
    try:
        with open(path, "rb") as handle:
            status = os.fstat(handle.fileno())
            data = np.memmap(handle, dtype=np.uint8, mode="r") if status.st_size else np.zeros(0, np.uint8)
            # Read, not through the map: the map's pages would all count as this process's resident memory.
            handle.seek(0)
            checksum = hashlib.file_digest(handle, "sha256").hexdigest()
    except FileNotFoundError:
        raise IndexUnavailable(f"The vector index file {path} is missing.") from None
    except OSError as error:
        raise IndexUnavailable(f"The vector index file {path} cannot be read: {error.strerror}.") from error
    header, payload_start = _read_header(path, data)
    expected_size = payload_start + header["payload_bytes"] + header["hash_bytes"]
    if len(data) != expected_size:
        raise IndexCorrupt(
            f"The vector index file {path} is {len(data)} bytes long but should be {expected_size}: it is truncated "
            "or has trailing bytes."
        )
    if checksum != manifest.checksum:
        raise IndexCorrupt(f"The vector index file {path} is damaged: its sha256 checksum does not match the manifest.")
    for field in ("kind", "count", "dim", "model_name"):
        if header[field] != getattr(manifest, field):
            raise IndexMismatch(
                f"The vector index file {path} holds {field} {header[field]!r} but the manifest expects "
                f"{getattr(manifest, field)!r}."
            )
    payload = data[payload_start : payload_start + header["payload_bytes"]]
    hashes = None
    if header["hash_bytes"]:
        if header["hash_bytes"] != header["rows"] * HASH_BYTES:
            raise IndexCorrupt(f"The vector index file {path} does not hold one text hash per row.")
        hashes = data[payload_start + header["payload_bytes"] :].reshape(header["rows"], HASH_BYTES)
    if header["kind"] == PGVECTOR:
        if hashes is None or payload.size != header["rows"] * 8 or header["count"] != header["rows"]:
            raise IndexCorrupt(f"The vector index file {path} does not hold the chunk list its header describes.")
        ids = np.frombuffer(bytes(payload), dtype="<i8")
        return DatabaseVectors(ids, np.array(hashes), dim=header["dim"], model_name=header["model_name"])
    try:
        reader = faiss.ZeroCopyIOReader(faiss.swig_ptr(payload), payload.size)
        loaded = faiss.read_index(reader, faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY)
    except RuntimeError as error:
        raise IndexCorrupt(f"The vector index file {path} cannot be loaded by FAISS.") from error
    if not isinstance(loaded, faiss.IndexIDMap) or loaded.ntotal != header["rows"] or loaded.d != header["dim"]:
        raise IndexCorrupt(f"The vector index file {path} does not hold the index its header describes.")
    index = VectorIndex(
        loaded,
        kind=header["kind"],
        model_name=header["model_name"],
        ef_search=header["ef_search"],
        hashes=hashes,
        payload=payload,
        source=PayloadSource(path, payload_start, status.st_dev, status.st_ino),
    )
    if index.count != header["count"]:
        raise IndexCorrupt(f"The vector index file {path} does not hold the index its header describes.")
    return index


def _read_header(path: Path, data: np.ndarray) -> tuple[dict, int]:
    """The JSON header of an index file (its bytes as an array) and the offset where the FAISS bytes start."""
    fixed = len(MAGIC) + _HEADER_LENGTH.size
    if len(data) < fixed or bytes(data[: len(MAGIC)]) != MAGIC:
        raise IndexCorrupt(f"The vector index file {path} is not an Archivist vector index (bad or missing header).")
    (length,) = _HEADER_LENGTH.unpack_from(bytes(data[:fixed]), len(MAGIC))
    try:
        header = json.loads(bytes(data[fixed : fixed + length]).decode("utf-8"))
        fields = {key: header[key] for key in ("kind", "count", "dim", "model_name", "ef_search", "payload_bytes")}
        fields["rows"] = int(header.get("rows", fields["count"]))  # files from before dead rows and hashes
        fields["hash_bytes"] = int(header.get("hash_bytes", 0))
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        raise IndexCorrupt(f"The vector index file {path} has an unreadable header.") from error
    return fields, fixed + length


def _unit_rows(matrix: np.ndarray, *, what: str, out: np.ndarray | None = None) -> np.ndarray:
    """``matrix``'s rows scaled to unit length in float32, into ``out`` if given (it may be ``matrix`` itself), a
    block of rows at a time so that no temporary is the matrix's size; ``ValueError`` for a NaN, infinite or all-zero
    row."""
    out = np.empty(matrix.shape, np.float32) if out is None else out
    for start in range(0, matrix.shape[0], _ROW_BLOCK):
        block = matrix[start : start + _ROW_BLOCK]
        if not np.isfinite(block).all():
            raise ValueError(f"{what} vectors contain NaN or infinite values.")
        norms = np.linalg.norm(block, axis=1, keepdims=True)
        if (norms == 0).any():
            raise ValueError(f"{what} vectors contain an all-zero row.")
        np.divide(block, norms, out=out[start : start + _ROW_BLOCK], casting="same_kind")
    return out


def _pairs(labels: np.ndarray, scores: np.ndarray) -> list[tuple[int, float]]:
    return [(int(label), float(score)) for label, score in zip(labels, scores, strict=True) if label >= 0]


def _remove_temp_files(folder: Path) -> None:
    for stray in folder.glob(f"{_TEMP_PREFIX}*{_TEMP_SUFFIX}"):
        logger.warning("removing %s left by an interrupted index write", stray)
        stray.unlink(missing_ok=True)


def _remove_old_generations(folder: Path, current: int) -> None:
    """Delete every generation file except ``current`` and the newest one older than it."""
    generations = {}
    for candidate in folder.iterdir():
        match = _GENERATION_FILE.match(candidate.name)
        if match:
            generations[int(match.group(1))] = candidate
    older = [number for number in generations if number < current]
    keep = {current, max(older)} if older else {current}
    for number, candidate in generations.items():
        if number not in keep:
            candidate.unlink(missing_ok=True)
