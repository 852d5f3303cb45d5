"""Ingestion: files in, a clean, deduplicated archive out, safe to re-run.

Unchanged articles are skipped by content hash, changed ones replaced with their chunks,
articles whose normalised text is already stored collapse into the stored one, and bad
input becomes a per-file reason in the report; nothing already stored is touched by it.

What is counted as added or updated is decided inside the write transaction (a compare-and-set
on the stored content hash), so two ingests running at once never both claim one article. A URL
is one article's identity: a second record claiming it with different text is reported as a
conflict, never written over the first. ``--prune`` removes an article only when its file is
certainly gone, or was read cleanly this run without it; uploads have no file and are never pruned.
"""

from __future__ import annotations

import logging
import os
import pickle
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from index.errors import SourceError, system_error
from index.models import Article, ArticleDraft, FileProblem, IngestReport
from index.sources import discover, read_file
from index.sources.discovery import DEFAULT_MAX_ENTRIES
from index.sources.origins import file_part, is_file_origin, legacy_files
from index.sources.page_chrome import SiteChrome
from index.sources.reader import FileResult, read_upload
from index.store.database import Store, utc_now
from index.store.identity import article_id, content_hash, text_key, web_url
from index.text.chunking import chunk_body

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (phase, done, total)
_WRITE_ATTEMPTS = 5


@dataclass(frozen=True)
class IngestOptions:
    format: str | None = None
    prune: bool = False
    max_bytes: int = 20_000_000
    chunk_tokens: int = 256
    chunk_overlap: int = 32
    follow_symlinks: bool = False  # links found in folders and globs, only to regular files inside the given paths
    max_entries: int = DEFAULT_MAX_ENTRIES  # folder entries visited before the walk stops (and says so)


@dataclass(frozen=True)
class Upload:
    """A file given as bytes (e.g. a Discord attachment); ``name`` only tells its format."""

    name: str
    data: bytes


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


@dataclass
class _Run:
    """What this run has learnt: the articles it claimed and the files it read cleanly or not."""

    stored: dict[str, tuple[str, str]]  # id -> (content hash, text key), as read before writing
    origins: dict[str, str]  # id -> origin, as read before writing
    keys: dict[str, str] = field(default_factory=dict)  # text key -> id
    claims: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (text key, origin) this run
    seen_ids: set[str] = field(default_factory=set)
    read_cleanly: set[str] = field(default_factory=set)  # file origins read without a single problem
    troubled: set[str] = field(default_factory=set)  # file origins with at least one problem


def ingest(
    store: Store,
    paths: Sequence[str | Path | Upload],
    options: IngestOptions = IngestOptions(),
    *,
    progress: Progress | None = None,
) -> IngestReport:
    """Read every input under ``paths`` (and every ``Upload``) and bring the archive up to date with it."""
    tally = _Tally()
    uploads = [item for item in paths if isinstance(item, Upload)]
    named = [item for item in paths if not isinstance(item, Upload)]
    found = discover(named, follow_symlinks=options.follow_symlinks, max_entries=options.max_entries)
    tally.failed.extend(found.missing)
    tally.skipped.extend(found.problems)
    stored = store.hashes()
    run = _Run(stored=stored, origins=store.origins(), keys={key: aid for aid, (_, key) in stored.items()})
    with _Spilled(store.scratch) as drafts:
        _read_into(drafts, found.files, uploads, options, run, tally, progress)
        for number, draft in enumerate(drafts, start=1):
            try:
                _store_one(store, draft, options, run, tally)
            except SourceError as exc:
                tally.skipped.append(FileProblem(draft.origin, str(exc)))
                run.troubled.add(file_part(draft.origin))
            if progress:
                progress("storing", number, len(drafts))

    if options.prune:
        tally.pruned = _prune(store, run, tally)
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


def _read_into(
    drafts: _Spilled,
    files: list[Path],
    uploads: list[Upload],
    options: IngestOptions,
    run: _Run,
    tally: _Tally,
    progress: Progress | None,
) -> None:
    """Read every input into ``drafts``, noting its problems and whether it was read cleanly."""
    total_inputs = len(files) + len(uploads)
    for number, result in enumerate(_read_all(files, uploads, options), start=1):
        for draft in result.drafts:
            drafts.add(draft)
        tally.skipped.extend(result.problems)
        tally.notes.extend(result.notes)
        if result.fatal or result.problems:
            run.troubled.add(result.origin)
        else:
            run.read_cleanly.add(result.origin)
        if progress:
            progress("reading", number, total_inputs)


