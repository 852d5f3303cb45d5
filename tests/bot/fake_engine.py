"""A small in-memory stand-in for ``index.engine.Engine`` with exactly the facade's methods.

It returns the real dataclasses from ``index/models.py``; quotes are verbatim sentences of the stored
bodies (``body[start:end] == text``). ``reindex`` burns CPU in its thread, like embedding does.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from index.errors import IndexBusy, SourceError
from index.models import (
    Answer,
    ArchiveStats,
    Article,
    Filters,
    Hit,
    IndexReport,
    IngestReport,
    Quote,
    RelatedArticle,
)

_WORD = re.compile(r"[a-z0-9]+")
_SENTENCE = re.compile(r"[^.!?]+[.!?]")
_STOP = {
    "the",
    "a",
    "an",
    "is",
    "are",
    "was",
    "why",
    "what",
    "who",
    "how",
    "did",
    "do",
    "of",
    "in",
    "on",
    "to",
    "and",
    "those",
    "that",
    "for",
    "about",
    "with",
    "say",
    "said",
    "does",
}


def terms(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1}


def make_article(n: int, title: str, body: str, **meta: str | None) -> Article:
    return Article(
        id=f"a{n:03d}",
        title=title,
        body=body,
        origin="fake",
        content_hash=f"h{n}",
        first_seen="2024-01-01T00:00:00+00:00",
        updated_at="2024-01-01T00:00:00+00:00",
        **meta,
    )


def sample_articles() -> list[Article]:
    return [
        make_article(
            1,
            "GM recalls Cadillac Escalades over faulty airbags",
            "General Motors is recalling 12,000 Cadillac Escalades. The recall covers airbags that may not deploy "
            "in a crash. Owners will be notified by mail. Dealers will replace the airbag module for free. "
            "GM said no injuries have been reported. The Cadillac recall follows a federal investigation.",
            url="https://news.example/gm-recall",
            source="Auto Daily",
            author="Jane Doe",
            published_at="2023-11-12T08:00:00+00:00",
            category="business",
        ),
        make_article(
            2,
            "Germany responds to the energy summit",
            "Germany said it would cut gas imports by half. The German chancellor called the summit a turning point. "
            "Energy prices in Germany fell after the announcement.",
            url="https://news.example/germany-energy",
            source="Euro Wire",
            author=None,
            published_at="2023-10-02T10:00:00+00:00",
            category="politics",
        ),
        make_article(
            3,
            "Local team wins the football cup",
            "The local football team won the cup on Saturday. Fans celebrated the cup win in the city centre.",
            url="https://news.example/cup",
            source="Sport Now",
            author="Sam Lee",
            published_at="2023-09-01T18:00:00+00:00",
            category="sport",
        ),
        make_article(
            4,
            "Pranksters @everyone <@&1234> ping test",
            "The hacker wrote @everyone and <@&1234> and <@1234> in the post about the ping prank. "
            "Then the ping prank mentioned <#1234> and @here as well.",
            url="https://news.example/ping-prank",
            source="Ping Post",
            author="<@1234>",
            published_at="2023-08-01T12:00:00+00:00",
            category="tech",
        ),
    ]


class FakeEngine:
    def __init__(
        self,
        articles: Sequence[Article] | None = None,
        *,
        ask_delay: float = 0.0,
        reindex_seconds: float = 0.3,
        quotes_per_answer: int = 5,
    ):
        self.articles = list(sample_articles() if articles is None else articles)
        self.ask_delay = ask_delay
        self.reindex_seconds = reindex_seconds
        self.quotes_per_answer = quotes_per_answer
        self.calls: list[tuple[str, tuple, dict]] = []
        self.ingested: list[tuple[str, bytes]] = []
        self._reindexing = threading.Lock()
        self._generation = 1
        self._lock = threading.Lock()

    def _record(self, name: str, *args: object, **kwargs: object) -> None:
        with self._lock:
            self.calls.append((name, args, kwargs))

    def calls_to(self, name: str) -> list[tuple[tuple, dict]]:
        return [(a, k) for n, a, k in self.calls if n == name]

    def _matching(self, filters: Filters | None) -> list[Article]:
        out = []
        for a in self.articles:
            if filters is not None:
                if filters.source and a.source != filters.source:
                    continue
                if filters.category and a.category != filters.category:
                    continue
                if filters.after and (a.published_at or "") < filters.after:
                    continue
                if filters.before and (a.published_at or "9999")[:10] > filters.before[:10]:
                    continue
            out.append(a)
        return out

    def _scored_sentences(self, query: str, filters: Filters | None) -> list[tuple[float, Article, int, int, str]]:
        wanted = terms(query)
        found = []
        for article in self._matching(filters):
            for match in _SENTENCE.finditer(article.body):
                start = match.start() + (len(match.group()) - len(match.group().lstrip()))
                text = article.body[start : match.end()]
                score = len(wanted & terms(text)) + 0.5 * len(wanted & terms(article.title))
                if wanted & terms(text):
                    found.append((score, article, start, match.end(), text))
        found.sort(key=lambda f: (-f[0], f[1].id, f[2]))
        return found

    # ---------------------------------------------------------------- the facade

    def ask(self, question: str, *, filters: Filters | None = None, history: Sequence[str] = ()) -> Answer:
        self._record("ask", question, filters=filters, history=tuple(history))
        if self.ask_delay:
            time.sleep(self.ask_delay)
        query = " ".join([*history[-1:], question])
        scored = self._scored_sentences(query, filters)[: self.quotes_per_answer]
        if not scored:
            related = tuple(
                RelatedArticle(a.id, a.title, a.url, a.source, a.published_at, 0.1) for a in self.articles[:3]
            )
            return Answer(question=question, abstained=True, related=related)
        quotes = tuple(
            Quote(
                text=text,
                article_id=a.id,
                start=s,
                end=e,
                title=a.title,
                url=a.url,
                source=a.source,
                author=a.author,
                published_at=a.published_at,
                link=f"{a.url}#:~:text={text.split()[0]}" if a.url else None,
                score=score,
            )
            for score, a, s, e, text in scored
        )
        as_of = max((q.published_at for q in quotes if q.published_at), default=None)
        return Answer(question=question, abstained=False, quotes=quotes, as_of=as_of)

    def search(self, query: str, *, filters: Filters | None = None, k: int = 10) -> list[Hit]:
        self._record("search", query, filters=filters, k=k)
        hits = []
        for i, (score, a, s, e, text) in enumerate(self._scored_sentences(query, filters)[:k]):
            hits.append(Hit(i, a.id, a.title, a.url, a.source, a.author, a.category, a.published_at, text, s, e, score))
        return hits

    def recent(self, n: int = 10, *, category: str | None = None, source: str | None = None) -> list[Article]:
        self._record("recent", n, category=category, source=source)
        found = self._matching(Filters(category=category, source=source))
        return sorted(found, key=lambda a: a.published_at or "", reverse=True)[:n]

    def find_article(self, query_or_url: str) -> Article | None:
        self._record("find_article", query_or_url)
        q = query_or_url.strip().casefold()
        for a in self.articles:
            if (a.url and a.url.casefold() == q) or q in a.title.casefold():
                return a
        return None

    def stats(self) -> ArchiveStats:
        self._record("stats")
        newest = max((a.published_at for a in self.articles if a.published_at), default=None)
        return ArchiveStats(
            articles=len(self.articles),
            chunks=3 * len(self.articles),
            vectors=3 * len(self.articles),
            sources=len(self.sources()),
            categories=len(self.categories()),
            newest_published_at=newest,
            last_ingested_at="2024-05-01T00:00:00+00:00",
            last_indexed_at="2024-05-02T00:00:00+00:00",
            index_generation=self._generation,
            model_name="fake-minilm",
        )

    def categories(self) -> list[str]:
        return sorted({a.category for a in self.articles if a.category})

    def sources(self) -> list[str]:
        return sorted({a.source for a in self.articles if a.source})

    def ingest(self, paths: Sequence[Path], *, progress: Callable[[int, int], None] | None = None) -> IngestReport:
        self._record("ingest", tuple(paths))
        added = 0
        for path in paths:
            data = Path(path).read_bytes()
            self.ingested.append((Path(path).name, data))
            if path.suffix == ".json":
                records = json.loads(data)
                for r in records:
                    self.articles.append(
                        make_article(
                            len(self.articles) + 1,
                            r["title"],
                            r["body"],
                            source=r.get("source"),
                            category=r.get("category"),
                            published_at=r.get("published_at"),
                            url=r.get("url"),
                        )
                    )
                    added += 1
            elif path.suffix == ".txt":
                title, _, body = data.decode("utf-8").partition("\n")
                self.articles.append(make_article(len(self.articles) + 1, title.strip(), body.strip()))
                added += 1
            else:
                raise SourceError(f"{path.name} is not in a supported format (.json, .txt).")
        return IngestReport(added=added)

    def reindex(self, *, full: bool = False, progress: Callable[[str, int, int], None] | None = None) -> IndexReport:
        self._record("reindex", full=full)
        if not self._reindexing.acquire(blocking=False):
            raise IndexBusy("A re-index is already running; try again when it has finished.")
        try:
            started = time.perf_counter()
            steps = 20
            for step in range(1, steps + 1):
                deadline = time.perf_counter() + self.reindex_seconds / steps
                x = 0
                while time.perf_counter() < deadline:  # pure-Python CPU work, holding the GIL like real code does
                    x += sum(i * i for i in range(2000))
                if progress is not None:
                    progress("embedding", step * 10, steps * 10)
            self._generation += 1
            return IndexReport(
                embedded=steps * 10,
                removed=0,
                total_vectors=3 * len(self.articles),
                generation=self._generation,
                seconds=time.perf_counter() - started,
            )
        finally:
            self._reindexing.release()
