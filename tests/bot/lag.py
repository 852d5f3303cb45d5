"""Measuring the bot while a full re-index or a live-source sync runs: /ask defer and answer latency, event-loop lag.

Used by ``tests/bot/test_lag.py`` (a small BBC slice, a small test site) and ``scripts/bench_bot_lag.py`` (the
whole BBC archive, or a sync of ``--sync-posts`` posts). Event-loop lag is how late ``asyncio.sleep(interval)``
wakes up: a sampler on the bot's own loop.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from bot.runner import start_bot
from index.settings import Settings
from tests.bot.fake_discord import CHANNEL_ID, MANAGE_GUILD, FakeDiscord, limit_problems, mention_problems

QUESTIONS = (
    "What did the Bank of England decide about interest rates?",
    "Why did Time Warner's profits rise?",
    "Who won the Australian Open?",
    "What did Tony Blair say about the election?",
    "How are mobile phone sales changing?",
    "Which film won at the Oscars?",
)


def bbc_slice(bbc: Path, folder: Path, per_category: int | None) -> Path:
    """Copy the first ``per_category`` articles of every BBC category (all when None) into ``folder``."""
    for category in sorted(p for p in bbc.iterdir() if p.is_dir()):
        target = folder / category.name
        target.mkdir(parents=True, exist_ok=True)
        for path in sorted(category.glob("*.txt"))[:per_category]:
            shutil.copyfile(path, target / path.name)
    return folder


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


@dataclass
class LagReport:
    reindex_seconds: float  # how long the work measured (re-index or sync) took
    defers: list[float] = field(default_factory=list)  # interaction created → deferral received, per /ask
    answers: list[float] = field(default_factory=list)  # interaction created → answer received
    lags: list[float] = field(default_factory=list)  # event-loop lag samples during the re-index
    baseline_lags: list[float] = field(default_factory=list)  # the same, with the bot idle before it
    asked: int = 0
    answered_during_reindex: int = 0
    problems: list[str] = field(default_factory=list)  # payloads over limits or allowing mentions
    summary: str = ""
    work: str = "re-index"

    def table(self) -> str:
        rows = [("", "n", "p50 ms", "p95 ms", "p99 ms", "max ms")]
        for name, values in (
            ("/ask deferred", self.defers),
            ("/ask answered", self.answers),
            (f"loop lag, {self.work}", self.lags),
            ("loop lag, idle", self.baseline_lags),
        ):
            rows.append(
                (
                    name,
                    str(len(values)),
                    *(f"{1000 * percentile(values, q):.1f}" for q in (0.5, 0.95, 0.99)),
                    f"{1000 * max(values, default=float('nan')):.1f}",
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = [
            "  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(r, widths, strict=False)))
            for r in rows
        ]
        lines.append(
            f"{self.work} {self.reindex_seconds:.1f} s; {self.asked} /ask sent, {len(self.answers)} answered, "
            f"{self.answered_during_reindex} of them while the {self.work} ran"
        )
        lines.append(self.summary)
        return "\n".join(lines)


async def _sample_lag(stop: asyncio.Event, samples: list[float], interval: float) -> None:
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(interval)
        samples.append(time.perf_counter() - start - interval)


async def measure_reindex_lag(
    engine,
    *,
    ask_every: float = 0.5,
    interval: float = 0.01,
    baseline_seconds: float = 2.0,
    answer_timeout: float = 60.0,
    reindex_timeout: float = 3600.0,
) -> LagReport:
    """Start the bot on a fake Discord, run ``/reindex full:true`` and ask questions until it has finished."""
    fake = FakeDiscord()
    await fake.start()
    settings = Settings(
        discord_token="fake-token",
        cooldown_seconds=0,
        progress_interval_seconds=1.0,
        discord_api_base=fake.api_base,
        discord_gateway_url=fake.gateway_url,
    )
    bot = await start_bot(engine, settings, guild_ready_timeout=0.05)
    try:
        warm = await fake.slash("ask", {"question": QUESTIONS[0]}, user_id=1)  # loads the model and retriever
        await fake.wait_until(warm.replies, timeout=answer_timeout)
        stop = asyncio.Event()
        baseline: list[float] = []
        sampler = asyncio.create_task(_sample_lag(stop, baseline, interval))
        await asyncio.sleep(baseline_seconds)
        stop.set()
        await sampler

        def finished() -> list[dict]:
            return [
                m
                for m in fake.channel_messages(CHANNEL_ID)
                if m["content"].startswith(("✅", "⚠️")) and not m.get("edits")
            ]

        stop = asyncio.Event()
        lags: list[float] = []
        sampler = asyncio.create_task(_sample_lag(stop, lags, interval))
        started = time.monotonic()
        await fake.slash("reindex", {"full": True}, permissions=MANAGE_GUILD, user_id=2)
        logs = []
        while not finished() and time.monotonic() - started < reindex_timeout:
            logs.append(
                await fake.slash("ask", {"question": QUESTIONS[len(logs) % len(QUESTIONS)]}, user_id=100 + len(logs))
            )
            await asyncio.sleep(ask_every)
        (done,) = await fake.wait_until(finished, timeout=reindex_timeout)
        reindex_seconds = time.monotonic() - started
        stop.set()
        await sampler
        ended = started + reindex_seconds
        await fake.wait_until(lambda: all(log.followups for log in logs), timeout=answer_timeout)
        report = LagReport(reindex_seconds=reindex_seconds, lags=lags, baseline_lags=baseline, summary=done["content"])
        report.asked = len(logs)
        report.defers = [log.first_ack for log in logs]
        report.answers = [log.followups[0][0] - log.created for log in logs]
        report.answered_during_reindex = sum(1 for log in logs if log.followups[0][0] < ended)
        report.problems = [p for body in fake.message_payloads() for p in mention_problems(body) + limit_problems(body)]
        return report
    finally:
        await bot.close()
        await fake.stop()


async def measure_sync_lag(
    engine,
    *,
    ask_every: float = 0.5,
    interval: float = 0.01,
    baseline_seconds: float = 2.0,
    answer_timeout: float = 60.0,
    sync_timeout: float = 3600.0,
) -> LagReport:
    """Start the bot on a fake Discord with a background sync due a second after the idle baseline, and ask
    questions until that sync (fetching, storing and indexing every live source of ``engine``) has finished."""
    fake = FakeDiscord()
    await fake.start()
    settings = Settings(
        discord_token="fake-token",
        cooldown_seconds=0,
        discord_api_base=fake.api_base,
        discord_gateway_url=fake.gateway_url,
        sync_interval_minutes=60.0,
    )
    bot = await start_bot(engine, settings, guild_ready_timeout=0.05)
    try:
        warm = await fake.slash("ask", {"question": QUESTIONS[0]}, user_id=1)  # loads the model and retriever
        await fake.wait_until(warm.replies, timeout=answer_timeout)
        stop = asyncio.Event()
        baseline: list[float] = []
        sampler = asyncio.create_task(_sample_lag(stop, baseline, interval))
        await asyncio.sleep(baseline_seconds)
        stop.set()
        await sampler

        stop = asyncio.Event()
        lags: list[float] = []
        sampler = asyncio.create_task(_sample_lag(stop, lags, interval))
        started = time.monotonic()
        # What the background loop does every ARCHIVIST_SYNC_INTERVAL_MINUTES, started now rather than in an hour.
        sync = asyncio.create_task(bot.get_cog("SourcesCog").sync_now())
        logs = []
        while not sync.done() and time.monotonic() - started < sync_timeout:
            logs.append(
                await fake.slash("ask", {"question": QUESTIONS[len(logs) % len(QUESTIONS)]}, user_id=100 + len(logs))
            )
            await asyncio.sleep(ask_every)
        report = await asyncio.wait_for(sync, timeout=max(1.0, sync_timeout - (time.monotonic() - started)))
        sync_seconds = time.monotonic() - started
        stop.set()
        await sampler
        ended = started + sync_seconds
        await fake.wait_until(lambda: all(log.followups for log in logs), timeout=answer_timeout)
        summary = "; ".join(f"source {s.id}: {s.summary()}" for s in report.sources)
        result = LagReport(
            reindex_seconds=sync_seconds, lags=lags, baseline_lags=baseline, summary=summary, work="sync"
        )
        result.asked = len(logs)
        result.defers = [log.first_ack for log in logs]
        result.answers = [log.followups[0][0] - log.created for log in logs]
        result.answered_during_reindex = sum(1 for log in logs if log.followups[0][0] < ended)
        result.problems = [p for body in fake.message_payloads() for p in mention_problems(body) + limit_problems(body)]
        return result
    finally:
        await bot.close()
        await fake.stop()
