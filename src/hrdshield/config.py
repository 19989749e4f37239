"""Typed, read-only settings: the only module that reads the environment.

Settings come from environment variables prefixed ``HRDSHIELD_`` and, optionally, a TOML file
named by ``HRDSHIELD_CONFIG_FILE`` (the environment wins). Every bad value stops start-up with a
message naming the variable; secret values never print.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

ENV_PREFIX = "HRDSHIELD_"
SUPPORTED_DATABASES = ("sqlite", "postgresql")
# Room for the text fields of a form that also carries files (a report's narrative is at most
# 20,000 characters, which UTF-8 may make 80 KB), multipart boundaries and headers included.
FORM_FIELDS_BYTES = 1024 * 1024


class ConfigError(Exception):
    """Raised when the configuration cannot be used; the message is meant for the operator."""


class Settings(BaseModel):
    """HRD Shield settings. Instances are frozen: pass them in, never mutate them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: Path = Field(Path("var"), description="Holds the SQLite file, uploads and keys.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; postgresql+psycopg://... for PostgreSQL."
    )
    secret_key: SecretStr | None = Field(
        None, description="Signs CSRF tokens; generated into DATA_DIR/keys when unset."
    )
    master_key: SecretStr | None = Field(
        None,
        description="Base64 32-byte key-encryption key; generated into DATA_DIR/keys when unset.",
    )
    cookie_secure: bool = Field(True, description="Mark cookies Secure; off only on loopback.")
    session_hours: int = Field(
        12, ge=1, le=24 * 7, description="Idle session lifetime (sessions end after 7 days)."
    )
    login_max_failures: int = Field(5, ge=1, le=100, description="Failures before lockout.")
    login_lockout_minutes: int = Field(15, ge=1, le=24 * 60, description="First lockout length.")
    login_client_limit: int = Field(
        30, ge=1, le=10_000, description="Login attempts per client per 5 minutes."
    )
    max_request_bytes: int = Field(
        10 * 1024 * 1024,
        ge=1024,
        le=1024**3,
        description="Largest request body accepted, except forms that carry files.",
    )
    max_upload_bytes: int = Field(
        25 * 1024 * 1024,
        ge=1024,
        le=1024**3,
        description="Largest evidence file, and the most the files of one form may hold together.",
    )
    smtp_host: str | None = Field(
        None, description="SMTP server for e-mail; unset disables e-mail."
    )
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_from: str = Field("hrdshield@localhost", description="Sender address of notifications.")
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS.")
    smtp_timeout_seconds: float = Field(10.0, gt=0, le=120)
    webhook_timeout_seconds: float = Field(10.0, gt=0, le=120)
    notify_max_attempts: int = Field(
        8, ge=1, le=100, description="Delivery attempts before giving up."
    )
    notify_interval_seconds: float = Field(
        5.0, gt=0, le=3600, description="How often the service delivers due notifications."
    )
    sla_critical_minutes: int = Field(60, ge=1, le=10_000, description="First response target.")
    sla_high_minutes: int = Field(4 * 60, ge=1, le=100_000)
    sla_medium_minutes: int = Field(24 * 60, ge=1, le=100_000)
    sla_low_minutes: int = Field(72 * 60, ge=1, le=100_000)
    retention_days: int = Field(
        90, ge=1, le=36_500, description="Days a closed case and its evidence are kept."
    )
    retention_warning_days: int = Field(
        14, ge=0, le=365, description="Days before expiry the defender is warned."
    )
    detection_config: Path | None = Field(
        None, description="TOML file of detector thresholds and per-country overrides."
    )
    detection_interval_seconds: float = Field(
        0.5, gt=0, le=60, description="How often the server looks for new events to examine."
    )
    detection_window_hours: float = Field(
        48.0, ge=1, le=24 * 30, description="How long event ids are remembered as duplicates."
    )
    bus_url: str | None = Field(
        None,
        description="NATS JetStream address (nats://host:4222) for scale-out; unset: in-process.",
    )
    bus_stream: str = Field(
        "HRDSHIELD_EVENTS", pattern=r"^[A-Za-z0-9_-]{1,32}$", description="JetStream stream."
    )
    bus_partitions: int = Field(
        16, ge=1, le=1024, description="Partitions of the stream (fixed once events flow)."
    )
    bus_replicas: int = Field(1, ge=1, le=5, description="Stream replicas (3 on a cluster).")
    bus_max_age_hours: float = Field(
        72.0, gt=0, le=24 * 90, description="How long the stream keeps events for replay."
    )
    bus_max_gib: float | None = Field(
        None,
        gt=0,
        le=100_000,
        description="Most the stream may hold (GiB); then publishers get 503. Unset: as set.",
    )
    worker_batch: int = Field(500, ge=1, le=10_000, description="Events a worker takes at once.")
    worker_lease_seconds: float = Field(
        15.0, ge=1, le=600, description="A dead worker's partitions move after this long."
    )
    worker_ack_wait_seconds: float = Field(
        30.0, ge=1, le=3600, description="An unacknowledged event is redelivered after this long."
    )
    worker_snapshot_seconds: float = Field(
        30.0, ge=1, le=3600, description="How often a worker saves each partition's state."
    )
    abuse_model: Path | None = Field(
        None,
        description="Abuse model directory (linear or transformer); unset: the shipped model.",
    )
    platform_adapter: Literal["demo", "webhook", "mastodon"] = Field(
        "demo", description="Which platform adapter carries protective actions out."
    )
    platform_webhook_url: str | None = Field(
        None, description="Where the webhook adapter POSTs signed actions (https)."
    )
    platform_webhook_secret: SecretStr | None = Field(
        None, description="HMAC-SHA256 key shared with the platform (at least 32 characters)."
    )
    platform_webhook_timeout_seconds: float = Field(10.0, gt=0, le=120)
    mastodon_url: str | None = Field(None, description="The Mastodon server's address (https).")
    mastodon_domain: str | None = Field(
        None, description="The domain in the server's handles, when not the address's host."
    )
    mastodon_admin_token: SecretStr | None = Field(
        None, description="A moderator's token: deactivation and takedown holds."
    )
    mastodon_user_tokens: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Handle to the token its owner granted (a JSON object in the environment).",
    )
    mastodon_timeout_seconds: float = Field(10.0, gt=0, le=120)
    public_url: str = Field(
        "http://127.0.0.1:8000",
        description="The address people reach this service at; links in e-mails point there.",
    )
    default_language: str = Field("en", description="UI language when nothing else is known.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    background_tasks: bool = Field(
        True, description="Run the SLA ladder and notification delivery inside the server."
    )
    workers: int = Field(
        0, ge=0, le=64, description="Processes `hrdshield serve` answers with; 0: one per CPU."
    )
    demo: bool = Field(False, description="Run the simulated demo platform's event generator.")
    demo_interval_seconds: float = Field(
        2.0, gt=0, le=3600, description="Seconds between demo event bursts."
    )
    environment: Literal["development", "production", "test"] = "production"

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        scheme = value.split(":", 1)[0].split("+", 1)[0]
        if scheme not in SUPPORTED_DATABASES:
            raise ValueError(
                f"unsupported database {scheme!r}; use sqlite:/// or postgresql+psycopg://"
            )
        return value

    @field_validator("bus_url")
    @classmethod
    def _bus_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("nats://", "tls://")):
            raise ValueError("must start with nats:// or tls://")
        return value

    @field_validator("abuse_model", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("abuse_model")
    @classmethod
    def _model_directory(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError(f"no such model directory: {value}")
        return value

    @field_validator("platform_webhook_url", "mastodon_url")
    @classmethod
    def _safe_address(cls, value: str | None) -> str | None:
        from hrdshield.outbound import check_webhook_url  # noqa: PLC0415  (keep config light)

        if value is None or value == "":
            return None
        check_webhook_url(value, what="the address")
        return value

    @field_validator("mastodon_user_tokens", mode="before")
    @classmethod
    def _tokens_object(cls, value: Any) -> Any:
        if isinstance(value, str):  # from the environment: a JSON object
            try:
                value = json.loads(value) if value.strip() else {}
            except ValueError:
                raise ValueError("must be a JSON object of handle to token") from None
        if not isinstance(value, dict) or not all(
            isinstance(handle, str) and handle.strip("@ ") and isinstance(token, str) and token
            for handle, token in value.items()
        ):
            raise ValueError("must map each handle to a token (both non-empty text)")
        return value

    @field_validator("public_url")
    @classmethod
    def _public_address(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        scheme, _, rest = value.partition("://")
        if scheme not in ("http", "https") or not rest or any(c in rest for c in " ?#"):
            raise ValueError("must be an http(s) address such as https://shield.example.org")
        return value

    @field_validator("default_language")
    @classmethod
    def _supported_language(cls, value: str) -> str:
        from hrdshield.web.i18n import SUPPORTED_LANGUAGES  # noqa: PLC0415  (avoid import cycle)

        if value not in SUPPORTED_LANGUAGES:
            raise ValueError(f"must be one of {', '.join(SUPPORTED_LANGUAGES)}")
        return value

    @model_validator(mode="after")
    def _warning_before_expiry(self) -> Settings:
        if self.retention_warning_days >= self.retention_days:
            raise ValueError("retention_warning_days must be smaller than retention_days")
        return self

    @model_validator(mode="after")
    def _adapter_configured(self) -> Settings:
        if self.platform_adapter == "webhook":
            if self.platform_webhook_url is None:
                raise ValueError(
                    f"{ENV_PREFIX}PLATFORM_WEBHOOK_URL is required with the webhook adapter"
                )
            secret = self.platform_webhook_secret
            if secret is None or len(secret.get_secret_value()) < 32:
                raise ValueError(
                    f"{ENV_PREFIX}PLATFORM_WEBHOOK_SECRET of at least 32 characters is required "
                    "with the webhook adapter"
                )
        if self.platform_adapter == "mastodon":
            if self.mastodon_url is None:
                raise ValueError(f"{ENV_PREFIX}MASTODON_URL is required with the Mastodon adapter")
            if self.mastodon_admin_token is None:
                raise ValueError(
                    f"{ENV_PREFIX}MASTODON_ADMIN_TOKEN (a moderator's token) is required with the "
                    "Mastodon adapter: takedown holds and deactivation need it"
                )
        return self

    @property
    def sqlalchemy_url(self) -> str:
        """Return the database URL, defaulting to SQLite inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'hrdshield.sqlite3').resolve()}"

    @property
    def max_form_bytes(self) -> int:
        """Return the largest body of a form that carries files: the files and their fields."""
        return self.max_upload_bytes + FORM_FIELDS_BYTES

    @property
    def serving_processes(self) -> int:
        """Return how many processes `hrdshield serve` starts (`workers`, or one per CPU)."""
        return self.workers or os.cpu_count() or 1

    @property
    def keys_dir(self) -> Path:
        """Return the folder that holds generated key material."""
        return self.data_dir / "keys"

    @property
    def uploads_dir(self) -> Path:
        """Return the folder that holds encrypted uploaded files."""
        return self.data_dir / "uploads"


def _file_values(environ: dict[str, str]) -> dict[str, Any]:
    path = environ.get(f"{ENV_PREFIX}CONFIG_FILE")
    if not path:
        return {}
    try:
        with Path(path).open("rb") as handle:
            values = tomllib.load(handle)
    except FileNotFoundError as error:
        raise ConfigError(f"{ENV_PREFIX}CONFIG_FILE: no such file: {path}") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{ENV_PREFIX}CONFIG_FILE: not valid TOML: {error}") from error
    section = values.get("hrdshield", values)
    if not isinstance(section, dict):
        raise ConfigError(f"{ENV_PREFIX}CONFIG_FILE: [hrdshield] must be a table")
    return section


def load_settings(environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Build settings from a config file, the environment and explicit overrides, in that order."""
    environ = dict(os.environ if environ is None else environ)
    values = _file_values(environ)
    for name in Settings.model_fields:
        key = f"{ENV_PREFIX}{name.upper()}"
        if key in environ:
            values[name] = environ[key]
    values.update(overrides)
    try:
        return Settings.model_validate(values)
    except ValidationError as error:
        raise ConfigError(_describe(error)) from error


def _describe(error: ValidationError) -> str:
    lines = ["invalid configuration:"]
    for problem in error.errors():
        field = ".".join(str(part) for part in problem["loc"])
        if not field:  # a rule across settings names its variables itself
            lines.append(f"  {problem['msg'].removeprefix('Value error, ')}")
            continue
        lines.append(f"  {ENV_PREFIX}{field.upper()}: {problem['msg']}")
    return "\n".join(lines)