class _Spilled:
    """The drafts an ingest read, written to an unnamed temporary file beside the archive as they come and given back
    one at a time, cleaned of their sources' chrome (``SiteChrome``, which must see every draft before cleaning one).
    Held in memory instead, a million passages' drafts took about 2 GB."""

    def __init__(self, folder: Path | None) -> None:
        try:
            self._file = tempfile.TemporaryFile(dir=folder, prefix=".ingest-")
        except OSError as exc:
            raise system_error(exc) from exc
        self._count = 0
        self._chrome = SiteChrome()

    def __enter__(self) -> _Spilled:
        return self

    def __exit__(self, *_: object) -> None:
        self._file.close()

    def __len__(self) -> int:
        return self._count

    def add(self, draft: ArticleDraft) -> None:
        self._chrome.add(draft)
        try:
            pickle.dump(draft, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        except OSError as exc:
            raise system_error(exc) from exc
        self._count += 1

    def __iter__(self) -> Iterator[ArticleDraft]:
        try:
            self._file.seek(0)
            for _ in range(self._count):
                yield self._chrome.clean(pickle.load(self._file))  # this run's own unnamed file
        except OSError as exc:
            raise system_error(exc) from exc


def _read_all(files: list[Path], uploads: list[Upload], options: IngestOptions) -> Iterator[FileResult]:
    for path in files:
        yield read_file(path, format=options.format, max_bytes=options.max_bytes)
    for upload in uploads:
        yield read_upload(upload.name, upload.data, format=options.format, max_bytes=options.max_bytes)


def store_drafts(
    store: Store, drafts: Sequence[ArticleDraft], options: IngestOptions = IngestOptions()
) -> IngestReport:
    """Store drafts that did not come from files (live sources) with the same checks, dedup and chunking."""
    tally = _Tally()
    stored = store.hashes()
    run = _Run(stored=stored, origins=store.origins(), keys={key: aid for aid, (_, key) in stored.items()})
    for draft in drafts:
        try:
            _store_one(store, draft, options, run, tally)
        except SourceError as exc:
            tally.skipped.append(FileProblem(draft.origin, str(exc)))
    return tally.report()


def read_nothing(report: IngestReport) -> bool:
    """True when no article at all could be read: the only case ``archivist ingest`` exits non-zero."""
    return report.added + report.updated + report.unchanged + report.duplicates == 0


def _store_one(store: Store, draft: ArticleDraft, options: IngestOptions, run: _Run, tally: _Tally) -> None:
    if not draft.body.strip():
        raise SourceError("The article has no body text after cleaning.")
    aid = article_id(draft)
    digest = content_hash(draft)
    key = text_key(draft.body)
    claimed = run.claims.get(aid)
    if claimed is not None:
        if claimed[0] != key:
            raise SourceError(_conflict(draft, claimed[1]))
        tally.duplicates += 1
        return
    owner = run.keys.get(key)
    if owner is not None and owner != aid:
        _count_duplicate(run, owner, tally)
        return
    previous = run.stored.get(aid)
    if previous is not None and previous[0] == digest:
        _claim(run, aid, key, draft.origin)
        tally.unchanged += 1
        return
    if previous is not None and not _may_replace(run.origins.get(aid, ""), draft.origin):
        raise SourceError(_conflict(draft, run.origins[aid]))
    chunks = chunk_body(draft.body, max_tokens=options.chunk_tokens, overlap_tokens=options.chunk_overlap)
    for _ in range(_WRITE_ATTEMPTS):
        now = utc_now()
        current = store.find_by_id(aid)
        if current is not None and current.content_hash == digest:
            _claim(run, aid, key, draft.origin)
            tally.unchanged += 1
            return
        holder = store.find_by_text_key(key)
        if holder is not None and holder.id != aid:
            _count_duplicate(run, holder.id, tally)
            return
        article = _article(draft, aid, digest, first_seen=current.first_seen if current else now, now=now)
        expected = current.content_hash if current else None
        if store.put_article(article, chunks, expected_hash=expected):
            _claim(run, aid, key, draft.origin)
            if current is not None:
                run.keys.pop(text_key(current.body), None)
            run.keys[key] = aid
            run.stored[aid] = (digest, key)
            run.origins[aid] = draft.origin
            if current is None:
                tally.added += 1
            else:
                tally.updated += 1
            return
    raise SourceError("The article kept changing under another ingest running at the same time; run again.")


def _article(draft: ArticleDraft, aid: str, digest: str, *, first_seen: str, now: str) -> Article:
    return Article(
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


def _claim(run: _Run, aid: str, key: str, origin: str) -> None:
    run.claims[aid] = (key, origin)
    run.seen_ids.add(aid)


def _count_duplicate(run: _Run, owner: str, tally: _Tally) -> None:
    tally.duplicates += 1
    run.seen_ids.add(owner)


def _may_replace(stored_origin: str, new_origin: str) -> bool:
    """A stored article is updated from the file it came from, or from anywhere once that file is gone."""
    return file_part(stored_origin) == file_part(new_origin) or _gone(stored_origin)


def _conflict(draft: ArticleDraft, holder: str) -> str:
    return (
        f"Its URL {web_url(draft.url)} already belongs to a different article (from {holder}), "
        "so it was not stored over it."
    )


def _gone(origin: str) -> bool:
    """True only when the file an origin names certainly no longer exists (not merely unreadable)."""
    candidates = legacy_files(origin)
    if not candidates:
        return False
    for path in candidates:
        try:
            os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            continue
        except (OSError, ValueError):
            return False
        return False
    return True


def _prune(store: Store, run: _Run, tally: _Tally) -> int:
    """Remove articles whose file is gone, or whose file was read cleanly this run without them.

    A file that failed to read, or had any record or article skipped, keeps all of its stored articles.
    """
    doomed = []
    kept: Counter[str] = Counter()
    for aid, origin in store.origins().items():
        if aid in run.seen_ids or not is_file_origin(origin):
            continue
        base = file_part(origin)
        if base in run.troubled:
            kept[base] += 1
        elif base in run.read_cleanly or _gone(origin):
            doomed.append(aid)
    for base, count in kept.items():
        tally.notes.append(
            FileProblem(
                base, f"--prune kept {count} stored article(s) of this file because part of it could not be read."
            )
        )
    return store.delete_articles(doomed)
