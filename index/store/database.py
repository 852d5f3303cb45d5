"""The archive: articles, their chunks, stored vectors and index manifests in one SQLite file, or in PostgreSQL.

SQLite through sqlite-utils, WAL mode, schema built by numbered migrations. One article
and its chunks are always written in one transaction, so a crash leaves either the old
or the new version of an article, never half of one. Read commands open it read-only
(SQLite ``mode=ro``): they never write, and only a writing open runs migrations.

Given a ``postgresql://`` URL instead of a path, the same tables live in that database (``index.store.postgres``
speaks the store's SQL there): the same migrations, the same statements, one writer at a time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import quote

import numpy as np
import sqlite_utils

from index.errors import ArchiveReadOnly, ArchiveUnavailable, NotFound, system_error
from index.models import Article, ChunkRecord, ChunkSpan
from index.store import compact, postgres
from index.store.identity import text_key

log = logging.getLogger(__name__)

DB_FILENAME = "archive.db"
# The HNSW index over the passage vectors on PostgreSQL (pgvector): its graph's degree and build breadth, the
# candidates a search follows, and the memory a build may take (within it, the graph is built in memory, much faster).
VECTOR_HNSW_M = 16
VECTOR_HNSW_EF_CONSTRUCTION = 64
VECTOR_EF_SEARCH = 128
VECTOR_BUILD_MEMORY = "2GB"
CHUNK_PAGE = 8192  # chunks read at a time by a pass over all of them on PostgreSQL
ANY_HASH = object()  # put_article without a compare-and-set
UPSERT_META = "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"


def _on_postgres(db) -> bool:
    return getattr(db, "dialect", "sqlite") == "postgresql"


def upsert(table: str, columns: Sequence[str], key: Sequence[str], *, casts: Mapping[str, str] | None = None) -> str:
    """``INSERT`` of ``columns`` that replaces the other columns of a row with the same ``key``; ``casts`` gives the
    type a column's parameter is cast to (a pgvector ``vector`` is sent as its text)."""
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join(f"?::{casts[c]}" if casts and c in casts else "?" for c in columns)
    update = ", ".join(f'"{c}" = excluded."{c}"' for c in columns if c not in key)
    conflict = ", ".join(key)
    return f"INSERT INTO {table} ({names}) VALUES ({marks}) ON CONFLICT ({conflict}) DO UPDATE SET {update}"


