"""Hybrid retrieval: BM25 and dense search fused by score, steered by what the question says about its articles.

For a question the retriever

1. reads the outlets, authors, sections, dates and recency wishes it names (``index.question.Question``, built
   once per question by the engine, or here from plain text);
2. scores every chunk with BM25 over "title + chunk text", scaled so the best chunk scores 1;
3. adds metadata preferences: chunks of a named outlet, author or section, or published on a named
   date, gain a fixed bonus; "latest" favours the newest articles;
4. takes the best lexical candidates and the dense (MiniLM cosine) nearest neighbours, scores each
   candidate with both signals and fuses them as ``w * lexical + (1 - w) * cosine + bonuses``;
5. keeps the result diverse (at most ``per_article`` chunks of one article) and, when the question
   names several outlets or dates, moves the best chunk of each up together, so a question comparing
   two reports sees both near the top.

Hard ``Filters`` (date range, source, category, author) restrict every step. Nothing here touches
SQLite: the caller passes ``ChunkRecord`` rows, a ``VectorIndex`` keyed by chunk id and the embedder, and a way to
read back the records of the chunks a search returns (the retriever keeps only a ``ChunkTable`` of them).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

import numpy as np

from index.models import ChunkRecord, Filters, Hit
from index.question import Question, freshness
from index.retrieval.chunk_table import ChunkTable, Fetch, fetch_from
from index.retrieval.lexical import (
    DocumentKeys,
    KeyReader,
    LexicalIndex,
    LexicalIndexUnusable,
    TokenizedDocuments,
    text_hash64,
    tokenize,
)
from index.retrieval.query import Catalog, QueryIntent

logger = logging.getLogger(__name__)

_NO_DAY = -1


@dataclass(frozen=True)
class RetrievalSettings:
    """Tuning of the fusion; the defaults are the values measured best on MultiHop-RAG (see docs/benchmarks.md)."""

    lexical_weight: float = 0.7  # w in w * lexical + (1 - w) * cosine
    use_dense: bool = True
    use_lexical: bool = True
    use_metadata: bool = True
    title_in_lexical: bool = True  # BM25 indexes "title + chunk" rather than the chunk alone
    source_bonus: float = 0.3
    date_bonus: float = 0.3
    author_bonus: float = 0.3
    category_bonus: float = 0.1
    recency_bonus: float = 0.2
    recency_half_life_days: float = 30.0
    date_slack_days: int = 1  # publication times are UTC; a question's day may be the reader's
    candidates: int = 100  # taken from each of lexical and dense search
    per_article: int = 4
    balance_sources: bool = True  # several outlets named: each one's best chunk before any one's second
    balance_dates: bool = True  # the same for several publication dates named


class QueryEmbedder(Protocol):
    def encode_query(self, text: str) -> np.ndarray: ...


class VectorSearch(Protocol):
    def search(self, query: np.ndarray, k: int, *, allowed: np.ndarray | None = None) -> list[tuple[int, float]]: ...


def passage_text(record: ChunkRecord) -> str:
    """The text embedded for a chunk."""
    return record.text


def lexical_text(record: ChunkRecord) -> str:
    """The text BM25 indexes for a chunk: its article's title, then the chunk."""
    return f"{record.title}\n{record.text}"


