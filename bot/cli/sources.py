"""`archivist sources add|list|remove` and `archivist sync`: follow publishers' sites and keep the archive current."""

from __future__ import annotations

import json

import click

from bot.cli import jsonout
from bot.cli.commands import Context, cli, user_errors
from index.sources.live.detect import DETECTABLE


def source_json(source) -> dict:
    return {
        "id": source.id,
        "url": source.url,
        "kind": source.kind,
        "name": source.name,
        "endpoint": source.endpoint,
        "added_at": source.added_at,
        "last_sync_at": source.last_sync_at,
        "last_status": source.last_status,
        "retired": source.retired,
        "articles": source.articles,
    }


def sync_json(report) -> dict:
    return {
        "sources": [
            {
                "id": s.id,
                "url": s.url,
                "kind": s.kind,
                "synced": s.synced,
                "added": s.added,
                "updated": s.updated,
                "unchanged": s.unchanged,
                "removed": s.removed,
                "not_modified": s.not_modified,
                "errors": [{"url": e.url, "reason": e.reason} for e in s.errors],
            }
            for s in report.sources
        ],
        "indexed": jsonout.index_json(report.indexed) if report.indexed else None,
    }


def render_source(source) -> str:
    status = "retired" if source.retired else (source.last_status or "never synced")
    synced = source.last_sync_at or "never"
    return (
        f"{source.id:>3}  {source.kind:<9} {source.name} <{source.url}>\n"
        f"     {source.articles} articles; last sync {synced}: {status}"
    )


def render_sync(report) -> str:
    if not report.sources:
        return "No live sources to sync; add one with `archivist sources add URL`."
    lines = []
    for source in report.sources:
        lines.append(f"{source.id:>3}  {source.url}: {source.summary()}")
        lines.extend(f"       {error.url}: {error.reason}" for error in source.errors[1 if not source.synced else 0 :])
    if report.indexed is not None:
        lines.append(f"indexed: generation {report.indexed.generation}, {report.indexed.embedded} passages embedded")
    return "\n".join(lines)


@cli.group()
def sources() -> None:
    """Follow sites: RSS/Atom feeds, WordPress sites (REST API) and sitemaps."""


@sources.command("add")
@click.argument("url")
@click.option("--kind", type=click.Choice(DETECTABLE), default="auto", show_default=True, help="What URL is.")
@click.option("--name", help="The name shown for its articles (default: the site's own name).")
@click.option("--json", "as_json", is_flag=True, help="Print the new source as JSON.")
@click.pass_obj
def sources_add(obj: Context, url: str, kind: str, name: str | None, as_json: bool) -> None:
    """Register URL as a live source; `archivist sync` then fetches it."""
    with user_errors():
        source = obj.writer.add_source(url, kind=kind, name=name)
    if as_json:
        click.echo(json.dumps(source_json(source), ensure_ascii=False))
    else:
        click.echo(f"Added source {source.id}: {source.name} ({source.kind}, {source.endpoint}).")


@sources.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_obj
def sources_list(obj: Context, as_json: bool) -> None:
    """The live sources with their last sync and article count."""
    found = obj.engine.live_sources()
    if not found and not as_json:
        click.echo("No live sources yet; add one with `archivist sources add URL`.")
    for source in found:
        click.echo(json.dumps(source_json(source), ensure_ascii=False) if as_json else render_source(source))


@sources.command("remove")
@click.argument("source_id", type=int)
@click.option("--keep-articles", is_flag=True, help="Keep the articles it gave (default: delete them).")
@click.pass_obj
def sources_remove(obj: Context, source_id: int, keep_articles: bool) -> None:
    """Stop following a source and, unless --keep-articles, delete the articles only it gave."""
    with user_errors():
        deleted = obj.writer.remove_source(source_id, keep_articles=keep_articles)
    click.echo(f"Removed source {source_id}; {deleted} of its articles deleted.")


@cli.command("sync")
@click.option("--source", "source_id", type=int, help="Sync only this source id.")
@click.option("--no-index", is_flag=True, help="Store the changes without indexing them.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def sync_command(obj: Context, source_id: int | None, no_index: bool, as_json: bool) -> None:
    """Fetch every live source, store new and changed articles, remove unpublished ones, then index."""
    with user_errors():
        report = obj.writer.sync(source_id, index=not no_index)
    click.echo(json.dumps(sync_json(report), ensure_ascii=False) if as_json else render_sync(report))
    if report.sources and not report.any_synced:
        raise click.ClickException("No source could be synced.")
