"""`archivist run` as a process: the real CLI, configured only by environment, against the fake Discord."""

import asyncio
import sys

from tests.bot.fake_discord import FakeDiscord, message_text
from tests.bot.run_process import RUN, TOKEN, run_env
from tests.conftest import ROOT


async def test_archivist_run_connects_syncs_and_answers_like_against_discord(built_home, model_cache, tmp_path):
    import shutil

    home = tmp_path / "home"
    shutil.copytree(built_home, home)
    fake = FakeDiscord()
    fake.refuse_handshakes = 2  # a gateway that is not ready yet when the bot starts
    await fake.start()
    env = run_env(home, model_cache, fake)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        RUN,
        "run",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        await fake.wait_connected(timeout=60)
        await fake.wait_until(lambda: fake.commands, timeout=30)
        log = await fake.slash("ask", {"question": "What does NATO's article 5 say?"})
        (reply,) = await fake.wait_until(log.replies, timeout=60)
        assert log.first_ack < 1.0
        assert "article 5" in message_text(reply)
    finally:
        if proc.returncode is None:
            proc.terminate()
        output, _ = await proc.communicate()
        await fake.stop()
    assert TOKEN.encode() not in output and log.token.encode() not in output
    assert output.count(b"Could not connect to Discord's gateway (handshake answered 502); retrying in") == 2
    assert b"Traceback" not in output and b"AttributeError" not in output
