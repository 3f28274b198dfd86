"""Reading terraform/ and the function code for the Terraform tests: HCL as data, Python as AST."""

from __future__ import annotations

import ast
import functools
import importlib.util
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import hcl2

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "terraform"
EXAMPLE = ROOT / "examples" / "basic"
SCHEMAS = ROOT / "functions" / "schemas"


def load_offline_check() -> ModuleType:
    """scripts/terraform/offline_check.py, which installs and runs Terraform with the stub providers."""
    if "offline_check" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "offline_check", ROOT / "scripts/terraform/offline_check.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["offline_check"] = module
        spec.loader.exec_module(module)
    return sys.modules["offline_check"]


def planted_test_output(
    offline_check: ModuleType, workdir: Path, file_name: str, text: str, planted: str, tests_file: str
) -> str:
    """What `terraform test` of tests/`tests_file` prints with `text` of `file_name` replaced by
    `planted` in the workspace `workdir` (put back afterwards)."""
    path = workdir / file_name
    original = path.read_text()
    assert original.count(text) == 1, f"{file_name} should hold {text!r} exactly once"
    path.write_text(original.replace(text, planted))
    try:
        result = offline_check.terraform(workdir, "test", "-no-color", f"-filter=tests/{tests_file}")
    finally:
        path.write_text(original)
    return result.stdout + result.stderr


# --- Terraform as data ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """One `resource`, `data`, `variable` or `output` block of the module."""

    kind: str
    type: str  # resource or data source type; "" for variables and outputs
    name: str
    body: dict[str, Any]
    file: str

    @property
    def address(self) -> str:
        prefix = "data." if self.kind == "data" else ""
        return f"{prefix}{self.type}.{self.name}" if self.type else f"{self.kind}.{self.name}"


def parse(path: Path) -> dict[str, Any]:
    with path.open() as file:
        return hcl2.load(file, serialization_options=hcl2.SerializationOptions(strip_string_quotes=True))


@functools.cache
def module_files(folder: Path = MODULE) -> dict[str, dict[str, Any]]:
    """Every .tf file of the module, parsed by python-hcl2."""
    return {path.name: parse(path) for path in sorted(folder.glob("*.tf"))}


def blocks(kind: str, folder: Path = MODULE) -> list[Block]:
    found = []
    for file_name, document in module_files(folder).items():
        for entry in document.get(kind, []):
            if kind in ("resource", "data"):
                for type_name, named in entry.items():
                    for name, body in named.items():
                        found.append(Block(kind, type_name, name, body, file_name))
            else:
                for name, body in entry.items():
                    found.append(Block(kind, "", name, body, file_name))
    return found


def resources(type_name: str | None = None) -> list[Block]:
    return [block for block in blocks("resource") if type_name is None or block.type == type_name]


def resource(type_name: str, name: str) -> Block:
    (found,) = [block for block in resources(type_name) if block.name == name]
    return found


def walk(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path, value) of every argument in a block body, nested blocks included."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if not key.startswith("__"):
                yield from walk(inner, (*path, key))
    elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        for item in value:
            yield from walk(item, path)
    else:
        yield path, value


def references(expression: Any) -> set[str]:
    """Resource addresses (type.name) an HCL expression string refers to."""
    return set(re.findall(r"\b((?:google|google-beta|random|dt)_[a-z0-9_]+\.[a-z0-9_]+)", str(expression)))


# --- Python as AST -------------------------------------------------------------------------------


def python_files() -> list[Path]:
    """The function code: main.py and functions/**/*.py."""
    return [ROOT / "main.py", *sorted((ROOT / "functions").rglob("*.py"))]


def entry_points(path: Path = ROOT / "main.py") -> dict[str, str]:
    """Top-level functions of main.py decorated with functions_framework[.aio].<kind>, as name -> kind."""
    found = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if isinstance(target, ast.Attribute) and ast.unparse(target.value) in (
                    "functions_framework",
                    "functions_framework.aio",
                ):
                    found[node.name] = target.attr
    return found


def environment_variables_read(paths: list[Path]) -> set[str]:
    """Names of environment variables the code reads: string constants given to `<x>.get(...)`,
    `<x>[...]`, `os.getenv(...)`, passed next to a mapping named env/environ, or as `envvar=`."""
    names: set[str] = set()

    def is_environment(node: ast.AST) -> bool:
        return re.search(r"(^|\.)(env|environ)$", ast.unparse(node)) is not None

    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            constants: list[ast.AST] = []
            if isinstance(node, ast.Call):
                function = node.func
                if isinstance(function, ast.Attribute) and function.attr in ("get", "getenv", "pop"):
                    if is_environment(function.value) or ast.unparse(function) == "os.getenv":
                        constants = node.args[:1]
                elif node.args and is_environment(node.args[0]):
                    constants = node.args[1:2]
                # click options read from the environment (functions-framework's --asgi)
                constants += [keyword.value for keyword in node.keywords if keyword.arg == "envvar"]
            elif isinstance(node, ast.Subscript) and is_environment(node.value):
                constants = [node.slice]
            for constant in constants:
                if isinstance(constant, ast.Constant) and isinstance(constant.value, str):
                    names.add(constant.value)
    return names


def imported_modules(path: Path) -> set[str]:
    """Absolute module names a file imports, anywhere in it (lazy imports in functions too)."""
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules
