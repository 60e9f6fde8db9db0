"""The code-shape rules of issue 12, as pure functions over a package's source tree.

Each rule takes a `Tree` (a package directory read once) and returns its
violations as readable strings, empty when the rule holds. They read source
with `ast` only (nothing is imported), so the same functions run on
`src/clinicflow` and on the small broken packages the tests generate to prove
that each rule fails when it is broken.

A *domain* is every sub-package of the root except the shared ones
(`platform`, `migrations`, `static`); new domains are covered as they appear.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

#: Sub-packages of the root that are not domains.
SHARED = frozenset({"platform", "migrations", "static"})
#: The presentation domain: every module of it is a page module (routes by nature); it owns no
#: schemas or policy of its own, it calls the domains' services and policies.
PRESENTATION = frozenset({"web"})
MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 500
#: SQLAlchemy statement builders that only a repository (or a model's declaration) may call.
STATEMENT_BUILDERS = frozenset({"select", "insert", "update", "delete", "text"})
#: Modules that only the web layer may import.
WEB_PACKAGES = ("fastapi", "starlette")


@dataclass(frozen=True)
class Module:
    name: str  # dotted: clinicflow.tenancy.service
    path: Path
    tree: ast.Module
    lines: int
    is_package: bool

    @property
    def leaf(self) -> str:
        return self.name.rsplit(".", 1)[-1]

    @property
    def package(self) -> str:
        return self.name if self.is_package else self.name.rsplit(".", 1)[0]


@dataclass(frozen=True)
class Import:
    importer: Module
    target: str  # the dotted module (or module.name) imported
    names: tuple[str, ...]  # names taken from it (`from x import a, b`); empty for `import x`
    line: int
    type_checking: bool


@dataclass
class Tree:
    """A package's modules, parsed once."""

    root: Path  # the package directory
    package: str = field(init=False)

    def __post_init__(self) -> None:
        self.package = self.root.name

    @cached_property
    def modules(self) -> dict[str, Module]:
        found: dict[str, Module] = {}
        for path in sorted(self.root.rglob("*.py")):
            relative = path.relative_to(self.root.parent).with_suffix("")
            parts = list(relative.parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts.pop()
            source = path.read_text(encoding="utf-8")
            name = ".".join(parts)
            found[name] = Module(name, path, ast.parse(source), len(source.splitlines()), is_package)
        return found

    def domain_of(self, module: str) -> str | None:
        """The domain a module belongs to (None: shared code, or a top-level module such as app)."""
        parts = module.split(".")
        if len(parts) < 2 or parts[0] != self.package or parts[1] in SHARED:
            return None
        top = self.modules.get(f"{self.package}.{parts[1]}")
        return parts[1] if top is not None and top.is_package else None

    @cached_property
    def domains(self) -> list[str]:
        return sorted({d for name in self.modules if (d := self.domain_of(name)) is not None})

    def in_scope(self, module: Module) -> bool:
        """Everything but migrations (their history is exempt from the size rules)."""
        return not module.name.startswith(f"{self.package}.migrations")

    @cached_property
    def imports(self) -> list[Import]:
        return [found for module in self.modules.values() for found in _imports_of(module)]

    def resolve(self, target: str, name: str | None = None) -> str | None:
        """The module of ours an import reaches: `pkg.mod` for `from pkg import mod`, else `target`."""
        if name is not None and f"{target}.{name}" in self.modules:
            return f"{target}.{name}"
        return target if target in self.modules else None


def _imports_of(module: Module) -> Iterator[Import]:
    type_checking_lines = _type_checking_lines(module.tree)
    for node in ast.walk(module.tree):
        guarded = getattr(node, "lineno", 0) in type_checking_lines
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, (), node.lineno, guarded)
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(module, node)
            yield Import(module, target, tuple(a.name for a in node.names), node.lineno, guarded)


