"""A crowd at once: 200 members sending /ask at the same moment to the real bot over the demo archive.

Usage: .venv/bin/python scripts/bench_bot_queue.py [--members 200] [--alone 5] [--model-cache DIR]

Builds the demo archive (data/: 95 MultiHop-RAG articles and the seed page) in a temporary home, starts the real
bot with default settings against the fake Discord of the test suite (127.0.0.1 only), and times first a few
/ask sent one at a time (each waits for the previous answer), then --members /ask sent at once, one per member,
each a different question. Prints the share deferred within 1 s, the share answered, p50/p95 time to answer, and
that p95 as a multiple of one /ask alone (the median of the one-at-a-time runs) in the same run. Bounded: at most
500 members, and the crowd is given --timeout seconds (default 480) to be answered.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.runner import start_bot  # noqa: E402
from index.engine import Engine  # noqa: E402
from index.settings import Settings  # noqa: E402
from tests.bot.fake_discord import FakeDiscord, is_ephemeral  # noqa: E402
from tests.bot.lag import percentile  # noqa: E402

DEMO = ROOT / "data"
TEMPLATES = ("What does the archive say about {}?", "Why is this in the news: {}?", "Tell me more about {}.")


def questions() -> list[str]:
    """Distinct questions, one per template and headline of the demo archive (285 of them)."""
    titles = [record["title"] for record in json.loads((DEMO / "multihop_rag_slice.json").read_text("utf-8"))]
    return [template.format(title) for template in TEMPLATES for title in titles]


async def crowd(engine: Engine, members: int, alone: int, timeout: float) -> dict:
    fake = FakeDiscord()
    await fake.start()
    settings = Settings(
        discord_token="fake-token", discord_api_base=fake.api_base, discord_gateway_url=fake.gateway_url
    )
    bot = await start_bot(engine, settings, guild_ready_timeout=0.05)
    pool = questions()
    try:
        warm = await fake.slash("ask", {"question": pool.pop()}, user_id=10_000)  # loads the models
        await fake.wait_until(warm.replies, timeout=120)
        alone_seconds = []
        for n in range(alone):
            log = await fake.slash("ask", {"question": pool.pop()}, user_id=10_001 + n)
            (reply,) = await fake.wait_until(log.replies, timeout=120)
            alone_seconds.append(log.followups[0][0] - log.created)
        logs = await asyncio.gather(
            *(fake.slash("ask", {"question": pool[m % len(pool)]}, user_id=m) for m in range(members))
        )
        started = time.monotonic()
        try:
            await fake.wait_until(lambda: all(log.replies() for log in logs), timeout=timeout)
        except AssertionError:  # the fake's wait_until timed out
            logging.warning("Not every question was answered within %s s", timeout)
        crowd_seconds = time.monotonic() - started
        answered = [log for log in logs if log.followups and not is_ephemeral(log.followups[0][1])]
        return {
            "workers": bot.answers.workers,
            "cpus": os.cpu_count(),
            "members": members,
            "deferred_within_1s": sum(1 for log in logs if log.first_ack is not None and log.first_ack <= 1.0),
            "defer_max": max((log.first_ack for log in logs if log.first_ack is not None), default=float("nan")),
            "refused_busy": sum(1 for log in logs if log.replies() and is_ephemeral(log.replies()[0])),
            "answered": len(answered),
            "answer_times": [log.followups[0][0] - log.created for log in answered],
            "alone": statistics.median(alone_seconds),
            "crowd_seconds": crowd_seconds,
        }
    finally:
        await bot.close()
        await fake.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=200, help="members asking at once (at most 500)")
    parser.add_argument("--alone", type=int, default=5, help="questions timed one at a time first")
    parser.add_argument("--timeout", type=float, default=480.0, help="seconds the crowd is given to be answered")
    parser.add_argument("--model-cache", type=Path, default=None, help="folder of the exported model (default: temp)")
    args = parser.parse_args()
    if not 1 <= args.members <= 500 or not 1 <= args.alone <= 20:
        parser.error("--members must be 1-500 and --alone 1-20")
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench-bot-queue-") as tmp:
        tmp_path = Path(tmp)
        settings = Settings(home=tmp_path / "home", model_cache=args.model_cache or tmp_path / "model-cache")
        engine = Engine(settings)
        started = time.perf_counter()
        ingested = engine.ingest([DEMO / "multihop_rag_slice.json", DEMO / "seed-article.txt"])
        built = engine.reindex()
        print(
            f"archive: {ingested.added} articles, {built.total_vectors} passages, "
            f"built in {time.perf_counter() - started:.1f} s"
        )
        result = asyncio.run(crowd(engine, args.members, args.alone, args.timeout))
        engine.close()
    times = result["answer_times"]
    p50, p95 = percentile(times, 0.5), percentile(times, 0.95)
    n = result["members"]
    print(f"{n} /ask at once from {n} members; {result['workers']} answer workers on {result['cpus']} CPUs")
    print(f"deferred within 1 s: {result['deferred_within_1s'] / n:.1%} (slowest {1000 * result['defer_max']:.0f} ms)")
    print(f"answered: {result['answered'] / n:.1%}; refused as busy: {result['refused_busy']}")
    print(f"time to answer: p50 {p50:.2f} s, p95 {p95:.2f} s; all answered {result['crowd_seconds']:.1f} s after")
    print(f"one /ask alone (median of {args.alone}): {result['alone']:.2f} s; p95 = {p95 / result['alone']:.0f}x that")
    ok = result["deferred_within_1s"] == n and result["answered"] == n
    print(f"acceptance (all deferred within 1 s, all answered): {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
