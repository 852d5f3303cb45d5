"""A soak of the real bot process: thousands of questions from many members and servers, through outages.

Usage: .venv/bin/python scripts/soak_bot.py [--questions 2000] [--members 300] [--guilds 5] [--cap 600]

Builds the tests' small real archive (30 MultiHop-RAG articles and the seed page) in a temporary home, then starts
`archivist run` (a separate process, default settings) against the fake Discord of the test suite on 127.0.0.1 and
sends --questions `/ask`, evenly paced over the sending window, member after member (each member asks again only
once every other member has asked, so the 5 s cooldown never applies), the members spread over --guilds servers.
Meanwhile: the fake Discord closes the gateway socket every minute (the bot must resume), answers --rest-429-share
of all REST calls with a 429 and a retry_after, some members vote 👍 on their answers and a few open follow-up
threads; a moderator runs one full `/reindex` a quarter of the way in, and half way in the bot is killed with
SIGKILL and started again (no question is sent while it is down: members wait, the schedule moves on by the
outage). After the restart, a member writes in a thread opened before the kill.

Prints what happened to every question (accepted = deferred; answered; refused as busy, with the reason; accepted
then never answered, which must be 0: those in flight at the SIGKILL are answered after the restart; answered
more than once, which must be 0 too), defer and answer
times, the bot's RSS (VmRSS) over the run, and whether the answers, threads and feedback rows written before the
kill are all still in the archive after the restart, and the bot's event-loop lag (from the once-a-minute line it
logs: the worst minute's p99 and the overall max).

Bounded: everything (building the archive included) stops within --cap seconds (at most 600); the questions are
sent within the time left after the build minus a reserve for the restart and for the last answers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from index.engine import Engine  # noqa: E402
from index.settings import Settings  # noqa: E402
from tests.bot.fake_discord import (  # noqa: E402
    CHANNEL_ID,
    GUILD_ID,
    MANAGE_GUILD,
    MEMBER_PERMISSIONS,
    FakeDiscord,
    InteractionLog,
    buttons,
    is_ephemeral,
    message_text,
)
from tests.bot.lag import percentile  # noqa: E402

SMALL_MULTIHOP = ROOT / "tests" / "data" / "multihop_rag_small.json"
SEED_PAGE = ROOT / "data" / "seed-article.txt"
RUN = "from bot.cli import main; main()"
TEMPLATES = ("What does the archive say about {}?", "Why is this in the news: {}?", "Tell me more about {}.")
OFF_TOPIC = ("Who won the 1998 FIFA World Cup?", "How do I bake sourdough bread?", "What is the capital of Peru?")
MODERATOR = 1
FIRST_MEMBER = 100_000
DROP_EVERY = 60.0  # seconds between two gateway drops
RESERVE = 150.0  # seconds of the cap kept for the restart, the last answers and the clean-up
VOTE_EVERY = 20  # one answered question in this many gets a 👍 from its asker
THREADS = 3  # follow-up threads opened before the kill
LAG_LINE = re.compile(r"event-loop lag p99 (\d+) ms, max (\d+) ms")


@dataclass
class Asked:
    number: int
    member: int
    guild: int
    log: InteractionLog
    before_kill: bool


@dataclass
class Soak:
    fake: FakeDiscord
    home: Path
    model_cache: Path
    workdir: Path
    proc: asyncio.subprocess.Process | None = None
    up: asyncio.Event = field(default_factory=asyncio.Event)
    asked: list[Asked] = field(default_factory=list)
    killed_at: float | None = None
    in_flight_at_kill: list[int] = field(default_factory=list)  # interaction ids deferred, not answered
    rss: list[tuple[float, str, int]] = field(default_factory=list)  # (seconds since start, process, kB)
    drops: list[float] = field(default_factory=list)  # seconds each drop took to reconnect
    dropped_at: list[float] = field(default_factory=list)
    restarted_at: float = 0.0
    outage: float = 0.0
    threads: list[dict] = field(default_factory=list)  # answer messages whose thread was opened
    votes: int = 0
    notes: list[str] = field(default_factory=list)
    starts: int = 0
    started_at: float = 0.0

    async def start_bot(self) -> None:
        env = {
            **os.environ,
            "DISCORD_TOKEN": "soak-token-never-logged",
            "ARCHIVIST_HOME": str(self.home),
            "ARCHIVIST_MODEL_CACHE": str(self.model_cache),
            "ARCHIVIST_DISCORD_API_BASE": self.fake.api_base,
            "ARCHIVIST_DISCORD_GATEWAY_URL": self.fake.gateway_url,
        }
        self.starts += 1
        self.fake.commands.clear()
        output = (self.workdir / f"bot-{self.starts}.log").open("wb")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", RUN, "run", cwd=ROOT, env=env, stdout=output, stderr=asyncio.subprocess.STDOUT
        )
        output.close()
        await self.fake.wait_connected(timeout=120)
        await self.fake.wait_until(lambda: self.fake.commands, timeout=60)
        self.up.set()

    def sample_rss(self, started: float, label: str) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.rss.append((time.monotonic() - started, label, vm_rss(self.proc.pid)))


def vm_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def questions() -> list[str]:
    titles = [record["title"] for record in json.loads(SMALL_MULTIHOP.read_text("utf-8"))]
    return [template.format(title) for template in TEMPLATES for title in titles] + list(OFF_TOPIC)


def build_archive(home: Path, model_cache: Path) -> str:
    corpus = home.parent / "corpus"
    corpus.mkdir()
    (corpus / "articles.json").write_bytes(SMALL_MULTIHOP.read_bytes())
    (corpus / "seed-article.txt").write_bytes(SEED_PAGE.read_bytes())
    engine = Engine(Settings(home=home, model_cache=model_cache))
    ingested = engine.ingest([corpus])
    built = engine.reindex()
    engine.ask(OFF_TOPIC[0])  # exports the verifier to the model cache once, outside the soak
    engine.close()
    return f"{ingested.added} articles, {built.total_vectors} passages"


def db_rows(home: Path) -> dict[str, set[tuple]]:
    db = sqlite3.connect(f"file:{home / 'archive.db'}?mode=ro", uri=True)
    try:
        return {
            "answers": set(db.execute("SELECT id, guild_id, asker, abstained FROM answers")),
            "threads": set(db.execute("SELECT thread_id, answer_id, turns FROM threads")),
            "feedback": set(db.execute("SELECT id, answer_id, member, vote FROM feedback")),
        }
    finally:
        db.close()


def guild_of(member: int, guilds: int) -> int:
    return GUILD_ID if member % guilds == 0 else GUILD_ID + 1_000 + member % guilds


async def send_questions(soak: Soak, count: int, members: int, guilds: int, window: float, started: float) -> None:
    pool = questions()
    tasks = []
    shift = 0.0  # the outage moves the rest of the schedule on
    for number in range(count):
        while True:
            if not soak.up.is_set():
                down = time.monotonic()
                await soak.up.wait()
                shift += time.monotonic() - down
            delay = started + shift + number * window / count - time.monotonic()
            if delay <= 0:
                break
            await asyncio.sleep(min(delay, 0.5))
        if not soak.up.is_set():
            continue
        member = number % members
        guild = guild_of(member, guilds)
        question = pool[(number * 7 + member) % len(pool)]
        tasks.append(asyncio.create_task(ask(soak, number, member, guild, question)))
    await asyncio.gather(*tasks)


async def ask(soak: Soak, number: int, member: int, guild: int, question: str) -> None:
    before_kill = soak.killed_at is None
    try:
        interaction = await soak.fake.slash(
            "ask", {"question": question}, user_id=FIRST_MEMBER + member, guild_id=guild
        )
    except (AssertionError, TimeoutError, ConnectionError) as error:  # the gateway was down for over 10 s
        soak.notes.append(f"question {number} could not be delivered: {error!r}")
        return
    soak.asked.append(Asked(number, member, guild, interaction, before_kill))


async def react(soak: Soak, stop: asyncio.Event) -> None:
    """Members vote 👍 on one answer in VOTE_EVERY; members of the first server open THREADS threads before the kill."""
    seen: set[int] = set()
    while not stop.is_set():
        await asyncio.sleep(2)
        if not soak.up.is_set():
            continue
        for asked in list(soak.asked):
            answer = answer_message(asked)
            if answer is None or asked.number in seen:
                continue
            seen.add(asked.number)
            user = FIRST_MEMBER + asked.member
            labels = buttons(answer)
            if asked.number % VOTE_EVERY == 0 and "👍" in labels:
                await soak.fake.click(answer, labels["👍"], user_id=user, guild_id=asked.guild)
                soak.votes += 1
            if (
                len(soak.threads) < THREADS
                and soak.killed_at is None
                and asked.guild == GUILD_ID
                and "Follow up" in labels
            ):
                await soak.fake.click(answer, labels["Follow up"], user_id=user)
                try:
                    thread_id = int(answer["id"])
                    await soak.fake.wait_until(lambda: thread_id in soak.fake.threads, timeout=30)  # noqa: B023
                    soak.threads.append(answer)
                except AssertionError:
                    soak.notes.append(f"Follow up on answer {answer['id']} opened no thread within 30 s")


def answer_message(asked: Asked) -> dict | None:
    messages = asked.log.reply_messages()
    return messages[0] if messages and not is_ephemeral(asked.log.followups[0][1]) else None


async def drop_gateway_every_minute(soak: Soak, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), DROP_EVERY)
        except TimeoutError:
            pass
        if stop.is_set() or not soak.up.is_set() or soak.fake._ws is None:
            continue
        dropped = time.monotonic()
        soak.dropped_at.append(dropped)
        await soak.fake.drop_gateway(code=4000)
        try:
            await soak.fake.wait_connected(timeout=60)
            soak.drops.append(time.monotonic() - dropped)
        except TimeoutError:
            soak.notes.append("the bot did not reconnect within 60 s of a gateway drop")
            soak.drops.append(float("inf"))


async def reindex(soak: Soak, at: float, started: float) -> None:
    await asyncio.sleep(max(0.0, started + at - time.monotonic()))
    await soak.up.wait()
    before = len(soak.fake.channel_messages(CHANNEL_ID))
    sent = time.monotonic()
    await soak.fake.slash("reindex", {"full": True}, user_id=MODERATOR, permissions=MANAGE_GUILD | MEMBER_PERMISSIONS)

    def finished() -> str | None:
        texts = [m["content"] for m in soak.fake.channel_messages(CHANNEL_ID)[before:]]
        return next((t for t in texts if t.startswith(("✅", "⚠️"))), None)

    try:
        summary = await soak.fake.wait_until(finished, timeout=180)
        soak.notes.append(f"/reindex full (after {time.monotonic() - sent:.0f} s): {summary}")
    except AssertionError:
        soak.notes.append("/reindex full: no summary within 180 s")


async def kill_and_restart(soak: Soak, at: float, started: float) -> dict:
    await asyncio.sleep(max(0.0, started + at - time.monotonic()))
    await soak.up.wait()
    soak.up.clear()  # no question is sent from here until the new process is connected
    before = db_rows(soak.home)
    assert soak.proc is not None
    soak.sample_rss(started, "before the kill")
    soak.killed_at = time.monotonic()
    # from the fake's own log: an /ask may be deferred before its sender has recorded it
    soak.in_flight_at_kill = [
        i.id
        for i in soak.fake.interactions.values()
        if i.callbacks and i.callbacks[0][1].get("type") == 5 and not i.replies()
    ]
    soak.proc.send_signal(signal.SIGKILL)
    await soak.proc.wait()
    down = time.monotonic()
    await soak.start_bot()
    soak.outage = time.monotonic() - down
    soak.restarted_at = time.monotonic()
    soak.sample_rss(started, "after the restart")
    after = db_rows(soak.home)
    intact = {table: (len(rows), rows <= after[table]) for table, rows in before.items()}
    if soak.threads:  # a member writes in a thread opened before the kill
        thread_id = int(soak.threads[0]["id"])
        message = await soak.fake.user_message("and what happened next?", channel_id=thread_id, user_id=FIRST_MEMBER)
        try:
            await soak.fake.wait_until(lambda: soak.fake.replies_to(message), timeout=60)
            soak.notes.append("a message in a thread opened before the kill was answered after the restart")
        except AssertionError:
            soak.notes.append("a message in a thread opened before the kill got no reply within 60 s")
    return intact


def accepted(asked: Asked) -> bool:
    return bool(asked.log.callbacks) and asked.log.callbacks[0][1].get("type") == 5


async def sample_rss_every(soak: Soak, stop: asyncio.Event, started: float) -> None:
    while not stop.is_set():
        if soak.up.is_set():
            soak.sample_rss(started, f"process {soak.starts}")
        try:
            await asyncio.wait_for(stop.wait(), 30)
        except TimeoutError:
            pass


async def soak_run(args: argparse.Namespace, home: Path, workdir: Path, deadline: float) -> dict:
    fake = FakeDiscord(rest_429_share=args.rest_429_share, rest_429_retry_after=args.retry_after, seed=args.seed)
    await fake.start()
    soak = Soak(fake, home, args.model_cache, workdir)
    stop = asyncio.Event()
    try:
        await soak.start_bot()
        started = soak.started_at = time.monotonic()
        soak.sample_rss(started, "start")
        window = min(args.send_seconds, deadline - started - RESERVE)
        if window < 60:
            raise SystemExit(f"only {window:.0f} s left to send questions in (the archive took too long to build)")
        helpers = [
            asyncio.create_task(drop_gateway_every_minute(soak, stop)),
            asyncio.create_task(react(soak, stop)),
            asyncio.create_task(sample_rss_every(soak, stop, started)),
            asyncio.create_task(reindex(soak, window / 4, started)),
        ]
        kill = asyncio.create_task(kill_and_restart(soak, window / 2, started))
        await send_questions(soak, args.questions, args.members, args.guilds, window, started)
        sent_all = time.monotonic() - started
        intact = await kill
        killed_at = soak.killed_at or float("inf")

        def settled() -> bool:  # every question acknowledged, every accepted one answered (the SIGKILL's too)
            return all(
                a.log.replies() if accepted(a) else a.log.callbacks
                for a in soak.asked
                if a.log.callbacks or a.log.created > killed_at
            )

        try:
            await fake.wait_until(settled, timeout=deadline - 20 - time.monotonic())
        except AssertionError:
            soak.notes.append("not every accepted question was answered before the cap")
        soak.sample_rss(started, "end")
        stop.set()
        for task in helpers:
            task.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
        final = db_rows(home)
        return {
            "soak": soak,
            "window": window,
            "sent_all": sent_all,
            "seconds": time.monotonic() - started,
            "intact": intact,
            "final": {table: len(rows) for table, rows in final.items()},
            "requests": sum(1 for r in fake.requests if r.path.startswith("/api/")),
            "limited": sum(1 for r in fake.requests if r.status == 429),
            "resumes": fake.resumes,
            "identifies": len(fake.identifies),
        }
    finally:
        stop.set()
        if soak.proc is not None and soak.proc.returncode is None:
            soak.proc.terminate()
            try:
                await asyncio.wait_for(soak.proc.wait(), 20)
            except TimeoutError:
                soak.proc.kill()
                await soak.proc.wait()
        await fake.stop()


def report(result: dict, workdir: Path) -> bool:
    soak: Soak = result["soak"]
    asked = soak.asked
    lost = {a.number for a in asked if a.log.id in soak.in_flight_at_kill}
    acked = [a for a in asked if a.log.callbacks]
    # sent in the last seconds before the SIGKILL and never deferred: reached the process, which died first
    killed_at = soak.killed_at or float("inf")
    unacked_at_kill = [a for a in asked if not a.log.callbacks and killed_at - 3 <= a.log.created <= killed_at]
    deferred = [a for a in asked if accepted(a)]
    refusals = [a for a in acked if not accepted(a)]
    busy = [a for a in refusals if "answering a lot" in message_text(a.log.replies()[0])]
    cooling = [a for a in refusals if "please wait" in message_text(a.log.replies()[0])]
    answered = [a for a in deferred if a.log.replies()]
    errors = [a for a in answered if is_ephemeral(a.log.replies()[0])]
    dropped = [a for a in deferred if not a.log.replies()]
    lost_replied = [a for a in asked if a.number in lost and a.log.replies()]
    twice = [a for a in deferred if len(a.log.replies()) > 1]
    defers = [a.log.first_ack for a in acked]
    answer_times = [a.log.followups[0][0] - a.log.created for a in answered if a.log.followups]
    after_kill = [a.log.edits[0][0] - a.log.created for a in lost_replied if a.log.edits]
    n = len(asked)
    print(
        f"sent {n} /ask from {len({a.member for a in asked})} members in {len({a.guild for a in asked})} servers over "
        f"{result['sent_all']:.0f} s (window {result['window']:.0f} s + the outage); soak {result['seconds']:.0f} s"
    )
    print(
        f"accepted (deferred): {len(deferred)}; never acknowledged: {n - len(acked)} "
        f"({len(unacked_at_kill)} of them sent in the 3 s before the SIGKILL)"
    )
    print(
        f"answered: {len(answered)} of {len(deferred)} accepted ({len(answered) / max(1, len(deferred)):.1%})"
        f"{f', {len(errors)} of them with an error message' if errors else ''}"
    )
    reason = message_text(busy[0].log.replies()[0]) if busy else ""
    print(
        f"refused as busy: {len(busy)}{f' (e.g. {reason!r})' if busy else ''}; cooldown: {len(cooling)}; "
        f"other refusals: {len(refusals) - len(busy) - len(cooling)}"
    )
    print(f"accepted then silently dropped: {len(dropped)}; answered more than once: {len(twice)}")
    unacked = [a for a in asked if not a.log.callbacks and a not in unacked_at_kill]
    for a in unacked[:5]:
        print(
            f"  never acknowledged: question {a.number} sent at {a.log.created - soak.started_at:.1f} s; gateway "
            f"drops at {[round(t - soak.started_at, 1) for t in soak.dropped_at]} s, restarted at "
            f"{soak.restarted_at - soak.started_at:.1f} s"
        )
    started = soak.started_at
    for a in dropped[:5]:
        print(
            f"  question {a.number} (member {a.member}) sent at {a.log.created - started:.1f} s, deferred "
            f"{1000 * a.log.first_ack:.0f} ms later; SIGKILL at {killed_at - started:.1f} s"
        )
    print(
        f"in flight at the SIGKILL (accepted, not answered yet): {len(lost)}; answered after the restart: "
        f"{len(lost_replied)}"
    )
    print(
        f"defer: p50 {1000 * percentile(defers, 0.5):.0f} ms, p99 {1000 * percentile(defers, 0.99):.0f} ms, "
        f"max {1000 * max(defers, default=float('nan')):.0f} ms; within 1 s: "
        f"{sum(1 for d in defers if d <= 1) / max(1, len(defers)):.1%}"
    )
    print(
        f"time to answer: p50 {percentile(answer_times, 0.5):.2f} s, p95 {percentile(answer_times, 0.95):.2f} s, "
        f"p99 {percentile(answer_times, 0.99):.2f} s"
    )
    if after_kill:
        print(
            f"time to answer, questions in flight at the SIGKILL: p50 {percentile(after_kill, 0.5):.1f} s, "
            f"max {max(after_kill):.1f} s (the outage included)"
        )
    logs = [p.read_text(errors="replace") for p in sorted(workdir.glob("bot-*.log"))]
    lags = [tuple(map(int, m)) for text in logs for m in LAG_LINE.findall(text)]
    if lags:
        print(
            f"event-loop lag (bot log, {len(lags)} minutes): p99 of the worst minute {max(p for p, _ in lags)} ms, "
            f"median minute's p99 {sorted(p for p, _ in lags)[len(lags) // 2]} ms, max {max(m for _, m in lags)} ms"
        )
    else:
        print("event-loop lag: no lag line in the bot logs")
    print(
        f"REST calls: {result['requests']}, answered 429: {result['limited']} "
        f"({result['limited'] / max(1, result['requests']):.1%})"
    )
    drops = soak.drops
    print(
        f"gateway drops: {len(drops)}, reconnected after each: {all(d != float('inf') for d in drops)} "
        f"(slowest {1000 * max(drops, default=0):.0f} ms); resumes {result['resumes']}, identifies {result['identifies']}"
    )
    print(f"SIGKILL + restart: bot down {soak.outage:.1f} s (until connected and commands synced)")
    rss = ", ".join(f"{label} {kb / 1024:.0f} MB @{at:.0f}s" for at, label, kb in soak.rss)
    print(f"bot RSS (VmRSS): {rss}")
    intact = result["intact"]
    rows = "; ".join(f"{t}: {count} before, all intact: {ok}" for t, (count, ok) in intact.items())
    print(f"rows written before the kill, after the restart: {rows}")
    print(f"rows at the end: {result['final']}; 👍 votes sent: {soak.votes}; threads opened: {len(soak.threads)}")
    for note in soak.notes:
        print(f"note: {note}")
    tracebacks = sum(text.count("Traceback") for text in logs)
    warnings = [line for text in logs for line in text.splitlines() if "WARNING" in line or "ERROR" in line]
    for line in warnings[:5]:
        print(f"  bot log: {line[:200]}")
    print(f"bot logs: {tracebacks} tracebacks, {sum(text.count(' ERROR ') for text in logs)} ERROR lines")
    unexplained = n - len(acked) - len(unacked_at_kill)
    ok = not dropped and not twice and not unexplained and all(ok for _, ok in intact.values())
    print(
        f"soak: {'PASS' if ok else 'FAIL'} (every question acknowledged and every accepted one answered once, "
        "those the SIGKILL caught included; rows written before the kill intact)"
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=2000, help="/ask to send (at most 5,000)")
    parser.add_argument("--members", type=int, default=300, help="members asking, in turn")
    parser.add_argument("--guilds", type=int, default=5, help="servers the members are spread over")
    parser.add_argument("--cap", type=float, default=600.0, help="seconds the whole run may take (at most 600)")
    parser.add_argument("--send-seconds", type=float, default=420.0, help="longest window to send the questions in")
    parser.add_argument("--rest-429-share", type=float, default=0.05, help="share of REST calls answered with 429")
    parser.add_argument("--retry-after", type=float, default=0.25, help="the 429s' retry_after, in seconds")
    parser.add_argument("--seed", type=int, default=17, help="seed of the random 429s")
    parser.add_argument(
        "--model-cache", type=Path, default=Settings().model_cache, help="folder of the exported models"
    )
    parser.add_argument("--keep-logs", type=Path, default=None, help="folder to copy the bot processes' logs to")
    args = parser.parse_args()
    if not (1 <= args.questions <= 5000 and 1 <= args.guilds <= args.members and 60 <= args.cap <= 600):
        parser.error("--questions must be 1-5000, --guilds 1-members, --cap 60-600")
    if not 0 <= args.rest_429_share < 1:
        parser.error("--rest-429-share must be in [0, 1)")
    logging.basicConfig(level=logging.WARNING)
    deadline = time.monotonic() + args.cap
    with tempfile.TemporaryDirectory(prefix="soak-bot-") as tmp:
        workdir = Path(tmp)
        home = workdir / "home"
        started = time.perf_counter()
        print(f"archive: {build_archive(home, args.model_cache)}, built in {time.perf_counter() - started:.0f} s")
        result = asyncio.run(soak_run(args, home, workdir, deadline))
        ok = report(result, workdir)
        if args.keep_logs is not None:
            args.keep_logs.mkdir(parents=True, exist_ok=True)
            for path in workdir.glob("bot-*.log"):
                shutil.copyfile(path, args.keep_logs / path.name)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
