"""Applying and inspecting the schema version (Alembic)."""

from __future__ import annotations

from functools import lru_cache

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from clinicflow.platform.db.database import Database
from clinicflow.platform.db.direct import Query


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Autogenerate filter: procrastinate owns its tables; our metadata does not describe them."""
    return not (name or "").startswith(("procrastinate_", "idx_procrastinate_"))


def alembic_config(sqlalchemy_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", "clinicflow:migrations")
    # ConfigParser interpolation: a literal % in a URL must be doubled.
    config.set_main_option("sqlalchemy.url", sqlalchemy_url.replace("%", "%%"))
    return config


def upgrade_to_head(sqlalchemy_url: str) -> None:
    """Apply every pending migration (serialised by an advisory lock)."""
    command.upgrade(alembic_config(sqlalchemy_url), "head")


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The code's head revision (parsed from the migration scripts once per process)."""
    script = ScriptDirectory.from_config(alembic_config("postgresql+psycopg://unused"))
    head = script.get_current_head()
    assert head is not None
    return head


_CURRENT_REVISION = Query(text("SELECT version_num FROM alembic_version"))  # readiness probes


async def current_revision(database: Database) -> str | None:
    """The revision the database is at, or None before the first migration."""
    try:
        async with database.reading() as uow:
            row = await uow.fetch_one(_CURRENT_REVISION)
            return None if row is None else str(row["version_num"])
    except ProgrammingError:  # alembic_version does not exist yet
        return None
