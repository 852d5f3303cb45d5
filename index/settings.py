"""The one typed settings object, read from the environment (and an optional TOML file).

Every setting is declared once in ``SETTINGS`` with its environment variable, default and
help text; that table drives loading, validation, ``archivist settings`` and the README's
configuration table (a test checks the README documents every entry). Secrets have no
default and never appear in ``repr`` or logs.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from index.embedding.base import MAX_WORD_PIECES
from index.errors import ConfigError

# The embedder reads at most MAX_WORD_PIECES (254) word pieces of a chunk and ignores the rest; English news prose
# takes about as many cl100k tokens as word pieces, so a chunk of more tokens would be searchable only by its first
# part. The default (256) sits at the cap.
MAX_CHUNK_TOKENS = MAX_WORD_PIECES + 2
REAL_DISCORD_API = "https://discord.com/api/v10"
REAL_DISCORD_GATEWAY = "wss://gateway.discord.gg/"


@dataclass(frozen=True)
class Setting:
    name: str  # field name on Settings, and the key in the TOML file
    env: str
    parse: Callable[[str, object], object]  # (env name, raw value) -> value; raises ConfigError
    default: object
    help: str
    secret: bool = False


def _default_home() -> str:
    return platformdirs.user_data_dir("archivist", appauthor=False)


def _text(name: str, raw: object) -> str:
    return str(raw).strip()


def _path(name: str, raw: object) -> Path:
    return Path(str(raw)).expanduser()


def _number(kind: type, minimum: float, maximum: float | None = None) -> Callable[[str, object], object]:
    def parse(name: str, raw: object) -> object:
        try:
            value = kind(raw)
        except (TypeError, ValueError, OverflowError):
            raise ConfigError(f"{name} must be a number, not {raw!r}.") from None
        if not math.isfinite(value):
            raise ConfigError(f"{name} must be a finite number, not {raw!r}.")
        if value < minimum:
            raise ConfigError(f"{name} must be at least {minimum}, not {value}.")
        if maximum is not None and value > maximum:
            raise ConfigError(f"{name} must be at most {maximum}, not {value}.")
        return value

    return parse


def _flag(name: str, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}.")


def _discord_id(name: str, raw: object) -> int:
    text = str(raw).strip()
    if not text.isdigit():
        raise ConfigError(f"{name} must be a numeric Discord id, not {raw!r}.")
    return int(text)


def _id_list(name: str, raw: object) -> tuple[int, ...]:
    parts = [p.strip() for p in (raw if isinstance(raw, list) else str(raw).split(",")) if str(p).strip()]
    bad = [p for p in parts if not str(p).isdigit()]
    if bad:
        raise ConfigError(f"{name} must list numeric server ids separated by commas; {bad[0]!r} is not one.")
    return tuple(int(p) for p in parts)


def _choice(*allowed: str) -> Callable[[str, object], object]:
    def parse(name: str, raw: object) -> str:
        value = str(raw).strip()
        if value.lower() not in {a.lower() for a in allowed}:
            raise ConfigError(f"{name} must be one of {', '.join(allowed)}, not {raw!r}.")
        return next(a for a in allowed if a.lower() == value.lower())

    return parse


def _url(schemes: tuple[str, ...], *, strip_slash: bool) -> Callable[[str, object], object]:
    def parse(name: str, raw: object) -> str:
        value = str(raw).strip()
        if not value.startswith(schemes):
            raise ConfigError(f"{name} must be a URL starting with {' or '.join(schemes)}, not {raw!r}.")
        return value.rstrip("/") if strip_slash else value

    return parse


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "home",
        "ARCHIVIST_HOME",
        _path,
        None,
        "Folder holding the archive database and index files (default: the per-user data directory).",
    ),
    Setting(
        "database_url",
        "ARCHIVIST_DATABASE_URL",
        _url(("postgresql://", "postgres://"), strip_slash=False),
        None,
        "A PostgreSQL database to keep the archive in instead of the home's SQLite file, shared by every process "
        "given it (their homes keep only caches); unset: SQLite.",
        secret=True,
    ),
    Setting(
        "model_cache",
        "ARCHIVIST_MODEL_CACHE",
        _path,
        None,
        "Folder for the fast ONNX models (embedder and answer verifier), built once from the bundled model (default: the per-user cache directory).",
    ),
    Setting(
        "chunk_tokens",
        "ARCHIVIST_CHUNK_TOKENS",
        _number(int, 32, MAX_CHUNK_TOKENS),
        256,
        "Largest chunk, in cl100k tokens.",
    ),
    Setting(
        "chunk_overlap",
        "ARCHIVIST_CHUNK_OVERLAP",
        _number(int, 0),
        32,
        "Tokens of whole sentences shared by consecutive chunks.",
    ),
    Setting(
        "max_file_mb",
        "ARCHIVIST_MAX_FILE_MB",
        _number(float, 0.001),
        20.0,
        "Input files larger than this are skipped with a reason.",
    ),
    Setting(
        "embedder",
        "ARCHIVIST_EMBEDDER",
        _choice("onnx-int8", "torch-bf16", "torch-fp32"),
        "onnx-int8",
        "Embedding backend: onnx-int8 (fast default), torch-bf16 or torch-fp32.",
    ),
    Setting(
        "hnsw_threshold",
        "ARCHIVIST_HNSW_THRESHOLD",
        _number(int, 1),
        50_000,
        "Vector count above which an approximate HNSW index replaces exact search.",
    ),
    Setting(
        "sentence_vectors",
        "ARCHIVIST_SENTENCE_VECTORS",
        _flag,
        True,
        "Embed every sentence when indexing too (on the demo archive it took 1.2 times as long as the passages), so "
        "an answer embeds only its question; off: each answer embeds its candidate sentences.",
    ),
    Setting(
        "llm_base_url",
        "ARCHIVIST_LLM_BASE_URL",
        _text,
        "",
        "OpenAI-compatible endpoint for optional 1-3 sentence summaries (empty: off).",
    ),
    Setting("llm_model", "ARCHIVIST_LLM_MODEL", _text, "", "Model name sent to that endpoint."),
    Setting(
        "llm_api_key",
        "ARCHIVIST_LLM_API_KEY",
        _text,
        None,
        "API key for the summary endpoint, if it needs one.",
        secret=True,
    ),
    Setting(
        "discord_token",
        "DISCORD_TOKEN",
        _text,
        None,
        "The bot's token from the Discord developer portal (required for `archivist run`).",
        secret=True,
    ),
    Setting(
        "discord_token_file",
        "ARCHIVIST_DISCORD_TOKEN_FILE",
        _path,
        None,
        "A file holding the token, used when DISCORD_TOKEN is unset.",
    ),
    Setting(
        "mod_role",
        "ARCHIVIST_MOD_ROLE",
        _text,
        None,
        "Role (id or name) whose members may use /reindex and /ingest, besides those with Manage Server.",
    ),
    Setting(
        "audit_channel",
        "ARCHIVIST_AUDIT_CHANNEL",
        _discord_id,
        None,
        "Channel id where every moderator action is recorded (unset: off).",
    ),
    Setting(
        "feedback_channel",
        "ARCHIVIST_FEEDBACK_CHANNEL",
        _discord_id,
        None,
        "Channel id where 👎 feedback with its reason is forwarded (unset: off).",
    ),
    Setting(
        "cooldown_seconds",
        "ARCHIVIST_COOLDOWN_SECONDS",
        _number(float, 0),
        5.0,
        "Seconds a member waits between two questions.",
    ),
    Setting(
        "max_concurrent_answers",
        "ARCHIVIST_MAX_CONCURRENT_ANSWERS",
        _number(int, 0, 64),
        0,
        "Questions worked on at once, each in its own thread (0: one per CPU core, at most 4); the others wait "
        "their turn in a queue that takes servers, then members, in rotation.",
    ),
    Setting(
        "max_queue_wait_seconds",
        "ARCHIVIST_MAX_QUEUE_WAIT_SECONDS",
        _number(float, 1, 600),
        120.0,
        "Longest expected wait in the answer queue (place in line × the median of recent answer times ÷ workers); a question "
        "that would wait longer gets a polite 'busy' reply with its place in line.",
    ),
    Setting(
        "thread_followups",
        "ARCHIVIST_THREAD_FOLLOWUPS",
        _flag,
        True,
        "Offer the 'Follow up' button that opens a thread whose messages are follow-up questions.",
    ),
    Setting(
        "question_log_days",
        "ARCHIVIST_QUESTION_LOG_DAYS",
        _number(int, 0),
        90,
        "Days the text of members' questions is kept (question log, votes, follow-up threads); 0: none in the log, "
        "and a day for what an answer's buttons and thread need.",
    ),
    Setting(
        "feedback_digest_days",
        "ARCHIVIST_FEEDBACK_DIGEST_DAYS",
        _number(float, 0),
        0.0,
        "Days between two digests of the top gaps and 👎 reasons posted to ARCHIVIST_FEEDBACK_CHANNEL (7: weekly; 0: off).",
    ),
    Setting(
        "shard_count",
        "ARCHIVIST_SHARD_COUNT",
        _number(int, 1),
        None,
        "Discord shards the bot's processes split the servers into, one `archivist run` per shard, all on one "
        "ARCHIVIST_DATABASE_URL (unset: one process, no sharding).",
    ),
    Setting(
        "shard_id",
        "ARCHIVIST_SHARD_ID",
        _number(int, 0),
        None,
        "This process's shard, 0 to ARCHIVIST_SHARD_COUNT - 1; shard 0 also runs the scheduled sync of live sources.",
    ),
    Setting(
        "guild_allowlist",
        "ARCHIVIST_GUILD_ALLOWLIST",
        _id_list,
        (),
        "Comma-separated server ids the bot serves; empty serves every server.",
    ),
    Setting(
        "progress_interval_seconds",
        "ARCHIVIST_PROGRESS_INTERVAL_SECONDS",
        _number(float, 0),
        2.0,
        "Minimum seconds between two edits of a re-index progress message.",
    ),
    Setting(
        "sources_min_delay",
        "ARCHIVIST_SOURCES_MIN_DELAY",
        _number(float, 0),
        1.0,
        "Live sources: seconds between two requests to one host (robots.txt Crawl-delay can ask for more).",
    ),
    Setting(
        "sources_allow_private",
        "ARCHIVIST_SOURCES_ALLOW_PRIVATE",
        _text,
        "",
        "Live sources: comma-separated hosts or CIDRs that may be fetched although not public (e.g. `127.0.0.1`); "
        "every other loopback, private, link-local, CGNAT or ULA address is refused.",
    ),
    Setting(
        "sources_user_agent",
        "ARCHIVIST_SOURCES_USER_AGENT",
        _text,
        "ArchivistBot/0.1",
        "Live sources: the User-Agent sent to sites and matched against their robots.txt.",
    ),
    Setting(
        "sources_contact_url",
        "ARCHIVIST_SOURCES_CONTACT_URL",
        _text,
        "",
        "Live sources: a URL about this bot, appended to the User-Agent so site owners can reach you.",
    ),
    Setting(
        "sources_timeout_seconds",
        "ARCHIVIST_SOURCES_TIMEOUT_SECONDS",
        _number(float, 0.1),
        30.0,
        "Live sources: the longest one request may take, redirects and body included.",
    ),
    Setting(
        "sync_interval_minutes",
        "ARCHIVIST_SYNC_INTERVAL_MINUTES",
        _number(float, 0),
        30.0,
        "Minutes between two background syncs of the live sources by the bot (0: off).",
    ),
    Setting(
        "announce_channel",
        "ARCHIVIST_ANNOUNCE_CHANNEL",
        _discord_id,
        None,
        "Channel id where the bot posts each newly published article of a live source once (unset: off).",
    ),
    Setting(
        "announce_max",
        "ARCHIVIST_ANNOUNCE_MAX",
        _number(int, 0),
        5,
        "Most articles announced after one sync; the rest are summed up in one line.",
    ),
    Setting(
        "discord_api_base",
        "ARCHIVIST_DISCORD_API_BASE",
        _url(("http://", "https://"), strip_slash=True),
        REAL_DISCORD_API,
        "Discord REST base URL (for REST proxies and tests).",
    ),
    Setting(
        "discord_gateway_url",
        "ARCHIVIST_DISCORD_GATEWAY_URL",
        _url(("ws://", "wss://"), strip_slash=False),
        REAL_DISCORD_GATEWAY,
        "Discord gateway URL (for proxies and tests).",
    ),
    Setting(
        "log_level",
        "ARCHIVIST_LOG_LEVEL",
        _choice("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
        "INFO",
        "Log level of the bot; discord.py's own logs stay at INFO or above (its DEBUG logs carry tokens).",
    ),
)


def settings_markdown() -> str:
    """The README's configuration table."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for s in SETTINGS:
        if s.secret:
            default = "(none; secret)"
        elif s.default in (None, "", ()):
            default = "(none)" if s.name not in ("home", "model_cache") else "per-user directory"
        else:
            default = f"`{s.default}`"
        rows.append(f"| `{s.env}` | {default} | {s.help} |")
    return "\n".join(rows)


