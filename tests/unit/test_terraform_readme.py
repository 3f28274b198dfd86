"""terraform/README.md's inputs and outputs tables are written from variables.tf and outputs.tf."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.terraform import readme_tables
from tests.support.paths import ROOT


def test_the_readme_tables_are_those_the_tf_files_give():
    assert readme_tables.main(["--check"]) == 0, "run ./run terraform-docs"


def test_a_variable_is_listed_with_its_own_description_type_and_default(tmp_path: Path):
    (tmp_path / "variables.tf").write_text(
        'variable "zone" {\n  type = list(string)\n  description = "Where | it <runs>."\n  default = ["a"]\n}\n'
        'variable "project_id" {\n  type = string\n  description = "The project."\n}\n'
    )
    (tmp_path / "outputs.tf").write_text('output "url" {\n  description = "The URL."\n  value = "x"\n}\n')
    begin_in, end_in = readme_tables.markers("INPUTS")
    begin_out, end_out = readme_tables.markers("OUTPUTS")
    readme = f"# M\n\n{begin_in}stale\n{end_in}\nprose\n\n{begin_out}{end_out}"

    written = readme_tables.render(readme, tmp_path)

    assert '| `zone` | Where \\| it &lt;runs&gt;. | `list(string)` | `["a"]` |' in written
    assert "| `project_id` | The project. | `string` | required |" in written
    assert "| `url` | The URL. |" in written
    assert "stale" not in written and "\nprose\n" in written
    assert readme_tables.render(written, tmp_path) == written


def test_a_readme_without_the_markers_is_refused_naming_them():
    with pytest.raises(ValueError, match="BEGIN INPUTS TABLE"):
        readme_tables.render("# no markers\n", ROOT / "terraform")
