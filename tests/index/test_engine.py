"""The engine over a small real archive: search, ask, re-index and crash safety of the vector index."""

import gc
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import weakref

import numpy as np
import pytest

import index.retrieval.lexical
from index.engine import Engine
from index.errors import IndexBusy, IndexUnavailable
from index.indexing.indexer import text_hash
from index.models import Filters
from index.retrieval.chunk_table import ChunkTable
from index.retrieval.lexical import LexicalIndex
from index.settings import Settings
from index.store import compact
from index.text.chunking import split_sentences
from tests.conftest import small_corpus


def test_search_finds_the_article_and_offsets_point_into_its_body(engine):
    hits = engine.search("Sam Bankman-Fried FTX trial")
    assert hits and "FTX" in hits[0].title or "Bankman" in hits[0].title
    for hit in hits:
        body = engine.article(hit.article_id).body
        assert body[hit.start : hit.end] == hit.text


def test_filters_restrict_results(engine):
    hits = engine.search("Taylor Swift Travis Kelce", filters=Filters(source="The Age"))
    assert hits and all(h.source == "The Age" for h in hits)
    hits = engine.search("Taylor Swift", filters=Filters(after="2023-11-01"))
    assert all(h.published_at >= "2023-11-01" for h in hits)


def test_ask_quotes_verbatim_with_citations(engine):
    answer = engine.ask("What does NATO's article 5 say?")
    assert not answer.abstained and answer.quotes
    for quote in answer.quotes:
        assert engine.article(quote.article_id).body[quote.start : quote.end] == quote.text
    assert any("article 5" in q.text for q in answer.quotes)
    cached = len(engine.sentence_encoder)
    assert cached > 0
    assert engine.ask("What does NATO's article 5 say?") == answer  # the same answer, its sentences not embedded again
    assert len(engine.sentence_encoder) == cached


def test_ask_embeds_only_the_question_because_the_reindex_embedded_every_sentence(engine, monkeypatch):
    embedded = []
    embedder = engine.embedder
    encode = embedder.encode_passages
    monkeypatch.setattr(embedder, "encode_passages", lambda texts, **kw: embedded.extend(texts) or encode(texts, **kw))
    answer = engine.ask("Why was Sam Bankman-Fried convicted?")
    assert answer.quotes
    bodies = [engine.article(h.article_id).body for h in engine.search("Why was Sam Bankman-Fried convicted?")]
    assert not any(text in body for text in embedded for body in bodies)  # at most the question's clauses
    engine.sentence_encoder.encode_passages(["A sentence no article holds."])
    assert embedded[-1:] == ["A sentence no article holds."]  # what the archive does not have is embedded


def test_recent_and_lookup(engine):
    newest = engine.recent(3)
    assert [a.published_at for a in newest] == sorted((a.published_at for a in newest), reverse=True)
    article = newest[0]
    assert engine.find_article(article.url) == article
    assert engine.find_article(article.id) == article
    assert engine.find_article(article.title) == article  # words of its headline
    assert engine.find_article("zyxwv quorble flimflam") is None  # nonsense finds nothing, not the closest article
    assert "Sports" in engine.categories() or "sports" in engine.categories()


ASKED = (
    "What does NATO's article 5 say?",
    "Why was Sam Bankman-Fried convicted?",
    "When was SMU's football program suspended by the Death Penalty?",
    "Who is Travis Kelce dating?",
    "What is the name of the enzyme that splits water during photosynthesis in chloroplasts?",
)


def test_compact_sentence_vectors_give_the_answers_float32_ones_do(engine, monkeypatch):
    (size,) = engine.store.db.conn.execute("SELECT DISTINCT length(vector) FROM sentence_vectors").fetchone()
    assert size == engine.embedder.dim + 4, "int8 components and a scale: a quarter of float32"

    def decided(e: Engine) -> list:
        return [(a.abstained, [(q.article_id, q.start, q.end) for q in a.quotes]) for a in map(e.ask, ASKED)]

    compact_answers = decided(engine)
    with engine.store.db.conn as conn:  # the same sentence pass again, storing float32
        conn.execute("DELETE FROM sentence_vectors")
        conn.execute("DELETE FROM meta WHERE key LIKE 'sentences_embedded_at:%'")
    monkeypatch.setattr(compact, "encode", lambda v: np.asarray(v, dtype=np.float32).tobytes())
    assert engine.reindex().sentences_embedded == engine.store.count("sentence_vectors")
    (size,) = engine.store.db.conn.execute("SELECT DISTINCT length(vector) FROM sentence_vectors").fetchone()
    assert size == engine.embedder.dim * 4
    plain = Engine(engine.settings, embedder=engine.embedder)
    assert decided(plain) == compact_answers
    plain.close()


def archive_sentences(engine) -> set[str]:
    return {body[s.start : s.end] for body in engine.store.iter_bodies() for s in split_sentences(body)}


def test_reindexing_an_unchanged_archive_embeds_nothing(engine):
    before = engine.stats()
    report = engine.reindex()
    assert (report.embedded, report.sentences_embedded) == (0, 0) and report.generation == before.index_generation
    assert engine.store.count("sentence_vectors") == len(archive_sentences(engine))