class HybridRetriever:
    """Searches a fixed set of chunks; build a new one when the archive changes."""

    def __init__(
        self,
        chunks: ChunkTable,
        lexical: LexicalIndex,
        vector_index: VectorSearch | None,
        embedder: QueryEmbedder | None,
        settings: RetrievalSettings,
        fetch: Fetch,
        lexical_key: str,
    ) -> None:
        """Use ``open`` (or ``build``, ``reopen``); ``lexical_key`` is the ``documents_key`` of ``lexical``."""
        self._chunks = chunks
        self.lexical_key = lexical_key
        self._fetch = fetch
        self._lexical = lexical
        self._vectors = vector_index
        self._embedder = embedder
        self.settings = settings
        self._chunk_ids = chunks.chunk_ids
        self._article = chunks.article
        self._sources = _Codes(chunks.sources)
        self._authors = _Codes(chunks.authors)
        self._categories = _Codes(chunks.categories)
        self._art_day = np.array([_day_number(day) for day in chunks.published], dtype=np.int64)
        self.catalog = Catalog(self._sources.names, self._authors.names, self._categories.names)

    @classmethod
    def build(
        cls,
        records: Sequence[ChunkRecord],
        vector_index: VectorSearch | None,
        embedder: QueryEmbedder | None,
        *,
        settings: RetrievalSettings | None = None,
        lexical_file: Path | None = None,
        previous_lexical_file: Path | None = None,
        save: bool = False,
        fetch: Fetch | None = None,
    ) -> HybridRetriever:
        """``open`` over records held in memory (read back from them unless ``fetch`` is given)."""
        return cls.open(
            lambda: records,
            vector_index,
            embedder,
            settings=settings,
            lexical_file=lexical_file,
            previous_lexical_file=previous_lexical_file,
            save=save,
            fetch=fetch or fetch_from(records),
        )

    @classmethod
    def open(
        cls,
        source: Callable[[], Iterable[ChunkRecord]],
        vector_index: VectorSearch | None,
        embedder: QueryEmbedder | None,
        *,
        fetch: Fetch,
        settings: RetrievalSettings | None = None,
        lexical_file: Path | None = None,
        previous_lexical_file: Path | None = None,
        save: bool = False,
    ) -> HybridRetriever:
        """A retriever over the chunks ``source()`` yields; dense search uses ``vector_index`` (keyed by chunk id) and
        ``embedder``, and the chunks it returns are read back with ``fetch``.

        One pass over ``source()`` makes the ``ChunkTable`` and the BM25 keys without holding a chunk's text. With
        ``lexical_file``, the BM25 index saved there is then opened memory-mapped when it was built from exactly
        these chunks. Otherwise it is updated from the index saved at ``previous_lexical_file`` (an older
        generation's), reading back only the texts of new or changed chunks, or, failing that, built from a second
        pass that holds every text; and saved if ``save``.
        """
        settings = settings or RetrievalSettings()
        started = time.perf_counter()
        text_of = lexical_text if settings.title_in_lexical else passage_text
        reader = KeyReader()
        chunks = ChunkTable.of(_read_keys(source(), reader, text_of))
        key, keys = reader.key(), reader.keys()
        if lexical_file is not None:
            try:
                lexical = LexicalIndex.load(lexical_file, key=key)
                logger.info("BM25 index over %d chunks opened in %.2fs", len(chunks), time.perf_counter() - started)
                return cls(chunks, lexical, vector_index, embedder, settings, fetch, key)
            except LexicalIndexUnusable as exc:
                (logger.warning if lexical_file.exists() else logger.info)("not opening the BM25 index: %s", exc)
        lexical = None
        if previous_lexical_file is not None:
            lexical = _updated(previous_lexical_file, _StoredTexts(keys, fetch, text_of), keys)
        how = f"updated from {previous_lexical_file.name}" if lexical is not None else "built"
        if lexical is None:  # one more read, tokenizing each chunk as it comes: the table, keys and texts agree
            reader, tokenized = KeyReader(), TokenizedDocuments()
            chunks = ChunkTable.of(_read_keys(source(), reader, text_of, tokenized.add))
            key, keys = reader.key(), reader.keys()
            lexical = tokenized.index(keys)
        logger.info("BM25 index over %d chunks %s in %.2fs", len(chunks), how, time.perf_counter() - started)
        if lexical_file is not None and save:
            try:
                lexical.save(lexical_file, key=key)
            except OSError as exc:
                logger.warning("could not save the BM25 index to %s: %s", lexical_file, exc)
        return cls(chunks, lexical, vector_index, embedder, settings, fetch, key)

    @classmethod
    def reopen(
        cls,
        chunks: ChunkTable,
        lexical_key: str,
        lexical_file: Path,
        vector_index: VectorSearch | None,
        embedder: QueryEmbedder | None,
        *,
        fetch: Fetch,
        settings: RetrievalSettings | None = None,
    ) -> HybridRetriever:
        """The retriever an earlier ``open`` made, from its saved ``table`` and ``lexical_key`` and the BM25 index it
        saved at ``lexical_file``, reading no chunk; ``LexicalIndexUnusable`` when that file is not the one."""
        lexical = LexicalIndex.load(lexical_file, key=lexical_key)
        if len(lexical) != len(chunks) or not np.array_equal(lexical.keys.ids, chunks.chunk_ids):
            raise LexicalIndexUnusable(f"The BM25 index file {lexical_file} numbers other chunks than the table.")
        return cls(chunks, lexical, vector_index, embedder, settings or RetrievalSettings(), fetch, lexical_key)

    @property
    def table(self) -> ChunkTable:
        """What the retriever holds of every chunk it searches (see ``reopen``)."""
        return self._chunks

    def __len__(self) -> int:
        return len(self._chunks)

    @property
    def articles(self) -> int:
        """How many articles the chunks searched belong to."""
        return len(self._chunks.article_ids)

    def search(
        self,
        query: str,
        *,
        k: int = 10,
        filters: Filters | None = None,
        diverse: bool = True,
        now: datetime | None = None,
    ) -> list[Hit]:
        """The ``k`` best chunks for ``query`` within ``filters``, best first; relative dates ("last week") are
        read against ``now``."""
        return self.find(Question.parse(query, filters=filters, catalog=self.catalog, now=now), k=k, diverse=diverse)

    def find(self, question: Question, *, k: int = 10, diverse: bool = True) -> list[Hit]:
        """The ``k`` best chunks for an analysed question (its ``query`` within its ``filters``), best first."""
        query = question.query
        if k < 1 or not len(self._chunks) or not query.strip():
            return []
        s = self.settings
        allowed = self._allowed(question.filters)
        if allowed is not None and not allowed.any():
            return []
        intent = question.intent
        bonus = self._bonuses(intent, allowed) if s.use_metadata else np.zeros(len(self._chunks), np.float32)

        lexical = self._lexical_scores(intent.text, allowed) if s.use_lexical else np.zeros(len(self._chunks), "f4")
        prior = lexical * s.lexical_weight + bonus if s.use_dense else lexical + bonus
        if allowed is not None:
            prior = np.where(allowed, prior, -np.inf)
        pool = max(s.candidates, k * 3)
        candidates = _top(prior, pool)
        candidates = candidates[np.isfinite(prior[candidates])]

        if s.use_dense and self._vectors is not None and self._embedder is not None:
            cosine = self._dense(query, candidates, allowed, pool)
            positions = np.fromiter(cosine, dtype=np.int64, count=len(cosine))
            dense = np.fromiter(cosine.values(), dtype=np.float32, count=len(cosine))
            lex_weight = s.lexical_weight if s.use_lexical else 0.0
            scores = lex_weight * lexical[positions] + (1 - lex_weight) * dense + bonus[positions]
        else:
            positions = candidates
            scores = prior[positions]

        order = np.argsort(-scores, kind="stable")
        ranked = [(int(positions[i]), float(scores[i])) for i in order]
        if diverse:
            ranked = self._diversify(ranked, intent)
        return self._hits(ranked[:k])

    # -- scoring -------------------------------------------------------------------------------------

    def _lexical_scores(self, text: str, allowed: np.ndarray | None) -> np.ndarray:
        """BM25 scores scaled so that the best allowed chunk scores 1."""
        scores = self._lexical.scores_for_tokens(tokenize(text))
        top = float(scores[allowed].max() if allowed is not None else scores.max())
        return scores / top if top > 0 else scores

    def _dense(self, query: str, lexical: np.ndarray, allowed: np.ndarray | None, pool: int) -> dict[int, float]:
        """Cosine of the query with the lexical candidates and with its own nearest neighbours, by position."""
        vector = self._embedder.encode_query(query)
        allowed_ids = self._chunk_ids[allowed] if allowed is not None else None
        found = self._vectors.search(vector, pool, allowed=allowed_ids)
        if lexical.size:
            found += self._vectors.search(vector, int(lexical.size), allowed=self._chunk_ids[lexical])
        cosine: dict[int, float] = {}
        positions = self._chunks.positions([chunk_id for chunk_id, _ in found])
        for position, (_, score) in zip(positions.tolist(), found, strict=True):
            if position >= 0:
                cosine[position] = score
        for position in lexical:
            cosine.setdefault(int(position), 0.0)
        return cosine

    def _bonuses(self, intent: QueryIntent, allowed: np.ndarray | None) -> np.ndarray:
        s = self.settings
        per_article = np.zeros(self._art_day.size, dtype=np.float32)
        if intent.sources:
            per_article += s.source_bonus * self._sources.mask(lambda name: name in intent.sources)
        if intent.authors:
            per_article += s.author_bonus * self._authors.mask(lambda name: name in intent.authors)
        if intent.categories:
            wanted = {c.lower() for c in intent.categories}
            per_article += s.category_bonus * self._categories.mask(lambda name: name in wanted)
        if intent.dates:
            per_article += s.date_bonus * self._in_dates(intent)
        if intent.prefers_recent:
            per_article += s.recency_bonus * self._freshness(allowed)
        return per_article[self._article]

    def _in_dates(self, intent: QueryIntent) -> np.ndarray:
        days = self._art_day
        hit = np.zeros(days.shape, dtype=bool)
        slack = self.settings.date_slack_days
        for rng in intent.dates:
            hit |= (days >= rng.first.toordinal() - slack) & (days <= rng.last.toordinal() + slack)
        return hit & (days != _NO_DAY)

    def _freshness(self, allowed: np.ndarray | None) -> np.ndarray:
        """1 for the newest article (among those allowed), halving every ``recency_half_life_days`` before it."""
        days = self._art_day
        known = days != _NO_DAY
        if allowed is not None:
            known &= np.bincount(self._article[allowed], minlength=days.size) > 0
        if not known.any():
            return np.zeros(days.shape, dtype=np.float32)
        newest = days[known].max()
        fresh = freshness(newest - days, self.settings.recency_half_life_days)
        return np.where(known, fresh, 0.0).astype(np.float32)

    # -- filters and diversity ----------------------------------------------------------------------

    def _allowed(self, filters: Filters | None) -> np.ndarray | None:
        """Chunk mask of ``filters`` (None when nothing is filtered)."""
        if filters is None or not any(
            (filters.after, filters.before, filters.source, filters.category, filters.author)
        ):
            return None
        ok = np.ones(self._art_day.size, dtype=bool)
        if filters.source:
            wanted = self.catalog.sources_named(filters.source)
            ok &= self._sources.mask(lambda name: name in wanted)
        if filters.category:
            category = filters.category.strip().lower()
            ok &= self._categories.mask(lambda name: name == category)
        if filters.author:
            needle = filters.author.strip().lower()
            ok &= self._authors.mask(lambda name: needle in name.lower())
        if filters.after or filters.before:
            days = self._art_day
            ok &= days != _NO_DAY
            if filters.after:
                ok &= days >= _filter_day(filters.after)
            if filters.before:
                ok &= days < _filter_day(filters.before)
        return ok[self._article]

    def _diversify(self, ranked: list[tuple[int, float]], intent: QueryIntent) -> list[tuple[int, float]]:
        """At most ``per_article`` chunks per article; when the question names several outlets or dates,
        the best chunk of each comes before the second-best of any."""
        cap = self.settings.per_article
        taken: dict[int, int] = {}
        kept: list[tuple[int, float]] = []
        for position, score in ranked:
            article = int(self._article[position])
            if taken.get(article, 0) < cap:
                taken[article] = taken.get(article, 0) + 1
                kept.append((position, score))
        targets = self._targets(intent) if self.settings.balance_sources else []
        return _lead_with(kept, targets, self._article) if len(targets) > 1 else kept

    def _targets(self, intent: QueryIntent) -> list[np.ndarray]:
        """One per-article mask for each outlet and each date the question names."""
        targets = [self._sources.mask(lambda name, names=names: name in names) for names in intent.source_mentions]
        if self.settings.balance_dates:
            slack = self.settings.date_slack_days
            days = self._art_day
            for rng in dict.fromkeys(intent.dates):
                targets.append((days >= rng.first.toordinal() - slack) & (days <= rng.last.toordinal() + slack))
        return targets

    def _hits(self, ranked: list[tuple[int, float]]) -> list[Hit]:
        """The ranked positions as hits, their records read now; a chunk deleted or rewritten since is left out."""
        records = {r.chunk_id: r for r in self._fetch([int(self._chunk_ids[p]) for p, _ in ranked])}
        hits = []
        for position, score in ranked:
            r = records.get(int(self._chunk_ids[position]))
            if r is None or not self._chunks.holds(position, r):
                continue
            hits.append(
                Hit(
                    chunk_id=r.chunk_id,
                    article_id=r.article_id,
                    title=r.title,
                    url=r.url,
                    source=r.source,
                    author=r.author,
                    category=r.category,
                    published_at=r.published_at,
                    text=r.text,
                    start=r.start,
                    end=r.end,
                    score=score,
                )
            )
        return hits


