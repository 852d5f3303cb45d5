"""The bot during a full re-index of the BBC archive: /ask defer and answer latency, event-loop lag.

Usage: .venv/bin/python scripts/bench_bot_lag.py [--per-category N] [--ask-every 0.5] [--model-cache DIR]

Builds the BBC archive (../shared/datasets/bbc_news/bbc, all 2,225 articles unless --per-category is given) in a
temporary home, indexes it, starts the real bot against the fake Discord of the test suite, runs
``/reindex full:true`` as a moderator and, while it runs, sends ``/ask`` every --ask-every seconds. Prints a table
of p50/p95/p99/max for deferral, answer latency and event-loop lag (during the re-index, and idle before it).
The acceptance bar: every /ask deferred within 1 s and answered, loop lag p99 under 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index.engine import Engine  # noqa: E402
from index.settings import Settings  # noqa: E402
from tests.bot.lag import bbc_slice, measure_reindex_lag, percentile  # noqa: E402

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-category", type=int, default=None, help="articles per BBC category (default: all)")
    parser.add_argument("--ask-every", type=float, default=0.5, help="seconds between two /ask during the re-index")
    parser.add_argument("--model-cache", type=Path, default=None, help="folder of the exported model (default: temp)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench-bot-lag-") as tmp:
        tmp_path = Path(tmp)
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