def _default(name: str) -> object:
    return next(s.default for s in SETTINGS if s.name == name)


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=lambda: Path(_default_home()))
    database_url: str | None = field(default=None, repr=False)
    model_cache: Path = field(default_factory=lambda: Path(platformdirs.user_cache_dir("archivist", appauthor=False)))
    chunk_tokens: int = _default("chunk_tokens")
    chunk_overlap: int = _default("chunk_overlap")
    max_file_mb: float = _default("max_file_mb")
    embedder: str = _default("embedder")
    hnsw_threshold: int = _default("hnsw_threshold")
    sentence_vectors: bool = _default("sentence_vectors")
    llm_base_url: str = _default("llm_base_url")
    llm_model: str = _default("llm_model")
    llm_api_key: str | None = field(default=None, repr=False)
    discord_token: str | None = field(default=None, repr=False)
    discord_token_file: Path | None = _default("discord_token_file")
    mod_role: str | None = _default("mod_role")
    audit_channel: int | None = _default("audit_channel")
    feedback_channel: int | None = _default("feedback_channel")
    cooldown_seconds: float = _default("cooldown_seconds")
    max_concurrent_answers: int = _default("max_concurrent_answers")
    max_queue_wait_seconds: float = _default("max_queue_wait_seconds")
    thread_followups: bool = _default("thread_followups")
    question_log_days: int = _default("question_log_days")
    feedback_digest_days: float = _default("feedback_digest_days")
    shard_count: int | None = _default("shard_count")
    shard_id: int | None = _default("shard_id")
    guild_allowlist: tuple[int, ...] = _default("guild_allowlist")
    progress_interval_seconds: float = _default("progress_interval_seconds")
    sources_min_delay: float = _default("sources_min_delay")
    sources_allow_private: str = _default("sources_allow_private")
    sources_user_agent: str = _default("sources_user_agent")
    sources_contact_url: str = _default("sources_contact_url")
    sources_timeout_seconds: float = _default("sources_timeout_seconds")
    sync_interval_minutes: float = _default("sync_interval_minutes")
    announce_channel: int | None = _default("announce_channel")
    announce_max: int = _default("announce_max")
    discord_api_base: str = _default("discord_api_base")
    discord_gateway_url: str = _default("discord_gateway_url")
    log_level: str = _default("log_level")

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1_000_000)

    @property
    def answer_workers(self) -> int:
        """Answers worked on at once: the setting, or one per CPU core (at most 4) when it is 0."""
        return self.max_concurrent_answers or min(4, os.cpu_count() or 1)

    def token(self) -> str:
        """The Discord token from DISCORD_TOKEN or the token file; ConfigError when neither is set."""
        if self.discord_token:
            return self.discord_token.strip()
        if self.discord_token_file:
            path = self.discord_token_file
            try:
                text = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    f"ARCHIVIST_DISCORD_TOKEN_FILE names {path}, which cannot be read ({exc.strerror})."
                ) from exc
            if not text:
                raise ConfigError(f"ARCHIVIST_DISCORD_TOKEN_FILE names {path}, which is empty.")
            return text
        raise ConfigError("No Discord token: set DISCORD_TOKEN, or ARCHIVIST_DISCORD_TOKEN_FILE naming a file with it.")

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Defaults, then the TOML file named by ARCHIVIST_CONFIG, then environment, then overrides."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        config_file = env.get("ARCHIVIST_CONFIG")
        if config_file:
            try:
                with open(config_file, "rb") as handle:
                    table = tomllib.load(handle)
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise ConfigError(f"Cannot read the config file {config_file}: {exc}.") from exc
            except UnicodeDecodeError:
                raise ConfigError(f"The config file {config_file} is not TOML: it is not UTF-8 text.") from None
            known = {s.name: s for s in SETTINGS}
            for key, raw in table.items():
                if key not in known:
                    raise ConfigError(f"Unknown setting {key!r} in {config_file}.")
                values[key] = known[key].parse(key, raw)
        for setting in SETTINGS:
            raw = env.get(setting.env)
            if raw is not None and raw.strip():
                values[setting.name] = setting.parse(setting.env, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        for name in ("home", "model_cache"):
            if values.get(name) is None:
                values.pop(name, None)
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.chunk_overlap >= self.chunk_tokens // 2:
            raise ConfigError("ARCHIVIST_CHUNK_OVERLAP must be less than half of ARCHIVIST_CHUNK_TOKENS.")
        if (self.shard_count is None) != (self.shard_id is None):
            raise ConfigError("Set ARCHIVIST_SHARD_COUNT and ARCHIVIST_SHARD_ID together, or neither.")
        if self.shard_count is not None and self.shard_id >= self.shard_count:  # type: ignore[operator]
            raise ConfigError(
                f"ARCHIVIST_SHARD_ID must be below ARCHIVIST_SHARD_COUNT ({self.shard_count}), not {self.shard_id}."
            )

    def serves(self, guild_id: int | None) -> bool:
        """Whether this process serves ``guild_id`` (None: direct messages, which Discord sends to shard 0)."""
        if self.shard_count is None:
            return True
        shard = 0 if guild_id is None else (guild_id >> 22) % self.shard_count
        return shard == self.shard_id
