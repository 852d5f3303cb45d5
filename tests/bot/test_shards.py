"""Two `archivist run` processes, Discord shards 0 and 1, on one PostgreSQL archive: each answers its own servers,
and what one indexes the other searches within seconds, without a restart."""

import asyncio
import time

from tests.bot.fake_discord import GUILD_ID, MANAGE_GUILD, SECOND_GUILD_ID, FakeDiscord, message_text
from tests.bot.run_process import start_run, stop_all

FIRST_ANSWER = 120  # seconds: a process's first answer may export the verifier model first
STORY = b"Quay reopens\n\nThe harbour quay reopened with twelve new cranes after a year of repairs."


async def search(fake: FakeDiscord, guild_id: int, query: str, timeout: float = FIRST_ANSWER) -> str:
    where = {"guild_id": guild_id} if guild_id == GUILD_ID else {"guild_id": guild_id, "channel_id": guild_id + 9}
    log = await fake.slash("search", {"query": query}, **where)
    (reply,) = await fake.wait_until(log.replies, timeout=timeout)
    return message_text(reply)


async def test_two_shards_on_one_database_answer_their_own_servers_and_search_what_the_other_indexed(
    model_cache, postgres_server, postgres_archive, tmp_path
):
    url = postgres_server.new_database(template=postgres_archive)  # the small archive, migrated with its files
    first_home, second_home = tmp_path / "shard-0", tmp_path / "shard-1"  # two machines' empty homes
    fake = FakeDiscord(guilds=(GUILD_ID, SECOND_GUILD_ID))
    await fake.start()
    procs = []
    try:
        for shard, home in enumerate((first_home, second_home)):
            extra = {"ARCHIVIST_DATABASE_URL": url, "ARCHIVIST_SHARD_COUNT": "2", "ARCHIVIST_SHARD_ID": str(shard)}
            with (tmp_path / f"shard-{shard}.log").open("wb") as output:
                procs.append(await start_run(home, model_cache, fake, output, extra=extra))
        await fake.wait_shards(2)
        assert sorted(tuple(i["shard"]) for i in fake.identifies) == [(0, 2), (1, 2)]

        for guild in (SECOND_GUILD_ID, GUILD_ID):  # shard 0's server, then shard 1's
            assert "Sam Bankman-Fried" in await search(fake, guild, "Sam Bankman-Fried FTX trial")
        assert "Quay reopens" not in await search(fake, GUILD_ID, "harbour quay cranes")

        attachment = fake.add_attachment("quay.txt", STORY)
        where = {"guild_id": SECOND_GUILD_ID, "channel_id": SECOND_GUILD_ID + 9}
        ingest = await fake.slash("ingest", attachments={"file": attachment}, permissions=MANAGE_GUILD, **where)
        (done,) = await fake.wait_until(ingest.replies, timeout=FIRST_ANSWER)
        assert "Searchable now" in message_text(done), message_text(done)
        indexed = time.monotonic()
        while "Quay reopens" not in await search(fake, GUILD_ID, "harbour quay cranes"):
            assert time.monotonic() - indexed < 10, "shard 1 did not search shard 0's new generation within 10 s"
            await asyncio.sleep(0.5)
    finally:
        await stop_all(procs, fake)
    for shard in (0, 1):
        output = (tmp_path / f"shard-{shard}.log").read_text(errors="replace")
        assert "Traceback" not in output, output[-3000:]
