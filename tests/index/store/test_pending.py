"""Deferred questions outlive a crash: kept until answered, resumed oldest first while their token lives."""

from datetime import UTC, datetime, timedelta

import pytest

from index.models import Filters
from index.store.database import Store
from index.store.pending import PendingQuestions, WaitingQuestion

LIFE = timedelta(minutes=14)


def waiting(question="What happened?", *, token="tok-1", minutes_ago=1.0, **changes) -> WaitingQuestion:
    fields = {
        "kind": "ask",
        "question": question,
        "filters": Filters(after="2023-01-01", source="Monitor"),
        "only_me": True,
        "allow_thread": False,
        "guild_id": 42,
        "channel_id": 7,
        "member_id": 987654321098765432,
        "application_id": 555,
        "token": token,
        "deferred_at": (datetime.now(UTC) - timedelta(minutes=minutes_ago)).replace(microsecond=0),
    }
    return WaitingQuestion(**{**fields, **changes})


@pytest.fixture
def pending(archive_at):
    store = Store(archive_at)
    yield PendingQuestions(store)
    store.close()


def test_a_kept_question_comes_back_whole_until_released(pending):
    kept = waiting(guild_id=None, filters=None, only_me=False, allow_thread=True)
    first = pending.keep(kept)
    second = pending.keep(waiting("And then?", token="tok-2", minutes_ago=0.5))
    found = pending.resumable(LIFE)
    assert [q.id for q in found.questions] == [first, second] and (found.expired, found.unreadable) == (0, 0)
    assert found.questions[0] == WaitingQuestion(**{**kept.__dict__, "id": first})
    assert found.questions[1].filters == Filters(after="2023-01-01", source="Monitor")
    pending.release(first)
    assert [q.id for q in pending.resumable(LIFE).questions] == [second]


def test_questions_come_back_in_the_order_they_were_deferred(pending):
    ids = {pending.keep(waiting(f"q{n}", token=f"t{n}", minutes_ago=minutes)): n for n, minutes in enumerate((2, 5, 1))}
    assert [ids[q.id] for q in pending.resumable(LIFE).questions] == [1, 0, 2]


def test_questions_past_the_token_life_are_deleted_not_resumed(pending):
    pending.keep(waiting(token="old", minutes_ago=14.5))
    fresh = pending.keep(waiting(token="fresh", minutes_ago=13))
    found = pending.resumable(LIFE)
    assert [q.token for q in found.questions] == ["fresh"] and found.expired == 1
    assert pending.store.count("pending_questions") == 1
    assert pending.resumable(LIFE).expired == 0 and pending.resumable(LIFE).questions[0].id == fresh


@pytest.mark.parametrize(
    "column, value",
    [
        ("options", "{not json"),
        ("options", '{"filters": {"after": "2023", "colour": "red"}, "only_me": 0, "allow_thread": 0}'),
        ("options", "[1, 2]"),
        ("kind", "drop table"),
        ("deferred_at", "yesterday"),
        ("deferred_at", "2026-01-01T00:00:00"),
        ("member_id", "'abc'"),
        ("question", "''"),
        ("token", "''"),
    ],
)
def test_a_garbled_row_is_deleted_and_the_others_still_come_back(pending, column, value):
    if pending.store.url and column == "member_id":
        pytest.skip("PostgreSQL's typed column cannot hold a garbled id")
    bad = pending.keep(waiting(token="bad"))
    good = pending.keep(waiting(token="good"))
    with pending.store.db.conn as conn:
        if value.startswith("'"):
            conn.execute(f"UPDATE pending_questions SET {column} = {value} WHERE id = ?", (bad,))
        else:
            conn.execute(f"UPDATE pending_questions SET {column} = ? WHERE id = ?", (value, bad))
    found = pending.resumable(LIFE)
    assert [q.id for q in found.questions] == [good] and (found.expired, found.unreadable) == (0, 1)
    assert pending.store.count("pending_questions") == 1


def test_hostile_question_text_is_kept_storable(pending):
    pending.keep(waiting("\ud800 lone surrogate\x00 and a NUL " + "x" * 5000))
    (found,) = pending.resumable(LIFE).questions
    assert "lone surrogate" in found.question and "\x00" not in found.question and len(found.question) <= 1000
    found.question.encode("utf-8")  # no lone surrogate left
