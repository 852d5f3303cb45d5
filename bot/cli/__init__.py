"""The `archivist` console script: the engine's commands in a terminal, `archivist eval` and `archivist run`."""

from __future__ import annotations

import click

from bot.cli import (
    evaluation,  # noqa: F401  (registers `archivist eval`)
    sources,  # noqa: F401  (registers `archivist sources` and `archivist sync`)
)
from bot.cli.commands import Context, cli, user_errors


@cli.command()
@click.pass_obj
def run(obj: Context) -> None:
    """Run the Discord bot (needs DISCORD_TOKEN or ARCHIVIST_DISCORD_TOKEN_FILE)."""
    from bot.runner import run_bot

    with user_errors():
        settings = obj.settings
        settings.token()
        run_bot(obj.writer, settings)


def main() -> None:
    cli(prog_name="archivist")
