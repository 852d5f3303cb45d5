"""Sync live sources: fetch what changed, store new and edited articles, remove what the site took down.

Each source is synced on its own: a broken one is reported with its reason and never stops the others, and a
failed fetch leaves what is stored alone. Articles go through the same checks, dedup and chunking as files
(``index.sources.ingest.store_drafts``); their page state is written only after the article, so a sync killed
half-way leaves a consistent archive and the next one completes it.

* RSS/Atom: the feed is fetched conditionally; each item's page is fetched (conditionally) and its article
  extracted as a saved page is, unless the feed carries the full text. A page that leaves the feed is fetched
  once more and removed only if it answers 404 or 410.
* WordPress: posts changed since the cursor, every page of them; then the full id list, and stored posts missing
  from it are removed.
* Sitemaps: pages whose <lastmod> moved are fetched (conditionally); a page leaving the sitemap is removed only
  if it answers 404 or 410.

A site that asked (429/503) for a longer wait than a sync makes is remembered per source, and the next syncs
skip it, with that reason, until the time it gave.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from index.errors import ArchivistError, FetchFailed, FetchRefused, SourceError
from index.models import ArticleDraft, IndexReport
from index.sources.dates import normalise_date
from index.sources.decoding import decode_bytes
from index.sources.fields import draft_from_record
from index.sources.html_pages import read_html_page
from index.sources.ingest import IngestOptions, store_drafts
from index.sources.live.feeds import FeedItem, parse_feed
from index.sources.live.fetch import Fetcher, Response
from index.sources.live.registry import PageState, Registry, Source
from index.sources.live.sitemaps import parse_sitemap
from index.sources.live.wordpress_api import cursor_before, ids_url, parse_ids, parse_posts, posts_url, total_pages
from index.sources.text_layout import check_line_lengths, normalise_body
from index.store.database import Store
from index.store.identity import article_id, text_key

log = logging.getLogger(__name__)

BATCH = 50


@dataclass(frozen=True)
class SyncProblem:
    url: str
    reason: str


@dataclass(frozen=True)
class SourceReport:
    id: int
    url: str
    kind: str
    name: str
    synced: bool
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    not_modified: int = 0
    errors: tuple[SyncProblem, ...] = ()
    new_articles: tuple[str, ...] = ()  # ids published since the last sync (never the backfill of a new source)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        if not self.synced:
            return f"failed: {self.errors[0].reason}" if self.errors else "failed"
        text = (
            f"{self.added} added, {self.updated} updated, {self.removed} removed, {self.unchanged} unchanged, "
            f"{self.not_modified} not modified"
        )
        return text + (f", {len(self.errors)} errors" if self.errors else "")


@dataclass(frozen=True)
class SyncReport:
    sources: tuple[SourceReport, ...]
    indexed: IndexReport | None = None

    @property
    def any_synced(self) -> bool:
        return any(source.synced for source in self.sources)

    @property
    def new_articles(self) -> tuple[str, ...]:
        return tuple(aid for source in self.sources for aid in source.new_articles)


@dataclass(frozen=True)
class SyncOptions:
    ingest: IngestOptions = IngestOptions()
    per_page: int = 100  # WordPress posts per request (its maximum)
    max_pages: int = 1_000  # WordPress pages of posts or ids per sync
    max_items: int = 500  # feed items, or pages leaving a feed or sitemap, handled per sync
    max_sitemaps: int = 50  # sitemaps read from one sitemap index


@dataclass
class _Run:
    first: bool
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    not_modified: int = 0
    errors: list[SyncProblem] = field(default_factory=list)
    new: list[str] = field(default_factory=list)

    def report(self, source: Source, synced: bool) -> SourceReport:
        return SourceReport(
            id=source.id,
            url=source.url,
            kind=source.kind,
            name=source.name,
            synced=synced,
            added=self.added,
            updated=self.updated,
            unchanged=self.unchanged,
            removed=self.removed,
            not_modified=self.not_modified,
            errors=tuple(self.errors),
            new_articles=tuple(dict.fromkeys(self.new)),
        )


class Syncer:
    def __init__(self, store: Store, fetcher: Fetcher, options: SyncOptions = SyncOptions()) -> None:
        self.store = store
        self.fetcher = fetcher
        self.options = options
        self.registry = Registry(store)

    def sync(self, source_ids: Sequence[int] | None = None) -> tuple[SourceReport, ...]:
        if source_ids:
            sources = [self.registry.get(source_id) for source_id in source_ids]
        else:
            sources = [source for source in self.registry.all() if not source.retired]
        return tuple(self.sync_source(source) for source in sources)

    def sync_source(self, source: Source) -> SourceReport:
        run = _Run(first=source.last_sync_at is None)
        method = {"rss": self._feed, "wordpress": self._wordpress, "sitemap": self._sitemap}[source.kind]
        self.fetcher.remember(self.registry.hosts(source.id))
        synced = True
        try:
            method(source, run)
        except ArchivistError as error:
            run.errors.insert(0, SyncProblem(source.endpoint, str(error)))
            synced = False
        except Exception as error:  # a parser bug must not stop the other sources
            log.exception("syncing source %d failed", source.id)
            run.errors.insert(0, SyncProblem(source.endpoint, f"The sync failed ({type(error).__name__}: {error})."))
            synced = False
        self.registry.save_hosts(
            source.id, [self.fetcher.host_state(origin) for origin in sorted(self.fetcher.touched)]
        )
        report = run.report(source, synced)
        self.registry.finish(source.id, report.summary(), synced=synced)
        log.info("source %d (%s): %s", source.id, source.url, report.summary())
        return report

    # -- RSS / Atom -----------------------------------------------------------------------------
    def _feed(self, source: Source, run: _Run) -> None:
        pages = self.registry.pages(source.id)
        state = pages.get(source.endpoint) or PageState(source.endpoint, listed=False)
        response = self._endpoint(source, run, state)
        if response is None:
            return
        feed = parse_feed(response.body)
        listed: set[str] = set()
        batch: list[tuple[PageState, ArticleDraft]] = []
        for item in feed.items[: self.options.max_items]:
            listed.add(item.link)
            if item.content_html:
                draft = _draft_from_item(item, source.name)
                if draft is not None:
                    batch.append((PageState(item.link), draft))
            else:
                fetched = self._page(source, run, item.link, pages.get(item.link), item=item)
                if fetched is not None:
                    batch.append(fetched)
            if len(batch) >= BATCH:
                self._store(source, run, batch)
                batch = []
        self._store(source, run, batch)
        self._check_unlisted(source, run, pages, listed)
        self.registry.save_page(source.id, state.with_validators(response.etag, response.last_modified))

    # -- WordPress REST API -----------------------------------------------------------------------
    def _wordpress(self, source: Source, run: _Run) -> None:
        pages = self.registry.pages(source.id)
        used: set[str] = set()
        cursor = source.cursor
        # When the cursor moves, the next sync asks a new URL; one more round now records its validators, so an
        # unchanged site answers that sync with 304s (it costs one request, for posts already stored).
        for _round in range(2):
            self._wordpress_posts(source, run, pages, used, cursor)
            moved = self.registry.get(source.id).cursor
            if moved == cursor:
                break
            cursor = moved
        live = self._wordpress_ids(source, run, pages, used)
        self._forget_api_pages(source, pages, used)
        if live is None:
            return
        current = self.registry.pages(source.id).values()
        gone = [p for p in current if p.remote_id and p.remote_id not in live]
        run.removed += self.registry.remove_articles(source.id, gone)

    def _wordpress_posts(
        self, source: Source, run: _Run, pages: dict[str, PageState], used: set[str], cursor: str | None
    ) -> None:
        """Every page of posts changed since ``cursor``, oldest change first; the cursor follows each page."""
        after = cursor_before(cursor) if cursor else None
        by_remote = {p.remote_id: p for p in self.registry.pages(source.id).values() if p.remote_id}
        page, total = 1, 1
        while page <= min(total, self.options.max_pages):
            url = posts_url(source.endpoint, page, self.options.per_page, after)
            used.add(url)
            state = pages.get(url) or PageState(url, listed=False)
            response = self.fetcher.get(url, **state.validators())
            if response.not_modified:
                run.not_modified += 1
                total = max(total, (state.data or {}).get("pages", total))
                page += 1
                continue
            if response.status == 400 and page > 1:  # past the last page
                break
            response.check()
            total = total_pages(response.headers) or total
            posts = parse_posts(response.body, source.name)
            batch, gone = [], []
            for post in posts:
                old = by_remote.get(post.id)
                if old is not None and old.url != post.link:
                    gone.append(old)  # the post's address changed: its old article goes, the new one comes
                if post.draft is None:
                    if old is not None and old.url == post.link:
                        gone.append(old)
                    continue
                batch.append((PageState(post.link, remote_id=post.id), post.draft))
            self._store(source, run, batch)
            run.removed += self.registry.remove_articles(source.id, gone)
            newest = max((p.modified_gmt for p in posts if p.modified_gmt), default=None)
            if newest and (not cursor or newest > cursor):
                cursor = newest
                self.registry.set_cursor(source.id, newest)
            self.registry.save_page(
                source.id,
                replace(state, etag=response.etag, last_modified=response.last_modified, data={"pages": total}),
            )
            page += 1

    def _wordpress_ids(self, source: Source, run: _Run, pages: dict[str, PageState], used: set[str]) -> set[str] | None:
        """Every published post id, or None when the list could not be read whole (then nothing is removed).

        Pages answered 304 stand for the ids stored with them. The list runs newest id first, so a new post
        changes the first page and every page after it: the page count is fresh whenever the list grew."""
        live: set[str] = set()
        page, total = 1, 1
        while page <= total:
            if page > self.options.max_pages:
                return None
            url = ids_url(source.endpoint, page, self.options.per_page)
            used.add(url)
            state = pages.get(url) or PageState(url, listed=False)
            try:
                response = self.fetcher.get(url, **state.validators())
                if response.status == 400 and page > 1:  # past the last page
                    break
                response.check()
                if response.not_modified and state.data and "ids" in state.data:
                    run.not_modified += 1
                    ids, total = state.data["ids"], max(total, state.data.get("pages", total))
                else:
                    if response.not_modified:  # validators without the ids they stood for: ask again in full
                        response = self.fetcher.get(url).check()
                    ids = parse_ids(response.body)
                    total = total_pages(response.headers) or total
                    data = {"ids": ids, "pages": total}
                    self.registry.save_page(
                        source.id, replace(state, etag=response.etag, last_modified=response.last_modified, data=data)
                    )
            except (FetchFailed, SourceError) as error:
                run.errors.append(SyncProblem(url, f"{error} Removed posts are looked for again next sync."))
                return None
            live.update(ids)
            page += 1
        return live

    def _forget_api_pages(self, source: Source, pages: dict[str, PageState], used: set[str]) -> None:
        api = source.endpoint + "wp/v2/posts?"
        stale = [url for url, page in pages.items() if url.startswith(api) and not page.article_id and url not in used]
        self.registry.drop_pages(source.id, stale)

    # -- sitemaps ----------------------------------------------------------------------------------
    def _sitemap(self, source: Source, run: _Run) -> None:
        pages = self.registry.pages(source.id)
        entries: dict[str, tuple[str | None, str]] = {}  # loc -> (lastmod, the sitemap listing it)
        complete = True
        queue, seen, states = [source.endpoint], set(), []
        while queue and len(seen) < self.options.max_sitemaps:
            url = queue.pop(0)
            if url in seen:
                continue
            seen.add(url)
            state = pages.get(url) or PageState(url, listed=False)
            try:
                if url == source.endpoint:
                    response = self._endpoint(source, run, state, count=False)
                else:
                    response = self.fetcher.get(url, **state.validators()).check()
            except FetchFailed as error:
                if url == source.endpoint:
                    raise
                run.errors.append(SyncProblem(url, str(error)))
                complete = False
                continue
            if response is None or response.not_modified:
                run.not_modified += 1
                queue.extend((state.data or {}).get("children", []))
                entries.update({p.url: (p.lastmod, url) for p in pages.values() if p.parent == url and p.listed})
                continue
            sitemap = parse_sitemap(response.body, max_bytes=self.fetcher.config.max_bytes)
            children = [e.loc for e in sitemap.entries] if sitemap.is_index else []
            queue.extend(children)
            if not sitemap.is_index:
                entries.update({e.loc: (e.lastmod, url) for e in sitemap.entries})
            states.append(
                replace(state, etag=response.etag, last_modified=response.last_modified, data={"children": children})
            )
        if queue:
            complete = False
        batch: list[tuple[PageState, ArticleDraft]] = []
        for loc, (lastmod, parent) in entries.items():
            old = pages.get(loc)
            if old is not None and old.article_id and lastmod and old.lastmod == lastmod:
                run.unchanged += 1
                if old.parent != parent:
                    self.registry.save_page(source.id, replace(old, parent=parent))
                continue
            fetched = self._page(source, run, loc, old, lastmod=lastmod, parent=parent)
            if fetched is not None:
                batch.append(fetched)
            if len(batch) >= BATCH:
                self._store(source, run, batch)
                batch = []
        self._store(source, run, batch)
        if complete:
            self._check_unlisted(source, run, pages, set(entries))
        self.registry.save_pages(source.id, states)

    # -- shared steps ----------------------------------------------------------------------------
    def _endpoint(self, source: Source, run: _Run, state: PageState, *, count: bool = True) -> Response | None:
        """The source's own URL, conditionally; None when it has not changed. 410 retires the source."""
        response = self.fetcher.get(source.endpoint, **state.validators())
        if response.status == 410:
            self.registry.retire(source.id)
            raise FetchFailed(f"{source.endpoint} answered 410 Gone, so the source is retired (its articles stay).")
        response.check()
        if response.moved_to:
            log.info("source %d moved permanently to %s", source.id, response.moved_to)
            self.registry.move(source.id, response.moved_to)
        if response.not_modified:
            if count:
                run.not_modified += 1
            return None
        return response

    def _page(
        self,
        source: Source,
        run: _Run,
        url: str,
        old: PageState | None,
        *,
        item: FeedItem | None = None,
        lastmod: str | None = None,
        parent: str | None = None,
    ) -> tuple[PageState, ArticleDraft] | None:
        """Fetch one article page; None when it is unchanged, gone (its article removed) or unreadable."""
        known = old is not None and old.article_id is not None and self.store.find_by_id(old.article_id) is not None
        validators = old.validators() if known else {}
        try:
            response = self.fetcher.get(url, **validators)
        except FetchRefused as error:
            log.info("not fetching %s: %s", url, error)
            return None
        except FetchFailed as error:
            run.errors.append(SyncProblem(url, str(error)))
            return None
        if response.gone:
            if old is not None:
                run.removed += self.registry.remove_articles(source.id, [old])
            return None
        if response.not_modified and old is not None:
            run.not_modified += 1
            if old.lastmod != lastmod or not old.listed or old.parent != parent:
                self.registry.save_page(source.id, replace(old, lastmod=lastmod, parent=parent, listed=True))
            return None
        try:
            response.check()
            draft = page_draft(response, url, source.name, item)
        except (FetchFailed, SourceError) as error:
            run.errors.append(SyncProblem(url, str(error)))
            return None
        state = PageState(url, etag=response.etag, last_modified=response.last_modified, lastmod=lastmod, parent=parent)
        return state, draft

    def _store(self, source: Source, run: _Run, batch: list[tuple[PageState, ArticleDraft]]) -> None:
        if not batch:
            return
        ids = [article_id(draft) for _, draft in batch]
        before = {aid for aid in ids if self.store.find_by_id(aid) is not None}
        report = store_drafts(self.store, [draft for _, draft in batch], self.options.ingest)
        run.added += report.added
        run.updated += report.updated
        run.unchanged += report.unchanged + report.duplicates
        run.errors.extend(SyncProblem(p.origin, p.reason) for p in report.skipped)
        states = []
        for (state, draft), aid in zip(batch, ids, strict=True):
            if self.store.find_by_id(aid) is None:
                owner = self.store.find_by_text_key(text_key(draft.body))
                if owner is None:
                    continue  # skipped: reported above, fetched again next sync
                aid = owner.id
            elif aid not in before and not run.first:
                run.new.append(aid)
            states.append(replace(state, article_id=aid))
        self.registry.save_pages(source.id, states)

    def _check_unlisted(self, source: Source, run: _Run, pages: dict[str, PageState], listed: set[str]) -> None:
        """Pages that left the feed or sitemap: removed if the site says 404/410, else no longer watched."""
        left = [p for url, p in pages.items() if p.article_id and p.listed and url not in listed]
        for page in left[: self.options.max_items]:
            try:
                response = self.fetcher.get(page.url, **page.validators())
            except FetchRefused:
                continue
            except FetchFailed as error:
                run.errors.append(SyncProblem(page.url, str(error)))
                continue
            if response.gone:
                run.removed += self.registry.remove_articles(source.id, [page])
            elif response.status < 400:
                self.registry.save_page(source.id, replace(page, listed=False))


