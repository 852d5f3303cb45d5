"""`archivist`: the engine in a terminal. Parses input, calls the engine, formats output.

Every engine error (``ArchivistError``), and every failure of the disk or of SQLite under the archive,
becomes one sentence on stderr and exit code 1; ``--json`` output shapes are stable and documented in
README.md. Only ``ingest``, ``index`` and ``run`` open the archive for writing; every other command opens
it read-only and answers from the last index generation, noting how many articles await indexing.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import psycopg

from bot.cli import jsonout, terminal
from index.engine import Engine
from index.errors import ArchivistError, InvalidInput, system_error
from index.filters import checked_text, parse_filters
from index.indexing.indexer import Indexer
from index.settings import SETTINGS, Settings, settings_markdown
from index.sources import FORMATS
from index.sources.ingest import read_nothing
from index.store import postgres
from index.store.database import DB_FILENAME, Store
from index.store.migrate import migrate

log = logging.getLogger(__name__)


class Context:
    def __init__(self, home: Path | None) -> None:
        self.home = home
        self._engine: Engine | None = None

    @property
    def settings(self) -> Settings:
        return Settings.load(home=self.home)

    @property
    def engine(self) -> Engine:
        """The engine over the archive opened read-only: what every reading command uses."""
        if self._engine is None:
            self._engine = Engine.open(self.settings, read_only=True)
        return self._engine

    @property
    def writer(self) -> Engine:
        """The engine over the archive opened for writing (created and migrated if need be)."""
        if self._engine is None or self._engine.store.read_only:
            self.close()
            self._engine = Engine.open(self.settings)
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the engine's named errors, and disk or database failures, into one clear sentence and exit code 1."""
    try:
        yield
    except ArchivistError as exc:
        raise click.ClickException(str(exc)) from exc
    except (OSError, sqlite3.Error) as exc:
        log.debug("system error", exc_info=True)
        raise click.ClickException(str(system_error(exc))) from exc
    except psycopg.Error as exc:
        log.debug("database error", exc_info=True)
        raise click.ClickException(str(postgres.failed(exc))) from exc


class ArchivistGroup(click.Group):
    """Every command runs inside ``user_errors``, so no engine or disk failure reaches the user as a traceback."""

    def invoke(self, ctx: click.Context):
        with user_errors():
            return super().invoke(ctx)


def note_pending(engine: Engine) -> int:
    """The number of articles awaiting indexing, said in one line on stderr when there are any."""
    pending = engine.pending_articles()
    if pending:
        articles = "1 newer article awaits" if pending == 1 else f"{pending:,} newer articles await"
        click.echo(f"Note: {articles} indexing; run `archivist index` to search them too.", err=True)
    return pending


def read_lines(handle, option: str, what: str) -> list[str]:
    """The non-empty lines of a batch file, every one checked before any is answered; one sentence if one is bad."""
    try:
        text = handle.read()
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{option} {handle.name} is not UTF-8 text (byte {exc.start}).") from None
    lines = []
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            line = checked_text(line, what)
        except InvalidInput as exc:
            raise click.ClickException(f"{option} {handle.name}, line {number}: {exc}") from None
        if line:
            lines.append(line)
    return lines


class ProgressBar:
    """A tqdm bar per phase; silent when stderr is not a terminal."""

    def __init__(self) -> None:
        self._bar = None
        self._phase = None

    def __call__(self, phase: str, done: int, total: int) -> None:
        from tqdm import tqdm

        if phase != self._phase:
            self.close()
            self._phase = phase
            self._bar = tqdm(total=total, desc=phase, unit="", disable=None, leave=False, file=sys.stderr)
        if self._bar is not None:
            self._bar.total = total
            self._bar.n = done
            self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _emit_json(data: object) -> None:
    click.echo(jsonout.dumps(data))


def filter_options(func):
    """The filters shared by search and ask."""
    for option in reversed(
        [
            click.option("--after", metavar="DATE", help="Only articles published on or after this date (YYYY-MM-DD)."),
            click.option("--before", metavar="DATE", help="Only articles published before this date (YYYY-MM-DD)."),
            click.option("--source", help="Only articles from this source (outlet or site name)."),
            click.option("--category", help="Only articles in this category."),
            click.option("--author", help="Only articles by this author."),
        ]
    ):
        func = option(func)
    return func


@click.group(cls=ArchivistGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="ARCHIVIST_HOME",
    help="Folder holding the archive (default: $ARCHIVIST_HOME, else the per-user data directory).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log what the engine does (to stderr).")
