"""The answer queue on its own: turn order, fairness, the wait bound, and cleanup of questions given up."""

import asyncio

import pytest

from bot.errors import Busy
from bot.queue import ASSUMED_SECONDS, AnswerQueue


class Jobs:
    """Jobs that finish only when released, recording the order in which they started."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.gates: dict[str, asyncio.Event] = {}

    def job(self, name: str, *, fail: bool = False):
        self.gates[name] = asyncio.Event()

        async def run():
            self.started.append(name)
            await self.gates[name].wait()
            if fail:
                raise ValueError(f"{name} failed")
            return name

        return run

    async def release_all(self, queue: AnswerQueue) -> None:
        while queue.running or queue.waiting:
            for gate in self.gates.values():
                gate.set()
            await asyncio.sleep(0)


def make_queue(workers=1, max_wait=1000.0) -> AnswerQueue:
    return AnswerQueue(workers=workers, max_wait=max_wait)


async def test_one_member_flooding_does_not_delay_another_members_question():
    queue, jobs = make_queue(), Jobs()
    tickets = [queue.submit(1, 10, jobs.job(f"flood{n}")) for n in range(20)]
    late = queue.submit(1, 11, jobs.job("other"))
    assert late.place == 2  # after the flood's first waiting question, not after all nineteen
    await jobs.release_all(queue)
    assert jobs.started[:3] == ["flood0", "flood1", "other"]
    assert [await t for t in tickets] == [f"flood{n}" for n in range(20)]
    assert await late == "other"


async def test_servers_take_turns_then_members_within_each_server():
    queue, jobs = make_queue(), Jobs()
    queue.submit(None, 0, jobs.job("running"))  # takes the one worker; everything below waits
    for name, guild, member in [
        ("A1a", 1, 1),
        ("A1b", 1, 1),
        ("A2a", 1, 2),
        ("B3a", 2, 3),
        ("B3b", 2, 3),
        ("DMa", None, 4),
    ]:
        queue.submit(guild, member, jobs.job(name))
    await jobs.release_all(queue)
    assert jobs.started == ["running", "A1a", "B3a", "DMa", "A2a", "B3b", "A1b"]


async def test_place_in_line_predicts_the_actual_turn():
    queue, jobs = make_queue(), Jobs()
    queue.submit(None, 0, jobs.job("running"))
    arrivals = [(1, 1), (1, 1), (1, 2), (2, 3), (1, 1), (3, 5), (2, 3), (2, 6), (1, 2)]
    places = {}
    for n, (guild, member) in enumerate(arrivals):
        places[f"q{n}"] = queue.submit(guild, member, jobs.job(f"q{n}")).place
    assert queue.place_for(4, 9) == 4  # a new server comes after each waiting server's next turn only
    await jobs.release_all(queue)
    turns = {name: turn for turn, name in enumerate(jobs.started)}  # "running" is turn 0
    # a place is exact for the question queued last; earlier ones can only be overtaken by fair newcomers
    assert places["q8"] == turns["q8"]
    assert all(places[name] <= turns[name] for name in places)


async def test_workers_run_side_by_side_and_never_more():
    queue, jobs = make_queue(workers=3), Jobs()
    for n in range(7):
        queue.submit(n % 2, n, jobs.job(f"q{n}"))
    await asyncio.sleep(0)
    assert (queue.running, queue.waiting, len(jobs.started)) == (3, 4, 3)
    await jobs.release_all(queue)
    assert len(jobs.started) == 7


async def test_busy_only_past_the_wait_bound_with_the_place_in_line():
    queue, jobs = make_queue(workers=2, max_wait=3 * ASSUMED_SECONDS), Jobs()
    for member in range(2):  # both workers busy
        queue.submit(1, member, jobs.job(f"running{member}"))
    accepted = [queue.submit(1, 10 + n, jobs.job(f"w{n}")) for n in range(6)]  # places 1..6: waits 0.25 .. 1.5 s
    assert [t.place for t in accepted] == [1, 2, 3, 4, 5, 6]
    with pytest.raises(Busy, match=r"number 7 in line, about 2 seconds away"):
        queue.submit(1, 99, jobs.job("refused"))
    assert queue.waiting == 6 and "refused" not in jobs.started
    # another server's first question still fits: its fair place is 2 (after server 1's next turn)
    assert queue.submit(2, 50, jobs.job("fair")).place == 2
    await jobs.release_all(queue)


async def test_the_bound_follows_the_measured_answer_time():
    clock = [0.0]
    queue = AnswerQueue(workers=1, max_wait=10.0, clock=lambda: clock[0])

    async def slow():
        clock[0] += 5.0  # each answer takes five (fake) seconds
        return None

    async def first():
        clock[0] += 60.0  # the first answer of a run loads the models
        return None

    await queue.submit(1, 0, first)
    for member in range(4):
        await queue.submit(1, member, slow)
    assert queue.typical_seconds() == 5.0
    accepted = [
        queue.submit(1, 1, slow),  # starts at once: the worker is free
        queue.submit(1, 2, slow),  # place 1: about 5 s
        queue.submit(1, 3, slow),  # place 2: about 10 s, still within the bound
    ]
    with pytest.raises(Busy, match="number 3 in line"):
        queue.submit(1, 4, slow)
    await asyncio.gather(*accepted)
    alone = queue.submit(1, 4, slow)
    assert alone.expected_wait == 0  # a free worker starts it at once, whatever the mean
    await alone


async def test_a_failing_answer_reaches_its_asker_and_the_queue_goes_on():
    queue, jobs = make_queue(), Jobs()
    bad = queue.submit(1, 1, jobs.job("bad", fail=True))
    good = queue.submit(1, 2, jobs.job("good"))
    await jobs.release_all(queue)
    with pytest.raises(ValueError, match="bad failed"):
        await bad
    assert await good == "good"


async def test_a_question_given_up_leaves_the_queue_and_no_member_state_behind():
    queue, jobs = make_queue(), Jobs()
    queue.submit(1, 1, jobs.job("running"))
    gone = [queue.submit(guild, member, jobs.job(f"gone{member}")) for guild, member in [(1, 2), (2, 3), (2, 3)]]
    kept = queue.submit(3, 4, jobs.job("kept"))
    for ticket in gone:
        ticket.cancel()  # e.g. the interaction could not be deferred
    await asyncio.sleep(0)
    assert (queue.waiting, queue.members_waiting) == (1, 1)
    assert kept.place == 3 and queue.place_for(3, 5) == 2
    await jobs.release_all(queue)
    assert jobs.started == ["running", "kept"]
    assert (queue.waiting, queue.members_waiting, queue.running) == (0, 0, 0)


async def test_an_asker_cancelled_while_waiting_frees_its_place():
    queue, jobs = make_queue(), Jobs()
    queue.submit(1, 1, jobs.job("running"))
    ticket = queue.submit(1, 2, jobs.job("waiting"))

    async def asker():
        return await ticket

    task = asyncio.create_task(asker())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (queue.waiting, queue.members_waiting) == (0, 0)
    await jobs.release_all(queue)
    assert jobs.started == ["running"]


async def test_a_thousand_members_leave_no_state_once_answered():
    queue = make_queue(workers=4)

    async def quick():
        await asyncio.sleep(0)
        return 1

    tickets = [queue.submit(member % 7, member, quick) for member in range(1000)]
    assert sum(await asyncio.gather(*tickets)) == 1000
    assert (queue.waiting, queue.members_waiting, queue.running) == (0, 0, 0)


async def test_closing_cancels_waiting_questions():
    queue, jobs = make_queue(), Jobs()
    running = queue.submit(1, 1, jobs.job("running"))
    waiting = queue.submit(1, 2, jobs.job("waiting"))
    queue.close()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    with pytest.raises(asyncio.CancelledError):
        await running
    assert (queue.waiting, queue.members_waiting) == (0, 0)


async def test_no_answer_starts_while_a_question_is_being_deferred_and_the_crowd_is_served_after():
    queue, jobs = make_queue(workers=2), Jobs()
    deferring = asyncio.Event()

    async def arrive(name: str, member: int):
        with queue.acknowledging():
            ticket = queue.submit(1, member, jobs.job(name))
            await deferring.wait()  # the deferral's round trip to Discord
        return ticket

    arrivals = [asyncio.create_task(arrive(f"q{n}", n)) for n in range(5)]
    await asyncio.sleep(0.05)
    assert jobs.started == [] and queue.waiting == 5  # every question queued, none started before its deferral
    deferring.set()
    tickets = [await a for a in arrivals]
    await asyncio.sleep(0)
    assert jobs.started == ["q0", "q1"]  # the two workers start as soon as the deferrals are done
    await jobs.release_all(queue)
    assert [await t for t in tickets] == [f"q{n}" for n in range(5)]


async def test_a_deferral_that_hangs_holds_answers_back_for_at_most_a_second():
    queue, jobs = make_queue(), Jobs()
    hung = asyncio.Event()

    async def stuck():
        with queue.acknowledging():
            await hung.wait()

    blocker = asyncio.create_task(stuck())
    await asyncio.sleep(0)
    ticket = queue.submit(1, 1, jobs.job("waiting"))
    await asyncio.sleep(0.5)
    assert jobs.started == []
    await asyncio.sleep(0.8)
    assert jobs.started == ["waiting"]  # started once the hung deferral had held it back for ACK_FIRST_SECONDS
    hung.set()
    await blocker
    await jobs.release_all(queue)
    assert await ticket == "waiting"
