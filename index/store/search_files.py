"""A generation's search files kept in the PostgreSQL archive too, so any machine on it can search at once.

A home keeps each index generation's files beside its archive: the vector index (``vectors-N.faiss``), the BM25
index and the chunk table. With the archive in PostgreSQL, several homes on several machines share one archive, and a
home that lacks a generation's files copies them from the database instead of building them (a full re-index, or
reading every chunk). The bytes are stored in parts of ``PART`` bytes under the file's name; each file checks itself
(a checksum in its header, or the generation record's) when it is opened, so a damaged copy is read around as a
damaged local file is. On SQLite these functions do nothing: the home's folder is the only place.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from pathlib import Path

from index.store.database import Store
from index.store.durable import fsync_folder

log = logging.getLogger(__name__)

PART = 32 << 20
_GENERATION = re.compile(r"-(\d{6})\.")


def share(store: Store, path: Path) -> None:
    """Store the file at ``path`` under its name (replacing a file of that name) in one transaction."""
    if store.url is None or store.read_only:
        return
    conn = store.db.conn
    with conn, open(path, "rb") as handle:
        conn.execute("DELETE FROM search_files WHERE name = ?", (path.name,))
        part = 0
        while data := handle.read(PART):
            conn.execute("INSERT INTO search_files (name, part, data) VALUES (?, ?, ?)", (path.name, part, data))
            part += 1
    log.info("shared %s (%d bytes) through the database", path.name, path.stat().st_size)


def fetch(store: Store, path: Path) -> bool:
    """Copy the file named as ``path`` from the database to ``path`` if it is stored there; whether it now exists.

    The copy is written to a temporary file in the same folder and renamed into place, so a reader never sees half
    of it; a folder that cannot be written is logged and left as it was."""
    if path.exists():
        return True
    if store.url is None:
        return False
    conn = store.db.conn
    parts = conn.execute("SELECT COUNT(*) FROM search_files WHERE name = ?", (path.name,)).fetchone()[0]
    if not parts:
        return False
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".fetch-", delete=False) as handle:
            temp = Path(handle.name)
            try:
                for part in range(parts):
                    row = conn.execute(
                        "SELECT data FROM search_files WHERE name = ? AND part = ?", (path.name, part)
                    ).fetchone()
                    if row is None:  # replaced while read: the next process tries again
                        raise FileNotFoundError(path.name)
                    handle.write(row[0])
                handle.flush()
                os.fsync(handle.fileno())
            except BaseException:
                temp.unlink(missing_ok=True)
                raise
        os.replace(temp, path)
        fsync_folder(path.parent)
    except OSError as exc:
        log.warning("could not copy %s from the database: %s", path.name, exc)
        return False
    log.info("copied %s from the database", path.name)
    return True


def keep_generations(store: Store, generations: set[int]) -> None:
    """Forget the stored files of every generation not in ``generations``."""
    if store.url is None or store.read_only:
        return
    conn = store.db.conn
    names = [row[0] for row in conn.execute("SELECT DISTINCT name FROM search_files")]
    stale = [(name,) for name in names if (m := _GENERATION.search(name)) and int(m.group(1)) not in generations]
    with conn:
        conn.executemany("DELETE FROM search_files WHERE name = ?", stale)
