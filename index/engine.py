"""The engine facade: what the CLI and the bot call. Synchronous; CPU-bound calls belong in a worker thread.

The model loads once, on first need. Reading (search, ask) never writes: it answers from the newest
recorded index generation that verifies, over the chunks that generation holds, and counts the
articles added or changed since then as pending (``pending_articles``). Only ``reindex`` builds a
generation; it then swaps a new retriever in atomically, so searches keep using the previous one meanwhile.
An engine opened with ``read_only`` opens the database read-only and refuses every write.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import faiss
import numpy as np

from index.answering.candidates import passage_support
from index.answering.compose import compose_answer
from index.answering.sentence_cache import SentenceVectorCache
from index.answering.summary import LLMConfig, summarize
from index.answering.verifier import Verifier
from index.embedding.base import Embedder
from index.embedding.factory import load_embedder
from index.errors import SyncBusy
from index.filters import check_filters, checked_count, checked_text
from index.gaps import Digest, Gap, NearArticle, gaps_from
from index.indexing.indexer import Indexer, text_hash
from index.indexing.vectors import DatabaseVectors, VectorIndex, hash_rows
from index.models import Answer, ArchiveStats, Article, Filters, Hit, IndexReport, IngestReport
from index.question import Question
from index.retrieval.chunk_table import ChunkTable, ChunkTableUnusable
from index.retrieval.hybrid import ChunkRecord, HybridRetriever, passage_text
from index.retrieval.lexical import LexicalIndexUnusable
from index.settings import Settings
from index.sources.ingest import IngestOptions, ingest
from index.sources.live.detect import detect
from index.sources.live.fetch import FetchConfig, Fetcher
from index.sources.live.registry import Registry, Source
from index.sources.live.sync import Syncer, SyncOptions, SyncReport
from index.store.database import GenerationRecord, Store
from index.store.pending import PendingQuestions, Resumable, WaitingQuestion
from index.store.readers import AnswerRecord, Conversation, LoggedQuestion, ReaderLog, Vote, checked_since

log = logging.getLogger(__name__)
REFRESH_PAGE = 4096  # chunks checked against the generation at a time while a retriever reads them
GENERATION_CHECK_SECONDS = 5.0  # how often a serving process looks for a generation another process recorded

ANSWER_HITS = 10
DIGEST_GAPS = 5  # gaps listed in a feedback digest
MIN_LOOKUP_COVERAGE = 0.5  # share of a headline lookup's words the found article must contain


class Engine:
    def __init__(self, settings: Settings, *, embedder: Embedder | None = None, read_only: bool = False) -> None:
        # One thread per FAISS search: on two cores, OpenMP fan-out makes single queries several times slower.
        faiss.omp_set_num_threads(1)
        self.settings = settings
        self.home = settings.home
        self.store = Store.in_home(self.home, read_only=read_only, database_url=settings.database_url)
        self.indexer = Indexer(
            self.store,
            self.home / "index",
            hnsw_threshold=settings.hnsw_threshold,
            sentence_vectors=settings.sentence_vectors,
        )
        self._embedder = embedder
        self._sentences: SentenceVectorCache | None = None
        self._verifier: Verifier | None = None
        self._retriever: HybridRetriever | None = None
        self._generation: int | None = None
        self._newest_seen = 0  # the newest generation recorded when the retriever was made
        self._checked_at = time.monotonic()
        self._pending = 0
        self._load_lock = threading.RLock()
        self._sync_lock = threading.Lock()
        self.readers = ReaderLog(self.store, question_log_days=settings.question_log_days)
        self.pending = PendingQuestions(self.store)
        if not read_only:
            self.readers.prune()

    @classmethod
    def open(cls, settings: Settings, *, read_only: bool = False) -> Engine:
        return cls(settings, read_only=read_only)

    def close(self) -> None:
        self.store.close()

    # -- parts, loaded once -----------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            with self._load_lock:
                if self._embedder is None:
                    self._embedder = load_embedder(self.settings.embedder, self.settings.model_cache)
        return self._embedder

    @property
    def verifier(self) -> Verifier:
        """The cross-encoder that re-reads the best quote candidates with the question (``index.answering.verifier``)."""
        if self._verifier is None:
            with self._load_lock:
                if self._verifier is None:
                    self._verifier = Verifier(self.settings.model_cache)
        return self._verifier

    @property
    def sentence_encoder(self) -> SentenceVectorCache:
        """The embedder behind a bounded cache of sentence vectors, for choosing quotes."""
        if self._sentences is None:
            with self._load_lock:
                if self._sentences is None:
                    self._sentences = SentenceVectorCache(self.embedder, stored=self._stored_sentence_vectors)
        return self._sentences

    def _stored_sentence_vectors(self, texts: Sequence[str]) -> list[np.ndarray | None]:
        """The vectors the re-index stored for these sentences (None where it has none)."""
        embedder = self.embedder
        hashes = [text_hash(t) for t in texts]
        found = self.store.get_vectors(embedder.name, hashes, embedder.dim, "sentence_vectors")
        return [found.get(h) for h in hashes]

    def retriever(self) -> HybridRetriever:
        """The retriever over the newest usable generation. Every ``GENERATION_CHECK_SECONDS`` one caller also looks
        for a newer generation recorded by another process (a CLI `archivist index`, another machine on the same
        database) and swaps it in; the others go on searching the current one meanwhile."""
        current = self._retriever
        if current is not None and not self._newer_generation_recorded():
            return current
        with self._load_lock:
            if self._retriever is None or self._retriever is current:
                self._refresh()
            return self._retriever  # type: ignore[return-value]

    def _newer_generation_recorded(self) -> bool:
        now = time.monotonic()
        if now - self._checked_at < GENERATION_CHECK_SECONDS:
            return False
        self._checked_at = now
        newest = self.indexer.newest_generation()
        if newest != self._newest_seen:
            log.info("index generation %d was recorded by another process: searching it next", newest)
            return True
        return False

    def _refresh(self, *, save: bool = False) -> None:
        """Build a retriever over the newest index generation that verifies and swap it in; writes only if ``save``.

        It searches the chunks that generation embedded (by id, with the text it embedded); articles added or
        changed since then wait for the next re-index. With no usable generation, BM25 alone searches every chunk.
        The generation's BM25 index is opened from its file when that was built from the same chunks; otherwise
        it is updated from the newest older generation's file (only new or changed chunks are tokenized) or built,
        and saved for the next process when ``save`` (a re-index).

        Reading the chunks is skipped altogether when the chunk table saved with the generation was made from the
        chunk records as they are now (no chunk or article changed since: the store counts every change); a process
        that may write saves the table it made, unless a chunk or article changed while it read them.
        """
        embedder = self.embedder
        self._newest_seen = self.indexer.newest_generation()  # one recorded after this is looked for again
        found = self.indexer.open_latest(embedder)
        if found is None:
            if self.store.has_chunks():
                log.warning("no usable vector index: searching by words only until `archivist index` runs")
            retriever = HybridRetriever.open(self.store.chunk_records, None, embedder, fetch=self.store.chunk_records)
            self._retriever, self._generation = retriever, None
            self._pending = retriever.articles
            return
        record, vector_index = found
        made_from = self._table_source(record)
        table_file = self.indexer.table_file(record.generation)
        lexical_file = self.indexer.lexical_file(record.generation)
        for path in (table_file, lexical_file):  # another home on the same database may have made them
            self.indexer.fetch_shared(path)
        reopened = self._reopen(record, vector_index, made_from, table_file, lexical_file)
        if reopened is not None:
            self._retriever, self._pending = reopened
            self._generation = record.generation
            return
        articles: set[str] = set()
        indexed_articles: set[str] = set()
        in_generation = _generation_member(vector_index, lambda: self.store.known_vector_hashes(embedder.name))

        def indexed() -> Iterator[ChunkRecord]:
            """The chunks the generation embedded (by id, with the text it embedded), read anew at each call."""
            page: list[ChunkRecord] = []
            for chunk in itertools.chain(self.store.chunk_records(), [None]):
                if chunk is not None:
                    page.append(chunk)
                    articles.add(chunk.article_id)
                if page and (chunk is None or len(page) == REFRESH_PAGE):
                    for kept in itertools.compress(page, in_generation(page)):
                        indexed_articles.add(kept.article_id)
                        yield kept
                    page = []

        generations = self.store.generations()  # newest first
        older = (self.indexer.lexical_file(g.generation) for g in generations if g.generation < record.generation)
        previous = next((path for path in older if path.exists()), None)
        retriever = HybridRetriever.open(
            indexed,
            vector_index,
            embedder,
            lexical_file=lexical_file,
            previous_lexical_file=previous,
            save=save,
            fetch=self.store.chunk_records,
        )
        self._pending = len(articles - indexed_articles)
        if self._pending:
            log.info("%d articles await indexing; generation %d answers meanwhile", self._pending, record.generation)
        if (save or not self.store.read_only) and self.store.chunk_changes() == made_from["changes"]:
            # No chunk or article changed while they were read: the next process can open what was made of them.
            stamp = {"made_from": made_from, "lexical_key": retriever.lexical_key, "pending": self._pending}
            try:
                retriever.table.save(table_file, stamp=stamp)
                self.indexer.share(table_file)
            except OSError as exc:
                log.warning("could not save the chunk table to %s: %s", table_file, exc)
        if save:
            if lexical_file.exists():
                self.indexer.share(lexical_file)
            self.indexer.remove_stale_search_files()
        self._retriever, self._generation = retriever, record.generation

    def _reopen(
        self,
        record: GenerationRecord,
        vector_index: VectorIndex | DatabaseVectors,
        made_from: dict,
        table_file: Path,
        lexical_file: Path,
    ) -> tuple[HybridRetriever, int] | None:
        """The retriever over ``record``'s generation and its count of pending articles, from the chunk table saved
        with it, if that was made from the chunk records as they are now (``made_from``) and its BM25 file is the one
        it names; None otherwise."""
        try:
            table, stamp = ChunkTable.load(table_file)
            saved_from, key, pending = stamp["made_from"], str(stamp["lexical_key"]), int(stamp["pending"])
        except ChunkTableUnusable as exc:
            log.info("reading the chunks: %s", exc)
            return None
        except (KeyError, TypeError, ValueError):
            log.warning("reading the chunks: the chunk table file %s has an unreadable stamp", table_file)
            return None
        if saved_from != made_from:
            log.info("reading the chunks: a chunk or an article changed since %s was saved", table_file)
            return None
        try:
            retriever = HybridRetriever.reopen(
                table, key, lexical_file, vector_index, self.embedder, fetch=self.store.chunk_records
            )
        except LexicalIndexUnusable as exc:
            log.info("reading the chunks: %s", exc)
            return None
        log.info("opened the search table of generation %d (%d chunks)", record.generation, len(retriever))
        return retriever, pending

    def _table_source(self, record: GenerationRecord) -> dict:
        """What a retriever over ``record``'s generation is made from: its vector file and the chunk records as they
        are now, named by the store's count of changes to chunks and articles (read before the chunks are)."""
        return {"generation": record.generation, "vectors": record.checksum, "changes": self.store.chunk_changes()}

    def _table_saved(self, generation: int) -> bool:
        """Is the chunk table of ``generation`` saved from the chunk records as they are now?"""
        record = next((g for g in self.store.generations() if g.generation == generation), None)
        if record is None:
            return False
        try:
            return ChunkTable.stamp_of(self.indexer.table_file(generation)).get("made_from") == self._table_source(
                record
            )
        except (ChunkTableUnusable, AttributeError):
            return False

    def pending_articles(self) -> int:
        """Articles added or changed since the index generation that searches use (0: everything is searchable)."""
        if not self.store.has_chunks():
            return 0
        self.retriever()
        return self._pending

    # -- reading -------------------------------------------------------------------------
    def search(self, query: str, *, filters: Filters | None = None, k: int = 10, diverse: bool = True) -> list[Hit]:
        """The best passages for ``query``; ``InvalidInput`` for an unusable query, count or filter."""
        query, k, filters = checked_text(query, "query"), checked_count(k), check_filters(filters)
        return self._search(query, filters=filters, k=k, diverse=diverse)

    def _search(self, query: str, *, filters: Filters | None, k: int, diverse: bool = True) -> list[Hit]:
        if not self.store.has_chunks():
            return []
        return self.retriever().search(query, k=k, filters=filters, diverse=diverse, now=_now())

    def ask(self, question: str, *, filters: Filters | None = None, history: Sequence[str] = ()) -> Answer:
        """Quotes answering ``question``; ``InvalidInput`` for an unusable question or filter."""
        question, filters = checked_text(question), check_filters(filters)
        now = _now()
        if not self.store.has_chunks():
            asked, hits = Question.parse(question, history=history, filters=filters, now=now), []
        else:
            retriever = self.retriever()
            asked = Question.parse(question, history=history, filters=filters, catalog=retriever.catalog, now=now)
            hits = retriever.find(asked, k=ANSWER_HITS)
        bodies = self.store.bodies(h.article_id for h in hits)
        answer = compose_answer(
            asked,
            hits,
            bodies,
            embedder=self.sentence_encoder,
            verifier=self.verifier if hits else None,
            now=now,
        )
        if self.settings.llm_base_url and answer.quotes:
            config = LLMConfig(
                base_url=self.settings.llm_base_url,
                model=self.settings.llm_model,
                api_key=self.settings.llm_api_key,
            )
            summary = summarize(question, answer.quotes, config)
            if summary:
                answer = _with_summary(answer, summary)
        return answer

    def recent(self, n: int | None = 10, *, category: str | None = None, source: str | None = None) -> list[Article]:
        return self.store.list_articles(limit=n, category=category, source=source)

    def article(self, article_id: str) -> Article:
        return self.store.get(article_id)

    def find_article(self, query_or_url: str) -> Article | None:
        text = checked_text(query_or_url, "article search")
        if not text:
            return None
        found = self.store.find_by_id(text) or self.store.find_by_url(text)
        if found is not None:
            return found
        if text.startswith(("http://", "https://")):
            return None
        hits = self._search(text, filters=None, k=1)
        if not hits or passage_support(text, hits).coverage < MIN_LOOKUP_COVERAGE:  # words the archive does not know
            return None
        return self.store.find_by_id(hits[0].article_id)

    def categories(self) -> list[str]:
        return self.store.distinct("category")

    def sources(self) -> list[str]:
        return self.store.distinct("source")

    def stats(self) -> ArchiveStats:
        generations = self.store.generations()
        return ArchiveStats(
            articles=self.store.count("articles"),
            chunks=self.store.count("chunks"),
            vectors=generations[0].count if generations else 0,
            sources=len(self.sources()),
            categories=len(self.categories()),
            newest_published_at=self.store.newest_published_at(),
            last_ingested_at=self.store.meta("last_ingested_at"),
            last_indexed_at=self.store.meta("last_indexed_at"),
            index_generation=generations[0].generation if generations else None,
            model_name=generations[0].model_name if generations else self.settings.embedder,
        )

    # -- writing ---------------------------------------------------------------------------
    def _forget_retriever(self) -> None:
        """The next search reads the changed chunks (and counts them as pending)."""
        with self._load_lock:
            self._retriever = None

    def _ingest_options(self, **changes: object) -> IngestOptions:
        return IngestOptions(
            max_bytes=self.settings.max_file_bytes,
            chunk_tokens=self.settings.chunk_tokens,
            chunk_overlap=self.settings.chunk_overlap,
            **changes,
        )

    def ingest(
        self,
        paths: Sequence[Path | str],
        *,
        format: str | None = None,
        prune: bool = False,
        follow_symlinks: bool = False,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> IngestReport:
        options = self._ingest_options(format=format, prune=prune, follow_symlinks=follow_symlinks)
        try:
            return ingest(self.store, paths, options, progress=progress)
        finally:
            self._forget_retriever()

    # -- live sources ------------------------------------------------------------------------
    def fetcher(self) -> Fetcher:
        return Fetcher(FetchConfig.from_settings(self.settings))

    def live_sources(self) -> list[Source]:
        return Registry(self.store).all()

    def add_source(self, url: str, *, kind: str = "auto", name: str | None = None) -> Source:
        """Register a feed, WordPress site or sitemap (``kind`` auto-detects); FetchRefused for unsafe URLs."""
        with self.fetcher() as fetcher:
            found = detect(fetcher, url.strip(), kind)
        return Registry(self.store).add(url.strip(), found.kind, (name or "").strip() or found.name, found.endpoint)

    def remove_source(self, source_id: int, *, keep_articles: bool = False) -> int:
        """Forget a source; returns how many of its articles were deleted."""
        removed = Registry(self.store).remove(source_id, keep_articles=keep_articles)
        if removed:
            self.reindex()
        return removed

    def sync(
        self, source_id: int | None = None, *, index: bool = True, options: SyncOptions | None = None
    ) -> SyncReport:
        """Sync every live source (or one), then index what changed; one sync at a time."""
        if not self._sync_lock.acquire(blocking=False):
            raise SyncBusy("A sync of the live sources is already running.")
        try:
            options = options or SyncOptions(ingest=self._ingest_options())
            with self.fetcher() as fetcher:
                reports = Syncer(self.store, fetcher, options).sync([source_id] if source_id is not None else None)
            changed = any(r.changed for r in reports)
            indexed = self.reindex() if index and changed else None
            if changed and indexed is None:
                self._forget_retriever()
            return SyncReport(sources=reports, indexed=indexed)
        finally:
            self._sync_lock.release()

    # -- what readers asked (the bot records; the CLI lists) -----------------------------------
    def record_answer(self, answer: Answer, *, guild_id: int | None, asker_id: int, history: Sequence[str] = ()) -> int:
        """Keep an answer the bot gave (its buttons work after a restart) and log its question; returns its id."""
        answer_id = self.readers.record_answer(answer, guild_id=guild_id, asker_id=asker_id, history=history)
        self.readers.prune_if_due()
        return answer_id

    def keep_waiting(self, question: WaitingQuestion) -> int:
        """Keep a deferred question until it is answered (``release_waiting``), so a crash does not lose it."""
        return self.pending.keep(question)

    def release_waiting(self, question_id: int) -> None:
        self.pending.release(question_id)

    def resumable(self, max_age_seconds: float) -> Resumable:
        """The kept questions deferred less than ``max_age_seconds`` ago, oldest first (older ones are deleted)."""
        return self.pending.resumable(timedelta(seconds=max_age_seconds))

    def answered(self, answer_id: int, *, member_id: int) -> AnswerRecord | None:
        return self.readers.answer(answer_id, member_id=member_id)

    def record_vote(self, answer_id: int, member_id: int, vote: int) -> bool:
        """Count a member's 👍 (1) or 👎 (-1) once per answer; False when they already voted on it."""
        return self.readers.record_vote(answer_id, member_id, vote)

    def record_reason(self, answer_id: int, member_id: int, reason: str) -> None:
        self.readers.record_reason(answer_id, member_id, reason)

    def open_thread(self, thread_id: int, answer_id: int, *, guild_id: int | None, turns: Sequence[str]) -> bool:
        return self.readers.open_thread(thread_id, answer_id, guild_id=guild_id, turns=turns)

    def thread_of_answer(self, answer_id: int) -> int | None:
        return self.readers.thread_of_answer(answer_id)

    def conversation(self, thread_id: int) -> Conversation | None:
        return self.readers.conversation(thread_id)

    def add_turn(self, thread_id: int, question: str) -> None:
        self.readers.add_turn(thread_id, question)

    def votes(self, since: str | None = None) -> list[Vote]:
        return self.readers.votes(checked_since(since))

    def unanswered(self, since: str | None = None) -> list[LoggedQuestion]:
        return self.readers.unanswered(since)

    def gaps(self, since: str | None = None, *, guild_id: int | None = None, nearest: int = 3) -> list[Gap]:
        """The questions the archive abstained on or that got 👎 (since ``since``, an ISO date; in one server if
        given), grouped by topic, each group with the ``nearest`` articles to its central question."""
        logged = self.readers.unanswered(checked_since(since), guild_id=guild_id)
        if not logged:
            return []
        vectors = self.embedder.encode_passages([q.question for q in logged])
        found = []
        for gap in gaps_from(logged, vectors):
            hits = self._search(gap.label, filters=None, k=nearest) if nearest else []
            articles = {h.article_id: NearArticle(h.article_id, h.title, h.url) for h in hits}
            found.append(replace(gap, nearest=tuple(articles.values())))
        return found

    def feedback_digest(self, every_days: float) -> Digest | None:
        """The top gaps and 👎 reasons since the previous digest, when one is due (every ``every_days``)."""
        since = self.readers.digest_due(every_days)
        if since is None:
            return None
        votes = self.readers.votes(since)
        reasons = Counter(v.reason or "no reason given" for v in votes if v.vote < 0)
        return Digest(since=since, gaps=tuple(self.gaps(since)[:DIGEST_GAPS]), reasons=tuple(reasons.most_common()))

    def reindex(self, *, full: bool = False, progress: Callable[[str, int, int], None] | None = None) -> IndexReport:
        """Embed what is new, write the next index generation and save its BM25 index; searches use it next.

        A re-index that changed nothing (the same generation) whose BM25 file is saved leaves searches as they are
        instead of loading every chunk again: at a million passages that load is most of a no-op's time and memory.
        """
        before = self.indexer.newest_generation()
        report = self.indexer.reindex(self.embedder, full=full, progress=progress)
        with self._load_lock:
            unchanged = (
                report.generation == before
                and self.indexer.fetch_shared(self.indexer.lexical_file(report.generation))
                and self.indexer.fetch_shared(self.indexer.table_file(report.generation))
                and self._table_saved(report.generation)
            )
            if unchanged and (self._retriever is None or self._generation == report.generation):
                self.indexer.remove_stale_search_files()
            else:
                self._refresh(save=True)
        return report


def _generation_member(
    vector_index: VectorIndex | DatabaseVectors, embedded: Callable[[], set[str]]
) -> Callable[[Sequence[ChunkRecord]], list[bool]]:
    """Whether each chunk of a batch is in the generation: its id is a live row that embeds its current text.

    A generation written before rows kept their text hashes says only which ids it holds; then the text must be one
    with a stored vector (``embedded``: a re-used id may hold new text)."""
    if vector_index.hashes is not None:
        return lambda chunks: vector_index.holds(
            np.array([c.chunk_id for c in chunks], np.int64), hash_rows([text_hash(passage_text(c)) for c in chunks])
        ).tolist()
    ids, known = set(vector_index.ids.tolist()), embedded()
    return lambda chunks: [c.chunk_id in ids and text_hash(passage_text(c)) in known for c in chunks]


def _now() -> datetime:
    return datetime.now(UTC)


def _with_summary(answer: Answer, summary: str) -> Answer:
    return replace(answer, summary=summary)
