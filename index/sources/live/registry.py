"""The live sources table and, per URL a source fetches, its validators and the article it gave.

One owner for the ``sources`` and ``source_pages`` tables (migration 3 in ``index.store.database``). A page row
is written only after its article is stored, so a sync killed between the two fetches the page again next time
and finds it unchanged.

What a source's sync learnt about a site as a whole (``HostState``: a Retry-After that outlasts the sync, the
robots.txt with its validators) is kept
in the same table, one row per site at its robots.txt address, marked by a ``"host"`` key in its data; ``pages``
leaves those rows out.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace

from index.errors import ArchivistError, NotFound
from index.sources.live.fetch import HostState
from index.sources.live.robots import RobotsCopy
from index.store.database import Store, upsert, utc_now

KINDS = ("rss", "wordpress", "sitemap")


class SourceExists(ArchivistError):
    """A source with that URL is already registered."""


@dataclass(frozen=True)
class Source:
    id: int
    url: str
    kind: str
    name: str
    endpoint: str  # what is fetched: the feed, the REST API root or the sitemap
    added_at: str
    last_sync_at: str | None = None
    last_status: str | None = None
    cursor: str | None = None  # WordPress: the newest modified_gmt stored
    retired: bool = False
    articles: int = 0


@dataclass(frozen=True)
class PageState:
    url: str
    article_id: str | None = None
    remote_id: str | None = None  # WordPress post id
    etag: str | None = None
    last_modified: str | None = None
    lastmod: str | None = None  # sitemap <lastmod>
    parent: str | None = None  # the sitemap that listed it
    listed: bool = True  # still in the feed or sitemap at the last sync
    data: dict | None = None  # WordPress id-list pages: {"ids": [...], "pages": N}

    def validators(self) -> dict[str, str | None]:
        return {"etag": self.etag, "last_modified": self.last_modified}

    def with_validators(self, etag: str | None, last_modified: str | None) -> PageState:
        return replace(self, etag=etag, last_modified=last_modified)


_HOST_PATH = "/robots.txt"
_SOURCE_COLUMNS = "id, url, kind, name, endpoint, added_at, last_sync_at, last_status, cursor, retired"
_PAGE_COLUMNS = "url, article_id, remote_id, etag, last_modified, lastmod, parent, listed, data"
_SAVE_PAGE = upsert(
    "source_pages",
    ("source_id", *_PAGE_COLUMNS.split(", "), "fetched_at"),
    ("source_id", "url"),
)  # a page saved again is replaced whole


class Registry:
    def __init__(self, store: Store) -> None:
        self.store = store

    @property
    def _conn(self):
        return self.store.db.conn

    # -- sources ----------------------------------------------------------------------------
    def add(self, url: str, kind: str, name: str, endpoint: str) -> Source:
        if kind not in KINDS:
            raise ValueError(kind)
        existing = self._conn.execute("SELECT id FROM sources WHERE url = ? OR endpoint = ?", (url, endpoint))
        row = existing.fetchone()
        if row is not None:
            raise SourceExists(f"{url} is already source {row[0]}.")
        with self._conn:
            cursor = self._conn.execute(
                "INSERT INTO sources (url, kind, name, endpoint, added_at) VALUES (?, ?, ?, ?, ?)",
                (url, kind, name, endpoint, utc_now()),
            )
        return self.get(cursor.lastrowid)

    def get(self, source_id: int) -> Source:
        row = self._conn.execute(f"SELECT {_SOURCE_COLUMNS} FROM sources WHERE id = ?", (source_id,)).fetchone()
        if row is None:
            raise NotFound(f"There is no source {source_id}; `archivist sources list` shows them.")
        return self._source(row)

    def all(self) -> list[Source]:
        rows = self._conn.execute(f"SELECT {_SOURCE_COLUMNS} FROM sources ORDER BY id").fetchall()
        return [self._source(row) for row in rows]

    def remove(self, source_id: int, *, keep_articles: bool) -> int:
        """Forget a source; unless ``keep_articles``, delete the articles only it gave. Returns articles deleted."""
        self.get(source_id)
        doomed: list[str] = []
        if not keep_articles:
            rows = self._conn.execute(
                "SELECT DISTINCT article_id FROM source_pages p WHERE source_id = ? AND article_id IS NOT NULL "
                "AND NOT EXISTS (SELECT 1 FROM source_pages o WHERE o.article_id = p.article_id "
                "AND o.source_id != p.source_id)",
                (source_id,),
            )
            doomed = [row[0] for row in rows]
        deleted = self.store.delete_articles(doomed)
        with self._conn:
            self._conn.execute("DELETE FROM source_pages WHERE source_id = ?", (source_id,))
            self._conn.execute("DELETE FROM sources WHERE id = ?", (source_id,))
        return deleted

    def finish(self, source_id: int, status: str, *, synced: bool) -> None:
        with self._conn:
            if synced:
                self._conn.execute(
                    "UPDATE sources SET last_status = ?, last_sync_at = ? WHERE id = ?", (status, utc_now(), source_id)
                )
            else:
                self._conn.execute("UPDATE sources SET last_status = ? WHERE id = ?", (status, source_id))

    def set_cursor(self, source_id: int, cursor: str) -> None:
        with self._conn:
            self._conn.execute("UPDATE sources SET cursor = ? WHERE id = ?", (cursor, source_id))

    def move(self, source_id: int, endpoint: str) -> None:
        """The endpoint answered 301/308: fetch the new location from now on."""
        with self._conn:
            self._conn.execute("UPDATE sources SET endpoint = ? WHERE id = ?", (endpoint, source_id))

    def retire(self, source_id: int) -> None:
        """The endpoint answered 410 Gone: stop syncing it (its articles stay)."""
        with self._conn:
            self._conn.execute("UPDATE sources SET retired = 1 WHERE id = ?", (source_id,))

    # -- pages ------------------------------------------------------------------------------
    def pages(self, source_id: int) -> dict[str, PageState]:
        rows = self._conn.execute(f"SELECT {_PAGE_COLUMNS} FROM source_pages WHERE source_id = ?", (source_id,))
        pages = (self._page(row) for row in rows)
        return {page.url: page for page in pages if not (page.data and "host" in page.data)}

    def hosts(self, source_id: int) -> list[HostState]:
        rows = self._conn.execute(
            "SELECT url, data FROM source_pages WHERE source_id = ? AND data LIKE '{\"host\"%'", (source_id,)
        )
        return [_host_state(url.removesuffix(_HOST_PATH), json.loads(data)["host"]) for url, data in rows]

    def save_hosts(self, source_id: int, states: list[HostState]) -> None:
        """Remember these sites' state for the next sync (a state with nothing in it is forgotten)."""
        self.drop_pages(source_id, [s.origin + _HOST_PATH for s in states if s.empty])
        kept = [s for s in states if not s.empty]
        with self._conn:
            self._conn.executemany(
                _SAVE_PAGE,
                [
                    (
                        source_id,
                        s.origin + _HOST_PATH,
                        None,
                        None,
                        None,
                        None,
                        None,
                        None,
                        0,
                        json.dumps({"host": _host_data(s)}),
                        utc_now(),
                    )
                    for s in kept
                ],
            )

    def save_page(self, source_id: int, page: PageState) -> None:
        self.save_pages(source_id, [page])

    def save_pages(self, source_id: int, pages: list[PageState]) -> None:
        now = utc_now()
        with self._conn:
            self._conn.executemany(
                _SAVE_PAGE,
                [
                    (
                        source_id,
                        p.url,
                        p.article_id,
                        p.remote_id,
                        p.etag,
                        p.last_modified,
                        p.lastmod,
                        p.parent,
                        int(p.listed),
                        json.dumps(p.data) if p.data is not None else None,
                        now,
                    )
                    for p in pages
                ],
            )

    def drop_pages(self, source_id: int, urls: list[str]) -> None:
        with self._conn:
            self._conn.executemany(
                "DELETE FROM source_pages WHERE source_id = ? AND url = ?", [(source_id, url) for url in urls]
            )

    def remove_articles(self, source_id: int, pages: list[PageState]) -> int:
        """The site took these pages down: delete their articles and forget the pages."""
        deleted = self.store.delete_articles([p.article_id for p in pages if p.article_id])
        self.drop_pages(source_id, [p.url for p in pages])
        return deleted

    # -- rows -------------------------------------------------------------------------------
    def _source(self, row: tuple) -> Source:
        count = self._conn.execute(
            "SELECT COUNT(DISTINCT p.article_id) FROM source_pages p JOIN articles a ON a.id = p.article_id "
            "WHERE p.source_id = ?",
            (row[0],),
        ).fetchone()[0]
        return Source(*row[:9], retired=bool(row[9]), articles=count)

    @staticmethod
    def _page(row: tuple) -> PageState:
        return PageState(*row[:7], listed=bool(row[7]), data=json.loads(row[8]) if row[8] else None)


def _host_data(state: HostState) -> dict:
    return {"not_before": state.not_before, "robots": asdict(state.robots) if state.robots else None}


def _host_state(origin: str, data: dict) -> HostState:
    robots = data.get("robots")
    return HostState(origin, not_before=data.get("not_before"), robots=RobotsCopy(**robots) if robots else None)