@click.pass_context
def cli(ctx: click.Context, home: Path | None, verbose: bool) -> None:
    """Archivist: answers questions from a news archive with verbatim, cited quotes."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    ctx.obj = Context(home)
    ctx.call_on_close(ctx.obj.close)


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), help="Read every input as this format instead of detecting it."
)
@click.option(
    "--prune", is_flag=True, help="Remove stored articles whose file has disappeared (or was read without them)."
)
@click.option(
    "--follow-symlinks",
    is_flag=True,
    help="Read symbolic links found in folders and globs when they point to files inside the given paths.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def ingest(
    obj: Context, paths: tuple[str, ...], fmt: str | None, prune: bool, follow_symlinks: bool, as_json: bool
) -> None:
    """Add or update articles from files, folders (recursively) or globs."""
    bar = ProgressBar()
    with user_errors():
        report = obj.writer.ingest(list(paths), format=fmt, prune=prune, follow_symlinks=follow_symlinks, progress=bar)
    bar.close()
    if as_json:
        _emit_json(jsonout.ingest_json(report))
    else:
        click.echo(terminal.render_ingest(report))
    if read_nothing(report) and (report.skipped or report.failed):
        raise click.ClickException("Nothing could be read from the given paths.")


@cli.group()
def articles() -> None:
    """List or show stored articles."""


@articles.command("list")
@click.option("-n", "--limit", type=int, default=None, help="Show at most this many (newest first).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (without bodies).")
@click.pass_obj
def articles_list(obj: Context, limit: int | None, as_json: bool) -> None:
    """List stored articles, newest first."""
    for article in obj.engine.recent(limit):
        click.echo(
            jsonout.dumps(jsonout.article_json(article, body=False))
            if as_json
            else terminal.render_article_line(article)
        )


@articles.command("show")
@click.argument("article_id")
@click.option("--json", "as_json", is_flag=True, help="The full stored article as JSON.")
@click.pass_obj
def articles_show(obj: Context, article_id: str, as_json: bool) -> None:
    """Show one stored article in full."""
    with user_errors():
        article = obj.engine.article(article_id)
    click.echo(jsonout.dumps(jsonout.article_json(article)) if as_json else terminal.render_article(article))


@cli.command()
@click.option("-n", "count", type=int, default=10, show_default=True, help="How many articles.")
@click.option("--category", help="Only this category.")
@click.option("--source", help="Only this source.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (without bodies).")
@click.pass_obj
def recent(obj: Context, count: int, category: str | None, source: str | None, as_json: bool) -> None:
    """The newest articles by publication date."""
    for article in obj.engine.recent(count, category=category, source=source):
        click.echo(
            jsonout.dumps(jsonout.article_json(article, body=False))
            if as_json
            else terminal.render_article_line(article)
        )


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
def stats(obj: Context, as_json: bool) -> None:
    """Archive size, last ingest and index times, index generation and model."""
    result = obj.engine.stats()
    if as_json:
        _emit_json(jsonout.stats_json(result))
    else:
        click.echo(terminal.render_stats(result))


@cli.command("index")
@click.option("--full", is_flag=True, help="Re-embed every chunk instead of only new or changed text.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def index_command(obj: Context, full: bool, as_json: bool) -> None:
    """Embed new chunks and build the next vector index generation."""
    bar = ProgressBar()
    with user_errors():
        report = obj.writer.reindex(full=full, progress=bar)
    bar.close()
    if as_json:
        _emit_json(jsonout.index_json(report))
    else:
        click.echo(
            f"generation {report.generation}: {report.total_vectors} vectors, {report.embedded} passages and "
            f"{report.sentences_embedded} sentences embedded, {report.removed} stale vectors removed, "
            f"{report.seconds:.1f}s"
        )


@cli.command("migrate")
@click.option("--to", "url", required=True, metavar="postgresql://…", help="The PostgreSQL database to copy into.")
@click.option("--json", "as_json", is_flag=True, help="Print the tables copied as JSON.")
@click.pass_obj
def migrate_command(obj: Context, url: str, as_json: bool) -> None:
    """Copy the home's SQLite archive into an empty PostgreSQL database, vectors and all, and verify the copy."""
    if not postgres.is_url(url):
        raise click.ClickException(f"--to must be a URL starting with postgresql://, not {url!r}.")
    bar = ProgressBar()
    settings = obj.settings
    with user_errors():
        source = Store(settings.home / DB_FILENAME, read_only=True)
        target = Store(url)
        indexer = Indexer(
            source, settings.home / "index", hnsw_threshold=settings.hnsw_threshold, sentence_vectors=False
        )
        files = [
            path
            for record in source.generations()[:2]
            for path in indexer.generation_files(record.generation)
            if path.exists()
        ]
        try:
            report = migrate(source, target, files=files, progress=bar)
        finally:
            bar.close()
            source.close()
            target.close()
    if as_json:
        _emit_json(jsonout.migration_json(report))
        return
    for table in report.tables:
        click.echo(f"{table.table:<18} {table.rows:>10,} rows  verified ({table.digest})")
    for name in report.files:
        click.echo(f"{name:<18} stored with it")
    click.echo(
        f"Copied into {report.target}: counts and contents match. Set ARCHIVIST_DATABASE_URL to it to use it; "
        "this home's search files stay valid, and its SQLite file is left as it was."
    )


