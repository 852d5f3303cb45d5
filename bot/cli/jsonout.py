"""The stable JSON shapes of ``--json`` output (documented in README.md; scripts and tests rely on them)."""

from __future__ import annotations

from dataclasses import asdict

from index.models import Answer, ArchiveStats, Article, Hit, IndexReport, IngestReport


def article_json(article: Article, *, body: bool = True) -> dict:
    data = {
        "id": article.id,
        "title": article.title,
        "url": article.url,
        "author": article.author,
        "published_at": article.published_at,
        "category": article.category,
        "tags": list(article.tags),
        "source": article.source,
        "origin": article.origin,
        "content_hash": article.content_hash,
        "first_seen": article.first_seen,
        "updated_at": article.updated_at,
    }
    if body:
        data["body"] = article.body
    return data


def hit_json(hit: Hit) -> dict:
    return asdict(hit)


def answer_json(answer: Answer) -> dict:
    return {
        "question": answer.question,
        "abstained": answer.abstained,
        "quotes": [asdict(q) for q in answer.quotes],
        "related": [asdict(r) for r in answer.related],
        "as_of": answer.as_of,
        "notes": list(answer.notes),
        "summary": answer.summary,
    }


def ingest_json(report: IngestReport) -> dict:
    return {
        "added": report.added,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "duplicates": report.duplicates,
        "pruned": report.pruned,
        "skipped": [asdict(p) for p in report.skipped],
        "failed": [asdict(p) for p in report.failed],
        "notes": [asdict(p) for p in report.notes],
    }


def index_json(report: IndexReport) -> dict:
    return asdict(report)


def stats_json(stats: ArchiveStats) -> dict:
    return asdict(stats)
