from __future__ import annotations

import stat
from pathlib import Path

import pytest

from clinicflow.config import ConfigurationError, Environment, Settings


def test_dev_generates_secrets_once_and_reuses_them(tmp_path: Path) -> None:
    first = Settings(CLINICFLOW_ENV=Environment.DEV, CLINICFLOW_VAR_DIR=tmp_path).with_secrets()
    second = Settings(CLINICFLOW_ENV=Environment.DEV, CLINICFLOW_VAR_DIR=tmp_path).with_secrets()
    assert first.secret_key
    assert first.encryption_key
    assert (first.secret_key, first.encryption_key) == (second.secret_key, second.encryption_key)
    mode = stat.S_IMODE((tmp_path / "secrets.json").stat().st_mode)
    assert mode == 0o600


def test_explicit_secret_wins_over_generated(tmp_path: Path) -> None:
    settings = Settings(
        CLINICFLOW_ENV=Environment.DEV, CLINICFLOW_VAR_DIR=tmp_path, CLINICFLOW_SECRET_KEY="from-env"
    ).with_secrets()
    assert settings.secret_key == "from-env"


def test_prod_refuses_to_start_without_secrets(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="CLINICFLOW_SECRET_KEY, CLINICFLOW_ENCRYPTION_KEY"):
        Settings(CLINICFLOW_ENV=Environment.PROD, CLINICFLOW_VAR_DIR=tmp_path).with_secrets()
    assert not (tmp_path / "secrets.json").exists()


def test_prod_starts_with_secrets(tmp_path: Path) -> None:
    settings = Settings(
        CLINICFLOW_ENV=Environment.PROD,
        CLINICFLOW_VAR_DIR=tmp_path,
        CLINICFLOW_SECRET_KEY="k" * 48,
        CLINICFLOW_ENCRYPTION_KEY="e" * 48,
    ).with_secrets()
    assert settings.secret_key == "k" * 48


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ],
)
def test_database_url_always_uses_psycopg3(given: str, expected: str) -> None:
    assert Settings(DATABASE_URL=given).database_url == expected


def test_database_url_must_be_postgresql() -> None:
    with pytest.raises(ValueError, match="postgresql"):
        Settings(DATABASE_URL="mysql://u@h/db")
