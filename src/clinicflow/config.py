"""Runtime configuration, read from the environment (and `.env`) by pydantic-settings.

Secrets: in `dev` and `test`, a missing secret is generated once into
`<var_dir>/secrets.json` (mode 0600) and reused on every start, so sessions and
encrypted data survive restarts. In `prod`, a missing secret stops start-up with
a message naming the variable to set.
"""

from __future__ import annotations

import json
import os
import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(StrEnum):
    DEV = "dev"
    TEST = "test"
    PROD = "prod"


class ConfigurationError(RuntimeError):
    """The configuration cannot be used; the message says what to set."""


_SECRET_FIELDS = ("secret_key", "encryption_key")

#: argon2id memory per password hash, OWASP Password Storage Cheat Sheet (m=19 MiB, t=2, p=1).
OWASP_MEMORY_KIB = 19 * 1024


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    env: Annotated[Environment, Field(alias="CLINICFLOW_ENV")] = Environment.DEV
    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    redis_url: str | None = Field(default=None, alias="REDIS_URL")
    var_dir: Path = Field(default=Path("var"), alias="CLINICFLOW_VAR_DIR")
    secret_key: str | None = Field(default=None, alias="CLINICFLOW_SECRET_KEY")
    encryption_key: str | None = Field(default=None, alias="CLINICFLOW_ENCRYPTION_KEY")
    log_level: str = Field(default="INFO", alias="CLINICFLOW_LOG_LEVEL")
    log_json: bool = Field(default=True, alias="CLINICFLOW_LOG_JSON")
    max_body_bytes: int = Field(default=1024 * 1024, alias="CLINICFLOW_MAX_BODY_BYTES", gt=0)
    # FastAPI's native OpenTelemetry (spans, metrics, logs through the global providers).
    # Off by default: our metrics are Prometheus (/metrics), and with it on FastAPI
    # asks the OpenTelemetry globals on every request even when nothing is configured.
    otel: bool = Field(default=False, alias="CLINICFLOW_OTEL")
    # Connection budget of one process (docs/decisions.md, "Connection budget"): writes, hot
    # reads (`direct.Query` on psycopg), every other read (SQLAlchemy's engine), the job
    # queue's pool and its one LISTEN connection, and the process's own LISTEN connection
    # (platform.listener). The defaults add up to 20 (`connection_budget`).
    db_pool_size: int = Field(default=6, alias="CLINICFLOW_DB_POOL_SIZE", gt=0)
    db_max_overflow: int = Field(default=0, alias="CLINICFLOW_DB_MAX_OVERFLOW", ge=0)
    db_read_pool_size: int = Field(default=2, alias="CLINICFLOW_DB_READ_POOL_SIZE", gt=0)
    db_orm_read_pool_size: int = Field(default=7, alias="CLINICFLOW_DB_ORM_READ_POOL_SIZE", gt=0)
    jobs_pool_size: int = Field(default=3, alias="CLINICFLOW_JOBS_POOL_SIZE", ge=2)
    # Seconds a request waits for a pooled connection, and for a new connection to open,
    # before it answers 503 DATABASE_UNAVAILABLE.
    db_pool_timeout: float = Field(default=5.0, alias="CLINICFLOW_DB_POOL_TIMEOUT", gt=0)
    db_connect_timeout: int = Field(default=5, alias="CLINICFLOW_DB_CONNECT_TIMEOUT", ge=2)
    # Job worker: jobs at once (serve's in-process worker), heartbeat period, and how long
    # a silent worker's jobs wait before they are queued again (same on every worker).
    worker_concurrency: int = Field(default=4, alias="CLINICFLOW_WORKER_CONCURRENCY", gt=0, le=64)
    jobs_heartbeat_seconds: float = Field(default=10.0, alias="CLINICFLOW_JOBS_HEARTBEAT_SECONDS", gt=0)
    jobs_stalled_after_seconds: float = Field(
        default=30.0, alias="CLINICFLOW_JOBS_STALLED_AFTER_SECONDS", gt=0
    )
    public_url: str = Field(default="http://127.0.0.1:8000", alias="CLINICFLOW_PUBLIC_URL")
    # Authentication
    access_token_ttl_seconds: int = Field(default=900, alias="CLINICFLOW_ACCESS_TOKEN_TTL", gt=0)
    session_ttl_days: int = Field(default=30, alias="CLINICFLOW_SESSION_TTL_DAYS", gt=0)
    #: Pages sign a browser out after this long without a request (automatic logoff).
    web_idle_timeout_minutes: int = Field(default=30, alias="CLINICFLOW_WEB_IDLE_TIMEOUT_MINUTES", gt=0)
    # Rate limits, in `limits` notation ("5/minute", "3 per 2 seconds"). Storage is
    # memory unless REDIS_URL is set; the prefix namespaces keys on a shared Redis.
    login_rate_per_account: str = Field(default="5/minute", alias="CLINICFLOW_LOGIN_RATE_PER_ACCOUNT")
    login_rate_per_address: str = Field(default="30/minute", alias="CLINICFLOW_LOGIN_RATE_PER_ADDRESS")
    otp_rate_per_account: str = Field(default="3/10 minutes", alias="CLINICFLOW_OTP_RATE_PER_ACCOUNT")
    otp_rate_per_address: str = Field(default="20/10 minutes", alias="CLINICFLOW_OTP_RATE_PER_ADDRESS")
    rate_limit_prefix: str = Field(default="clinicflow", alias="CLINICFLOW_RATE_LIMIT_PREFIX")
    # QR check-in scans: per scanning patient, and per location (every scan of a valid code).
    checkin_rate_per_patient: str = Field(default="10/minute", alias="CLINICFLOW_CHECKIN_RATE_PER_PATIENT")
    checkin_rate_per_location: str = Field(default="600/minute", alias="CLINICFLOW_CHECKIN_RATE_PER_LOCATION")
    # Key ids of the check-in QR signing keys (derived from CLINICFLOW_SECRET_KEY), newest first:
    # the first signs, every one listed verifies. Prepend a new id to rotate; drop one to revoke
    # every code it signed.
    checkin_qr_key_ids: str = Field(
        default="1", alias="CLINICFLOW_CHECKIN_QR_KEY_IDS", pattern=r"^[A-Za-z0-9]{1,8}(,[A-Za-z0-9]{1,8})*$"
    )
    # argon2id memory per password hash. OWASP's 19 MiB is the floor outside `test`,
    # where a cheap hash keeps hundreds of logins from dominating the suite's time.
    password_hash_memory_kib: int = Field(
        default=OWASP_MEMORY_KIB, alias="CLINICFLOW_PASSWORD_HASH_MEMORY_KIB", ge=8
    )

    @model_validator(mode="after")
    def _strong_hashes_outside_tests(self) -> Settings:
        if self.env is not Environment.TEST and self.password_hash_memory_kib < OWASP_MEMORY_KIB:
            raise ValueError(
                f"CLINICFLOW_PASSWORD_HASH_MEMORY_KIB below {OWASP_MEMORY_KIB} "
                "is only allowed with CLINICFLOW_ENV=test"
            )
        return self

    @model_validator(mode="after")
    def _stall_bound_outlasts_heartbeats(self) -> Settings:
        # One late heartbeat must not make a healthy worker's jobs run twice.
        if self.jobs_stalled_after_seconds < 2 * self.jobs_heartbeat_seconds:
            raise ValueError(
                "CLINICFLOW_JOBS_STALLED_AFTER_SECONDS must be at least twice "
                "CLINICFLOW_JOBS_HEARTBEAT_SECONDS"
            )
        return self

    @property
    def connection_budget(self) -> int:
        """The most PostgreSQL connections one `clinicflow serve` process opens."""
        return (
            self.db_pool_size
            + self.db_max_overflow
            + self.db_read_pool_size
            + self.db_orm_read_pool_size
            + self.jobs_pool_size
            + 1  # the worker's LISTEN connection
            + 1  # the process's LISTEN connection (platform.listener)
        )

    @field_validator("database_url")
    @classmethod
    def _normalise_driver(cls, value: str | None) -> str | None:
        """Accept plain `postgresql://` URLs and pin the psycopg 3 driver."""
        if not value:
            return None
        for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        raise ValueError("DATABASE_URL must be a postgresql:// URL")

    def with_secrets(self) -> Settings:
        """Return settings with every secret present, or raise ConfigurationError."""
        missing = [name for name in _SECRET_FIELDS if not getattr(self, name)]
        if not missing:
            return self
        if self.env is Environment.PROD:
            names = ", ".join(f"CLINICFLOW_{name.upper()}" for name in missing)
            raise ConfigurationError(
                f"{names} must be set when CLINICFLOW_ENV=prod "
                "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        stored = _load_or_create_dev_secrets(self.var_dir)
        return self.model_copy(update={name: stored[name] for name in missing})


def _load_or_create_dev_secrets(var_dir: Path) -> dict[str, str]:
    path = var_dir / "secrets.json"
    stored: dict[str, str] = {}
    if path.exists():
        stored = json.loads(path.read_text())
    changed = False
    for name in _SECRET_FIELDS:
        if name not in stored:
            stored[name] = secrets.token_urlsafe(48)
            changed = True
    if changed:
        var_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(stored, handle)
        tmp.replace(path)
    return stored


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, secrets resolved."""
    return Settings().with_secrets()
