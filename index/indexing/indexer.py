"""Building and opening the vector index, a derived artifact of the database.

Vectors are stored in SQLite keyed by a hash of the text they embed, so a re-index embeds
only text it has not seen and the FAISS file can always be rebuilt without the model.
A new generation is written next to the current one (temp file, fsync, rename), recorded
in SQLite after the rename, and verified when opened; a bad file falls back to the
previous generation; the next re-index rebuilds it from the stored vectors. One re-index runs at
a time, and only a re-index writes: searches read the newest generation that verifies.

After the passages, every sentence of every article is embedded too (once per distinct text,
kept in ``sentence_vectors``): choosing quotes compares the question with up to 40 sentences,
and embedding them at question time was most of an answer's latency. The archive is searchable
as soon as the new generation is recorded; an interrupted sentence pass resumes at the next run.

On PostgreSQL the database searches the passage vectors (pgvector, ``Store.nearest_vectors``): a generation's file
is then the list of its chunks and their text hashes (``DatabaseVectors``), written, recorded and verified the same way,
once every one of those texts has its vector stored.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from index.embedding.base import Embedder
from index.errors import IndexBusy, IndexUnavailable
from index.indexing.vectors import (
    DEAD_SHARE_REBUILD,
    PGVECTOR,
    DatabaseVectors,
    IndexFile,
    VectorIndex,
    build_index_in_blocks,
    expected_kind,
    hash_rows,
    open_index,
    write_generation,
)
from index.models import IndexReport
from index.retrieval.hybrid import passage_text
from index.store import search_files
from index.store.database import GenerationRecord, Store, VectorTable, utc_now
from index.text.chunking import split_sentences

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (phase, done, total)
EMBED_BATCH = 256
BUILD_BLOCK = 65_536  # stored vectors read and added to a new index at a time (96 MB at 384 dimensions)
SENTENCE_PAGE = 2048  # sentences gathered from the bodies before they are looked up and marked
_SEARCH_FILE = re.compile(r"^(?:lexical-(\d{6,})\.bm25|chunks-(\d{6,})\.table)$")
_SEARCH_TEMP = re.compile(r"^\.(?:lexical-\d{6,}\.bm25|chunks-\d{6,}\.table)\..*\.tmp$")  # see their save()


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def scan_chunks(store: Store) -> tuple[np.ndarray, list[str], str]:
    """One streamed pass over the chunks: their ids, the hashes of the text each embeds, and the archive's
    fingerprint (of every chunk id with its hash), without holding the chunks themselves."""
    ids: list[int] = []
    hashes: list[str] = []
    digest = hashlib.sha256()
    for record in store.chunk_records():
        h = text_hash(passage_text(record))
        ids.append(record.chunk_id)
        hashes.append(h)
        digest.update(f"{record.chunk_id}:{h};".encode())
    return np.array(ids, dtype=np.int64), hashes, digest.hexdigest()[:32]


class Indexer:
    """Owns the index folder of one archive home."""

    def __init__(self, store: Store, folder: Path, *, hnsw_threshold: int, sentence_vectors: bool) -> None:
        self.store = store
        self.folder = folder
        self.hnsw_threshold = hnsw_threshold
        self.sentence_vectors = sentence_vectors
        self.vectors_in_database = store.dialect == "postgresql"  # searched there (pgvector), not in FAISS files
        self._lock = threading.Lock()

    @contextmanager
    def _exclusive(self):
        """One re-index at a time, across threads and processes (and machines, on PostgreSQL)."""
        if not self._lock.acquire(blocking=False):
            raise IndexBusy("A re-index is already running; try again when it has finished.")
        self.folder.mkdir(parents=True, exist_ok=True)
        handle = open(self.folder / "index.lock", "w")  # noqa: SIM115 - held for the whole block
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise IndexBusy("A re-index is already running in another process; try again later.") from exc
            with self.store.reindex_lock() as ours:
                if not ours:
                    raise IndexBusy("A re-index is already running on another machine; try again later.")
                yield
        finally:
            handle.close()
            self._lock.release()

    def reindex(self, embedder: Embedder, *, full: bool = False, progress: Progress | None = None) -> IndexReport:
        started = time.perf_counter()
        with self._exclusive():
            changes = self.store.chunk_changes()  # before the scan: a change made during it is seen next time
            current = self._latest_valid(embedder.name)
            latest = (  # else it is replaced
                current is not None
                and current[0].generation == self.newest_generation()
                and (current[0].kind == PGVECTOR) == self.vectors_in_database
            )
            if not full and latest and current[0].chunk_changes == changes:
                ids, hashes, stamp = None, None, current[0].fingerprint  # no chunk changed since its scan
            else:
                ids, hashes, stamp = scan_chunks(self.store)
            up_to_date = not full and latest and current[0].fingerprint == stamp
            if up_to_date and current[0].chunk_changes != changes:  # changed and changed back: the scan showed it
                self.store.set_generation_chunk_changes(current[0].generation, changes)
            done_at = SentenceCheckpoint.parse(self.store.meta(_sentences_key(embedder)))
            sentences_done = not self.sentence_vectors or (done_at is not None and done_at.chunks == stamp)
            if up_to_date and sentences_done:
                log.info("index generation %d is up to date", current[0].generation)
                return IndexReport(0, 0, 0, current[0].count, current[0].generation, time.perf_counter() - started)
            if up_to_date:
                embedded, removed, count, generation = 0, 0, current[0].count, current[0].generation
            else:
                embedded, removed, count, generation = self._build(
                    embedder, ids, hashes, current, _Scan(stamp, changes), full, progress
                )
            sentences = 0
            if self.sentence_vectors:
                newest, digest = self.store.articles_digest()
                resume = None if full or done_at is None else done_at.articles_after(self.store)
                sentences = self._embed_sentences(embedder, full, progress, after=resume)
                self.store.set_meta(_sentences_key(embedder), SentenceCheckpoint(stamp, newest, digest).encoded())
            seconds = time.perf_counter() - started
            log.info(
                "index generation %d: %d vectors, %d passages and %d sentences embedded, %.1fs",
                generation, count, embedded, sentences, seconds,
            )  # fmt: skip
            return IndexReport(embedded, sentences, removed, count, generation, seconds)

    def _build(
        self,
        embedder: Embedder,
        ids: np.ndarray,
        hashes: Sequence[str],
        current: tuple[GenerationRecord, VectorIndex | DatabaseVectors] | None,
        scan: _Scan,
        full: bool,
        progress: Progress | None,
    ) -> tuple[int, int, int, int]:
        """Embed the passages not yet embedded and record a new generation: (embedded, removed, count, generation).

        Texts are read back from the database a batch at a time and vectors go straight into one float32 matrix,
        so memory holds the matrix and the hashes, not every passage and vector as objects. Unless ``full``, the
        new generation is the current one updated (``_next_index``): only the new rows' vectors are read."""
        known = set() if full else self.store.known_vector_hashes(embedder.name)
        first: dict[str, int] = {}  # hash -> the first chunk holding that text, for the hashes to embed
        for chunk_id, h in zip(ids.tolist(), hashes, strict=True):
            if h not in known and h not in first:
                first[h] = chunk_id
        del known
        todo = sorted(first.items())
        changed = self._embed_chunks(embedder, todo, progress)
        if progress:
            progress("building", 0, 1)
        generation = (current[0].generation if current else self.newest_generation()) + 1
        index = self._next_index(embedder, ids, hashes, None if full else current, changed)
        written = write_generation(index, self.folder, generation)
        search_files.share(self.store, written.path)  # before the record that makes it the one to search
        self.store.record_generation(_record(written, scan))
        search_files.keep_generations(self.store, {g.generation for g in self.store.generations()[:2]})
        removed = self.store.drop_vectors_except(embedder.name, set(hashes))
        if progress:
            progress("building", 1, 1)
        return len(todo), removed, index.count, generation

    def _next_index(
        self,
        embedder: Embedder,
        ids: np.ndarray,
        hashes: Sequence[str],
        current: tuple[GenerationRecord, VectorIndex | DatabaseVectors] | None,
        changed: int,
    ) -> VectorIndex | DatabaseVectors:
        """The index of the chunks ``ids`` with texts ``hashes``: the current generation with the new rows added and
        the stale ones dead when it can be (same kind, row hashes known, few dead rows), else built afresh. On
        PostgreSQL, the list of those chunks and texts, once every text has its vector in the database."""
        rows = hash_rows(list(hashes))
        if self.vectors_in_database:
            self._check_stored(embedder, hashes, changed)
            self.store.ensure_vector_search(embedder.dim)
            return DatabaseVectors(ids, rows, dim=embedder.dim, model_name=embedder.name)
        if current is not None and isinstance(current[1], VectorIndex):
            previous = current[1]
            changes = previous.changes_for(ids, rows)
            if (
                changes is not None
                and previous.kind == expected_kind(len(ids), self.hnsw_threshold)
                and changes.dead_share_after(previous) <= DEAD_SHARE_REBUILD
            ):
                added = [hashes[position] for position in changes.add.tolist()]
                return previous.updated(changes, self._stored_matrix(embedder, added, changed), ids, rows)
        blocks = (
            self._stored_matrix(embedder, hashes[start : start + BUILD_BLOCK], changed)
            for start in range(0, len(hashes), BUILD_BLOCK)
        )
        return build_index_in_blocks(
            ids, embedder.dim, blocks, hnsw_threshold=self.hnsw_threshold, model_name=embedder.name, hashes=rows
        )

    def _check_stored(self, embedder: Embedder, hashes: Sequence[str], changed: int) -> None:
        """Raise ``IndexUnavailable`` unless every text of ``hashes`` has its stored vector (as ``_stored_matrix``)."""
        distinct = sorted(set(hashes))
        for offset in range(0, len(distinct), 4096):
            wanted = distinct[offset : offset + 4096]
            self._missing(len(wanted) - len(self.store.existing_vector_hashes(embedder.name, wanted)), changed)

    @staticmethod
    def _missing(missing: int, changed: int) -> None:
        if missing and changed:
            raise IndexUnavailable("The archive changed while it was being indexed; run the re-index again.")
        if missing:
            raise IndexUnavailable(f"{missing} chunk vectors are missing after embedding; run a full re-index.")

    def _stored_matrix(self, embedder: Embedder, hashes: Sequence[str], changed: int) -> np.ndarray:
        """The stored vectors of ``hashes``, one row each, read a few thousand at a time in hash order."""
        matrix = np.empty((len(hashes), embedder.dim), dtype=np.float32)
        order = sorted(range(len(hashes)), key=hashes.__getitem__)  # rows grouped by hash
        for offset in range(0, len(order), 4096):
            rows = order[offset : offset + 4096]
            wanted = list(dict.fromkeys(hashes[r] for r in rows))
            stored = self.store.get_vectors(embedder.name, wanted, embedder.dim)
            self._missing(len(wanted) - len(stored), changed)
            for r in rows:
                matrix[r] = stored[hashes[r]]
        return matrix

    def _embed_chunks(self, embedder: Embedder, todo: list[tuple[str, int]], progress: Progress | None) -> int:
        """Embed the passages of ``todo`` ((hash, chunk id) pairs), reading their texts a batch at a time; how many
        were skipped because their chunk was deleted or rewritten since the scan (an ingest running beside)."""
        skipped = 0
        for offset in range(0, len(todo), EMBED_BATCH):
            batch = todo[offset : offset + EMBED_BATCH]
            texts = {r.chunk_id: passage_text(r) for r in self.store.chunk_records([c for _, c in batch])}
            present = [(h, texts[c]) for h, c in batch if c in texts and text_hash(texts[c]) == h]
            skipped += len(batch) - len(present)
            self._embed(embedder, present, progress, "embedding", "vectors", done=offset, total=len(todo))
        return skipped

    def _embed_sentences(
        self, embedder: Embedder, full: bool, progress: Progress | None, *, after: int | None = None
    ) -> int:
        """Embed the archive's sentences not yet embedded, drop those no article has any more; the number embedded.

        One pass over the bodies, a page at a time, marks each sentence's hash in a temp table (so a sentence met
        twice counts once and the vectors of sentences no article holds any more can be dropped at the end) and
        holds there the texts that have no stored vector. They are then embedded in hash order, as before the pass
        streamed: the int8 model's vectors depend slightly on the batch a text is embedded in, so the same archive
        gets the same batches, and the same vectors, however it is read.

        With ``after`` (an article row number), only the articles stored after it are read and nothing is dropped:
        the articles up to it are the ones the last complete pass read, unchanged (see ``SentenceCheckpoint``)."""
        total = self.store.count("articles")
        self.store.start_marking("sentence_vectors")
        pending: dict[str, str] = {}

        def settle() -> None:
            fresh = self.store.mark("sentence_vectors", list(pending))
            if not full:
                known = self.store.existing_vector_hashes(embedder.name, fresh, "sentence_vectors")
                fresh = [h for h in fresh if h not in known]
            self.store.hold("sentence_vectors", [(h, pending[h]) for h in fresh])
            pending.clear()

        for done, body in enumerate(self.store.iter_bodies(after=after or 0), 1):
            for span in split_sentences(body):
                sentence = body[span.start : span.end]
                pending[text_hash(sentence)] = sentence
            if len(pending) >= SENTENCE_PAGE:
                settle()
            if progress:
                progress("reading sentences", done, total)
        settle()
        embedded, todo = 0, self.store.held_count("sentence_vectors")
        for batch in self.store.held("sentence_vectors", EMBED_BATCH):
            self._embed(embedder, batch, progress, "embedding sentences", "sentence_vectors", done=embedded, total=todo)
            embedded += len(batch)
        if after is None:
            self.store.drop_unmarked_vectors(embedder.name, "sentence_vectors")
        else:
            self.store.stop_marking("sentence_vectors")
        return embedded

    def _embed(
        self,
        embedder: Embedder,
        todo: list[tuple[str, str]],
        progress: Progress | None,
        phase: str,
        table: VectorTable,
        *,
        done: int = 0,
        total: int | None = None,
    ) -> None:
        """Embed in batches and store each batch at once, so an interrupted run keeps its progress. Progress counts
        from ``done`` of ``total`` (default: ``todo`` alone)."""
        total = len(todo) if total is None else total
        for offset in range(0, len(todo), EMBED_BATCH):
            batch = todo[offset : offset + EMBED_BATCH]
            within = None
            if progress:

                def within(n: int, _total: int, offset: int = offset) -> None:
                    progress(phase, done + offset + n, total)

            vectors = embedder.encode_passages([text for _, text in batch], progress=within)
            self.store.put_vectors(embedder.name, [(h, v) for (h, _), v in zip(batch, vectors, strict=True)], table)

    def newest_generation(self) -> int:
        """The newest recorded generation's number (0: none yet), whether or not its file verifies."""
        return self.store.newest_generation()

    def _latest_valid(self, model_name: str) -> tuple[GenerationRecord, VectorIndex | DatabaseVectors] | None:
        for record in self.store.generations():
            if record.model_name != model_name:
                continue
            file = _index_file(record, self.folder)
            self.fetch_shared(file.path)
            try:
                index = open_index(file)
            except IndexUnavailable as exc:
                log.warning("index generation %d is unusable: %s", record.generation, exc)
                continue
            if isinstance(index, DatabaseVectors):
                if not self.vectors_in_database:
                    log.warning("index generation %d is searched in a PostgreSQL database", record.generation)
                    continue
                index = index.searching_with(partial(self.store.nearest_vectors, model_name))
            return record, index
        return None

    def lexical_file(self, generation: int) -> Path:
        """Where the BM25 index over ``generation``'s chunks is saved (see ``index.retrieval.lexical``)."""
        return self.folder / f"lexical-{generation:06d}.bm25"

    def table_file(self, generation: int) -> Path:
        """Where the chunk table of a retriever over ``generation`` is saved (see ``index.retrieval.chunk_table``)."""
        return self.folder / f"chunks-{generation:06d}.table"

    def generation_files(self, generation: int) -> list[Path]:
        """Where ``generation``'s vector index, BM25 index and chunk table are (or would be) in this home."""
        vectors = self.folder / f"vectors-{generation:06d}.faiss"
        return [vectors, self.lexical_file(generation), self.table_file(generation)]

    def fetch_shared(self, path: Path) -> bool:
        """Copy a generation's file missing from this home from the archive's database, when it keeps them (on
        PostgreSQL: ``index.store.search_files``); whether the file is here now."""
        return search_files.fetch(self.store, path)

    def share(self, path: Path) -> None:
        """Keep a generation's file in the archive's database too, when it keeps them, for the other homes on it."""
        search_files.share(self.store, path)

    def remove_stale_search_files(self) -> None:
        """Delete the saved BM25 indexes and chunk tables of generations whose vector file is gone, and temp files of
        killed saves."""
        if not self.folder.is_dir():
            return
        for candidate in self.folder.iterdir():
            match = _SEARCH_FILE.match(candidate.name)
            stale = match and not (self.folder / f"vectors-{match.group(1) or match.group(2)}.faiss").exists()
            if stale or _SEARCH_TEMP.match(candidate.name):
                candidate.unlink(missing_ok=True)

    def open_latest(self, embedder: Embedder) -> tuple[GenerationRecord, VectorIndex | DatabaseVectors] | None:
        """The newest recorded generation that verifies, as it is: reading never builds or repairs one."""
        return self._latest_valid(embedder.name)


