"""The real `archivist run` as a child process, pointed at a fake Discord (tests that kill and restart the bot)."""

import asyncio
import os
import sys
from collections.abc import Mapping

from tests.bot.fake_discord import FakeDiscord
from tests.conftest import ROOT

RUN = "from bot.cli import main; main()"
TOKEN = "process-token-never-logged"


def run_env(home, model_cache, fake: FakeDiscord, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of an `archivist run` on ``home`` talking to ``fake``, without a cooldown."""
    return {
        **os.environ,
        "DISCORD_TOKEN": TOKEN,
        "ARCHIVIST_HOME": str(home),
        "ARCHIVIST_MODEL_CACHE": str(model_cache),
        "ARCHIVIST_DISCORD_API_BASE": fake.api_base,
        "ARCHIVIST_DISCORD_GATEWAY_URL": fake.gateway_url,
        "ARCHIVIST_COOLDOWN_SECONDS": "0",
        **(extra or {}),
    }


async def start_run(
    home, model_cache, fake: FakeDiscord, output, code: str = RUN, extra: Mapping[str, str] | None = None
) -> asyncio.subprocess.Process:
    """`archivist run` (or ``code`` run as it) on ``home``, its output to ``output``, once connected and its commands
    synced."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        "run",
        cwd=ROOT,
        env=run_env(home, model_cache, fake, extra),
        stdout=output,
        stderr=asyncio.subprocess.STDOUT,
    )
    await fake.wait_connected(timeout=60)
    await fake.wait_until(lambda: fake.commands, timeout=30)
    return proc


async def stop_all(procs: list[asyncio.subprocess.Process], fake: FakeDiscord) -> None:
    """Terminate every `archivist run` still running, then the fake Discord."""
    for proc in procs:
        if proc.returncode is None:
            proc.terminate()
            await proc.wait()
    await fake.stop()
