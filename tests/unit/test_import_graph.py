"""Who may import whom, read from the source (ast), not from a running interpreter.

Nothing deployed (main.py, functions/) imports the operator CLI, the local tooling, the tests or the
benchmarks; the CLI never imports the local tooling (an operator installs it alone); the CLI reaches
the deployed modules only through dt_bigquery_ops/deployed.py; and no module imports itself back.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.support.paths import ROOT

TOP_LEVEL = ("main", "functions", "dt_bigquery_ops", "local", "bench", "scripts", "tests")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources() -> dict[str, Path]:
    files = [ROOT / "main.py"] + [
        path
        for top in TOP_LEVEL[1:]
        for path in (ROOT / top).rglob("*.py")
        if not any(part.startswith(".") for part in path.relative_to(ROOT).parts)
    ]
    return {module_name(path): path for path in files}


def imported(name: str, path: Path, known: set[str]) -> Iterator[str]:
    """The repository modules `name` imports (anywhere in it: at the top, lazily, for type checking)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names
            ]
        else:
            continue
        yield from (target for target in targets if target.split(".")[0] in TOP_LEVEL and target in known)


def graph() -> dict[str, set[str]]:
    modules = sources()
    return {name: set(imported(name, path, set(modules))) for name, path in modules.items()}


def top(module: str) -> str:
    return module.split(".")[0]


def test_nothing_deployed_imports_the_cli_the_local_tooling_the_tests_or_the_benchmarks():
    wrong = {
        (module, target)
        for module, targets in graph().items()
        if top(module) in ("main", "functions")
        for target in targets
        if top(target) not in ("functions",)
    }
    assert not wrong


def test_the_operator_cli_imports_only_itself_and_the_deployed_modules_through_one_module():
    for module, targets in graph().items():
        if top(module) != "dt_bigquery_ops":
            continue
        assert {top(target) for target in targets} <= {"dt_bigquery_ops", "functions"}, module
        if module != "dt_bigquery_ops.deployed":
            assert not {target for target in targets if top(target) == "functions"}, module


def test_the_local_tooling_imports_neither_the_tests_nor_the_benchmarks():
    for module, targets in graph().items():
        if top(module) == "local":
            assert not {target for target in targets if top(target) in ("tests", "bench", "scripts")}, module


def test_no_module_imports_itself_back():
    edges = graph()
    visiting: list[str] = []
    done: set[str] = set()

    def visit(module: str) -> None:
        if module in done:
            return
        assert module not in visiting, "import cycle: " + " -> ".join(
            [*visiting[visiting.index(module) :], module]
        )
        visiting.append(module)
        for target in sorted(edges.get(module, ())):
            if target != module:
                visit(target)
        visiting.pop()
        done.add(module)

    for module in sorted(edges):
        visit(module)


def test_the_graph_sees_the_imports_it_checks():
    """The checks above would pass on an empty graph: this one fails if the parsing finds nothing."""
    edges = graph()
    assert "functions.errors" in edges["functions.envelope"]  # a relative import
    assert "functions.envelope" in edges["dt_bigquery_ops.deployed"]  # under TYPE_CHECKING
    assert "dt_bigquery_ops.google_cloud" in edges["dt_bigquery_ops.commands.backfill"]  # a lazy one
    assert "local.fleet.model" in edges["local.fleet.pubsub"]


def test_the_deployed_modules_import_each_other_relatively():
    """functions/ also ships inside the operator package as dt_bigquery_ops._functions
    (pyproject.toml): an absolute `functions` import would fail there."""
    absolute = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in sorted((ROOT / "functions").glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if (isinstance(node, ast.ImportFrom) and node.level == 0 and top(node.module or "") == "functions")
        or (isinstance(node, ast.Import) and any(top(alias.name) == "functions" for alias in node.names))
    ]
    assert not absolute, f"use relative imports (from .module import ...): {absolute}"