def _lead_with(
    ranked: list[tuple[int, float]], targets: Sequence[np.ndarray], article_of: np.ndarray
) -> list[tuple[int, float]]:
    """Move the best-ranked chunk of each target (a per-article mask) up to just after the first of them."""
    leaders = sorted(
        {next((i for i, (p, _) in enumerate(ranked) if target[article_of[p]]), -1) for target in targets} - {-1}
    )
    if not leaders:
        return ranked
    chosen = set(leaders)
    first = leaders[0]
    rest = [item for i, item in enumerate(ranked) if i >= first and i not in chosen]
    return ranked[:first] + [ranked[i] for i in leaders] + rest


class _Codes:
    """One string per article, stored as small integer codes so per-query masks are vectorised."""

    def __init__(self, values: Sequence[str]) -> None:
        self.names = sorted(set(values))
        lookup = {name: i for i, name in enumerate(self.names)}
        self._codes = np.array([lookup[v] for v in values], dtype=np.int64)

    def mask(self, wanted: Callable[[str], bool]) -> np.ndarray:
        """Boolean per article: does its value satisfy ``wanted``?"""
        table = np.array([wanted(name) for name in self.names], dtype=bool)
        return table[self._codes] if self._codes.size else np.zeros(0, dtype=bool)

    def name_of(self, article: int) -> str:
        return self.names[self._codes[article]]


