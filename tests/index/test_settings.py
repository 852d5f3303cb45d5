"""The one settings object: environment, TOML file, validation sentences, secrecy."""

import logging

import pytest

from bot.runner import configure_logging
from index.errors import ConfigError
from index.settings import REAL_DISCORD_API, SETTINGS, Settings


def test_defaults_point_at_the_real_discord_and_need_no_token_to_load():
    settings = Settings.load({})
    assert settings.discord_token is None
    assert settings.discord_api_base == REAL_DISCORD_API
    assert settings.thread_followups is True and settings.guild_allowlist == ()
    with pytest.raises(ConfigError, match="DISCORD_TOKEN"):
        settings.token()


def test_environment_values_are_parsed():
    settings = Settings.load(
        {
            "DISCORD_TOKEN": "secret-token",
            "ARCHIVIST_MOD_ROLE": "Archive Mods",
            "ARCHIVIST_AUDIT_CHANNEL": "123",
            "ARCHIVIST_COOLDOWN_SECONDS": "2.5",
            "ARCHIVIST_MAX_CONCURRENT_ANSWERS": "3",
            "ARCHIVIST_THREAD_FOLLOWUPS": "off",
            "ARCHIVIST_GUILD_ALLOWLIST": "1, 2",
            "ARCHIVIST_DISCORD_API_BASE": "http://127.0.0.1:9/api/v10/",
            "ARCHIVIST_LOG_LEVEL": "debug",
            "ARCHIVIST_CHUNK_TOKENS": "200",
        }
    )
    assert settings.mod_role == "Archive Mods" and settings.audit_channel == 123
    assert (settings.cooldown_seconds, settings.max_concurrent_answers) == (2.5, 3)
    assert settings.thread_followups is False and settings.guild_allowlist == (1, 2)
    assert settings.discord_api_base == "http://127.0.0.1:9/api/v10" and settings.log_level == "DEBUG"
    assert settings.chunk_tokens == 200 and settings.token() == "secret-token"


def test_a_toml_file_is_read_and_the_environment_wins(tmp_path):
    config = tmp_path / "archivist.toml"
    config.write_text('cooldown_seconds = 9\nmod_role = "Mods"\n', encoding="utf-8")
    settings = Settings.load({"ARCHIVIST_CONFIG": str(config), "ARCHIVIST_MOD_ROLE": "Editors"})
    assert settings.cooldown_seconds == 9 and settings.mod_role == "Editors"
    config.write_text("no_such_setting = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="no_such_setting"):
        Settings.load({"ARCHIVIST_CONFIG": str(config)})


def test_token_file_and_secrecy(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("from-a-file\n")
    settings = Settings.load({"ARCHIVIST_DISCORD_TOKEN_FILE": str(token_file), "ARCHIVIST_LLM_API_KEY": "sk-secret"})
    assert settings.token() == "from-a-file"
    assert "from-a-file" not in repr(settings) and "sk-secret" not in repr(settings)
    missing = Settings.load({"ARCHIVIST_DISCORD_TOKEN_FILE": str(tmp_path / "missing")})
    with pytest.raises(ConfigError, match="cannot be read"):
        missing.token()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ARCHIVIST_AUDIT_CHANNEL", "#audit"),
        ("ARCHIVIST_MAX_CONCURRENT_ANSWERS", "-1"),
        ("ARCHIVIST_MAX_CONCURRENT_ANSWERS", "65"),
        ("ARCHIVIST_MAX_QUEUE_WAIT_SECONDS", "0"),
        ("ARCHIVIST_MAX_QUEUE_WAIT_SECONDS", "900"),
        ("ARCHIVIST_MAX_QUEUE_WAIT_SECONDS", "inf"),
        ("ARCHIVIST_THREAD_FOLLOWUPS", "maybe"),
        ("ARCHIVIST_GUILD_ALLOWLIST", "1,x"),
        ("ARCHIVIST_LOG_LEVEL", "loud"),
        ("ARCHIVIST_EMBEDDER", "gpt"),
        ("ARCHIVIST_CHUNK_TOKENS", "many"),
        ("ARCHIVIST_CHUNK_TOKENS", "257"),
        ("ARCHIVIST_CHUNK_TOKENS", "inf"),
        ("ARCHIVIST_MAX_FILE_MB", "inf"),
        ("ARCHIVIST_MAX_FILE_MB", "nan"),
        ("ARCHIVIST_COOLDOWN_SECONDS", "-nan"),
        ("ARCHIVIST_HNSW_THRESHOLD", "1e400"),
        ("ARCHIVIST_DISCORD_API_BASE", "discord.com"),
    ],
)
def test_bad_values_are_one_clear_sentence_naming_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        Settings.load({name: value})


