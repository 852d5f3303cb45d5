"""How long a live-source sync takes: a WordPress test site on 127.0.0.1, against ingesting the same posts from a file.

    .venv/bin/python scripts/bench_sync.py [--posts 5000] [--per-page 100]

Serves the test site of the live-source tests (real text: the seed page and MultiHop-RAG articles, repeated with
a numbered dispatch line so every post is distinct) with ``--posts`` posts, then in one run and one process:

1. ingests the same posts from a JSON export into a fresh archive (the baseline; the export is split into files of
   ``EXPORT_POSTS`` posts, each well under the ARCHIVIST_MAX_FILE_MB cap that a single 5,000-post file exceeds);
2. syncs the site's REST API into another fresh archive (first sync: every post fetched, stored and chunked);
3. syncs it again (no-op: every request answered 304).

Nothing is indexed (both paths end where ``archivist index`` starts), and the per-host delay is 0, so the figures
are the sync's own cost. Prints a Markdown table row for docs/benchmarks.md with the ratio of (2) to (1).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index.sources.ingest import IngestOptions, ingest  # noqa: E402
from index.sources.live.fetch import AddressPolicy, FetchConfig, Fetcher  # noqa: E402
from index.sources.live.registry import Registry  # noqa: E402
from index.sources.live.sync import Syncer, SyncOptions  # noqa: E402
from index.store.database import Store  # noqa: E402
from tests.index.sources.live.site import TestSite, many_posts  # noqa: E402

EXPORT_POSTS = 500


def export(site: TestSite, folder: Path) -> list[Path]:
    records = [
        {
            "title": p.title,
            "body": "\n\n".join(p.paragraphs),
            "url": site.base + p.path,
            "author": p.author,
            "published_at": p.date.isoformat(),
            "category": p.category,
            "tags": p.tags,
            "source": "The Test Gazette",
        }
        for p in site.published()
    ]
    paths = []
    for start in range(0, len(records), EXPORT_POSTS):
        path = folder / f"export-{start // EXPORT_POSTS:03d}.json"
        path.write_text(json.dumps(records[start : start + EXPORT_POSTS], ensure_ascii=False), encoding="utf-8")
        paths.append(path)
    return paths


def timed_sync(store: Store, per_page: int):
    config = FetchConfig(policy=AddressPolicy.parse("127.0.0.1"), min_delay=0.0, timeout=60.0)
    started = time.perf_counter()
    with Fetcher(config) as fetcher:
        (report,) = Syncer(store, fetcher, SyncOptions(per_page=per_page)).sync()
        requests = len(fetcher.requested)
    return time.perf_counter() - started, report, requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=5000)
    parser.add_argument("--per-page", type=int, default=100)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="archivist-sync-"))
    site = TestSite(many_posts(args.posts)).start()
    try:
        file_store = Store(folder / "from-file.db")
        started = time.perf_counter()
        baseline = ingest(file_store, export(site, folder), IngestOptions())
        file_seconds = time.perf_counter() - started
        file_store.close()

        store = Store(folder / "from-site.db")
        Registry(store).add(site.base + "/", "wordpress", "The Test Gazette", site.base + "/wp-json/")
        first_seconds, first, first_requests = timed_sync(store, args.per_page)
        noop_seconds, noop, noop_requests = timed_sync(store, args.per_page)
        store.close()
    finally:
        site.stop()
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"posts: {args.posts}; file ingest added {baseline.added}; first sync added {first.added}, errors {len(first.errors)}"
    )
    print(f"no-op sync: {noop.not_modified} not modified, {noop.added + noop.updated + noop.removed} changes")
    if baseline.added != args.posts or first.added != args.posts:
        sys.exit("Not every post was stored by both paths, so the figures do not compare; see the counts above.")
    print("| posts | ingest from JSON s | first sync s | sync / ingest | requests | no-op sync s | no-op requests |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {args.posts} | {file_seconds:.1f} | {first_seconds:.1f} | {first_seconds / file_seconds:.2f} | "
        f"{first_requests} | {noop_seconds:.2f} | {noop_requests} |"
    )


if __name__ == "__main__":
    main()
