"""The contract between the Discord bot and the engine: exactly the calls the bot makes.

``index.engine.Engine`` satisfies it (``tests/index/test_contract.py`` checks every member's signature), and so
must any stand-in a test puts behind the bot. The bot calls these from worker threads, never on the event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from index.models import Answer, ArchiveStats, Article, Filters, Hit, IndexReport, IngestReport


class ArchiveEngine(Protocol):
    """What ``bot/`` asks of the engine: answers, searches, browsing, statistics, ingestion and re-indexing."""

    def ask(self, question: str, *, filters: Filters | None = None, history: Sequence[str] = ()) -> Answer: ...

    def search(self, query: str, *, filters: Filters | None = None, k: int = 10, diverse: bool = True) -> list[Hit]: ...

    def recent(
        self, n: int | None = 10, *, category: str | None = None, source: str | None = None
    ) -> list[Article]: ...

    def find_article(self, query_or_url: str) -> Article | None: ...

    def categories(self) -> list[str]: ...

    def sources(self) -> list[str]: ...

    def stats(self) -> ArchiveStats: ...

    def ingest(
        self,
        paths: Sequence[Path | str],
        *,
        format: str | None = None,
        prune: bool = False,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> IngestReport: ...

    def reindex(
        self, *, full: bool = False, progress: Callable[[str, int, int], None] | None = None
    ) -> IndexReport: ...
