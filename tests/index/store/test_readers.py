"""What the archive keeps about its readers: answers, threads, votes, the question log, and its retention."""

import sqlite3
import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from index.engine import Engine
from index.errors import InvalidInput
from index.filters import MAX_QUESTION_CHARS
from index.models import Answer, Filters, Quote
from index.settings import Settings
from index.sources.live.registry import Registry
from index.store import database
from index.store.database import MIGRATIONS, Store
from index.store.postgres import translate
from index.store.readers import MAX_TURNS, ReaderLog
from tests.index.store.test_database import make_article, spans

MEMBER = 987654321098765432
OTHER = 123456789012345678


def quote(article_id="a1", text="One sentence.") -> Quote:
    return Quote(text, article_id, 0, len(text), "Title", None, "Monitor", None, None, None, 0.9)


def answer(question="What happened?", *, abstained=False, quotes=None, filters=None) -> Answer:
    quotes = () if abstained else tuple(quotes or (quote(),))
    return Answer(question=question, abstained=abstained, quotes=quotes, filters=filters, query=question + " (q)")


@pytest.fixture
def store(archive_at):
    store = Store(archive_at)
    yield store
    store.close()


def dump(store: Store) -> str:
    """Every row the archive holds, as text."""
    if store.url is None:
        return "\n".join(store.db.conn.iterdump())
    conn = store.db.conn
    tables = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return "\n".join(repr(row) for (table,) in tables for row in conn.execute(f'SELECT * FROM "{table}"'))


def age(store: Store, answer_id: int, days: float) -> None:
    """Make an answer (and its thread and votes) look ``days`` old."""
    then = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")
    with store.db.conn as conn:
        conn.execute("UPDATE answers SET asked_at = ? WHERE id = ?", (then, answer_id))
        conn.execute("UPDATE threads SET updated_at = ? WHERE answer_id = ?", (then, answer_id))
        conn.execute("UPDATE feedback SET voted_at = ? WHERE answer_id = ?", (then, answer_id))


def test_an_archive_at_the_previous_version_is_migrated_keeping_everything(tmp_path, monkeypatch):
    monkeypatch.setattr(database, "MIGRATIONS", MIGRATIONS[:3])
    old = Store(tmp_path / "archive.db")
    article = make_article()
    old.put_article(article, spans(article.body))
    old.set_meta("last_indexed_at", "2024-02-02T00:00:00+00:00")
    source = Registry(old).add("https://example.org/feed", "rss", "Example", "https://example.org/feed")
    assert old.schema_version() == 3
    old.close()
    monkeypatch.setattr(database, "MIGRATIONS", MIGRATIONS)

    store = Store(tmp_path / "archive.db")
    assert store.schema_version() == len(MIGRATIONS) == 8
    assert store.get("a1") == article and [c.text for c in store.chunks_of("a1")] == [article.body]
    assert store.meta("last_indexed_at") == "2024-02-02T00:00:00+00:00"
    assert [s.url for s in Registry(store).all()] == [source.url]
    readers = ReaderLog(store, question_log_days=90)
    answer_id = readers.record_answer(answer(), guild_id=7, asker_id=MEMBER)
    assert readers.answer(answer_id, member_id=MEMBER).answer.question == "What happened?"


def test_an_answer_comes_back_whole_and_knows_its_asker_without_storing_their_id(store):
    readers = ReaderLog(store, question_log_days=90)
    given = answer(filters=Filters(after="2023-01-01", source="Monitor"))
    answer_id = readers.record_answer(given, guild_id=7, asker_id=MEMBER, history=("first?", "second?"))
    record = readers.answer(answer_id, member_id=MEMBER)
    assert record.asked_by_member and record.guild_id == 7 and record.history == ("first?", "second?")
    assert record.answer.question == given.question and record.answer.quotes == given.quotes
    assert record.answer.filters == given.filters and record.answer.search_query == given.search_query
    assert not readers.answer(answer_id, member_id=OTHER).asked_by_member
    assert readers.answer(answer_id + 1, member_id=MEMBER) is None
    readers.record_vote(answer_id, MEMBER, -1)
    assert str(MEMBER) not in dump(store)
    assert store.path is None or str(MEMBER) not in store.path.read_bytes().decode("latin-1")


def test_the_member_hash_is_salted_per_archive(tmp_path):
    keys = []
    for name in ("one", "two"):
        store = Store(tmp_path / name / "archive.db")
        keys.append(ReaderLog(store, question_log_days=90).member_key(MEMBER))
        assert ReaderLog(store, question_log_days=90).member_key(MEMBER) == keys[-1]  # stable within an archive
        store.close()
    assert keys[0] != keys[1]