def test_answer_workers_are_sized_to_the_machine_unless_set(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    assert Settings.load({}).answer_workers == 4
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert Settings.load({}).answer_workers == 2
    assert Settings.load({"ARCHIVIST_MAX_CONCURRENT_ANSWERS": "6"}).answer_workers == 6


def test_the_chunk_size_cap_is_what_the_embedder_reads_and_admits_the_default():
    from index.embedding.base import MAX_SEQUENCE
    from index.settings import MAX_CHUNK_TOKENS

    assert Settings().chunk_tokens <= MAX_CHUNK_TOKENS <= MAX_SEQUENCE
    assert Settings.load({"ARCHIVIST_CHUNK_TOKENS": str(MAX_CHUNK_TOKENS)}).chunk_tokens == MAX_CHUNK_TOKENS


@pytest.mark.parametrize("content", [b"\xff\xfe\x00binary", b"max_file_mb = inf\n", b"chunk_tokens = nan\n"])
def test_a_binary_or_non_finite_toml_file_is_one_sentence(tmp_path, content):
    config = tmp_path / "archivist.toml"
    config.write_bytes(content)
    with pytest.raises(ConfigError) as raised:
        Settings.load({"ARCHIVIST_CONFIG": str(config)})
    assert str(raised.value).count(".") >= 1 and "\n" not in str(raised.value)


def test_every_setting_has_help_and_a_field():
    names = set(Settings.__dataclass_fields__)
    assert all(s.help and s.name in names for s in SETTINGS)
    assert len(SETTINGS) == len(names)


def test_discord_debug_logs_stay_off_even_when_the_bot_logs_debug():
    configure_logging(Settings(log_level="DEBUG"))
    try:
        assert logging.getLogger("discord").level == logging.INFO
        assert logging.getLogger("bot").level == logging.DEBUG
    finally:
        logging.getLogger("bot").setLevel(logging.NOTSET)
        logging.getLogger("discord").setLevel(logging.NOTSET)


def test_a_shard_serves_the_servers_discord_routes_to_it_and_direct_messages_go_to_shard_0():
    shards = [Settings.load({"ARCHIVIST_SHARD_COUNT": "2", "ARCHIVIST_SHARD_ID": str(k)}) for k in (0, 1)]
    guild = 920000000000000001  # (id >> 22) % 2 == 1
    assert [s.serves(guild) for s in shards] == [False, True]
    assert [s.serves(None) for s in shards] == [True, False]
    assert Settings.load({}).serves(guild) and Settings.load({}).serves(None), "unsharded: every server"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"ARCHIVIST_SHARD_COUNT": "2"}, "together, or neither"),
        ({"ARCHIVIST_SHARD_ID": "0"}, "together, or neither"),
        ({"ARCHIVIST_SHARD_COUNT": "2", "ARCHIVIST_SHARD_ID": "2"}, "must be below ARCHIVIST_SHARD_COUNT"),
        ({"ARCHIVIST_SHARD_COUNT": "0", "ARCHIVIST_SHARD_ID": "0"}, "ARCHIVIST_SHARD_COUNT must be at least 1"),
        ({"ARCHIVIST_DATABASE_URL": "mysql://db/archive"}, "ARCHIVIST_DATABASE_URL must be a URL starting with"),
    ],
)
def test_shard_and_database_settings_that_cannot_work_are_one_sentence(environ, message):
    with pytest.raises(ConfigError, match=message):
        Settings.load(environ)


def test_the_database_url_is_a_secret_never_shown_in_the_settings_repr():
    settings = Settings.load({"ARCHIVIST_DATABASE_URL": "postgresql://archivist:hunter2@db/archive"})
    assert settings.database_url.endswith("@db/archive") and "hunter2" not in repr(settings)
