"""Copy a SQLite archive into PostgreSQL whole (``archivist migrate --to postgresql://…``), and prove the copy.

Every table is copied row for row in one PostgreSQL transaction: the vectors as they are stored (nothing is embedded
again; passage vectors also as the pgvector values the database searches, their HNSW index built at the end), chunk
ids, answer ids and source ids kept, and the count of chunk and article changes carried over, so the home's saved
search files (its FAISS, BM25 and chunk-table files of each generation) stay valid and the first question after the
move is answered from them at once; the first ``archivist index`` then moves vector search into the database. The target must hold no archive yet: nothing in it is ever
overwritten. Before committing, each table's row count and a digest of its rows (independent of row order) are read
back from PostgreSQL and compared with the SQLite file's; any difference rolls the whole copy back.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from index.errors import ArchivistError
from index.store import postgres, search_files
from index.store.database import ARTICLE_COLUMNS, GENERATION_COLUMNS, Store

log = logging.getLogger(__name__)

# (table, columns): parents before children, so every foreign key finds its row
TABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("articles", ("rowid", *ARTICLE_COLUMNS)),  # rowid kept: what a generation read of them (``articles_digest``)
    ("chunks", ("id", "article_id", "ordinal", "start", "end", "token_count", "text")),
    ("vectors", ("text_hash", "model", "vector")),
    ("sentence_vectors", ("text_hash", "model", "vector")),
    ("index_generations", GENERATION_COLUMNS),
    ("meta", ("key", "value")),
    (
        "sources",
        ("id", "url", "kind", "name", "endpoint", "added_at", "last_sync_at", "last_status", "cursor", "retired"),
    ),
    (
        "source_pages",
        (
            "source_id",
            "url",
            "article_id",
            "remote_id",
            "etag",
            "last_modified",
            "lastmod",
            "parent",
            "listed",
            "data",
            "fetched_at",
        ),
    ),
    ("answers", ("id", "guild_id", "asked_at", "asker", "question", "context", "abstained", "partial", "article_ids")),
    ("threads", ("thread_id", "answer_id", "guild_id", "turns", "filters", "opened_at", "updated_at")),
    (
        "feedback",
        ("id", "answer_id", "guild_id", "member", "vote", "reason", "question", "article_ids", "quotes", "voted_at"),
    ),
    (
        "pending_questions",
        (
            "id",
            "kind",
            "question",
            "options",
            "guild_id",
            "channel_id",
            "member_id",
            "application_id",
            "token",
            "deferred_at",
        ),
    ),
)
# tables whose single integer key numbers new rows: after the copy they continue from the copied ones
NUMBERED = ("chunks", "sources", "answers", "feedback", "pending_questions")
PAGE = 2_000


class MigrationFailed(ArchivistError):
    """The copy did not match its source, or the target already holds an archive; nothing was kept."""


@dataclass(frozen=True)
class TableCopy:
    table: str
    rows: int
    digest: str  # the same on both sides, or the copy was rolled back


@dataclass(frozen=True)
class MigrationReport:
    target: str  # the URL without its password
    tables: tuple[TableCopy, ...]
    chunk_changes: int
    files: tuple[str, ...] = ()  # the search files stored with it


def _rows(store: Store, table: str, columns: tuple[str, ...]) -> Iterator[tuple]:
    """Every row of ``table``, read as a stream (SQLite's cursor; a server-side cursor on PostgreSQL)."""
    names = ", ".join(c if c == "rowid" else f'"{c}"' for c in columns)
    sql = f"SELECT {names} FROM {table}"  # noqa: S608 - fixed names
    if store.url:
        yield from store.db.conn.stream(sql, PAGE)
    else:
        yield from store.db.conn.execute(sql)


def _row_digest(row: tuple) -> int:
    """One row as a number, the same whichever backend read it (bytes, text and integers alike)."""
    parts = [bytes(value).hex() if isinstance(value, bytes | memoryview) else repr(value) for value in row]
    return int.from_bytes(hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).digest(), "big")


def table_digest(store: Store, table: str, columns: tuple[str, ...]) -> tuple[int, str]:
    """The row count and a digest of every row of ``table`` that does not depend on the order rows are read in."""
    total, count = 0, 0
    for row in _rows(store, table, columns):
        total = (total + _row_digest(row)) % (1 << 256)
        count += 1
    return count, f"{total:064x}"[:32]


def migrate(
    source: Store,
    target: Store,
    *,
    files: Sequence[Path] = (),
    progress: Callable[[str, int, int], None] | None = None,
) -> MigrationReport:
    """Copy ``source`` (SQLite) into ``target`` (PostgreSQL, no archive in it yet) and verify every table; ``files``
    (the home's search files of its newest generations) are stored with it, so a home on another machine copies
    them instead of building them."""
    if source.url or not target.url:
        raise MigrationFailed("`archivist migrate` copies a home's SQLite archive into a PostgreSQL database.")
    conn = target.db.conn
    copies: list[TableCopy] = []
    changes = source.chunk_changes()
    with conn:
        conn.execute("BEGIN IMMEDIATE")
        held = [table for table, _ in TABLES if conn.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()[0]]
        if held:
            raise MigrationFailed(
                f"The database at {target.url and _shown(target)} already holds an archive ({', '.join(held)}); "
                "`archivist migrate` copies into an empty one and overwrites nothing."
            )
        for table in ("articles", "chunks"):  # counted once below: a million trigger updates of one row are slow
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        for table, columns in TABLES:
            expected = source.count(table)
            names = ", ".join(f'"{c}"' for c in columns)
            insert = f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})"  # noqa: S608
            searched = table == "vectors"  # each passage vector goes in as a pgvector value too
            if searched:
                insert = f"INSERT INTO {table} ({names}, embedding) VALUES (?, ?, ?, ?::vector)"
            batch: list[tuple] = []
            done = 0
            for row in _rows(source, table, columns):
                batch.append((*row, postgres.vector_text(row[2])) if searched else row)
                if len(batch) == PAGE:
                    conn.executemany(insert, batch)
                    done += len(batch)
                    batch = []
                    if progress:
                        progress(f"copying {table}", done, expected)
            conn.executemany(insert, batch)
            log.info("copied %d rows of %s", done + len(batch), table)
        for table in ("articles", "chunks"):
            conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        for table in NUMBERED:
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM {table}"  # noqa: S608
            )
        conn.execute("SELECT setval('articles_rowid', COALESCE(MAX(rowid), 0) + 1, false) FROM articles")
        conn.execute("UPDATE chunk_changes SET count = ?", (changes,))
        for table, columns in TABLES:
            if progress:
                progress("verifying", len(copies), len(TABLES))
            wanted = table_digest(source, table, columns)
            found = table_digest(target, table, columns)
            if found != wanted:
                raise MigrationFailed(
                    f"The copy of {table} does not match the archive ({found[0]:,} rows against {wanted[0]:,}, or "
                    "different content); nothing was kept in the database."
                )
            copies.append(TableCopy(table, wanted[0], wanted[1]))
        if target.chunk_changes() != changes:
            raise MigrationFailed("The copy's count of changes does not match the archive's; nothing was kept.")
        dims = conn.execute("SELECT DISTINCT vector_dims(embedding) FROM vectors").fetchall()
        for (dim,) in dims:
            if progress:
                progress("building the vector search", 0, 1)
            target.ensure_vector_search(dim)
        for path in files:
            search_files.share(target, path)
    return MigrationReport(_shown(target), tuple(copies), changes, tuple(path.name for path in files))


def _shown(store: Store) -> str:
    return postgres.redacted(store.url or "")
