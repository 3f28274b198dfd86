"""Fixtures of the Terraform tests: an initialized copy of the module with stub providers, and
values Terraform itself computes from it (terraform console)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.terraform.support import load_offline_check

REQUIRED_VARIABLES = {"project_id": "my-project", "dt_project_id": "c0md3mm0c7pet3c1vddg"}
# What Terraform computes from the repository and from the variables, in one console call.
# (terraform console reads one line at a time)
EVALUATED = (
    "jsonencode({"
    " function_source_files = local.function_source_files,"
    " tables = keys(local.tables),"
    " table_schemas = local.tables,"
    " landing_schema = local.landing_schema,"
    " typed_views = local.typed_views,"
    " extra_views = keys(local.extra_views),"
    " ingest_environment = keys(local.ingest_environment),"
    " ingest_secrets = keys(local.ingest_secret_environment),"
    " route_environment = keys(local.route_environment),"
    " })"
)


@pytest.fixture(scope="session")
def offline_check():
    """scripts/terraform/offline_check.py, its tools installed (.cache/terraform-check)."""
    module = load_offline_check()
    module.setup(with_checkov=False)
    return module


@pytest.fixture(scope="session")
def workspace(offline_check) -> Path:
    """An initialized copy of terraform/ beside copies of main.py, requirements.txt and functions/."""
    return offline_check.workspace("pytest")


def _evaluate(offline_check, workspace: Path, **variables: Any) -> dict[str, Any]:
    return offline_check.console(workspace, EVALUATED, {**REQUIRED_VARIABLES, **variables})


@pytest.fixture(scope="session")
def evaluated(offline_check, workspace) -> dict[str, Any]:
    """Locals of the module with the default variables."""
    return _evaluate(offline_check, workspace)


@pytest.fixture(scope="session")
def evaluated_with_every_option(offline_check, workspace) -> dict[str, Any]:
    """Locals of the module mid-rotation and with the asymmetric signature check on."""
    return _evaluate(
        offline_check,
        workspace,
        signature_secret_generation=2,
        accept_previous_signature_secret=True,
        dt_organization_id="c0md3mm0c7pet3c1vdd0",
    )