def _sentences_key(embedder: Embedder) -> str:
    """The meta key holding the ``SentenceCheckpoint`` at which every sentence had a vector from ``embedder``."""
    return f"sentences_embedded_at:{embedder.name}"


@dataclass(frozen=True)
class SentenceCheckpoint:
    """Where the last complete sentence pass left the archive: its chunks' fingerprint, the newest article row it
    read and a digest of every article row (number, id, content hash) up to that one.

    While that digest still holds, the articles up to that row are the ones the pass read, unchanged, so the next pass
    need read only the rows after it. An edited article is stored as a new row (and a deleted one leaves a gap), which
    changes the digest; the next pass then reads everything and drops the vectors of sentences no article holds."""

    chunks: str
    newest: int
    articles: str

    @classmethod
    def parse(cls, value: str | None) -> SentenceCheckpoint | None:
        parts = (value or "").split()
        if len(parts) == 1:  # written before checkpoints held the articles: the chunks' fingerprint alone
            return cls(parts[0], -1, "")
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        return cls(parts[0], int(parts[1]), parts[2])

    def encoded(self) -> str:
        return f"{self.chunks} {self.newest} {self.articles}"

    def articles_after(self, store: Store) -> int | None:
        """The row after which a pass need read, if the articles up to ``newest`` are unchanged; else None."""
        if self.newest < 0 or store.articles_digest(through=self.newest)[1] != self.articles:
            return None
        return self.newest


def _index_file(record: GenerationRecord, folder: Path) -> IndexFile:
    return IndexFile(
        path=folder / record.path,
        generation=record.generation,
        checksum=record.checksum,
        count=record.count,
        dim=record.dim,
        kind=record.kind,
        model_name=record.model_name,
    )


@dataclass(frozen=True)
class _Scan:
    """What a scan of the chunks found: their fingerprint, and the chunk change count it began at."""

    fingerprint: str
    chunk_changes: int


def _record(written: IndexFile, scan: _Scan) -> GenerationRecord:
    return GenerationRecord(
        generation=written.generation,
        path=written.path.name,  # relative to the index folder, so the home can move
        checksum=written.checksum,
        count=written.count,
        dim=written.dim,
        kind=written.kind,
        model_name=written.model_name,
        fingerprint=scan.fingerprint,
        created_at=utc_now(),
        chunk_changes=scan.chunk_changes,
    )
