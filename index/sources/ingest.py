"""Ingestion: files in, a clean, deduplicated archive out, safe to re-run.

Unchanged articles are skipped by content hash, changed ones replaced with their chunks,
articles whose normalised text is already stored collapse into the stored one, and bad
input becomes a per-file reason in the report; nothing already stored is touched by it.
"""

from __future__ import annotations

import glob
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from index.errors import SourceError
from index.models import Article, ArticleDraft, FileProblem, IngestReport
from index.sources import clean_site_chrome, iter_inputs, origin_file, read_file
from index.store.database import Store, utc_now
from index.store.identity import article_id, content_hash, text_key
from index.text.chunking import chunk_body

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (phase, done, total)


@dataclass(frozen=True)
class IngestOptions:
    format: str | None = None
    prune: bool = False
    max_bytes: int = 20_000_000
    chunk_tokens: int = 256
    chunk_overlap: int = 32


@dataclass
class _Tally:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    pruned: int = 0
    skipped: list[FileProblem] = field(default_factory=list)
    failed: list[FileProblem] = field(default_factory=list)
    notes: list[FileProblem] = field(default_factory=list)

    def report(self) -> IngestReport:
        return IngestReport(
            added=self.added,
            updated=self.updated,
            unchanged=self.unchanged,
            duplicates=self.duplicates,
            pruned=self.pruned,
            skipped=tuple(self.skipped),
            failed=tuple(self.failed),
            notes=tuple(self.notes),
        )


def ingest(
    store: Store,
    paths: Sequence[str | Path],
    options: IngestOptions = IngestOptions(),
    *,
    progress: Progress | None = None,
) -> IngestReport:
    """Read every input under ``paths`` and bring the archive up to date with it."""
    tally = _Tally()
    for missing in [p for p in paths if not _exists(p)]:
        tally.failed.append(FileProblem(str(missing), "no such file, folder or matching glob"))
    files = list(iter_inputs([p for p in paths if _exists(p)]))
    drafts: list[ArticleDraft] = []
    read_origins: set[str] = set()
    for number, path in enumerate(files, start=1):
        try:
            result = read_file(path, format=options.format, max_bytes=options.max_bytes)
        except Exception as exc:  # a reader bug must not stop the batch
            log.exception("reading %s failed", path)
            tally.failed.append(FileProblem(str(path), f"could not be read: {exc}"))
        else:
            drafts.extend(result.drafts)
            tally.skipped.extend(result.problems)
            tally.notes.extend(result.notes)
            if not result.fatal:
                read_origins.add(result.origin)
        if progress:
            progress("reading", number, len(files))

    drafts = clean_site_chrome(drafts)
    stored = store.hashes()
    keys_to_id = {key: aid for aid, (_, key) in stored.items()}
    seen_ids: set[str] = set()
    total = len(drafts)
    for number, draft in enumerate(drafts, start=1):
        try:
            _store_one(store, draft, options, stored, keys_to_id, seen_ids, tally)
        except SourceError as exc:
            tally.skipped.append(FileProblem(draft.origin, str(exc)))
        if progress:
            progress("storing", number, total)

    if options.prune:
        tally.pruned = _prune(store, read_origins, seen_ids)
    report = tally.report()
    log.info(
        "ingested: %d added, %d updated, %d unchanged, %d duplicates, %d pruned, %d skipped, %d failed",
        report.added,
        report.updated,
        report.unchanged,
        report.duplicates,
        report.pruned,
        len(report.skipped),
        len(report.failed),
    )
    return report


def store_drafts(store: Store, drafts: Sequence[ArticleDraft], options: IngestOptions = IngestOptions()) -> IngestReport:
    """Store drafts that did not come from files (live sources) with the same checks, dedup and chunking."""
    tally = _Tally()
    stored = store.hashes()
    keys_to_id = {key: aid for aid, (_, key) in stored.items()}
    seen_ids: set[str] = set()
    for draft in drafts:
        try:
            _store_one(store, draft, options, stored, keys_to_id, seen_ids, tally)
        except SourceError as exc:
            tally.skipped.append(FileProblem(draft.origin, str(exc)))
    return tally.report()


def read_nothing(report: IngestReport) -> bool:
    """True when no article at all could be read: the only case ``archivist ingest`` exits non-zero."""
    return report.added + report.updated + report.unchanged + report.duplicates == 0


def _exists(path: str | Path) -> bool:
    text = str(path)
    if any(ch in text for ch in "*?["):
        return bool(glob.glob(text, recursive=True))
    return Path(text).exists()


def _store_one(
    store: Store,
    draft: ArticleDraft,
    options: IngestOptions,
    stored: dict[str, tuple[str, str]],
    keys_to_id: dict[str, str],
    seen_ids: set[str],
    tally: _Tally,
) -> None:
    if not draft.body.strip():
        raise SourceError("the article has no body text after cleaning")
    aid = article_id(draft)
    digest = content_hash(draft)
    key = text_key(draft.body)
    owner = keys_to_id.get(key)
    if owner is not None and owner != aid:
        tally.duplicates += 1
        seen_ids.add(owner)
        log.debug("%s duplicates stored article %s", draft.origin, owner)
        return
    seen_ids.add(aid)
    previous = stored.get(aid)
    if previous is not None and previous[0] == digest:
        tally.unchanged += 1
        return
    now = utc_now()
    first_seen = now
    if previous is not None:
        old = store.find_by_id(aid)
        first_seen = old.first_seen if old else now
        keys_to_id.pop(previous[1], None)
    article = Article(
        id=aid,
        title=draft.title.strip() or "(untitled)",
        body=draft.body,
        origin=draft.origin,
        content_hash=digest,
        first_seen=first_seen,
        updated_at=now,
        url=draft.url,
        author=draft.author,
        published_at=draft.published_at,
        category=draft.category,
        tags=draft.tags,
        source=draft.source,
    )
    chunks = chunk_body(article.body, max_tokens=options.chunk_tokens, overlap_tokens=options.chunk_overlap)
    store.put_article(article, chunks)
    stored[aid] = (digest, key)
    keys_to_id[key] = aid
    if previous is None:
        tally.added += 1
    else:
        tally.updated += 1


def _prune(store: Store, read_origins: set[str], seen_ids: set[str]) -> int:
    """Remove articles whose file is gone, or whose file was read this run without them."""
    doomed = []
    for aid, origin in store.origins().items():
        if origin.startswith(("http://", "https://")):
            continue
        path = origin_file(origin)
        if not path.exists() or (str(path) in read_origins and aid not in seen_ids):
            doomed.append(aid)
    return store.delete_articles(doomed)