@cli.command()
@click.argument("query", required=False)
@click.option("-k", "k", type=int, default=10, show_default=True, help="How many results.")
@filter_options
@click.option(
    "--queries",
    type=click.File("r", encoding="utf-8"),
    help="Batch mode: one query per line; one JSON line out per query.",
)
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
@click.pass_obj
def search(obj: Context, query, k, after, before, source, category, author, queries, as_json) -> None:
    """Find the passages that best match QUERY."""
    with user_errors():
        filters = parse_filters(after, before, source, category, author)
        if queries is not None:
            lines = read_lines(queries, "--queries", "query")
            pending = note_pending(obj.engine)
            for text in lines:
                hits = obj.engine.search(text, k=k, filters=filters)
                _emit_json({"query": text, "hits": [jsonout.hit_json(h) for h in hits], "pending_articles": pending})
            return
        if not query:
            raise click.UsageError("Give a QUERY or --queries FILE.")
        hits = obj.engine.search(query, k=k, filters=filters)
        pending = note_pending(obj.engine)
    if as_json:
        _emit_json({"query": query, "hits": [jsonout.hit_json(h) for h in hits], "pending_articles": pending})
    else:
        click.echo(terminal.render_hits(hits))


@cli.command()
@click.argument("question", required=False)
@filter_options
@click.option(
    "--questions",
    type=click.File("r", encoding="utf-8"),
    help="Batch mode: one question per line; one JSON line out per question.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@click.pass_obj
def ask(obj: Context, question, after, before, source, category, author, questions, as_json) -> None:
    """Answer QUESTION with verbatim quotes from the archive, or say it is not covered."""
    with user_errors():
        filters = parse_filters(after, before, source, category, author)
        if questions is not None:
            lines = read_lines(questions, "--questions", "question")
            pending = note_pending(obj.engine)
            for text in lines:
                answer = obj.engine.ask(text, filters=filters)
                _emit_json({**jsonout.answer_json(answer), "pending_articles": pending})
            return
        if not question:
            raise click.UsageError("Give a QUESTION or --questions FILE.")
        answer = obj.engine.ask(question, filters=filters)
        pending = note_pending(obj.engine)
    if as_json:
        _emit_json({**jsonout.answer_json(answer), "pending_articles": pending})
    else:
        click.echo(terminal.render_answer(answer))


@cli.command()
@click.pass_obj
def chat(obj: Context) -> None:
    """Ask questions interactively; each follows up on the ones before it (empty line or Ctrl-D quits)."""
    history: list[str] = []
    click.echo("Ask about the archive. Follow-up questions keep the conversation's context. Empty line quits.")
    while True:
        try:
            question = click.prompt("?", default="", show_default=False, prompt_suffix=" ").strip()
        except (EOFError, click.Abort):
            break
        if not question:
            break
        with user_errors():
            answer = obj.engine.ask(question, history=history)
        click.echo(terminal.render_answer(answer))
        click.echo("")
        history.append(question)


@cli.command()
@click.option("--since", metavar="DATE", help="Only questions asked on or after this date (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
def gaps(obj: Context, since: str | None, as_json: bool) -> None:
    """What the archive could not answer: questions it abstained on or that got 👎, grouped by topic."""
    found = obj.engine.gaps(since)
    if as_json:
        _emit_json({"since": since, "gaps": [jsonout.gap_json(gap) for gap in found]})
    else:
        click.echo(terminal.render_gaps(found))


@cli.command()
@click.option("--since", metavar="DATE", help="Only votes given on or after this date (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per vote.")
@click.pass_obj
def feedback(obj: Context, since: str | None, as_json: bool) -> None:
    """Members' 👍 / 👎 on the bot's answers, with the reasons given for a 👎."""
    votes = obj.engine.votes(since)
    if as_json:
        for vote in votes:
            _emit_json(jsonout.vote_json(vote))
    else:
        click.echo(terminal.render_votes(votes))


@cli.command("settings")
@click.option("--markdown", is_flag=True, help="Print the table as Markdown (as in README.md).")
def settings_command(markdown: bool) -> None:
    """List every setting with its environment variable, default and meaning."""
    if markdown:
        click.echo(settings_markdown())
        return
    for setting in SETTINGS:
        default = "(secret, no default)" if setting.secret else setting.default
        click.echo(f"{setting.env:<34} {default!s:<28} {setting.help}")
