"""Cross-cutting rules of the schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import UniqueConstraint, create_engine

from clinicflow.all_models import metadata
from clinicflow.platform.migrations import include_object

#: Tables whose rows may belong to no tenant, and why. Every other tenant_id is NOT NULL.
TENANT_OPTIONAL = {
    "auth_sessions": "a platform admin's session belongs to no tenant",
    "audit_events": "platform events (a platform login, a login naming no known tenant)",
}


def test_every_tenant_owned_table_has_an_index_led_by_tenant_id() -> None:
    missing = []
    for table in metadata.sorted_tables:
        if "tenant_id" not in table.c:
            continue
        if table.name not in TENANT_OPTIONAL:
            assert not table.c.tenant_id.nullable, f"{table.name}.tenant_id must be NOT NULL"
        leading = [next(iter(ix.expressions)) for ix in table.indexes]
        leading += [next(iter(c.columns)) for c in table.constraints if isinstance(c, UniqueConstraint)]
        leading += list(table.primary_key.columns)[:1]
        if not any(getattr(col, "name", None) == "tenant_id" for col in leading):
            missing.append(table.name)
    assert missing == []


def test_migrations_match_the_models(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"include_object": include_object, "compare_type": True}
            )
            diff = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert diff == [], f"models and migrations disagree; write a migration: {diff}"