def test_changed_article_reembeds_only_its_chunks_and_sentences(engine, tmp_path):
    page = tmp_path / "in" / "new.txt"
    page.parent.mkdir()
    page.write_text("Fresh headline\n\nA brand new paragraph about lunar farming cooperatives.", encoding="utf-8")
    engine.ingest([page])
    report = engine.reindex()
    assert (report.embedded, report.sentences_embedded) == (1, 1)  # the body is one sentence
    assert engine.search("lunar farming cooperatives")[0].title == "Fresh headline"
    page.unlink()
    engine.ingest([page.parent], prune=True)
    engine.reindex()
    assert engine.store.count("sentence_vectors") == len(archive_sentences(engine))  # its sentences are dropped


def test_a_reindex_updates_the_previous_generation_and_answers_as_a_rebuilt_one(engine, tmp_path, monkeypatch):
    def current(of: Engine):
        return of.indexer.open_latest(of.embedder)[1]

    before = current(engine)
    folder = tmp_path / "in"
    folder.mkdir()
    page = folder / "new.txt"
    page.write_text("Fresh headline\n\nA brand new paragraph about lunar farming cooperatives.", encoding="utf-8")
    engine.ingest([page])
    engine.reindex()
    assert (current(engine).rows, current(engine).count) == (before.rows + 1, before.count + 1)  # added, not rebuilt
    page.write_text("Fresh headline\n\nA rewritten paragraph about orbital greenhouse farming.", encoding="utf-8")
    engine.ingest([page])
    twin = Engine(
        Settings(home=shutil.copytree(engine.settings.home, tmp_path / "twin"), model_cache=engine.settings.model_cache)
    )
    engine.reindex()
    assert (current(engine).rows, current(engine).count) == (before.rows + 2, before.count + 1)  # the old row is dead

    monkeypatch.setattr("index.indexing.indexer.DEAD_SHARE_REBUILD", -1.0)  # the twin builds its generation afresh
    twin.reindex()

    assert current(twin).rows == current(twin).count == before.count + 1
    for query in ("lunar farming cooperatives", "orbital greenhouse farming", "Sam Bankman-Fried FTX trial", "NATO"):
        hits = engine.search(query)
        assert hits == twin.search(query)
        assert all("lunar" not in hit.text for hit in hits)
    twin.close()


