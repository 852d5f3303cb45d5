"""The stable JSON shapes of ``--json`` output (documented in README.md; scripts and tests rely on them)."""

from __future__ import annotations

import json
import re
from dataclasses import asdict

from index.gaps import Gap
from index.models import Answer, ArchiveStats, Article, Hit, IndexReport, IngestReport
from index.store.migrate import MigrationReport
from index.store.readers import Vote

# ``json.dumps`` escapes C0 controls (ESC becomes \u001b) but, with ensure_ascii=False, writes DEL and the C1
# controls raw; a terminal can act on those (U+009B starts a CSI sequence), so they are escaped too.
_RAW_CONTROL = re.compile(r"[\x7f-\x9f]")


def dumps(data: object) -> str:
    """One line of JSON: non-ASCII text readable as itself, every control character escaped."""
    return _RAW_CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(data, ensure_ascii=False))


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
        "partial": answer.partial,
        "topic": answer.topic,
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


def gap_json(gap: Gap) -> dict:
    return {
        "label": gap.label,
        "count": gap.count,
        "abstained": gap.abstained,
        "down_votes": gap.down_votes,
        "questions": list(gap.questions),
        "first_asked": gap.first_asked,
        "last_asked": gap.last_asked,
        "nearest": [asdict(a) for a in gap.nearest],
    }


def vote_json(vote: Vote) -> dict:
    data = asdict(vote)
    data["article_ids"] = list(vote.article_ids)
    return data


def migration_json(report: MigrationReport) -> dict:
    return {
        "target": report.target,
        "chunk_changes": report.chunk_changes,
        "tables": [{"table": t.table, "rows": t.rows, "digest": t.digest} for t in report.tables],
        "files": list(report.files),
    }