def _absolute(module: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.package.split(".")
    if node.level > 1:
        base = base[: -(node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _where(module: Module, line: int) -> str:
    return f"{module.name}:{line}"


# --- the rules -------------------------------------------------------------------------------


def private_imports(tree: Tree) -> list[str]:
    """No `_`-name is imported from another module, ours or a dependency's, nor reached as
    `module._name` through an imported module of ours."""
    found = []
    for imp in tree.imports:
        private_path = [part for part in imp.target.split(".") if _private(part)]
        if private_path:
            found.append(f"{_where(imp.importer, imp.line)} imports private module {imp.target}")
        for name in imp.names:
            if _private(name):
                found.append(f"{_where(imp.importer, imp.line)} imports {name} from {imp.target}")
    for module in tree.modules.values():
        found += _private_attributes_of_imported_modules(tree, module)
    return found


def _private_attributes_of_imported_modules(tree: Tree, module: Module) -> list[str]:
    bound: dict[str, str] = {}  # local name -> our module it is bound to
    for imp in _imports_of(module):
        for name in imp.names:
            resolved = tree.resolve(imp.target, name)
            if resolved is not None and resolved != imp.target:
                bound[name] = resolved
    for node in ast.walk(module.tree):
        if isinstance(node, ast.alias) and node.asname and node.name in bound:
            bound[node.asname] = bound[node.name]
    return [
        f"{_where(module, node.lineno)} uses {node.value.id}.{node.attr} of {bound[node.value.id]}"
        for node in ast.walk(module.tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in bound
        and _private(node.attr)
    ]


def import_graph(tree: Tree) -> dict[str, set[str]]:
    """Module -> the modules of ours it imports at run time (function-level imports included:
    a circle dodged by importing late is still a circle). `if TYPE_CHECKING:` imports are not."""
    graph: dict[str, set[str]] = {name: set() for name in tree.modules}
    for imp in tree.imports:
        if imp.type_checking:
            continue
        for name in imp.names or (None,):
            resolved = tree.resolve(imp.target, name)
            if resolved is not None and resolved != imp.importer.name:
                graph[imp.importer.name].add(resolved)
    return graph


def import_cycles(tree: Tree) -> list[str]:
    """No module reaches itself through imports: each strongly connected group is a violation."""
    graph = import_graph(tree)
    return [" <-> ".join(sorted(group)) for group in _strongly_connected(graph) if len(group) > 1]


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (module graphs are deep enough to hit recursion limits)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                groups.append(group)
    return groups


def _is_route_module(module: Module) -> bool:
    return module.leaf == "routes" or module.leaf.endswith("_routes")


def _defines_tables(module: Module) -> bool:
    return any(
        isinstance(node, ast.ClassDef)
        and any(isinstance(s, ast.Assign) and "__tablename__" in ast.unparse(s.targets[0]) for s in node.body)
        for node in ast.walk(module.tree)
    )


def _defines_router(module: Module) -> bool:
    return any(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id.endswith("Router")
        for node in ast.walk(module.tree)
    )


def missing_roles(tree: Tree) -> list[str]:
    """Each domain keeps its concerns in their files: tables in models.py with a repository.py
    beside them; HTTP routes in routes.py (or `*_routes.py`) with schemas.py and policy.py."""
    found = []
    for domain in tree.domains:
        if domain in PRESENTATION:
            continue
        prefix = f"{tree.package}.{domain}"
        modules = [m for n, m in tree.modules.items() if n == prefix or n.startswith(prefix + ".")]
        leaves = {m.leaf for m in modules}
        tables = [m for m in modules if _defines_tables(m)]
        found += [f"{m.name} declares tables outside models.py" for m in tables if m.leaf != "models"]
        if tables and "repository" not in leaves:
            found.append(f"{prefix} has tables but no repository.py")
        routers = [m for m in modules if _defines_router(m)]
        found += [f"{m.name} defines a router outside routes.py" for m in routers if not _is_route_module(m)]
        if routers:
            found += [
                f"{prefix} has routes but no {role}.py"
                for role in ("schemas", "policy")
                if role not in leaves
            ]
    return found


def _statement_builders(module: Module) -> dict[str, str]:
    """Local names bound to SQLAlchemy's statement builders (`select`, or `sa` for `sa.select`)."""
    names: dict[str, str] = {}
    for imp in _imports_of(module):
        if imp.target.split(".")[0] != "sqlalchemy":
            continue
        for name in imp.names:
            if name in STATEMENT_BUILDERS:
                names[name] = name
    for node in ast.walk(module.tree):
        if isinstance(node, ast.alias) and node.asname and node.name in names:
            names[node.asname] = node.name
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "sqlalchemy":
                    names[alias.asname or alias.name] = "sqlalchemy"
    return names


def queries_outside_repositories(tree: Tree) -> list[str]:
    """In a domain, only repository.py builds statements (models.py may, to declare tables):
    no `select(`/`insert(`/`update(`/`delete(`/`text(` of SQLAlchemy in services, routes, policies."""
    found = []
    for module in tree.modules.values():
        if tree.domain_of(module.name) is None or module.leaf in {"repository", "models"}:
            continue
        builders = _statement_builders(module)
        for node in ast.walk(module.tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name) and builders.get(func.id, "sqlalchemy") != "sqlalchemy":
                found.append(f"{_where(module, node.lineno)} calls {builders[func.id]}(")
            elif (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and builders.get(func.value.id) == "sqlalchemy"
                and func.attr in STATEMENT_BUILDERS
            ):
                found.append(f"{_where(module, node.lineno)} calls {func.value.id}.{func.attr}(")
    return found


def oversized(tree: Tree) -> list[str]:
    """No function over MAX_FUNCTION_LINES lines and no module over MAX_MODULE_LINES (migrations
    excepted). A function's lines run from its `def` (decorators excluded) to its last line."""
    found = []
    for module in tree.modules.values():
        if not tree.in_scope(module):
            continue
        if module.lines > MAX_MODULE_LINES:
            found.append(f"{module.name} has {module.lines} lines (at most {MAX_MODULE_LINES})")
        for node in ast.walk(module.tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found.append(
                        f"{_where(module, node.lineno)} {node.name} has {length} lines "
                        f"(at most {MAX_FUNCTION_LINES})"
                    )
    return found


def _is_web_module(tree: Tree, module: Module) -> bool:
    return (
        _is_route_module(module)
        or module.leaf == "access"  # a domain's FastAPI dependencies (identity: who is calling)
        or tree.domain_of(module.name) in PRESENTATION
    )


def services_importing_the_web(tree: Tree) -> list[str]:
    """A domain's non-web modules (services, repositories, policies, models, schemas, tasks,
    events) never import FastAPI/Starlette, the pages, or any routes module."""
    found = []
    for imp in tree.imports:
        module = imp.importer
        if tree.domain_of(module.name) is None or _is_web_module(tree, module) or imp.type_checking:
            continue
        targets = [tree.resolve(imp.target, name) or imp.target for name in imp.names or (None,)]
        for target in targets:
            ours = tree.modules.get(target)
            if target.split(".")[0] in WEB_PACKAGES or (ours is not None and _is_web_module(tree, ours)):
                found.append(f"{_where(module, imp.line)} imports the web layer: {target}")
    return found


def foreign_storage_imports(tree: Tree) -> list[str]:
    """A domain never imports another domain's repository or models (its services and schemas,
    yes). Shared code (platform) imports no domain at all."""
    found = []
    for imp in tree.imports:
        source = tree.domain_of(imp.importer.name)
        for name in imp.names or (None,):
            target = tree.resolve(imp.target, name)
            if target is None:
                continue
            owner = tree.domain_of(target)
            where = _where(imp.importer, imp.line)
            if imp.importer.name.startswith(f"{tree.package}.platform") and owner is not None:
                found.append(f"{where}: platform imports the {owner} domain ({target})")
            elif (
                source is not None
                and owner not in (None, source)
                and target.rsplit(".", 1)[-1] in {"repository", "models"}
            ):
                found.append(f"{where}: {source} imports {target}")
    return found


def registration_by_import(tree: Tree) -> list[str]:
    """Handlers are registered by an explicit `register(...)` the app calls at build, never by a
    module-level `subscribe(...)` or `register_*(...)` that runs on import. (Declaring which
    domain error a constraint means, `register_constraint_error`, subscribes nothing.)"""
    found = []
    for module in tree.modules.values():
        for statement in module.tree.body:
            for node in ast.walk(statement):
                if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    break
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name == "subscribe" or (
                    name.startswith("register_") and name != "register_constraint_error"
                ):
                    found.append(f"{_where(module, node.lineno)} calls {name}( on import")
    return found
