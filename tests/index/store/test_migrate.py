"""`archivist migrate`: a home's SQLite archive copied into PostgreSQL whole, verified, and answering at once."""

import pytest
from click.testing import CliRunner

from bot.cli import cli
from index.engine import Engine
from index.settings import Settings
from index.store import migrate as migration
from index.store.database import DB_FILENAME, Store
from index.store.migrate import TABLES, MigrationFailed, migrate
from index.store.pending import PendingQuestions
from index.store.readers import ReaderLog
from tests.index.store.test_pending import waiting
from tests.index.store.test_readers import answer


def quoted(answer):
    return answer.abstained, [(q.article_id, q.start, q.end, q.text, round(q.score, 5)) for q in answer.quotes]


def test_a_migrated_archive_matches_row_for_row_and_answers_from_the_homes_search_files_without_embedding(
    engine, postgres_server, monkeypatch
):
    readers = ReaderLog(engine.store, question_log_days=90)
    first = readers.record_answer(answer("What happened?"), guild_id=7, asker_id=11)
    readers.record_vote(first, 12, -1)
    readers.open_thread(555, first, guild_id=7, turns=["What happened?"])
    PendingQuestions(engine.store).keep(waiting())
    question = "What does NATO's article 5 say?"
    before = quoted(engine.ask(question))
    url = postgres_server.new_database()

    report = migrate(Store(engine.home / DB_FILENAME, read_only=True), Store(url))

    copied = {t.table: t.rows for t in report.tables}
    assert copied == {table: engine.store.count(table) for table, _ in TABLES}
    assert copied["vectors"] > 0 and copied["sentence_vectors"] > 0 and copied["feedback"] == 1
    settings = Settings(home=engine.home, model_cache=engine.settings.model_cache, database_url=url)
    on_postgres = Engine(settings, embedder=engine.embedder)
    monkeypatch.setattr(
        type(engine.embedder), "encode_passages", lambda *a, **k: pytest.fail("migrate must not need embedding")
    )
    assert quoted(on_postgres.ask(question)) == before
    generation = engine.indexer.newest_generation()
    moved = on_postgres.reindex()  # vector search moves into the database: a generation, and nothing embedded
    assert (moved.generation, moved.embedded, moved.sentences_embedded) == (generation + 1, 0, 0)
    assert on_postgres.indexer.open_latest(engine.embedder)[0].kind == "pgvector"
    assert quoted(on_postgres.ask(question)) == before
    again = on_postgres.reindex()
    assert (again.generation, again.embedded, again.sentences_embedded) == (generation + 1, 0, 0), "nothing to redo"
    later = ReaderLog(on_postgres.store, question_log_days=90).record_answer(answer(), guild_id=7, asker_id=11)
    assert later > first, "new rows are numbered after the copied ones"
    on_postgres.close()


def test_a_database_that_already_holds_an_archive_is_refused_and_left_as_it_was(built_home, postgres_server):
    url = postgres_server.new_database()
    target = Store(url)
    target.set_meta("mine", "keep me")
    with pytest.raises(MigrationFailed, match="already holds an archive.*overwrites nothing"):
        migrate(Store(built_home / DB_FILENAME, read_only=True), target)
    assert target.meta("mine") == "keep me" and target.count("articles") == 0


def test_a_copy_that_does_not_match_is_rolled_back_whole(built_home, postgres_server, monkeypatch):
    url = postgres_server.new_database()
    digest = migration.table_digest

    def damaged(store, table, columns):
        count, value = digest(store, table, columns)
        return (count - 1, value) if store.url and table == "sentence_vectors" else (count, value)

    monkeypatch.setattr(migration, "table_digest", damaged)
    with pytest.raises(MigrationFailed, match="copy of sentence_vectors does not match"):
        migrate(Store(built_home / DB_FILENAME, read_only=True), Store(url))
    target = Store(url)
    assert [target.count(table) for table, _ in TABLES] == [0] * len(TABLES), "nothing was kept"
    assert target.chunk_changes() == 0


def test_the_migrate_command_says_what_it_copied_and_refuses_a_target_that_is_not_postgresql(
    built_home, postgres_server
):
    runner = CliRunner()
    url = postgres_server.new_database()
    done = runner.invoke(cli, ["--home", str(built_home), "migrate", "--to", url])
    assert done.exit_code == 0, done.output
    assert "articles" in done.output and "verified" in done.output and "counts and contents match" in done.output
    again = runner.invoke(cli, ["--home", str(built_home), "migrate", "--to", url])
    assert again.exit_code == 1 and "already holds an archive" in again.output and "Traceback" not in again.output
    wrong = runner.invoke(cli, ["--home", str(built_home), "migrate", "--to", "sqlite:///elsewhere.db"])
    assert wrong.exit_code != 0 and "must be a URL starting with postgresql://" in wrong.output