def test_a_member_votes_once_per_answer_and_a_down_vote_keeps_its_reason_question_and_quotes(store):
    readers = ReaderLog(store, question_log_days=90)
    answer_id = readers.record_answer(
        answer(quotes=[quote("a1"), quote("a2"), quote("a1", "Two.")]), guild_id=7, asker_id=OTHER
    )
    assert readers.record_vote(answer_id, MEMBER, -1)
    assert not readers.record_vote(answer_id, MEMBER, 1)  # already voted: nothing changes
    assert readers.record_vote(answer_id, OTHER, 1)
    readers.record_reason(answer_id, MEMBER, "Wrong quote")
    down, up = readers.votes()
    assert (down.vote, down.reason, down.question, down.article_ids) == (
        -1,
        "Wrong quote",
        "What happened?",
        ("a1", "a2"),
    )
    assert (up.vote, up.reason) == (1, None)
    quotes = store.db.conn.execute("SELECT quotes FROM feedback WHERE vote = -1").fetchone()[0]
    assert '"text": "Two."' in quotes
    assert not readers.record_vote(answer_id + 5, MEMBER, -1)  # no such answer
    with pytest.raises(InvalidInput):
        readers.record_vote(answer_id, MEMBER, 5)


def test_unanswered_lists_abstentions_and_down_voted_answers_only(store):
    readers = ReaderLog(store, question_log_days=90)
    abstained = readers.record_answer(answer("Who won in 1998?", abstained=True), guild_id=1, asker_id=MEMBER)
    good = readers.record_answer(answer("What happened?"), guild_id=1, asker_id=MEMBER)
    disliked = readers.record_answer(answer("Why did it happen?"), guild_id=2, asker_id=MEMBER)
    readers.record_vote(good, OTHER, 1)
    readers.record_vote(disliked, OTHER, -1)
    listed = readers.unanswered()
    assert [(q.answer_id, q.abstained, q.down_votes) for q in listed] == [(abstained, True, 0), (disliked, False, 1)]
    assert readers.unanswered(since="2999-01-01") == []


def test_hostile_question_text_is_cut_to_the_question_limit_and_otherwise_kept_verbatim(store):
    readers = ReaderLog(store, question_log_days=90)
    huge = readers.record_answer(answer("why " * 100_000), guild_id=None, asker_id=MEMBER)
    assert len(readers.answer(huge, member_id=MEMBER).answer.question) == MAX_QUESTION_CHARS
    nasty = "\x1b[31mred\x1b]8;;http://evil\x07 \u009b2J zero\x00width \ud800 end"
    nasty_id = readers.record_answer(answer(nasty, abstained=True), guild_id=None, asker_id=MEMBER)
    stored = readers.answer(nasty_id, member_id=MEMBER).answer.question
    assert stored.startswith("\x1b[31mred\x1b]8;;http://evil\x07 \u009b2J zero") and stored.endswith(" end")
    assert "\x00" not in stored and "\ud800" not in stored
    assert [q.question for q in readers.unanswered()] == [stored]


def test_two_threads_writing_at_once_lose_nothing_and_readers_never_wait(store, tmp_path):
    readers = ReaderLog(store, question_log_days=90)
    first = readers.record_answer(answer(), guild_id=1, asker_id=MEMBER)
    ids: list[int] = []
    errors: list[BaseException] = []

    def write(offset: int) -> None:
        try:
            for n in range(150):
                answer_id = readers.record_answer(answer(f"q{offset}-{n}"), guild_id=offset, asker_id=offset + n)
                ids.append(answer_id)
                readers.record_vote(first, offset * 1000 + n, -1)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(k,)) for k in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(ids)) == 300
    assert len(readers.votes()) == 300

    # a writer holding its transaction open does not stop a reader (WAL; PostgreSQL's snapshots)
    if store.url is None:
        holder = sqlite3.connect(store.path, timeout=1)
        holder.execute("BEGIN IMMEDIATE")
    else:
        holder = psycopg.connect(store.url)
        holder.execute(translate("BEGIN IMMEDIATE"))
    holder.execute("UPDATE answers SET guild_id = 99")
    reader = Store(store.url or store.path, read_only=True)
    started = datetime.now(UTC)
    assert len(ReaderLog(reader, question_log_days=90).unanswered()) == 1
    assert datetime.now(UTC) - started < timedelta(seconds=1)
    holder.rollback()
    holder.close()
    reader.close()


