"""Frozen values that cross the engine's layer boundaries.

Nothing here knows about SQLite, FAISS or Discord: sources produce ``ArticleDraft``,
the store turns it into ``Article``, chunking yields ``ChunkSpan``, the store hands retrieval
``ChunkRecord`` rows, retrieval returns
``Hit`` and the answer layer builds ``Quote`` and ``Answer``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ArticleDraft:
    """An article as read from a source, before it is stored."""

    title: str
    body: str
    origin: str
    url: str | None = None
    author: str | None = None
    published_at: str | None = None  # ISO 8601, timezone-aware when the source says so
    category: str | None = None
    tags: tuple[str, ...] = ()
    source: str | None = None
    encoding_note: str | None = None  # e.g. "decoded as cp1252" when strict UTF-8 failed


@dataclass(frozen=True)
class Article:
    """An article as stored in the archive."""

    id: str
    title: str
    body: str
    origin: str
    content_hash: str
    first_seen: str
    updated_at: str
    url: str | None = None
    author: str | None = None
    published_at: str | None = None
    category: str | None = None
    tags: tuple[str, ...] = ()
    source: str | None = None


@dataclass(frozen=True)
class ChunkSpan:
    """A window of an article body: ``body[start:end] == text``."""

    ordinal: int
    start: int
    end: int
    text: str
    token_count: int


@dataclass(frozen=True)
class ChunkRecord:
    """One stored chunk with its article's metadata, as the store hands it to retrieval."""

    chunk_id: int
    article_id: str
    ordinal: int
    start: int
    end: int
    text: str
    title: str
    source: str | None
    author: str | None
    category: str | None
    published_at: str | None
    url: str | None


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk with its article's metadata and a score (higher is better)."""

    chunk_id: int
    article_id: str
    title: str
    url: str | None
    source: str | None
    author: str | None
    category: str | None
    published_at: str | None
    text: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class Quote:
    """A verbatim excerpt: ``article.body[start:end] == text``."""

    text: str
    article_id: str
    start: int
    end: int
    title: str
    url: str | None
    source: str | None
    author: str | None
    published_at: str | None
    link: str | None
    score: float


@dataclass(frozen=True)
class RelatedArticle:
    """A nearby article offered when the archive cannot answer."""

    article_id: str
    title: str
    url: str | None
    source: str | None
    published_at: str | None
    score: float


@dataclass(frozen=True)
class Answer:
    question: str  # as asked
    abstained: bool
    quotes: tuple[Quote, ...] = ()
    related: tuple[RelatedArticle, ...] = ()
    as_of: str | None = None
    notes: tuple[str, ...] = field(default=())
    summary: str | None = None
    query: str | None = None  # what was searched: a follow-up completed from the conversation (None: the question)
    filters: Filters | None = None  # the filters it was asked with
    # An abstention on a topic the archive covers: its articles are on the subject but none says what was asked.
    partial: bool = False
    topic: str | None = None  # then, the headline of the nearest article on it

    @property
    def search_query(self) -> str:
        """The self-contained query behind the answer, to search for more of the same."""
        return self.query or self.question


@dataclass(frozen=True)
class Filters:
    """Restrictions a user can put on search, ask and recent. Dates are ISO 8601 (date or datetime)."""

    after: str | None = None
    before: str | None = None
    source: str | None = None
    category: str | None = None
    author: str | None = None


@dataclass(frozen=True)
class FileProblem:
    """Why one input (a file, or one record inside it) was skipped or failed."""

    origin: str
    reason: str


@dataclass(frozen=True)
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    pruned: int = 0
    skipped: tuple[FileProblem, ...] = ()
    failed: tuple[FileProblem, ...] = ()
    notes: tuple[FileProblem, ...] = ()  # e.g. "decoded as cp1252"


@dataclass(frozen=True)
class IndexReport:
    embedded: int  # passages (chunks)
    sentences_embedded: int
    removed: int
    total_vectors: int
    generation: int
    seconds: float


@dataclass(frozen=True)
class ArchiveStats:
    articles: int
    chunks: int
    vectors: int
    sources: int
    categories: int
    newest_published_at: str | None
    last_ingested_at: str | None
    last_indexed_at: str | None
    index_generation: int | None
    model_name: str
