"""The waitlist keeps the shared shape: queries in its repository, no import circle, handlers
subscribed by `register()` only, one shape of weights, functions and modules of readable size."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from clinicflow.waitlist import scoring
from clinicflow.waitlist.models import WaitlistPolicy
from clinicflow.waitlist.schemas import PolicyIn, PolicyRead

PACKAGE = Path(__file__).parents[2] / "src" / "clinicflow" / "waitlist"
#: Where SQL may be built: the repository (and the table definitions).
STORAGE = {"repository.py", "models.py"}
SQL_BUILDERS = {"select", "insert", "update", "delete", "text"}


def modules() -> dict[str, ast.Module]:
    return {path.name: ast.parse(path.read_text(), str(path)) for path in sorted(PACKAGE.glob("*.py"))}


def sql_built_in(tree: ast.Module) -> list[str]:
    """Calls of SQLAlchemy's statement builders, and imports of them."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            found += [f"import {a.name}" for a in node.names if a.name in SQL_BUILDERS]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in SQL_BUILDERS:
            found.append(f"{node.func.id}( at line {node.lineno}")
    return found


def test_every_query_is_in_the_repository() -> None:
    built = {name: sql_built_in(tree) for name, tree in modules().items() if name not in STORAGE}
    assert {name: calls for name, calls in built.items() if calls} == {}


def test_the_rule_above_sees_a_query_where_it_should_not_be() -> None:
    assert sql_built_in(ast.parse("from sqlalchemy import select\nselect(1)\n")) == [
        "import select",
        "select( at line 2",
    ]


def local_imports(name: str, tree: ast.Module) -> set[str]:
    """The waitlist modules that `name` imports at module level."""
    found = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "clinicflow.waitlist":
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("clinicflow.waitlist."):
            found.add(node.module.rsplit(".", 1)[1])
    return found - {name.removesuffix(".py")}


def cycle_in(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of the graph, or None."""
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":  # open nodes are exactly those on the path
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target, [*path, target])):
                return found
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_no_import_circle_inside_the_waitlist() -> None:
    graph = {name.removesuffix(".py"): local_imports(name, tree) for name, tree in modules().items()}
    assert cycle_in(graph) is None


def test_the_circle_check_finds_a_circle() -> None:
    graph = {"service": {"offers"}, "offers": {"lifecycle", "service"}, "lifecycle": set()}
    assert cycle_in(graph) == ["offers", "service", "offers"]
    assert cycle_in({**graph, "offers": {"lifecycle"}}) is None


def test_no_import_hides_inside_a_function() -> None:
    hidden = [
        f"{name}:{node.lineno}"
        for name, tree in modules().items()
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(function)
        if isinstance(node, ast.Import | ast.ImportFrom)
    ]
    assert hidden == []


def test_importing_the_waitlist_subscribes_nothing_and_register_does() -> None:
    """A fresh interpreter: every waitlist module imported, then a cancellation dispatched with
    no database. Before `register()` no handler runs; after it, the waitlist's handler does
    (and fails for want of a database, which is how we see it ran)."""
    script = """
import asyncio, importlib, pkgutil, uuid
from datetime import UTC, datetime
import clinicflow.waitlist as package
for module in pkgutil.iter_modules(package.__path__):
    importlib.import_module(f"clinicflow.waitlist.{module.name}")
from clinicflow.scheduling import events
payload = dict(event="appointment.cancelled", tenant_id=str(uuid.uuid4()),
    appointment_id=str(uuid.uuid4()), clinic_id=str(uuid.uuid4()), doctor_id=str(uuid.uuid4()),
    patient_id=str(uuid.uuid4()), starts_at=datetime(2999, 1, 1, tzinfo=UTC).isoformat(),
    ends_at=datetime(2999, 1, 1, 1, tzinfo=UTC).isoformat())
task = events.TASKS[events.Event.CANCELLED]
asyncio.run(task.func(**payload))
print("nothing ran")
from clinicflow.waitlist import events as waitlist_events
waitlist_events.register()
waitlist_events.register()
try:
    asyncio.run(task.func(**payload))
except RuntimeError as exc:
    print("handler ran:", exc)
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "nothing ran"
    assert lines[1].startswith("handler ran:")
    assert len(lines) == 2


def test_weights_have_one_shape() -> None:
    weights = scoring.Weights(wait_time=2.0, priority_tier=3.0, chronic_condition=4.0, window_fit=5.0)
    row = WaitlistPolicy(weight_wait=2.0, weight_tier=3.0, weight_chronic=4.0, weight_fit=5.0)
    assert row.weights == weights
    row.weights = scoring.Weights()
    assert (row.weight_wait, row.weight_tier, row.weight_chronic, row.weight_fit) == (1.0, 24.0, 48.0, 12.0)
    assert PolicyIn.model_fields["priority_weights"].annotation is scoring.Weights
    read = PolicyRead.model_validate({"clinic_id": "00000000-0000-0000-0000-000000000001"})
    assert read.priority_weights == scoring.Weights()


@pytest.mark.parametrize("weights", [{"wait_time": -1}, {"window_fit": 10_001}, {"surprise": 1}])
def test_weights_out_of_range_or_unknown_are_refused(weights: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        PolicyIn.model_validate({"priority_weights": weights})


def test_functions_and_modules_stay_readable() -> None:
    long_functions = [
        f"{name}:{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for name, tree in modules().items()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno + 1 > 60
    ]
    long_modules = [p.name for p in PACKAGE.glob("*.py") if len(p.read_text().splitlines()) > 500]
    assert (long_functions, long_modules) == ([], [])
