"""The one typed settings object, read from the environment (and an optional TOML file).

Every setting is declared once in ``SETTINGS`` with its environment variable, default and
help text; that table drives loading, validation, ``archivist settings`` and the README's
configuration table (a test checks the README documents every entry). Secrets have no
default and never appear in ``repr`` or logs.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from index.errors import ConfigError

REAL_DISCORD_API = "https://discord.com/api/v10"
REAL_DISCORD_GATEWAY = "wss://gateway.discord.gg/"


@dataclass(frozen=True)
class Setting:
    name: str  # field name on Settings
    env: str
    kind: type
    default: object
    help: str
    secret: bool = False


def _default_home() -> str:
    return platformdirs.user_data_dir("archivist", appauthor=False)


SETTINGS: tuple[Setting, ...] = (
    Setting("home", "ARCHIVIST_HOME", Path, None, "Folder holding the archive database and index files (default: the per-user data directory)."),
    Setting("chunk_tokens", "ARCHIVIST_CHUNK_TOKENS", int, 256, "Largest chunk, in cl100k tokens."),
    Setting("chunk_overlap", "ARCHIVIST_CHUNK_OVERLAP", int, 32, "Tokens of whole sentences shared by consecutive chunks."),
    Setting("max_file_mb", "ARCHIVIST_MAX_FILE_MB", float, 20.0, "Input files larger than this are skipped with a reason."),
    Setting("embedder", "ARCHIVIST_EMBEDDER", str, "onnx-int8", "Embedding backend: onnx-int8 (fast default), torch-bf16 or torch-fp32."),
    Setting("hnsw_threshold", "ARCHIVIST_HNSW_THRESHOLD", int, 50_000, "Vector count above which an approximate HNSW index replaces exact search."),
    Setting("llm_base_url", "ARCHIVIST_LLM_BASE_URL", str, "", "OpenAI-compatible endpoint for optional 1-3 sentence summaries (empty: off)."),
    Setting("llm_model", "ARCHIVIST_LLM_MODEL", str, "", "Model name sent to that endpoint."),
    Setting("llm_api_key", "ARCHIVIST_LLM_API_KEY", str, None, "API key for the summary endpoint, if it needs one.", secret=True),
    Setting("discord_token", "DISCORD_TOKEN", str, None, "The bot's token (required for `archivist run`).", secret=True),
    Setting("discord_token_file", "ARCHIVIST_DISCORD_TOKEN_FILE", Path, None, "A file holding the token, instead of DISCORD_TOKEN."),
    Setting("mod_role", "ARCHIVIST_MOD_ROLE", str, "", "Role name or id allowed to run moderator commands besides Manage Server holders."),
    Setting("audit_channel", "ARCHIVIST_AUDIT_CHANNEL", int, 0, "Channel id where every moderator action is logged (0: off)."),
    Setting("feedback_channel", "ARCHIVIST_FEEDBACK_CHANNEL", int, 0, "Channel id that receives 👎 feedback with its reason (0: off)."),
    Setting("cooldown_seconds", "ARCHIVIST_COOLDOWN_SECONDS", float, 5.0, "Per-user pause between questions."),
    Setting("max_concurrent_answers", "ARCHIVIST_MAX_CONCURRENT_ANSWERS", int, 8, "Answers worked on at once; above it users get a polite 'busy'."),
    Setting("thread_followups", "ARCHIVIST_THREAD_FOLLOWUPS", bool, True, "Whether 'Follow up' opens a thread whose messages are follow-up questions."),
    Setting("guild_allowlist", "ARCHIVIST_GUILD_ALLOWLIST", str, "", "Comma-separated guild ids the bot serves (empty: all)."),
    Setting("discord_api_base", "ARCHIVIST_DISCORD_API_BASE", str, REAL_DISCORD_API, "Discord REST base URL (for REST proxies and tests)."),
    Setting("discord_gateway_url", "ARCHIVIST_DISCORD_GATEWAY_URL", str, REAL_DISCORD_GATEWAY, "Discord gateway URL (for tests)."),
    Setting("log_level", "ARCHIVIST_LOG_LEVEL", str, "INFO", "Logging level; discord.py's own DEBUG logs stay off whatever this says."),
)


def _default(name: str) -> object:
    return next(s.default for s in SETTINGS if s.name == name)


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=lambda: Path(_default_home()))
    chunk_tokens: int = _default("chunk_tokens")
    chunk_overlap: int = _default("chunk_overlap")
    max_file_mb: float = _default("max_file_mb")
    embedder: str = _default("embedder")
    hnsw_threshold: int = _default("hnsw_threshold")
    llm_base_url: str = _default("llm_base_url")
    llm_model: str = _default("llm_model")
    llm_api_key: str | None = field(default=None, repr=False)
    discord_token: str | None = field(default=None, repr=False)
    discord_token_file: Path | None = _default("discord_token_file")
    mod_role: str = _default("mod_role")
    audit_channel: int = _default("audit_channel")
    feedback_channel: int = _default("feedback_channel")
    cooldown_seconds: float = _default("cooldown_seconds")
    max_concurrent_answers: int = _default("max_concurrent_answers")
    thread_followups: bool = _default("thread_followups")
    guild_allowlist: str = _default("guild_allowlist")
    discord_api_base: str = _default("discord_api_base")
    discord_gateway_url: str = _default("discord_gateway_url")
    log_level: str = _default("log_level")

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1_000_000)

    @property
    def guild_ids(self) -> frozenset[int]:
        return frozenset(int(part) for part in self.guild_allowlist.split(",") if part.strip())

    def token(self) -> str:
        """The Discord token from DISCORD_TOKEN or the token file; ConfigError when neither is set."""
        if self.discord_token:
            return self.discord_token.strip()
        if self.discord_token_file:
            try:
                return self.discord_token_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"Cannot read the token file {self.discord_token_file}: {exc.strerror}.") from exc
        raise ConfigError("No Discord token: set DISCORD_TOKEN or ARCHIVIST_DISCORD_TOKEN_FILE.")

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
            known = {s.name: s for s in SETTINGS}
            for key, raw in table.items():
                if key not in known:
                    raise ConfigError(f"Unknown setting {key!r} in {config_file}.")
                values[key] = _convert(known[key], raw)
        for setting in SETTINGS:
            raw = env.get(setting.env)
            if raw not in (None, ""):
                values[setting.name] = _convert(setting, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        if values.get("home") is None:
            values.pop("home", None)
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.chunk_tokens < 32:
            raise ConfigError("ARCHIVIST_CHUNK_TOKENS must be at least 32.")
        if not 0 <= self.chunk_overlap < self.chunk_tokens // 2:
            raise ConfigError("ARCHIVIST_CHUNK_OVERLAP must be between 0 and half the chunk size.")
        if self.max_concurrent_answers < 1:
            raise ConfigError("ARCHIVIST_MAX_CONCURRENT_ANSWERS must be at least 1.")
        if self.embedder not in {"onnx-int8", "torch-bf16", "torch-fp32"}:
            raise ConfigError(f"Unknown ARCHIVIST_EMBEDDER {self.embedder!r}: use onnx-int8, torch-bf16 or torch-fp32.")


def _convert(setting: Setting, raw: object) -> object:
    try:
        if setting.kind is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off"}:
                return False
            raise ValueError(text)
        if setting.kind is Path:
            return Path(str(raw)).expanduser()
        return setting.kind(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{setting.env} must be a {setting.kind.__name__}, not {raw!r}.") from exc