def test_a_thread_keeps_its_conversation_its_filters_and_only_one_per_answer(store):
    readers = ReaderLog(store, question_log_days=90)
    answer_id = readers.record_answer(answer(filters=Filters(category="world")), guild_id=1, asker_id=MEMBER)
    assert readers.open_thread(555, answer_id, guild_id=1, turns=["What happened?"])
    assert not readers.open_thread(556, answer_id, guild_id=1, turns=["What happened?"])
    assert readers.thread_of_answer(answer_id) == 555
    for n in range(MAX_TURNS + 3):
        readers.add_turn(555, f"and then {n}?")
    conversation = readers.conversation(555)
    assert conversation.filters == Filters(category="world") and conversation.answer_id == answer_id
    assert len(conversation.history()) == MAX_TURNS and conversation.history()[-1] == f"and then {MAX_TURNS + 2}?"
    assert readers.conversation(556) is None


def test_retention_erases_question_text_older_than_the_setting_and_keeps_the_counts(store):
    readers = ReaderLog(store, question_log_days=30)
    old = readers.record_answer(answer("Old question?", abstained=True), guild_id=1, asker_id=MEMBER)
    readers.open_thread(1, old, guild_id=1, turns=["Old question?"])
    readers.record_vote(old, OTHER, -1)
    recent = readers.record_answer(answer("Recent question?", abstained=True), guild_id=1, asker_id=MEMBER)
    age(store, old, 31)
    age(store, recent, 29)
    assert readers.prune() == 4  # the old answer's log text and context, its vote's question, its thread
    assert [q.question for q in readers.unanswered()] == ["Recent question?"]
    expired = readers.answer(old, member_id=MEMBER)
    assert expired is not None and expired.answer is None
    assert readers.conversation(1) is None
    assert [v.question for v in readers.votes()] == [None]
    assert "Old question?" not in dump(store)
    assert store.count("answers") == 2 and readers.prune() == 0


def test_with_zero_days_no_question_text_is_logged_and_buttons_keep_theirs_for_a_day(store):
    readers = ReaderLog(store, question_log_days=0)
    answer_id = readers.record_answer(answer("Private question?", abstained=True), guild_id=1, asker_id=MEMBER)
    readers.record_vote(answer_id, OTHER, -1)
    assert readers.unanswered() == [] and [v.question for v in readers.votes()] == [None]
    assert readers.answer(answer_id, member_id=MEMBER).answer.question == "Private question?"
    age(store, answer_id, 1.01)
    readers.prune()
    assert readers.answer(answer_id, member_id=MEMBER).answer is None
    assert "Private question?" not in dump(store)


def test_a_writing_engine_prunes_at_start_up_and_recording_answers_runs_no_erasing_scans(tmp_path):
    settings = Settings(home=tmp_path / "home", model_cache=tmp_path / "cache", question_log_days=10)
    engine = Engine(settings)
    old = engine.record_answer(answer("Old?", abstained=True), guild_id=1, asker_id=MEMBER)
    age(engine.store, old, 11)
    statements = []
    engine.store.db.conn.set_trace_callback(statements.append)
    for n in range(20):
        engine.record_answer(answer(f"New {n}?", abstained=True), guild_id=1, asker_id=MEMBER)
    assert not [s for s in statements if s.lstrip().upper().startswith("UPDATE")]  # pruned at start-up: not due
    assert "Old?" in [q.question for q in engine.unanswered()]  # until the next prune, at most an hour away
    engine.close()
    engine = Engine(settings)  # a restart prunes
    assert "Old?" not in [q.question for q in engine.unanswered()] and len(engine.unanswered()) == 20
    engine.close()
    reading = Engine(settings, read_only=True)
    assert len(reading.unanswered()) == 20
    reading.close()


def test_pruning_while_recording_runs_at_most_once_an_hour(store):
    readers = ReaderLog(store, question_log_days=10)
    start = datetime.now(UTC)
    assert readers.prune_if_due(start) == 0  # the first one runs (nothing to erase yet)
    old = readers.record_answer(answer("Old?", abstained=True), guild_id=1, asker_id=MEMBER)
    age(store, old, 11)
    assert readers.prune_if_due(start + timedelta(minutes=59)) == 0
    assert [q.question for q in readers.unanswered()] == ["Old?"]
    assert readers.prune_if_due(start + timedelta(minutes=61)) == 2  # its log text and its context
    assert readers.unanswered() == []
    assert readers.prune_if_due(start + timedelta(minutes=62)) == 0


def test_a_digest_is_due_once_per_interval_and_the_first_call_only_starts_the_clock(store):
    readers = ReaderLog(store, question_log_days=90)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert readers.digest_due(7, now=start) is None
    assert readers.digest_due(7, now=start + timedelta(days=6)) is None
    assert readers.digest_due(7, now=start + timedelta(days=7)) == start.isoformat(timespec="seconds")
    assert readers.digest_due(7, now=start + timedelta(days=8)) is None
