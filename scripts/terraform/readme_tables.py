"""Write the Inputs and Outputs tables of terraform/README.md from variables.tf and outputs.tf, as
terraform-docs does for terraform-google-modules: between marker comments, the rest of the README
hand-written. The descriptions are the .tf files' own, so the tables cannot drift from them.

    ./run terraform-docs            rewrite the tables (after adding or changing a variable or output)
    ./run terraform-docs --check    exit 1 when they are out of date (tests/unit/test_terraform_readme.py)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import hcl2

ROOT = Path(__file__).resolve().parent.parent.parent
MODULE = ROOT / "terraform"
README = MODULE / "README.md"
COMMAND = "./run terraform-docs"


def markers(table: str) -> tuple[str, str]:
    return (
        f"<!-- BEGIN {table} TABLE: written by scripts/terraform/readme_tables.py ({COMMAND}) -->\n",
        f"<!-- END {table} TABLE -->\n",
    )


def blocks(path: Path, kind: str) -> list[tuple[str, dict[str, Any]]]:
    """The (name, body) of each `kind` block of `path`, in file order."""
    with path.open() as file:
        document = hcl2.load(file, serialization_options=hcl2.SerializationOptions(strip_string_quotes=True))
    return [(name, body) for entry in document.get(kind, []) for name, body in entry.items()]


def _one_line(text: str) -> str:
    """A table cell's text: on one line, with the pipes that would end the cell escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _cell(text: str) -> str:
    """A description cell: `<` and `>` shown as written (GitHub would take `<project>` for an HTML
    tag and drop it; inside a code span they need no escaping)."""
    return _one_line(text).replace("<", "&lt;").replace(">", "&gt;")


def _type(expression: Any) -> str:
    text = str(expression)
    match = re.fullmatch(r"\$\{(.*)\}", text, flags=re.DOTALL)
    return _one_line(match.group(1) if match else text)


def _default(body: dict[str, Any]) -> str:
    if "default" not in body:
        return "required"
    return _one_line(f"`{json.dumps(body['default'], ensure_ascii=False)}`")


def inputs_table(variables: list[tuple[str, dict[str, Any]]]) -> str:
    lines = ["| Name | Description | Type | Default |", "| --- | --- | --- | --- |"]
    for name, body in variables:
        lines.append(
            f"| `{name}` | {_cell(body.get('description', ''))} | `{_type(body.get('type', 'any'))}` | {_default(body)} |"
        )
    return "\n".join(lines) + "\n"


def outputs_table(outputs: list[tuple[str, dict[str, Any]]]) -> str:
    lines = ["| Name | Description |", "| --- | --- |"]
    lines += [f"| `{name}` | {_cell(body.get('description', ''))} |" for name, body in outputs]
    return "\n".join(lines) + "\n"


def replace_between(text: str, table: str, content: str) -> str:
    begin, end = markers(table)
    if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
        raise ValueError(f"{README} needs the marker lines, once each and in this order:\n{begin}{end}")
    head, rest = text.split(begin)
    _, tail = rest.split(end)
    return head + begin + content + end + tail


def render(readme: str, module: Path = MODULE) -> str:
    """`readme` with both tables written from `module`'s variables.tf and outputs.tf."""
    readme = replace_between(readme, "INPUTS", inputs_table(blocks(module / "variables.tf", "variable")))
    return replace_between(readme, "OUTPUTS", outputs_table(blocks(module / "outputs.tf", "output")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the tables are out of date")
    args = parser.parse_args(argv)
    current = README.read_text()
    wanted = render(current)
    if args.check:
        if wanted != current:
            print(
                f"error: the tables of {README.relative_to(ROOT)} are out of date: run {COMMAND}",
                file=sys.stderr,
            )
            return 1
        return 0
    if wanted != current:
        README.write_text(wanted)
        print(f"rewrote the inputs and outputs tables of {README.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