def test_a_reindex_that_would_leave_many_dead_rows_rebuilds_the_generation(engine):
    before = engine.indexer.open_latest(engine.embedder)[1]
    articles = sorted({hit.article_id for hit in engine.search("news", k=50)})
    engine.store.delete_articles(articles[: len(articles) // 2])
    engine.reindex()
    after = engine.indexer.open_latest(engine.embedder)[1]
    assert after.rows == after.count < 0.8 * before.count
    assert after.count == engine.store.count("chunks")


def test_after_new_articles_the_sentence_pass_reads_only_them_and_after_an_edit_everything(
    engine, tmp_path, monkeypatch
):
    read = []
    iter_bodies = engine.store.iter_bodies
    monkeypatch.setattr(engine.store, "iter_bodies", lambda **kw: (read.append(b) or b for b in iter_bodies(**kw)))
    folder = tmp_path / "in"
    folder.mkdir()
    page = folder / "new.txt"
    page.write_text("Fresh headline\n\nA brand new paragraph about lunar farming cooperatives.", encoding="utf-8")
    engine.ingest([page])
    assert engine.reindex().sentences_embedded == 1
    assert read == ["A brand new paragraph about lunar farming cooperatives."]
    assert engine.store.count("sentence_vectors") == len(archive_sentences(engine))

    page.write_text("Fresh headline\n\nA rewritten paragraph about orbital greenhouse farming.", encoding="utf-8")
    engine.ingest([page])  # the newest article edited: its row number may be re-used, its content hash is not
    read.clear()
    assert engine.reindex().sentences_embedded == 1
    assert len(read) == engine.store.count("articles")
    assert engine.store.count("sentence_vectors") == len(archive_sentences(engine))  # the old sentence is dropped


def test_a_sentence_two_articles_share_is_embedded_once_and_kept_while_either_holds_it(engine, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shared = "The harbour authority confirmed the closure of the northern pier until spring."
    (folder / "one.txt").write_text(f"Pier closed\n\n{shared} Fishing boats moved south.", encoding="utf-8")
    (folder / "two.txt").write_text(f"Harbour works\n\nDredging began on Monday. {shared}", encoding="utf-8")
    engine.ingest([folder])
    assert engine.reindex().sentences_embedded == 3  # the shared sentence once
    (folder / "one.txt").unlink()
    engine.ingest([folder], prune=True)
    engine.reindex()
    assert engine.store.count("sentence_vectors") == len(archive_sentences(engine))
    assert shared in archive_sentences(engine)


def test_an_interrupted_sentence_pass_is_finished_by_the_next_reindex(engine):
    before = engine.stats()
    sentences = engine.store.count("sentence_vectors")
    with engine.store.db.conn as conn:  # as a kill during the sentence pass leaves it: generation written, 10 missing
        conn.execute("DELETE FROM sentence_vectors WHERE rowid IN (SELECT rowid FROM sentence_vectors LIMIT 10)")
        conn.execute("DELETE FROM meta WHERE key LIKE 'sentences_embedded_at:%'")
    report = engine.reindex()
    assert (report.embedded, report.sentences_embedded, report.generation) == (0, 10, before.index_generation)
    assert engine.store.count("sentence_vectors") == sentences


def test_a_chunk_rewritten_after_the_scan_stops_the_reindex_in_one_sentence_and_the_next_run_indexes_it(
    engine, tmp_path, monkeypatch
):
    page = tmp_path / "in" / "moon.txt"
    page.parent.mkdir()
    page.write_text("Moon base\n\nThe first lunar greenhouse harvested lettuce.", encoding="utf-8")
    engine.ingest([page])
    store, read = engine.store, engine.store.chunk_records
    (old,) = [text_hash(r.text) for r in store.chunk_records() if "lunar greenhouse" in r.text]

    def rewritten_before_read(ids=None):  # an ingest beside the re-index rewrites the chunk it is about to embed
        if ids is not None:
            with store.db.conn as conn:
                conn.execute("UPDATE chunks SET text = 'Rewritten.' WHERE text LIKE '%lunar greenhouse%'")
        return read(ids)

    with monkeypatch.context() as patch:
        patch.setattr(store, "chunk_records", rewritten_before_read)
        with pytest.raises(IndexUnavailable, match="changed while it was being indexed"):
            engine.reindex()
    assert old not in store.known_vector_hashes(engine.embedder.name), "no vector of the new text under the old hash"
    report = engine.reindex()  # the next run indexes what is there now
    assert report.embedded == 1 and engine.stats().vectors == engine.stats().chunks


def test_a_second_reindex_at_the_same_time_is_refused(engine):
    with engine.indexer._exclusive(), pytest.raises(IndexBusy):
        engine.reindex()


def test_a_corrupted_index_file_is_detected_searched_by_words_and_rebuilt_by_the_next_index(engine):
    index_dir = engine.home / "index"
    (current,) = [p for p in index_dir.glob("vectors-*.faiss")]
    data = bytearray(current.read_bytes())
    data[len(data) // 2] ^= 0xFF
    current.write_bytes(bytes(data))
    before = engine.stats().index_generation
    reader = Engine(engine.settings, embedder=engine.embedder, read_only=True)
    assert reader.search("Sam Bankman-Fried FTX trial"), "searched by words while the vectors are unusable"
    assert reader.stats().index_generation == before, "reading wrote nothing"
    reader.close()
    fresh = Engine(engine.settings, embedder=engine.embedder)
    report = fresh.reindex()
    stats = fresh.stats()
    assert report.embedded == 0, "rebuilt from the stored vectors"
    assert stats.index_generation == before + 1 and stats.vectors == stats.chunks
    assert fresh.search("Sam Bankman-Fried FTX trial") and fresh.pending_articles() == 0
    fresh.close()


def test_a_truncated_index_file_is_detected_and_rebuilt_by_the_next_index(engine):
    (current,) = list((engine.home / "index").glob("vectors-*.faiss"))
    current.write_bytes(current.read_bytes()[:1000])
    fresh = Engine(engine.settings, embedder=engine.embedder)
    assert fresh.search("Taylor Swift")
    fresh.reindex()
    assert fresh.stats().vectors == fresh.stats().chunks
    fresh.close()


QUESTIONS = ("Sam Bankman-Fried FTX trial", "Taylor Swift Travis Kelce", "What does NATO's article 5 say?")


def hits_of(engine) -> list[list[tuple[int, float]]]:
    """Each question's hits with their scores to 5 places (pgvector's cosines and FAISS's differ in the 7th)."""
    return [[(h.chunk_id, round(h.score, 5)) for h in engine.search(q)] for q in QUESTIONS]


def test_a_new_process_opens_the_saved_bm25_index_and_a_no_op_index_restores_a_lost_one(engine, monkeypatch):
    generation = engine.stats().index_generation
    saved = engine.indexer.lexical_file(generation)
    assert saved.exists(), "the re-index saved its BM25 index beside its vectors"
    saved.rename(saved.with_suffix(".away"))
    reader = Engine(engine.settings, embedder=engine.embedder, read_only=True)
    rebuilt_hits = hits_of(reader)
    reader.close()
    assert not saved.exists(), "reading never writes"
    saved.with_suffix(".away").rename(saved)

    def no_build(*args, **kwargs):
        raise AssertionError("BM25 rebuilt although its saved index matches")

    with monkeypatch.context() as patch:
        patch.setattr(LexicalIndex, "build", no_build)
        reader = Engine(engine.settings, embedder=engine.embedder, read_only=True)
        assert hits_of(reader) == rebuilt_hits
        reader.close()
    saved.unlink()
    report = engine.reindex()
    assert (report.embedded, report.generation) == (0, generation) and saved.exists()


def test_a_no_op_index_in_a_new_process_loads_no_chunks_and_searches_stay_the_same(engine, monkeypatch):
    import index.engine

    expected = hits_of(engine)
    generation = engine.stats().index_generation
    fresh = Engine(engine.settings, embedder=engine.embedder)  # as `archivist index` starts

    def no_load(*args, **kwargs):
        raise AssertionError("a re-index that changed nothing loaded every chunk for a new retriever")

    with monkeypatch.context() as patch:
        patch.setattr(index.engine.HybridRetriever, "open", no_load)
        report = fresh.reindex()
    assert (report.embedded, report.generation) == (0, generation)
    assert hits_of(fresh) == expected
    fresh.close()


def counted_scans(monkeypatch) -> list[int]:
    """Count the re-index's scans of every chunk (one entry each, the chunks it read)."""
    import index.indexing.indexer

    scans, scan = [], index.indexing.indexer.scan_chunks

    def counted(store):
        ids, hashes, stamp = scan(store)
        scans.append(len(ids))
        return ids, hashes, stamp

    monkeypatch.setattr(index.indexing.indexer, "scan_chunks", counted)
    return scans


def test_a_no_op_index_reads_no_chunk_until_one_changes(engine, tmp_path, monkeypatch):
    scans = counted_scans(monkeypatch)
    generation = engine.stats().index_generation
    assert (engine.reindex().generation, scans) == (generation, []), "nothing changed: no chunk is read"
    story = tmp_path / "quay.txt"
    story.write_text("Quay reopens\n\nThe harbour quay reopened with twelve new cranes.", encoding="utf-8")
    engine.ingest([story])
    report = engine.reindex()
    assert len(scans) == 1 and (report.embedded, report.generation) == (1, generation + 1)
    assert engine.search("quay twelve new cranes")[0].title == "Quay reopens"
    engine.store.delete_articles([engine.search("quay twelve new cranes")[0].article_id])
    assert engine.reindex().generation == generation + 2 and len(scans) == 2
    assert engine.reindex().generation == generation + 2 and len(scans) == 2


def test_a_chunk_changed_by_any_writer_is_seen_and_one_changed_back_is_scanned_once(engine, monkeypatch):
    scans = counted_scans(monkeypatch)
    generation = engine.stats().index_generation
    with engine.store.db.conn as conn:  # a write that goes around the store's methods, as a repair by hand would
        (chunk_id, text) = conn.execute("SELECT id, text FROM chunks ORDER BY id LIMIT 1").fetchone()
        conn.execute("UPDATE chunks SET text = ? WHERE id = ?", (text + " Amended by hand.", chunk_id))
    report = engine.reindex()
    assert len(scans) == 1 and (report.embedded, report.generation) == (1, generation + 1)
    with engine.store.db.conn as conn:
        conn.execute("UPDATE chunks SET text = text || ' Twice.' WHERE id = ?", (chunk_id,))
        conn.execute("UPDATE chunks SET text = ? WHERE id = ?", (text + " Amended by hand.", chunk_id))
    report = engine.reindex()  # a scan shows the chunks are as the generation holds them
    assert len(scans) == 2 and (report.embedded, report.generation) == (0, generation + 1)
    assert engine.reindex().generation == generation + 1 and len(scans) == 2, "and the next no-op reads none"


def test_a_generation_recorded_before_chunks_were_counted_is_scanned_once(engine, monkeypatch):
    scans = counted_scans(monkeypatch)
    generation = engine.stats().index_generation
    with engine.store.db.conn as conn:  # as an archive indexed by an earlier version and migrated
        conn.execute("UPDATE index_generations SET chunk_changes = NULL")
    assert engine.reindex().generation == generation and len(scans) == 1
    assert engine.reindex().generation == generation and len(scans) == 1


def add_story(engine, folder, name: str) -> None:
    story = folder / f"{name}.txt"
    story.write_text(f"{name} quay reopens\n\nThe {name} quay reopened with twelve new cranes.", encoding="utf-8")
    assert engine.ingest([story]).added == 1
    engine.reindex()


def test_a_saved_bm25_index_of_another_generation_is_never_used(engine, tmp_path, caplog):
    first = engine.stats().index_generation
    add_story(engine, tmp_path, "Zanzibar")
    second = engine.stats().index_generation
    assert second == first + 1 and engine.indexer.lexical_file(first).exists()
    shutil.copyfile(engine.indexer.lexical_file(first), engine.indexer.lexical_file(second))  # a stale file
    killed_save = engine.home / "index" / f".lexical-{second:06d}.bm25.x1y2z3.tmp"
    killed_save.write_bytes(b"half a BM25 index")
    with caplog.at_level(logging.INFO):
        reader = Engine(engine.settings, embedder=engine.embedder, read_only=True)
        assert reader.search("Zanzibar quay cranes")[0].title == "Zanzibar quay reopens"
        reader.close()
    assert [r.levelname for r in caplog.records if "BM25" in r.getMessage()].count("WARNING") == 1
    add_story(engine, tmp_path, "Mombasa")
    assert engine.indexer.lexical_file(first + 2).exists() and engine.indexer.lexical_file(second).exists()
    assert not engine.indexer.lexical_file(first).exists(), "a generation's BM25 file goes with its vectors"
    assert not killed_save.exists()


def test_a_reindex_updates_the_previous_generations_bm25_index_and_searches_as_a_fresh_build(
    engine, tmp_path, monkeypatch, caplog
):
    first = engine.stats().index_generation
    analysed = []
    analyse = index.retrieval.lexical.tokenize
    with monkeypatch.context() as patch, caplog.at_level(logging.INFO):
        patch.setattr(index.retrieval.lexical, "tokenize", lambda text: analysed.append(text) or analyse(text))
        add_story(engine, tmp_path, "Zanzibar")
    assert engine.stats().index_generation == first + 1
    assert analysed and all(text.startswith("Zanzibar quay reopens\n") for text in analysed), "only the new chunks"
    assert any(f"updated from lexical-{first:06d}.bm25" in r.getMessage() for r in caplog.records)
    assert engine.search("Zanzibar quay cranes")[0].title == "Zanzibar quay reopens"
    expected = hits_of(engine) + [[(h.chunk_id, h.score) for h in engine.search("Zanzibar quay cranes")]]
    for saved in (engine.home / "index").glob("lexical-*.bm25"):
        saved.unlink()  # a fresh engine over the same archive has no saved BM25 index to open or update
    fresh = Engine(engine.settings, embedder=engine.embedder, read_only=True)
    assert hits_of(fresh) + [[(h.chunk_id, h.score) for h in fresh.search("Zanzibar quay cranes")]] == expected
    fresh.close()


def test_reading_answers_from_the_last_generation_and_counts_what_awaits_indexing(engine, tmp_path):
    story = tmp_path / "quay.txt"
    story.write_text("Zanzibar quay reopens\n\nThe Zanzibar quay reopened with twelve new cranes.", encoding="utf-8")
    assert engine.ingest([story]).added == 1
    generation = engine.stats().index_generation
    reader = Engine(engine.settings, embedder=engine.embedder, read_only=True)
    with engine.indexer._exclusive():  # a re-index is running
        hits = reader.search("Zanzibar quay cranes")
        answer = reader.ask("When did the Zanzibar quay reopen?")
        assert reader.pending_articles() == 1
    assert hits and not any("Zanzibar" in h.title for h in hits)
    assert all("Zanzibar" not in q.text for q in answer.quotes)
    assert engine.stats().index_generation == generation, "reading built no generation"
    assert engine.search("Zanzibar quay cranes")[0].title != "Zanzibar quay reopens"
    assert engine.pending_articles() == 1
    engine.reindex()
    assert engine.pending_articles() == 0 and engine.search("Zanzibar quay cranes")[0].title == "Zanzibar quay reopens"
    reader.close()


ARCHIVIST = [sys.executable, "-c", "from bot.cli import main; main()"]


def index_killed_at_random(env: dict, rng: random.Random, full_run: float) -> bool:
    """Run `archivist index --full` and SIGKILL it after a random share of ``full_run``; whether it was killed."""
    proc = subprocess.Popen(
        [*ARCHIVIST, "index", "--full"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(rng.uniform(0.05, 0.8) * full_run)
    running = proc.poll() is None
    if running:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    return running


@pytest.mark.slow
@pytest.mark.timeout(900)  # 20 runs spread over the machine's own full re-index time: slower cores, longer
def test_kill_9_at_random_moments_during_indexing_never_breaks_the_archive(tmp_path, model_cache, built_home):
    rng = random.Random(20261126)
    home = tmp_path / "home"
    corpus = small_corpus(tmp_path / "corpus", articles=30)
    extra = tmp_path / "corpus-extra"
    embedder = Engine(Settings(home=built_home, model_cache=model_cache)).embedder
    # Without the sentence pass, which comes after the new generation is recorded, so kills land in the passages'.
    env = {
        **os.environ,
        "ARCHIVIST_HOME": str(home),
        "ARCHIVIST_MODEL_CACHE": str(model_cache),
        "ARCHIVIST_SENTENCE_VECTORS": "0",
    }
    subprocess.run([*ARCHIVIST, "ingest", str(corpus)], env=env, check=True, capture_output=True)
    started = time.monotonic()
    subprocess.run([*ARCHIVIST, "index", "--full"], env=env, check=True, capture_output=True)
    full_run = time.monotonic() - started  # kills are spread over this, whatever the machine's speed
    killed = 0
    for run in range(20):
        # A full re-index re-embeds everything, so kills land in embedding, building and writing; every
        # fourth run grows the archive first.
        if run % 4 == 3:
            extra.mkdir(exist_ok=True)
            (extra / f"{run}.txt").write_text(
                f"Note {run}\n\nA new story number {run} about harbour cranes.", encoding="utf-8"
            )
            subprocess.run([*ARCHIVIST, "ingest", str(extra)], env=env, check=True, capture_output=True)
        killed += index_killed_at_random(env, rng, full_run)
        if not (home / "archive.db").exists():
            continue
        engine = Engine(Settings(home=home, model_cache=model_cache), embedder=embedder, read_only=True)
        assert engine.store.integrity_ok()
        if engine.store.count("chunks"):
            assert engine.search("harbour cranes and trials"), f"run {run}: the archive answers searches"
            assert engine.pending_articles() <= run // 4 + 1, f"run {run}: only the new notes await indexing"
        engine.close()
    assert killed >= 15, f"only {killed} of 20 runs were killed before they finished"
    subprocess.run([*ARCHIVIST, "index"], env=env, check=True, capture_output=True)
    engine = Engine(Settings(home=home, model_cache=model_cache), embedder=embedder, read_only=True)
    stats = engine.stats()
    assert stats.vectors == stats.chunks and engine.pending_articles() == 0, "the index agrees with the database"
    engine.close()


def chunks_still_held_after_each_pass(store, monkeypatch) -> list[int]:
    """Watch ``store``'s passes over every chunk: after each, how many of its chunk records are still held."""
    chunk_records, alive = store.chunk_records, []

    def watched(ids=None):
        seen = []
        for record in chunk_records(ids):
            seen.append(weakref.ref(record))
            yield record
        if ids is None:  # a pass over every chunk
            del record
            gc.collect()
            alive.append(sum(ref() is not None for ref in seen))

    monkeypatch.setattr(store, "chunk_records", watched)
    return alive


def test_a_process_opening_the_archive_reads_the_chunks_as_a_stream_and_keeps_none(engine, monkeypatch):
    monkeypatch.setattr("index.engine.REFRESH_PAGE", 4)
    expected = hits_of(engine)
    engine.indexer.table_file(engine.stats().index_generation).unlink()  # no saved table: the chunks are read
    fresh = Engine(engine.settings, embedder=engine.embedder, read_only=True)  # as `archivist run` starts
    alive = chunks_still_held_after_each_pass(fresh.store, monkeypatch)
    assert hits_of(fresh) == expected
    assert len(alive) == 1 and alive[0] <= 5 < engine.store.count("chunks")  # one pass; a page of 4 at most held
    fresh.close()


def test_a_process_building_the_bm25_index_afresh_reads_the_chunks_as_a_stream_and_keeps_none(engine, monkeypatch):
    monkeypatch.setattr("index.engine.REFRESH_PAGE", 4)
    expected = hits_of(engine)
    for saved in [*(engine.home / "index").glob("lexical-*.bm25"), *(engine.home / "index").glob("chunks-*.table")]:
        saved.unlink()  # no saved index of this generation or an earlier one: it is built from the chunks
    fresh = Engine(engine.settings, embedder=engine.embedder, read_only=True)
    alive = chunks_still_held_after_each_pass(fresh.store, monkeypatch)
    assert hits_of(fresh) == expected, "the index built from the stream searches as the saved one did"
    assert len(alive) == 2 and max(alive) <= 5 < engine.store.count("chunks")  # keys, then texts; none kept
    fresh.close()


def test_searching_and_asking_never_count_every_chunk(engine, tmp_path, model_cache):
    engine.search("NATO article 5")  # the retriever is open: what follows is the work of each question
    statements: list[str] = []
    engine.store.db.conn.set_trace_callback(statements.append)
    try:
        assert engine.search("NATO article 5") and not engine.ask("What does NATO's article 5 say?").abstained
    finally:
        engine.store.db.conn.set_trace_callback(None)
    assert statements and not [s for s in statements if "COUNT(" in s.upper()]  # at 1M passages a count took 11 ms
    empty = Engine(Settings(home=tmp_path / "empty", model_cache=model_cache), embedder=engine.embedder)
    assert empty.search("NATO article 5") == [] and empty.ask("What does NATO's article 5 say?").abstained
    empty.close()


def test_a_process_saves_what_it_read_of_the_chunks_and_the_next_one_opens_that_instead(engine, tmp_path, monkeypatch):
    story = tmp_path / "quay.txt"
    story.write_text("Quay reopens\n\nThe harbour quay reopened with twelve new cranes.", encoding="utf-8")
    engine.ingest([story])  # it waits for the next re-index: the table the re-index saved is out of date
    generation = engine.stats().index_generation
    first = Engine(engine.settings, embedder=engine.embedder)  # as `archivist run` starts
    expected, pending = hits_of(first), first.pending_articles()
    first.close()
    assert pending == 1 and engine.indexer.table_file(generation).exists()
    fresh = Engine(engine.settings, embedder=engine.embedder, read_only=True)
    passes = chunks_still_held_after_each_pass(fresh.store, monkeypatch)
    assert (hits_of(fresh), fresh.pending_articles(), passes) == (expected, 1, []), "no chunk is read"
    fresh.close()


def test_a_saved_chunk_table_is_not_opened_once_any_writer_changed_an_article(engine, monkeypatch):
    article_id = engine.search("NATO article 5")[0].article_id
    with engine.store.db.conn as conn:  # around the store's methods, and no chunk changes
        conn.execute("UPDATE articles SET source = 'The Quayside Courier' WHERE id = ?", (article_id,))
    fresh = Engine(engine.settings, embedder=engine.embedder, read_only=True)
    passes = chunks_still_held_after_each_pass(fresh.store, monkeypatch)
    hits = fresh.search("NATO article 5", filters=Filters(source="The Quayside Courier"))
    assert len(passes) == 1 and hits and {hit.article_id for hit in hits} == {article_id}
    fresh.close()


def test_chunks_changed_while_a_process_read_them_are_read_again_by_the_next(engine, tmp_path, monkeypatch):
    table = engine.indexer.table_file(engine.stats().index_generation)
    table.unlink()
    story = tmp_path / "quay.txt"
    story.write_text("Quay reopens\n\nThe harbour quay reopened with twelve new cranes.", encoding="utf-8")
    reading = Engine(engine.settings, embedder=engine.embedder)
    chunk_records = reading.store.chunk_records

    def meanwhile(ids=None):
        for number, record in enumerate(chunk_records(ids)):
            if ids is None and number == 2:
                engine.ingest([story])  # another writer commits while the pass is under way
            yield record

    monkeypatch.setattr(reading.store, "chunk_records", meanwhile)
    assert reading.search("NATO article 5") and not table.exists(), "what it read may be neither before nor after"
    reading.close()
    after = Engine(engine.settings, embedder=engine.embedder)
    assert after.pending_articles() == 1 and table.exists()
    after.close()


def test_a_damaged_chunk_table_is_read_around_and_a_no_op_index_saves_a_lost_one(engine, tmp_path, monkeypatch, caplog):
    expected = hits_of(engine)
    table = engine.indexer.table_file(engine.stats().index_generation)
    flipped = bytearray(table.read_bytes())
    flipped[len(flipped) // 2] ^= 0xFF
    odd = tmp_path / "odd.table"
    ChunkTable.of([]).save(odd, stamp={"made_from": ["not", "a", "stamp"]})  # the file verifies, its stamp does not
    for content, logged in ((bytes(flipped), "checksum does not match"), (odd.read_bytes(), "unreadable stamp")):
        table.write_bytes(content)
        caplog.clear()
        fresh = Engine(engine.settings, embedder=engine.embedder, read_only=True)
        passes = chunks_still_held_after_each_pass(fresh.store, monkeypatch)
        with caplog.at_level(logging.INFO):
            assert hits_of(fresh) == expected and len(passes) == 1, logged
        assert any(logged in r.getMessage() for r in caplog.records)
        fresh.close()
    table.unlink()  # as after an upgrade from a version that saved no table
    report = Engine(engine.settings, embedder=engine.embedder).reindex()
    assert report.embedded == 0 and table.exists()


def test_a_full_index_reads_the_stored_vectors_a_block_at_a_time_and_searches_as_before(engine, monkeypatch):
    import index.indexing.indexer as indexing

    expected = hits_of(engine)
    read, stored_matrix = [], indexing.Indexer._stored_matrix

    def watched(self, embedder, hashes, changed):
        read.append(len(hashes))
        return stored_matrix(self, embedder, hashes, changed)

    monkeypatch.setattr(indexing.Indexer, "_stored_matrix", watched)
    monkeypatch.setattr(indexing, "BUILD_BLOCK", 8)
    report = engine.reindex(full=True)
    assert sum(read) == report.total_vectors > 8 and max(read) == 8, "never the whole matrix at once"
    assert [[c for c, _ in hits] for hits in hits_of(engine)] == [[c for c, _ in hits] for hits in expected]


def test_on_postgresql_the_engine_ingests_indexes_and_answers_as_it_does_on_sqlite(engine, postgres_server, tmp_path):
    settings = Settings(
        home=tmp_path / "pg-home", model_cache=engine.settings.model_cache, database_url=postgres_server.new_database()
    )
    on_postgres = Engine(settings, embedder=engine.embedder)
    on_postgres.ingest([small_corpus(tmp_path / "corpus")])
    on_postgres.reindex()
    assert not (tmp_path / "pg-home" / "archive.db").exists(), "the tables live in PostgreSQL only"
    for table in ("articles", "chunks", "vectors", "sentence_vectors"):
        assert on_postgres.store.count(table) == engine.store.count(table), table
    for query in ("Sam Bankman-Fried FTX trial", "Taylor Swift Travis Kelce", "Cherokee Barbie"):
        hits = [(h.article_id, h.start, h.end) for h in on_postgres.search(query)]
        assert hits == [(h.article_id, h.start, h.end) for h in engine.search(query)], query

    def quoted(answer):  # the seed page's id comes from its path, which differs between the two corpora
        return answer.abstained, [(q.title, q.start, q.end, q.text, round(q.score, 5)) for q in answer.quotes]

    for question in ("What does NATO's article 5 say?", "Who is on trial over FTX?", "Why did Zelensky resign?"):
        assert quoted(on_postgres.ask(question)) == quoted(engine.ask(question)), question
    assert on_postgres.reindex().embedded == 0, "a second re-index finds nothing to do"
    reader = Engine(settings, embedder=engine.embedder, read_only=True)
    assert quoted(reader.ask("What does NATO's article 5 say?")) == quoted(
        engine.ask("What does NATO's article 5 say?")
    )
    on_postgres.close()
    reader.close()


def test_on_postgresql_an_empty_home_on_the_same_database_answers_at_once_from_the_files_stored_in_it(
    engine, postgres_server, postgres_archive, tmp_path, monkeypatch
):
    url = postgres_server.new_database(template=postgres_archive)  # migrated from the home `engine` copies
    home = tmp_path / "another-machine"  # nothing but the database's address
    settings = Settings(home=home, model_cache=engine.settings.model_cache, database_url=url)
    reader = Engine(settings, embedder=engine.embedder, read_only=True)
    generation = reader.indexer.newest_generation()
    passes = chunks_still_held_after_each_pass(reader.store, monkeypatch)
    monkeypatch.setattr(type(engine.embedder), "encode_passages", lambda *a, **k: pytest.fail("nothing is embedded"))
    assert hits_of(reader) == hits_of(engine) and passes == [], "searched at once: no chunk read, nothing built"
    copied = {path.name for path in (home / "index").iterdir()}
    assert copied == {path.name for path in reader.indexer.generation_files(generation)}, "the generation's files"
    reader.close()
    writer = Engine(settings, embedder=engine.embedder)
    report = writer.reindex()
    assert (report.generation, report.embedded, report.sentences_embedded) == (generation, 0, 0)
    writer.close()


def test_on_postgresql_one_reindex_runs_at_a_time_across_machines_and_a_killed_ones_turn_passes(
    engine, postgres_server, postgres_archive, tmp_path
):
    url = postgres_server.new_database(template=postgres_archive)
    cache = engine.settings.model_cache
    first = Engine(Settings(home=tmp_path / "one", model_cache=cache, database_url=url), embedder=engine.embedder)
    second = Engine(Settings(home=tmp_path / "two", model_cache=cache, database_url=url), embedder=engine.embedder)
    generation = second.indexer.newest_generation()
    holder = subprocess.Popen(  # another machine's re-index, holding the lock until it is killed
        [
            sys.executable,
            "-c",
            "import sys, time; from index.store.database import Store\n"
            "with Store(sys.argv[1]).reindex_lock() as held:\n"
            "    print(held, flush=True); time.sleep(120)",
            url,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "True"
        with pytest.raises(IndexBusy, match="another machine"):
            second.reindex()
    finally:
        holder.kill()  # SIGKILL: its connection, and with it the lock, goes
        holder.wait(30)
    assert second.reindex().generation == generation
    with second.store.reindex_lock() as held:
        assert held
        with pytest.raises(IndexBusy, match="another machine"):
            first.reindex()
    assert first.reindex().embedded == 0
    first.close()
    second.close()


def searched_within(engine, query: str, title: str, seconds: float) -> float | None:
    """How long until ``engine`` finds the article ``title`` for ``query`` (None: not within ``seconds``)."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if any(hit.title == title for hit in engine.search(query)):
            return time.monotonic() - started
        time.sleep(0.25)
    return None


def quay_story(folder) -> object:
    story = folder / "quay.txt"
    story.write_text("Quay reopens\n\nThe harbour quay reopened with twelve new cranes.", encoding="utf-8")
    return story


def test_a_serving_process_searches_a_generation_another_process_recorded_within_ten_seconds(engine, tmp_path):
    assert all(hit.title != "Quay reopens" for hit in engine.search("harbour quay cranes"))
    other = Engine(engine.settings, embedder=engine.embedder)  # `archivist index` run beside the bot
    other.ingest([quay_story(tmp_path)])
    other.reindex()
    other.close()
    assert searched_within(engine, "harbour quay cranes", "Quay reopens", 10.0) is not None


def test_on_postgresql_a_generation_indexed_on_one_machine_is_searched_on_another_within_ten_seconds(
    engine, postgres_server, postgres_archive, tmp_path
):
    url = postgres_server.new_database(template=postgres_archive)
    cache = engine.settings.model_cache
    serving = Engine(Settings(home=tmp_path / "one", model_cache=cache, database_url=url), embedder=engine.embedder)
    assert all(hit.title != "Quay reopens" for hit in serving.search("harbour quay cranes"))
    other = Engine(Settings(home=tmp_path / "two", model_cache=cache, database_url=url), embedder=engine.embedder)
    other.ingest([quay_story(tmp_path)])
    other.reindex()
    assert searched_within(serving, "harbour quay cranes", "Quay reopens", 10.0) is not None
    other.close()
    serving.close()


@pytest.mark.timeout(900)  # 8 runs spread over the machine's own full re-index time: slower cores, longer
def test_on_postgresql_kill_9_during_a_reindex_leaves_every_machine_searching_a_whole_generation(
    engine, postgres_server, postgres_archive, tmp_path, monkeypatch
):
    monkeypatch.setattr("index.engine.GENERATION_CHECK_SECONDS", 0.2)  # the serving machine looks more often
    rng = random.Random(20261203)
    url = postgres_server.new_database(template=postgres_archive)
    cache = engine.settings.model_cache
    env = {
        **os.environ,
        "ARCHIVIST_HOME": str(tmp_path / "indexing-machine"),
        "ARCHIVIST_MODEL_CACHE": str(cache),
        "ARCHIVIST_DATABASE_URL": url,
        "ARCHIVIST_SENTENCE_VECTORS": "0",  # kills land in the passages' pass, before and after the record
    }
    serving = Engine(Settings(home=tmp_path / "serving", model_cache=cache, database_url=url), embedder=engine.embedder)
    expected = [hit.article_id for hit in serving.search("harbour cranes and trials")]
    started = time.monotonic()
    subprocess.run([*ARCHIVIST, "index", "--full"], env=env, check=True, capture_output=True)
    full_run = time.monotonic() - started
    killed = 0
    for run in range(8):
        killed += index_killed_at_random(env, rng, full_run)
        time.sleep(0.3)
        assert [hit.article_id for hit in serving.search("harbour cranes and trials")] == expected, f"run {run}"
        newcomer = tmp_path / f"new-machine-{run}"  # an empty home copies the newest recorded generation whole
        fresh = Engine(Settings(home=newcomer, model_cache=cache, database_url=url), embedder=engine.embedder)
        assert [hit.article_id for hit in fresh.search("harbour cranes and trials")] == expected, f"run {run}"
        newest = fresh.indexer.newest_generation()
        assert fresh.indexer.open_latest(engine.embedder)[0].generation == newest, f"run {run}: copied whole"
        fresh.close()
    assert killed >= 5, f"only {killed} of 8 runs were killed before they finished"
    subprocess.run([*ARCHIVIST, "index"], env=env, check=True, capture_output=True)  # the lock went with them
    serving.close()