def _read_keys(
    records: Iterable[ChunkRecord],
    reader: KeyReader,
    text_of: Callable[[ChunkRecord], str],
    also: Callable[[str], None] | None = None,
) -> Iterator[ChunkRecord]:
    """``records`` as they come, each one's BM25 text read into ``reader`` (and given to ``also``) on the way."""
    for record in records:
        text = text_of(record)
        reader.add(record.chunk_id, text)
        if also is not None:
            also(text)
        yield record


class _ChangedMeanwhile(Exception):
    """A chunk's text is not the one the first pass read: an ingest changed it since."""


class _StoredTexts(Sequence[str]):
    """The BM25 texts of the documents ``keys`` names, read back one at a time when asked for, and checked."""

    def __init__(self, keys: DocumentKeys, fetch: Fetch, text_of: Callable[[ChunkRecord], str]) -> None:
        self._keys, self._fetch, self._text_of = keys, fetch, text_of

    def __len__(self) -> int:
        return len(self._keys)

    def __getitem__(self, position):  # type: ignore[override] - read one position at a time
        found = list(self._fetch([int(self._keys.ids[position])]))
        text = self._text_of(found[0]) if found else None
        if text is None or np.frombuffer(text_hash64(text), "<u8")[0] != self._keys.hashes[position]:
            raise _ChangedMeanwhile
        return text