def page_draft(response: Response, url: str, source_name: str, item: FeedItem | None = None) -> ArticleDraft:
    """The article of one fetched HTML page (trafilatura and the site-chrome rules, as for saved pages)."""
    decoded = decode_bytes(response.body)
    extraction = read_html_page(decoded.text, url)
    draft = extraction.drafts[0]
    body = normalise_body(draft.body)
    if not body.strip():
        raise SourceError(f"{url} has no article text.")
    check_line_lengths(body, what="The page")
    title = (item.title if item and item.title else draft.title).strip() or body.split("\n", 1)[0][:120]
    return replace(
        draft,
        title=title,
        body=body,
        url=url,
        author=(item.author if item and item.author else draft.author),
        published_at=draft.published_at or _item_date(item),
        category=(item.categories[0] if item and item.categories else draft.category),
        tags=(tuple(item.categories[1:]) if item and item.categories else draft.tags),
        source=source_name,
    )


def _draft_from_item(item: FeedItem, source_name: str) -> ArticleDraft | None:
    record = {
        "title": item.title,
        "body": item.content_html,
        "url": item.link,
        "author": item.author,
        "published_at": item.published,
        "category": item.categories[0] if item.categories else None,
        "tags": list(item.categories[1:]),
        "source": source_name,
    }
    try:
        return draft_from_record(record, item.link, label=f"The feed item {item.link}").draft
    except SourceError:
        return None


def _item_date(item: FeedItem | None) -> str | None:
    if item is None or not item.published:
        return None
    try:
        return normalise_date(item.published)
    except ValueError:
        return None
