"""The bot during a full re-index of the BBC archive, or a live-source sync: /ask defer and answer latency, loop lag.

Usage: .venv/bin/python scripts/bench_bot_lag.py [--per-category N] [--ask-every 0.5] [--model-cache DIR]
       .venv/bin/python scripts/bench_bot_lag.py --sync-posts 1000 [--short-posts] [--ask-every 0.5]

Builds the BBC archive (../shared/datasets/bbc_news/bbc, all 2,225 articles unless --per-category is given) in a
temporary home, indexes it, starts the real bot against the fake Discord of the test suite, runs
``/reindex full:true`` as a moderator and, while it runs, sends ``/ask`` every --ask-every seconds. Prints a table
of p50/p95/p99/max for deferral, answer latency and event-loop lag (during the re-index, and idle before it).
The acceptance bar: every /ask deferred within 1 s and answered, loop lag p99 under 100 ms.

With --sync-posts N it measures the background sync instead: the live-source tests' WordPress site on 127.0.0.1
serves N posts (real text; --short-posts keeps three paragraphs of each, so little is left to embed after the
sync), the bot's engine follows it, and the bot runs the step its ARCHIVIST_SYNC_INTERVAL_MINUTES loop runs
(fetch, store, index) while /ask is sent as above.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index.engine import Engine  # noqa: E402
from index.settings import Settings  # noqa: E402
from tests.bot.lag import bbc_slice, measure_reindex_lag, measure_sync_lag, percentile  # noqa: E402
from tests.index.sources.live.site import TestSite, many_posts  # noqa: E402

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-category", type=int, default=None, help="articles per BBC category (default: all)")
    parser.add_argument("--ask-every", type=float, default=0.5, help="seconds between two /ask during the re-index")
    parser.add_argument("--model-cache", type=Path, default=None, help="folder of the exported model (default: temp)")
    parser.add_argument("--sync-posts", type=int, default=None, help="measure a sync of this many posts instead")
    parser.add_argument("--short-posts", action="store_true", help="with --sync-posts: three paragraphs a post")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench-bot-lag-") as tmp:
        tmp_path = Path(tmp)
        if args.sync_posts:
            report = sync_lag(args, tmp_path)
            print(report.table())
            return verdict(report)
        corpus = bbc_slice(DATASETS / "bbc_news" / "bbc", tmp_path / "bbc", args.per_category)
        settings = Settings(home=tmp_path / "home", model_cache=args.model_cache or tmp_path / "model-cache")
        engine = Engine(settings)
        started = time.perf_counter()
        ingested = engine.ingest([corpus])
        first = engine.reindex()
        print(
            f"archive: {ingested.added} articles, {first.total_vectors} passages, "
            f"built in {time.perf_counter() - started:.1f} s"
        )
        report = asyncio.run(measure_reindex_lag(engine, ask_every=args.ask_every))
        engine.close()
    print(report.table())
    return verdict(report)


def sync_lag(args: argparse.Namespace, tmp_path: Path):
    posts = many_posts(args.sync_posts)
    if args.short_posts:
        posts = [replace(p, paragraphs=[*p.paragraphs[:2], p.paragraphs[-1]]) for p in posts]
    site = TestSite(posts).start()
    settings = Settings(
        home=tmp_path / "home",
        model_cache=args.model_cache or tmp_path / "model-cache",
        sources_allow_private="127.0.0.1",
        sources_min_delay=0.0,
    )
    engine = Engine(settings)
    try:
        engine.add_source(site.base + "/")
        return asyncio.run(measure_sync_lag(engine, ask_every=args.ask_every))
    finally:
        engine.close()
        site.stop()


def verdict(report) -> int:
    ok = (
        report.defers
        and max(report.defers) < 1.0
        and len(report.answers) == report.asked
        and percentile(report.lags, 0.99) < 0.100
        and not report.problems
    )
    print(f"acceptance (deferral < 1 s, all answered, lag p99 < 100 ms, payloads fine): {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