def _updated(previous_file: Path, texts: Sequence[str], keys: DocumentKeys) -> LexicalIndex | None:
    """The BM25 index of ``texts`` updated from the one saved at ``previous_file``; None when that is unusable or
    a text changed while it was read."""
    try:
        previous = LexicalIndex.load(previous_file)
    except LexicalIndexUnusable as exc:
        (logger.warning if previous_file.exists() else logger.info)("not updating the BM25 index: %s", exc)
        return None
    try:
        return previous.updated(texts, keys)
    except _ChangedMeanwhile:
        logger.info("the archive changed while the BM25 index was updated; building it instead")
        return None


def _top(scores: np.ndarray, n: int) -> np.ndarray:
    """Positions of the ``n`` highest scores, best first."""
    if scores.size <= n:
        return np.argsort(-scores, kind="stable")
    part = np.argpartition(-scores, n)[:n]
    return part[np.argsort(-scores[part], kind="stable")]


def _day_number(published_at: str | None) -> int:
    if not published_at:
        return _NO_DAY
    try:
        return date.fromisoformat(published_at.strip()[:10]).toordinal()
    except ValueError:
        return _NO_DAY


def _filter_day(value: str) -> int:
    try:
        return date.fromisoformat(value.strip()[:10]).toordinal()
    except ValueError:
        raise ValueError(f"{value!r} is not a date in the form YYYY-MM-DD.") from None
