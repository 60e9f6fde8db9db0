"""Issue 12's code-shape rules hold in src/clinicflow, and each one fails when it is broken.

Every rule is a pure function of a source tree (`tests/architecture/rules.py`).
The first group runs each on our package; the second builds, for each rule, a
small package in tmp_path that keeps every rule, checks that it is clean, then
breaks one rule and checks that exactly that rule reports it. No domain is
exempt: a rule that fails here names the module and line to fix.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from textwrap import dedent

import pytest

from tests.architecture import rules

SRC = Path(__file__).resolve().parents[2] / "src" / "clinicflow"
Rule = Callable[[rules.Tree], list[str]]
RULES: dict[str, Rule] = {
    "private_imports": rules.private_imports,
    "import_cycles": rules.import_cycles,
    "missing_roles": rules.missing_roles,
    "queries_outside_repositories": rules.queries_outside_repositories,
    "oversized": rules.oversized,
    "services_importing_the_web": rules.services_importing_the_web,
    "foreign_storage_imports": rules.foreign_storage_imports,
    "registration_by_import": rules.registration_by_import,
}


@pytest.fixture(scope="module")
def clinicflow() -> rules.Tree:
    return rules.Tree(SRC)


def test_every_domain_is_seen(clinicflow: rules.Tree) -> None:
    """The rules cover each domain package (a new one joins by existing), and nothing shared."""
    assert {"identity", "tenancy", "scheduling", "waitlist", "audit", "messaging", "web"} <= set(
        clinicflow.domains
    )
    assert not {"platform", "migrations"} & set(clinicflow.domains)


@pytest.mark.parametrize("name", sorted(RULES))
def test_the_rule_holds_in_clinicflow(clinicflow: rules.Tree, name: str) -> None:
    violations = RULES[name](clinicflow)
    assert violations == [], f"{name}:\n" + "\n".join(violations)


# --- each rule fails when broken ----------------------------------------------------------------

GOOD: dict[str, str] = {
    "__init__.py": "",
    "app.py": "from sample.shop import events\n\n\ndef build() -> None:\n    events.register()\n",
    "platform/__init__.py": "",
    "platform/db.py": "def helper() -> int:\n    return 1\n",
    "migrations/__init__.py": "",
    "migrations/old.py": "x = 1\n" * 600,  # migrations are exempt from the size rules
    "shop/__init__.py": "",
    "shop/models.py": """
        from sqlalchemy import text

        class Item(Base):
            __tablename__ = "items"
            created = text("now()")
    """,
    "shop/repository.py": """
        from sqlalchemy import select

        from sample.shop.models import Item

        def items():
            return select(Item)
    """,
    "shop/schemas.py": "class ItemRead:\n    pass\n",
    "shop/policy.py": "def ensure_can_read(principal) -> None:\n    pass\n",
    "shop/service.py": """
        from sample.platform.db import helper
        from sample.shop import repository

        def list_items():
            changes = {}
            changes.update({"a": helper()})  # a dict's update is no statement
            return repository.items()
    """,
    "shop/routes.py": """
        from fastapi import APIRouter

        from sample.shop import policy, service

        router = APIRouter()
    """,
    "shop/events.py": """
        from sample.platform import db

        def register() -> None:
            db.subscribe("x", handler)
    """,
    "billing/__init__.py": "",
    "billing/service.py": """
        from sample.shop import service as shop

        def total():
            return shop.list_items()
    """,
}

LONG_BODY = "".join(f"    x{i} = {i}\n" for i in range(60))

BROKEN: list[tuple[str, dict[str, str], str]] = [
    (
        "private_imports",
        {"billing/service.py": "from sample.shop.service import _helper\n"},
        "imports _helper",
    ),
    (
        "private_imports",
        {"billing/service.py": "from sample.shop import service\n\nservice._cache.clear()\n"},
        "uses service._cache",
    ),
    (
        "private_imports",
        {"billing/service.py": "from sqlalchemy.sql.compiler import _CompileLabel\n"},
        "imports _CompileLabel",
    ),
    ("private_imports", {"billing/service.py": "import sqlalchemy.engine._row\n"}, "private module"),
    (
        "import_cycles",
        {
            # a function-level import that dodges the circle at run time is still a circle
            "shop/helpers.py": "def later():\n    from sample.shop import service\n",
            "shop/service.py": "from sample.shop import helpers\n",
        },
        "sample.shop.helpers <-> sample.shop.service",
    ),
    (
        "missing_roles",
        {"shop/service.py": "class Line(Base):\n    __tablename__ = 'lines'\n"},
        "sample.shop.service declares tables outside models.py",
    ),
    (
        "missing_roles",
        {"billing/models.py": "class Bill(Base):\n    __tablename__ = 'bills'\n"},
        "sample.billing has tables but no repository.py",
    ),
    (
        "missing_roles",
        {"billing/service.py": "from fastapi import APIRouter\n\nrouter = APIRouter()\n"},
        "sample.billing.service defines a router outside routes.py",
    ),
    (
        "missing_roles",
        {"billing/routes.py": "from fastapi import APIRouter\n\nrouter = APIRouter()\n"},
        "sample.billing has routes but no policy.py",
    ),
    (
        "queries_outside_repositories",
        {"shop/service.py": "from sqlalchemy import select as s\n\n\ndef f():\n    return s(1)\n"},
        "sample.shop.service:5 calls select(",
    ),
    (
        "queries_outside_repositories",
        {"shop/routes.py": "import sqlalchemy as sa\n\n\ndef f():\n    return sa.text('SELECT 1')\n"},
        "calls sa.text(",
    ),
    (
        "queries_outside_repositories",
        {"shop/service.py": "from sqlalchemy import delete, update\n\nupdate(T)\ndelete(T)\n"},
        "calls delete(",
    ),
    ("oversized", {"shop/service.py": "def long():\n" + LONG_BODY}, "long has 61 lines"),
    ("oversized", {"shop/schemas.py": "x = 1\n" * 501}, "sample.shop.schemas has 501 lines"),
    (
        "services_importing_the_web",
        {"shop/service.py": "from fastapi import HTTPException\n"},
        "imports the web layer: fastapi",
    ),
    (
        "services_importing_the_web",
        {"shop/policy.py": "from sample.shop.routes import router\n"},
        "imports the web layer: sample.shop.routes",
    ),
    (
        "foreign_storage_imports",
        {"billing/service.py": "from sample.shop.models import Item\n"},
        "billing imports sample.shop.models",
    ),
    (
        "foreign_storage_imports",
        {"billing/service.py": "from sample.shop import repository\n"},
        "billing imports sample.shop.repository",
    ),
    (
        "foreign_storage_imports",
        {"platform/db.py": "from sample.shop import service\n"},
        "platform imports the shop domain",
    ),
    (
        "registration_by_import",
        {"shop/events.py": "from sample.platform import db\n\nfor e in 'ab':\n    db.subscribe(e, h)\n"},
        "calls subscribe( on import",
    ),
    (
        "registration_by_import",
        {"billing/service.py": "from sample.shop import service\n\nservice.register_guard(f)\n"},
        "calls register_guard( on import",
    ),
]


def _write(root: Path, files: dict[str, str]) -> rules.Tree:
    package = root / "sample"
    for relative, text in files.items():
        path = package / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text).lstrip("\n"))
    return rules.Tree(package)


def test_the_good_sample_keeps_every_rule(tmp_path: Path) -> None:
    tree = _write(tmp_path, GOOD)
    assert tree.domains == ["billing", "shop"]
    assert {name: rule(tree) for name, rule in RULES.items()} == {name: [] for name in RULES}


@pytest.mark.parametrize(
    ("name", "change", "expected"), BROKEN, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(BROKEN)]
)
def test_each_rule_fails_when_broken(
    tmp_path: Path, name: str, change: dict[str, str], expected: str
) -> None:
    tree = _write(tmp_path, {**GOOD, **change})
    violations = RULES[name](tree)
    assert any(expected in violation for violation in violations), violations