def _m1_initial(db: sqlite_utils.Database) -> None:
    db.execute(
        """CREATE TABLE articles (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            body TEXT NOT NULL,
            url TEXT,
            author TEXT,
            published_at TEXT,
            category TEXT,
            tags TEXT NOT NULL DEFAULT '[]',
            source TEXT,
            origin TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            text_key TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )"""
    )
    if _on_postgres(db):  # SQLite numbers every row, and a replaced row anew; PostgreSQL does it with a sequence
        db.execute("CREATE SEQUENCE articles_rowid")
        db.execute("ALTER TABLE articles ADD COLUMN rowid BIGINT NOT NULL DEFAULT nextval('articles_rowid')")
        db.execute("CREATE UNIQUE INDEX articles_rowid_order ON articles(rowid)")
        # Each generation's search files too (``index.store.search_files``): a home on another machine copies them
        # instead of building them. A SQLite archive's home is the only place its files are.
        db.execute(
            "CREATE TABLE search_files (name TEXT NOT NULL, part INTEGER NOT NULL, data BLOB NOT NULL, "
            "PRIMARY KEY (name, part))"
        )
    db.execute("CREATE UNIQUE INDEX articles_text_key ON articles(text_key)")
    db.execute("CREATE INDEX articles_published ON articles(published_at)")
    db.execute("CREATE INDEX articles_url ON articles(url)")
    db.execute("CREATE INDEX articles_origin ON articles(origin)")
    db.execute(
        """CREATE TABLE chunks (
            id INTEGER PRIMARY KEY,
            article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
            ordinal INTEGER NOT NULL,
            start INTEGER NOT NULL,
            "end" INTEGER NOT NULL,
            token_count INTEGER NOT NULL,
            text TEXT NOT NULL,
            UNIQUE(article_id, ordinal)
        )"""
    )
    db.execute(
        """CREATE TABLE vectors (
            text_hash TEXT NOT NULL,
            model TEXT NOT NULL,
            vector BLOB NOT NULL,
            PRIMARY KEY (text_hash, model)
        )"""
    )
    db.execute(
        """CREATE TABLE index_generations (
            generation INTEGER PRIMARY KEY,
            path TEXT NOT NULL,
            checksum TEXT NOT NULL,
            count INTEGER NOT NULL,
            dim INTEGER NOT NULL,
            kind TEXT NOT NULL,
            model_name TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


def _m2_sentence_vectors(db: sqlite_utils.Database) -> None:
    """Vectors of every sentence of every article, so answering embeds only the question."""
    db.execute(
        """CREATE TABLE sentence_vectors (
            text_hash TEXT NOT NULL,
            model TEXT NOT NULL,
            vector BLOB NOT NULL,
            PRIMARY KEY (text_hash, model)
        )"""
    )


def _m3_live_sources(db: sqlite_utils.Database) -> None:
    """Live sources (``archivist sources``) and, per URL they fetch, its validators and the article it gave."""
    db.execute(
        """CREATE TABLE sources (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            endpoint TEXT NOT NULL,
            added_at TEXT NOT NULL,
            last_sync_at TEXT,
            last_status TEXT,
            cursor TEXT,
            retired INTEGER NOT NULL DEFAULT 0
        )"""
    )
    db.execute(
        """CREATE TABLE source_pages (
            source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
            url TEXT NOT NULL,
            article_id TEXT,
            remote_id TEXT,
            etag TEXT,
            last_modified TEXT,
            lastmod TEXT,
            parent TEXT,
            listed INTEGER NOT NULL DEFAULT 1,
            data TEXT,
            fetched_at TEXT,
            PRIMARY KEY (source_id, url)
        )"""
    )
    db.execute("CREATE INDEX source_pages_article ON source_pages(article_id)")


def _m4_readers(db: sqlite_utils.Database) -> None:
    """What the bot keeps of its readers' questions (``index.store.readers``): each answer it gave (so the buttons
    under it work after a restart, and for the question log), its follow-up threads and the votes on answers."""
    db.execute(
        """CREATE TABLE answers (
            id INTEGER PRIMARY KEY,
            guild_id INTEGER,
            asked_at TEXT NOT NULL,
            asker TEXT NOT NULL,
            question TEXT,
            context TEXT,
            abstained INTEGER NOT NULL,
            partial INTEGER NOT NULL,
            article_ids TEXT NOT NULL DEFAULT '[]'
        )"""
    )
    db.execute("CREATE INDEX answers_asked ON answers(asked_at)")
    db.execute(
        """CREATE TABLE threads (
            thread_id INTEGER PRIMARY KEY,
            answer_id INTEGER NOT NULL UNIQUE REFERENCES answers(id) ON DELETE CASCADE,
            guild_id INTEGER,
            turns TEXT,
            filters TEXT,
            opened_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE feedback (
            id INTEGER PRIMARY KEY,
            answer_id INTEGER NOT NULL REFERENCES answers(id) ON DELETE CASCADE,
            guild_id INTEGER,
            member TEXT NOT NULL,
            vote INTEGER NOT NULL,
            reason TEXT,
            question TEXT,
            article_ids TEXT NOT NULL DEFAULT '[]',
            quotes TEXT NOT NULL DEFAULT '[]',
            voted_at TEXT NOT NULL,
            UNIQUE (answer_id, member)
        )"""
    )
    db.execute("CREATE INDEX feedback_voted ON feedback(voted_at)")


def _m5_pending_questions(db: sqlite_utils.Database) -> None:
    """Questions the bot deferred and has not answered yet (``index.store.pending``), so a crash loses none."""
    db.execute(
        """CREATE TABLE pending_questions (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            question TEXT NOT NULL,
            options TEXT NOT NULL,
            guild_id INTEGER,
            channel_id INTEGER NOT NULL,
            member_id INTEGER NOT NULL,
            application_id INTEGER NOT NULL,
            token TEXT NOT NULL,
            deferred_at TEXT NOT NULL
        )"""
    )


def _m6_chunk_changes(db: sqlite_utils.Database) -> None:
    """A count of every change to the chunk table, kept by triggers in the transaction that makes the change, and
    beside each index generation the count its scan of the chunks began at. While the two are equal the generation
    holds every chunk as it is, so a re-index that would change nothing need not read a million chunks to know it."""
    db.execute("CREATE TABLE chunk_changes (id INTEGER PRIMARY KEY CHECK (id = 1), count INTEGER NOT NULL)")
    db.execute("INSERT INTO chunk_changes VALUES (1, 0)")
    if _on_postgres(db):
        db.execute(
            "CREATE FUNCTION count_chunk_change() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN UPDATE chunk_changes SET count = count + 1; RETURN NULL; END $$"
        )
    _count_changes(db, "chunks")
    db.execute("ALTER TABLE index_generations ADD COLUMN chunk_changes INTEGER")


def _count_changes(db, table: str) -> None:
    """Triggers that add one to ``chunk_changes`` for every row of ``table`` inserted, updated or deleted."""
    for event in ("INSERT", "UPDATE", "DELETE"):
        name = f"{table}_{event.lower()}_counted"
        if _on_postgres(db):
            db.execute(
                f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW EXECUTE FUNCTION count_chunk_change()"
            )
        else:
            db.execute(
                f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN UPDATE chunk_changes SET count = count + 1; END"
            )


def _m7_article_changes_counted(db: sqlite_utils.Database) -> None:
    """Count every change to an article row too: a chunk record carries its article's title, outlet, author, section
    and date, so while the count stands still every chunk record reads as it did, and what was derived from them
    (the search table a generation saves beside its BM25 index) can be opened instead of read again."""
    _count_changes(db, "articles")


def _m8_vectors_searched_in_postgresql(db: sqlite_utils.Database) -> None:
    """On PostgreSQL, passage vectors are kept as pgvector values too, which an HNSW index searches inside the database
    (``Store.nearest_vectors``): no process holds them, and a new machine has no vector file to copy. SQLite archives
    keep searching theirs in FAISS files."""
    if not _on_postgres(db):
        return
    try:
        db.execute("CREATE EXTENSION IF NOT EXISTS vector")
    except ArchiveUnavailable as exc:
        raise ArchiveUnavailable(
            f"{exc} The archive needs PostgreSQL's pgvector extension: install it, or have a superuser run "
            "`CREATE EXTENSION vector` in the database once."
        ) from exc
    db.execute("ALTER TABLE vectors ADD COLUMN embedding vector")
    # Kept in the row (the float32 bytes beside it go out of line instead): a cosine computed from a row need not
    # fetch its vector from the TOAST table (40% of an exact search among 5,000 vectors).
    db.execute("ALTER TABLE vectors ALTER COLUMN embedding SET STORAGE PLAIN")
    fill_embeddings(db)


def fill_embeddings(db) -> int:
    """Give every passage vector stored before migration 8 its pgvector copy, a page at a time; how many. Bytes that
    are no finite float32 array get none."""
    filled, last = 0, ("", "")
    while rows := db.conn.execute(
        "SELECT text_hash, model, vector FROM vectors WHERE embedding IS NULL AND (text_hash, model) > (?, ?) "
        "ORDER BY text_hash, model LIMIT 4096",
        last,
    ).fetchall():
        whole = [(postgres.vector_text(blob), h, model) for h, model, blob in rows if _searchable(blob)]
        with db.conn:
            db.conn.executemany("UPDATE vectors SET embedding = ?::vector WHERE text_hash = ? AND model = ?", whole)
        filled += len(whole)
        last = rows[-1][:2]
    return filled


MIGRATIONS = [
    _m1_initial,
    _m2_sentence_vectors,
    _m3_live_sources,
    _m4_readers,
    _m5_pending_questions,
    _m6_chunk_changes,
    _m7_article_changes_counted,
    _m8_vectors_searched_in_postgresql,
]
VectorTable = Literal["vectors", "sentence_vectors"]  # passages (chunks) / sentences of article bodies
ARTICLE_COLUMNS = (
    "id",
    "title",
    "body",
    "url",
    "author",
    "published_at",
    "category",
    "tags",
    "source",
    "origin",
    "content_hash",
    "text_key",
    "first_seen",
    "updated_at",
)

_ARTICLE_SELECT = ", ".join(f'"{c}"' for c in ARTICLE_COLUMNS)
GENERATION_COLUMNS = (
    "generation",
    "path",
    "checksum",
    "count",
    "dim",
    "kind",
    "model_name",
    "fingerprint",
    "created_at",
    "chunk_changes",
)


def _searchable(blob: bytes | None) -> bool:
    """Whether stored vector bytes are a float32 array pgvector takes (no NaN or infinity)."""
    return bool(blob) and len(blob) % 4 == 0 and bool(np.isfinite(np.frombuffer(blob, dtype=np.float32)).all())


def _plain(blob: bytes, dim: int) -> np.ndarray | None:
    """A float32 vector blob of ``dim`` components, or None when it is some other size."""
    return np.frombuffer(blob, dtype=np.float32) if len(blob) == 4 * dim else None


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class StoredChunk:
    id: int
    article_id: str
    ordinal: int
    start: int
    end: int
    token_count: int
    text: str


@dataclass(frozen=True)
class GenerationRecord:
    generation: int
    path: str
    checksum: str
    count: int
    dim: int
    kind: str
    model_name: str
    fingerprint: str
    created_at: str
    chunk_changes: int | None = None  # ``Store.chunk_changes()`` when the scan this generation holds began


class Store:
    """The archive, in a SQLite file or a PostgreSQL database. Cheap to open; every method is one short transaction."""

    def __init__(self, path: Path | str, *, read_only: bool = False, scratch: Path | None = None) -> None:
        """Open (for writing: create and migrate) the archive; ``read_only`` never writes a byte of it.

        ``path`` is the SQLite file, or a ``postgresql://`` URL. A read-only open of a SQLite database whose folder
        cannot be written (a mounted backup, a replica without its ``-shm`` file) falls back to SQLite's
        ``immutable`` mode. ``scratch`` is the folder for an ingest's temporary file (SQLite: the file's folder;
        unset: the system's). Failures become named errors.
        """
        self.url = str(path) if postgres.is_url(path) else None
        self.path = None if self.url else Path(path)
        self.scratch = self.path.parent if self.path is not None else scratch
        self.read_only = read_only
        self._immutable = False
        self._local = threading.local()
        self._connections: list = []
        self._connections_lock = threading.Lock()
        self._pool: postgres.PgPool | None = None  # PostgreSQL: the process's connections, which threads share
        try:
            if read_only:
                self._open_for_reading()
            else:
                if self.scratch is not None:
                    self.scratch.mkdir(parents=True, exist_ok=True)
                if self.path is not None:
                    self.db.enable_wal()
                self._migrate()
        except (OSError, sqlite3.Error) as exc:
            self.close()
            raise system_error(exc) from exc
        except ArchiveUnavailable:
            self.close()
            raise

    @property
    def dialect(self) -> str:
        return "postgresql" if self.url else "sqlite"

    def _open_for_reading(self) -> None:
        if self.path is not None and not self.path.is_file():
            raise ArchiveUnavailable(
                f"There is no archive in {self.path.parent} yet: add articles with `archivist ingest`."
            )
        try:
            version = self.schema_version()
        except sqlite3.OperationalError:
            log.info("opening %s as immutable: its folder cannot be written", self.path)
            self.close()
            self._immutable = True
            version = self.schema_version()
        if self.url and version == 0:
            raise ArchiveUnavailable(
                f"There is no archive in {postgres.redacted(self.url)} yet: add articles with `archivist ingest`."
            )
        if version < len(MIGRATIONS):
            raise ArchiveReadOnly(
                "The archive needs a schema upgrade, which only a writing command makes: "
                "run `archivist index` once with write access to its folder."
            )

    @property
    def db(self) -> sqlite_utils.Database | postgres.PgDatabase:
        """This thread's connection: SQLite's are not shared between threads; on PostgreSQL, this thread's way into
        the pool its connections come from."""
        db = getattr(self._local, "db", None)
        if db is None and self.url:
            with self._connections_lock:
                if self._pool is None:
                    self._pool = postgres.PgPool(self.url, read_only=self.read_only)
                pool = self._pool
            db = postgres.PgDatabase(pool)
            self._local.db = db
        elif db is None:
            if self.read_only:  # the path as bytes: a folder name need not be UTF-8
                mode = "ro&immutable=1" if self._immutable else "ro"
                target: str | Path = f"file:{quote(os.fsencode(self.path.resolve()))}?mode={mode}"
            else:
                target = self.path
            conn = sqlite3.connect(target, uri=self.read_only, timeout=30, check_same_thread=False)
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = NORMAL")
            db = sqlite_utils.Database(conn)
            self._local.db = db
            with self._connections_lock:
                self._connections.append(conn)
        return db

    @classmethod
    def in_home(cls, home: Path, *, read_only: bool = False, database_url: str | None = None) -> Store:
        """The home's archive: its SQLite file, or the PostgreSQL database at ``database_url`` when one is given."""
        return cls(database_url or home / DB_FILENAME, read_only=read_only, scratch=home)

    def close(self) -> None:
        with self._connections_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
            if self._pool is not None:
                self._pool.close()
                self._pool = None
        self._local = threading.local()

    # -- schema -------------------------------------------------------------------------
    def _migrate(self) -> None:
        """Apply the migrations this archive lacks, each in its own transaction; on PostgreSQL under the writers'
        lock, so two processes starting at once never both apply one."""
        conn = self.db.conn
        with conn:
            if self.url:
                conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS _migrations (number INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
        for number, migration in enumerate(MIGRATIONS, start=1):
            with conn:
                if self.url:
                    conn.execute("BEGIN IMMEDIATE")
                if conn.execute("SELECT 1 FROM _migrations WHERE number = ?", (number,)).fetchone():
                    continue
                migration(self.db)
                conn.execute("INSERT INTO _migrations VALUES (?, ?)", (number, utc_now()))
            log.info("applied migration %d (%s)", number, migration.__name__)

    def schema_version(self) -> int:
        conn = self.db.conn
        exists = (
            "SELECT to_regclass('_migrations')::text"
            if self.url
            else "SELECT 1 FROM sqlite_master WHERE name = '_migrations'"
        )
        if (conn.execute(exists).fetchone() or [None])[0] is None:
            return 0
        return conn.execute("SELECT COALESCE(MAX(number), 0) FROM _migrations").fetchone()[0]

    # -- articles -----------------------------------------------------------------------
    def find_by_id(self, article_id: str) -> Article | None:
        row = self.db.conn.execute(f"SELECT {_ARTICLE_SELECT} FROM articles WHERE id = ?", (article_id,)).fetchone()
        return self._article(row) if row else None

    def get(self, article_id: str) -> Article:
        article = self.find_by_id(article_id)
        if article is None:
            raise NotFound(f"No article with id {article_id!r} is in the archive.")
        return article

    def find_by_text_key(self, text_key: str) -> Article | None:
        row = self.db.conn.execute(f"SELECT {_ARTICLE_SELECT} FROM articles WHERE text_key = ?", (text_key,)).fetchone()
        return self._article(row) if row else None

    def find_by_url(self, url: str) -> Article | None:
        row = self.db.conn.execute(f"SELECT {_ARTICLE_SELECT} FROM articles WHERE url = ? LIMIT 1", (url,)).fetchone()
        return self._article(row) if row else None

    def hashes(self) -> dict[str, tuple[str, str]]:
        """id → (content_hash, text_key) for every article: what idempotent ingestion compares against."""
        rows = self.db.conn.execute("SELECT id, content_hash, text_key FROM articles")
        return {row[0]: (row[1], row[2]) for row in rows}

    def origins(self) -> dict[str, str]:
        return dict(self.db.conn.execute("SELECT id, origin FROM articles"))

    def bodies(self, ids: Iterable[str]) -> dict[str, str]:
        wanted = list(dict.fromkeys(ids))
        out: dict[str, str] = {}
        for i in range(0, len(wanted), 500):
            part = wanted[i : i + 500]
            marks = ",".join("?" * len(part))
            out.update(self.db.conn.execute(f"SELECT id, body FROM articles WHERE id IN ({marks})", part))
        return out

    def put_article(self, article: Article, chunks: Sequence[ChunkSpan], *, expected_hash: object = ANY_HASH) -> bool:
        """Insert or replace one article and all of its chunks in one transaction.

        With ``expected_hash`` (None: the article must not be stored yet) it is a compare-and-set: nothing is
        written, and False returned, when the stored version's content hash differs or another article
        already holds the same text, so two writers never both count one article as theirs.
        """
        key = text_key(article.body)
        row = {
            "id": article.id,
            "title": article.title,
            "body": article.body,
            "url": article.url,
            "author": article.author,
            "published_at": article.published_at,
            "category": article.category,
            "tags": json.dumps(list(article.tags), ensure_ascii=False),
            "source": article.source,
            "origin": article.origin,
            "content_hash": article.content_hash,
            "text_key": key,
            "first_seen": article.first_seen,
            "updated_at": article.updated_at,
        }
        conn = self.db.conn
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            if expected_hash is not ANY_HASH:
                current = conn.execute("SELECT content_hash FROM articles WHERE id = ?", (article.id,)).fetchone()
                other = conn.execute(
                    "SELECT 1 FROM articles WHERE text_key = ? AND id != ?", (key, article.id)
                ).fetchone()
                if (current[0] if current else None) != expected_hash or other:
                    return False
            conn.execute("DELETE FROM chunks WHERE article_id = ?", (article.id,))
            # Replaced whole, as a new row (``articles_digest`` sees the edit), and so is another article of this text
            conn.execute("DELETE FROM articles WHERE id = ? OR text_key = ?", (article.id, key))
            cols = ", ".join(f'"{c}"' for c in row)
            marks = ", ".join("?" * len(row))
            conn.execute(f"INSERT INTO articles ({cols}) VALUES ({marks})", list(row.values()))
            conn.executemany(
                'INSERT INTO chunks (article_id, ordinal, start, "end", token_count, text) VALUES (?, ?, ?, ?, ?, ?)',
                [(article.id, c.ordinal, c.start, c.end, c.token_count, c.text) for c in chunks],
            )
            conn.execute(UPSERT_META, ("last_ingested_at", article.updated_at))
        return True

    def delete_articles(self, ids: Iterable[str]) -> int:
        ids = list(ids)
        conn = self.db.conn
        with conn:
            for article_id in ids:
                conn.execute("DELETE FROM chunks WHERE article_id = ?", (article_id,))
                conn.execute("DELETE FROM articles WHERE id = ?", (article_id,))
        return len(ids)

    def list_articles(
        self,
        *,
        limit: int | None = None,
        category: str | None = None,
        source: str | None = None,
        newest_first: bool = True,
    ) -> list[Article]:
        where, params = [], []
        if category:
            where.append("lower(category) = lower(?)")
            params.append(category)
        if source:
            where.append("lower(source) = lower(?)")
            params.append(source)
        sql = f"SELECT {_ARTICLE_SELECT} FROM articles"
        if where:
            sql += " WHERE " + " AND ".join(where)
        order = "DESC" if newest_first else "ASC"
        sql += f" ORDER BY published_at IS NULL, published_at {order}, title"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [self._article(row) for row in self.db.conn.execute(sql, params)]

    def distinct(self, column: str) -> list[str]:
        if column not in {"category", "source", "author"}:
            raise ValueError(column)
        rows = self.db.conn.execute(
            f"SELECT {column}, COUNT(*) AS n FROM articles WHERE {column} IS NOT NULL AND {column} != '' "
            f"GROUP BY {column} ORDER BY n DESC, {column}"
        )
        return [row[0] for row in rows]

    def count(self, table: str) -> int:
        return self.db.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: S608 - fixed names

    def has_chunks(self) -> bool:
        """Whether any chunk is stored: one row read, where counting them reads every row (11 ms at 1M passages)."""
        return self.db.conn.execute("SELECT EXISTS (SELECT 1 FROM chunks)").fetchone()[0] == 1

    def newest_published_at(self) -> str | None:
        return self.db.conn.execute("SELECT MAX(published_at) FROM articles").fetchone()[0]

    # -- chunks and vectors ---------------------------------------------------------------
    def chunk_records(self, ids: Sequence[int] | None = None) -> Iterator[ChunkRecord]:
        """Every chunk (or those of ``ids`` that exist) with its article's metadata, in chunk id order."""
        select = (
            'SELECT c.id, c.article_id, c.ordinal, c.start, c."end", c.text, a.title, a.source, a.author, '
            "a.category, a.published_at, a.url FROM chunks c JOIN articles a ON a.id = c.article_id "
        )
        if ids is None and _on_postgres(self.db):
            rows: Iterable = self._pages(select + "WHERE c.id > ? ORDER BY c.id LIMIT ?", CHUNK_PAGE)
        elif ids is None:
            rows = self.db.conn.execute(select + "ORDER BY c.id")
        else:
            rows = sorted(self._rows_for(select + "WHERE c.id IN ({marks})", [int(x) for x in ids]))
        for chunk_id, article_id, ordinal, start, end, text, title, source, author, category, published, url in rows:
            yield ChunkRecord(
                chunk_id=chunk_id,
                article_id=article_id,
                ordinal=ordinal,
                start=start,
                end=end,
                text=text,
                title=title,
                source=source,
                author=author,
                category=category,
                published_at=published,
                url=url,
            )

    def chunks_of(self, article_id: str) -> list[StoredChunk]:
        rows = self.db.conn.execute(
            'SELECT id, article_id, ordinal, start, "end", token_count, text FROM chunks '
            "WHERE article_id = ? ORDER BY ordinal",
            (article_id,),
        )
        return [StoredChunk(*row) for row in rows]

    def known_vector_hashes(self, model: str, table: VectorTable = "vectors") -> set[str]:
        rows = self.db.conn.execute(f"SELECT text_hash FROM {table} WHERE model = ?", (model,))  # noqa: S608
        return {row[0] for row in rows}

    def put_vectors(self, model: str, items: Sequence[tuple[str, np.ndarray]], table: VectorTable = "vectors") -> None:
        """Store vectors by text hash: passage vectors as float32, sentence vectors compactly (``compact``)."""
        pack = compact.encode if table == "sentence_vectors" else (lambda v: np.asarray(v, dtype=np.float32).tobytes())
        columns, rows = ("text_hash", "model", "vector"), [(h, model, pack(v)) for h, v in items]
        if table == "vectors" and self.url:  # and as pgvector values, which the database searches
            columns, rows = (*columns, "embedding"), [(*row, postgres.vector_text(row[2])) for row in rows]
        with self.db.conn:
            self.db.conn.executemany(
                upsert(table, columns, ("text_hash", "model"), casts={"embedding": "vector"}), rows
            )

    def ensure_vector_search(self, dim: int) -> None:
        """On PostgreSQL, build the HNSW index that searches the passage vectors of ``dim`` components, unless it
        exists. Building it over many stored vectors takes a while (a few minutes at a million); once built, the
        database keeps it current as vectors are stored and dropped."""
        if not self.url:
            return
        with self.db.conn:
            self.db.conn.execute(f"SET LOCAL maintenance_work_mem = '{VECTOR_BUILD_MEMORY}'")
            self.db.conn.execute(
                f"CREATE INDEX IF NOT EXISTS vectors_hnsw_{int(dim)} ON vectors USING hnsw "
                f"((embedding::vector({int(dim)})) vector_cosine_ops) WITH (m = {VECTOR_HNSW_M}, "
                f"ef_construction = {VECTOR_HNSW_EF_CONSTRUCTION}) WHERE vector_dims(embedding) = {int(dim)}"
            )

    def nearest_vectors(
        self, model: str, query: np.ndarray, k: int, *, among: Sequence[str] | None = None
    ) -> list[tuple[str, float]]:
        """The ``k`` stored passage vectors of ``model`` nearest ``query`` as (text hash, cosine), best first; on
        PostgreSQL only. Over every vector, the HNSW index answers (approximately: it follows ``VECTOR_EF_SEARCH``
        candidates or ``k``, whichever is more); among the text hashes ``among``, the cosines are computed exactly."""
        dim = int(np.asarray(query).shape[0])
        target, probe = f"embedding::vector({dim})", f"?::vector({dim})"
        select = f"SELECT text_hash, 1 - ({target} <=> {probe}) FROM vectors WHERE vector_dims(embedding) = {dim} "
        text = postgres.vector_text(np.asarray(query, dtype=np.float32).tobytes())
        with self.db.conn:
            if among is not None:
                return self.db.conn.execute(
                    select + "AND model = ? AND text_hash = ANY(?) ORDER BY 2 DESC LIMIT ?",
                    (text, model, list(among), k),
                ).fetchall()
            self.db.conn.execute(f"SET LOCAL hnsw.ef_search = {min(max(VECTOR_EF_SEARCH, int(k)), 1000)}")
            return self.db.conn.execute(
                select + f"AND model = ? ORDER BY {target} <=> {probe} LIMIT ?", (text, model, text, k)
            ).fetchall()

    def get_vectors(
        self, model: str, hashes: Sequence[str], dim: int, table: VectorTable = "vectors"
    ) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        query = f"SELECT text_hash, vector FROM {table} WHERE model = ? AND text_hash IN ({{marks}})"  # noqa: S608
        for text_hash, blob in self._rows_for(query, hashes, model):
            vector = compact.decode(blob, dim) if table == "sentence_vectors" else _plain(blob, dim)
            if vector is not None:
                out[text_hash] = vector
        return out

    def drop_vectors_except(self, model: str, keep: set[str], table: VectorTable = "vectors") -> int:
        stale = self.known_vector_hashes(model, table) - keep
        with self.db.conn:
            self.db.conn.executemany(
                f"DELETE FROM {table} WHERE model = ? AND text_hash = ?",  # noqa: S608 - fixed names
                [(model, h) for h in stale],
            )
        return len(stale)

    def existing_vector_hashes(self, model: str, hashes: Sequence[str], table: VectorTable = "vectors") -> set[str]:
        """Those of ``hashes`` that have a stored vector."""
        query = f"SELECT text_hash FROM {table} WHERE model = ? AND text_hash IN ({{marks}})"  # noqa: S608
        return {row[0] for row in self._rows_for(query, hashes, model)}

    def _pages(self, query: str, size: int) -> Iterator[tuple]:
        """The rows of ``query`` (keyed by a first column that grows, with ``? ... LIMIT ?`` for the last key seen and
        the page size) read a page at a time. psycopg reads a statement's whole result before its first row, so one
        statement over every chunk would hold them all in memory at once."""
        last = -1
        while rows := self.db.conn.execute(query, (last, size)).fetchall():
            yield from rows
            if len(rows) < size:
                return
            last = rows[-1][0]

    def _rows_for(self, query: str, keys: Sequence, *before: object) -> Iterator[tuple]:
        """The rows of ``query`` for ``keys``, bound in lists of at most 500 at its ``{marks}`` (after ``before``)."""
        for i in range(0, len(keys), 500):
            part = list(keys[i : i + 500])
            yield from self.db.conn.execute(query.format(marks=",".join("?" * len(part))), [*before, *part]).fetchall()

    # A pass over the archive's texts marks the hashes it meets in a temp table (on this thread's connection, on
    # disk if large), so that what no text has any more can be dropped without holding every hash in memory, and
    # holds there the texts still to embed, to be read back in hash order.
    def start_marking(self, table: VectorTable) -> None:
        with self.db.conn:
            self.db.conn.execute(f"DROP TABLE IF EXISTS temp.marked_{table}")
            self.db.conn.execute(f"CREATE TEMP TABLE marked_{table} (h TEXT PRIMARY KEY, text TEXT)")

    def mark(self, table: VectorTable, hashes: Sequence[str]) -> list[str]:
        """Mark ``hashes`` as met by this pass; those not marked before, in order."""
        query = f"SELECT h FROM temp.marked_{table} WHERE h IN ({{marks}})"  # noqa: S608 - fixed names
        seen = {row[0] for row in self._rows_for(query, hashes)}
        fresh = list(dict.fromkeys(h for h in hashes if h not in seen))
        with self.db.conn:
            self.db.conn.executemany(f"INSERT INTO temp.marked_{table} (h) VALUES (?)", [(h,) for h in fresh])  # noqa: S608
        return fresh

    def hold(self, table: VectorTable, items: Sequence[tuple[str, str]]) -> None:
        """Keep the texts of marked hashes, to embed once the pass is over (``held``)."""
        with self.db.conn:
            self.db.conn.executemany(
                f"UPDATE temp.marked_{table} SET text = ? WHERE h = ?",  # noqa: S608 - fixed names
                [(text, h) for h, text in items],
            )

    def held_count(self, table: VectorTable) -> int:
        query = f"SELECT COUNT(*) FROM temp.marked_{table} WHERE text IS NOT NULL"  # noqa: S608 - fixed names
        return self.db.conn.execute(query).fetchone()[0]

    def held(self, table: VectorTable, batch: int) -> Iterator[list[tuple[str, str]]]:
        """The held (hash, text) pairs in hash order, ``batch`` at a time; no statement stays open between batches."""
        last = ""
        while rows := self.db.conn.execute(
            f"SELECT h, text FROM temp.marked_{table} WHERE text IS NOT NULL AND h > ? ORDER BY h LIMIT ?",  # noqa: S608
            (last, batch),
        ).fetchall():
            yield [(h, text) for h, text in rows]
            last = rows[-1][0]

    def stop_marking(self, table: VectorTable) -> None:
        """End a pass that drops nothing."""
        with self.db.conn:
            self.db.conn.execute(f"DROP TABLE IF EXISTS temp.marked_{table}")

    def drop_unmarked_vectors(self, model: str, table: VectorTable) -> int:
        """Delete the vectors whose text this pass did not meet; how many."""
        with self.db.conn:
            cursor = self.db.conn.execute(
                f"DELETE FROM {table} WHERE model = ? AND NOT EXISTS "  # noqa: S608 - fixed names
                f"(SELECT 1 FROM temp.marked_{table} m WHERE m.h = {table}.text_hash)",  # NOT IN: quadratic on PostgreSQL
                (model,),
            )
            self.db.conn.execute(f"DROP TABLE temp.marked_{table}")
        return cursor.rowcount

    def iter_bodies(self, page: int = 256, *, after: int = 0) -> Iterator[str]:
        """The body of every article stored after row ``after``, in row order, read a page at a time: no statement
        stays open between pages, so the caller may write in between."""
        last = after
        while True:
            rows = self.db.conn.execute(
                "SELECT rowid, body FROM articles WHERE rowid > ? ORDER BY rowid LIMIT ?", (last, page)
            ).fetchall()
            for _, body in rows:
                yield body
            if len(rows) < page:
                return
            last = rows[-1][0]

    def articles_digest(self, *, through: int | None = None, page: int = 8192) -> tuple[int, str]:
        """The newest article row (up to ``through``) and a digest of every row's number, id and content hash up to
        it. An article replaced by a new version gets a new row, so an edit anywhere changes the digest."""
        digest = hashlib.sha256()
        last = 0
        while rows := self.db.conn.execute(
            "SELECT rowid, id, content_hash FROM articles WHERE rowid > ? AND rowid <= ? ORDER BY rowid LIMIT ?",
            (last, through if through is not None else 2**63 - 1, page),
        ).fetchall():
            for row in rows:
                digest.update(f"{row[0]}:{row[1]}:{row[2]};".encode())
            last = rows[-1][0]
        return last, digest.hexdigest()[:32]

    # -- index generations and meta ------------------------------------------------------
    @contextmanager
    def reindex_lock(self) -> Iterator[bool]:
        """Whether this process may re-index now, held for the block: on PostgreSQL an advisory lock of this thread's
        connection, so one re-index runs at a time across every machine on the database, and a killed process's
        lock goes with its connection. The thread keeps that connection for the block, and with it the re-index's
        temp tables. A SQLite archive has one home, whose lock file is that lock already."""
        if self.url is None:
            yield True
            return
        with self.db.conn.pinned() as conn:
            held = conn.execute("SELECT pg_try_advisory_lock(?)", (postgres.REINDEX_LOCK,)).fetchone()[0]
            try:
                yield bool(held)
            finally:
                if held:
                    conn.execute("SELECT pg_advisory_unlock(?)", (postgres.REINDEX_LOCK,))

    def record_generation(self, record: GenerationRecord) -> None:
        with self.db.conn:
            self.db.conn.execute(
                upsert("index_generations", GENERATION_COLUMNS, ("generation",)),
                (
                    record.generation,
                    record.path,
                    record.checksum,
                    record.count,
                    record.dim,
                    record.kind,
                    record.model_name,
                    record.fingerprint,
                    record.created_at,
                    record.chunk_changes,
                ),
            )
            self.db.conn.execute(UPSERT_META, ("last_indexed_at", record.created_at))

    def set_generation_chunk_changes(self, generation: int, count: int) -> None:
        """Record that a scan begun at chunk change count ``count`` found ``generation`` holding every chunk as it is."""
        with self.db.conn:
            self.db.conn.execute(
                "UPDATE index_generations SET chunk_changes = ? WHERE generation = ?", (count, generation)
            )

    def generations(self) -> list[GenerationRecord]:
        columns = ", ".join(GENERATION_COLUMNS)
        rows = self.db.conn.execute(f"SELECT {columns} FROM index_generations ORDER BY generation DESC")
        return [GenerationRecord(*row) for row in rows]

    def newest_generation(self) -> int:
        """The newest recorded generation's number (0: none yet): one row read."""
        return self.db.conn.execute("SELECT COALESCE(MAX(generation), 0) FROM index_generations").fetchone()[0]

    def chunk_changes(self) -> int:
        """How many times a chunk or an article has been inserted, updated or deleted since this archive began
        counting: while it stands still, every chunk record (``chunk_records``) reads as it did."""
        return self.db.conn.execute("SELECT count FROM chunk_changes").fetchone()[0]

    def meta(self, key: str) -> str | None:
        row = self.db.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.db.conn:
            self.db.conn.execute(UPSERT_META, (key, value))

    def integrity_ok(self) -> bool:
        """SQLite's own check of every page; PostgreSQL keeps its own, so there it is whether the tables answer."""
        if self.url:
            return self.db.conn.execute("SELECT COUNT(*) FROM _migrations").fetchone()[0] >= 1
        return self.db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    # -- rows --------------------------------------------------------------------------------
    def _article(self, row: tuple) -> Article:
        data = dict(zip(ARTICLE_COLUMNS, row, strict=True))
        return Article(
            id=data["id"],
            title=data["title"],
            body=data["body"],
            origin=data["origin"],
            content_hash=data["content_hash"],
            first_seen=data["first_seen"],
            updated_at=data["updated_at"],
            url=data["url"],
            author=data["author"],
            published_at=data["published_at"],
            category=data["category"],
            tags=tuple(json.loads(data["tags"] or "[]")),
            source=data["source"],
        )
