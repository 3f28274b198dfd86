"""The two ways DT delivers and several DT projects: mistakes planted in a copy of the module must
make `terraform test` (terraform/tests/pubsub.tftest.hcl, connectors.tftest.hcl) or the static
checks fail; and every variable validation, of the module and of the example, has a run that
expects it to fail."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.terraform.support import EXAMPLE, MODULE, blocks, parse, planted_test_output

# (what goes wrong, file, text, planted text, the run that must catch it: in pubsub.tftest.hcl
# unless named with its file)
PLANTED = [
    (
        "a principal for another DT organization",
        "workload_identity.tf",
        "/subject/${var.dt_organization_id}",
        "/subject/c9anotherorganization0",
        "pubsub_connector_publishes_as_the_one_dt_principal",
    ),
    (
        "the provider admitting any DT organization",
        "workload_identity.tf",
        'attribute_condition = "assertion.sub == \\"${coalesce(var.dt_organization_id, "-")}\\""',
        'attribute_condition = "assertion.sub != \\"\\""',
        "pubsub_connector_publishes_as_the_one_dt_principal",
    ),
    (
        "the events topic open to allUsers",
        "iam.tf",
        "  member = local.dt_principal\n",
        '  member = "allUsers"\n',
        "pubsub_connector_publishes_as_the_one_dt_principal",
    ),
    (
        "the ingest function left behind in Pub/Sub mode",
        "main.tf",
        "ingest_count = local.http_push ? 1 : 0",
        "ingest_count = 1",
        "pubsub_connector_publishes_as_the_one_dt_principal",
    ),
    (
        "one connector for all DT projects",
        "dt.tf",
        "for_each = toset(local.dt_project_ids)",
        "for_each = toset(slice(local.dt_project_ids, 0, 1))",
        "connectors.tftest.hcl:several_dt_projects_push_into_one_pipeline",
    ),
]


@pytest.fixture(scope="module")
def planted_workspace(offline_check) -> Path:
    return offline_check.workspace("pytest-planted")


@pytest.mark.parametrize(
    ("mistake", "file_name", "text", "planted", "run"), PLANTED, ids=[p[0] for p in PLANTED]
)
def test_a_planted_mistake_fails_the_run_that_guards_against_it(
    offline_check, planted_workspace, mistake, file_name, text, planted, run
):
    tests, _, run = run.rpartition(":")
    output = planted_test_output(
        offline_check, planted_workspace, file_name, text, planted, tests or "pubsub.tftest.hcl"
    )
    # The same runs pass on the module as it is: test_terraform_test_plans_the_module_with_mocked_providers.
    assert f'run "{run}"... fail' in output, f"{mistake} was not caught:\n{output}"


def test_a_topic_grant_to_allusers_anywhere_is_caught_by_the_static_checks(tmp_path):
    """An extra grant (not a changed one) is invisible to terraform test: the IAM scan of
    test_wiring.py (test_only_the_ingest_function_is_public, here on a planted copy) catches it."""
    folder = tmp_path / "terraform"
    folder.mkdir()
    for path in MODULE.glob("*.tf"):
        (folder / path.name).write_text(path.read_text())
    (folder / "open.tf").write_text(
        'resource "google_pubsub_topic_iam_member" "open" {\n'
        "  topic  = google_pubsub_topic.events.id\n"
        '  role   = "roles/pubsub.publisher"\n'
        '  member = "allUsers"\n'
        "}\n"
    )
    public = [
        f"{block.type}.{block.name}"
        for block in blocks("resource", folder)
        if "allUsers" in str(block.body.get("member", ""))
    ]
    assert public == [
        "google_cloud_run_service_iam_member.public_invokes_ingest",
        "google_pubsub_topic_iam_member.open",
    ]


def expected_failures(folder: Path) -> set[str]:
    found = set()
    for path in sorted(folder.glob("tests/*.tftest.hcl")):
        for run in parse(path).get("run", []):
            for body in run.values():
                found.update(re.findall(r"var\.(\w+)", str(body.get("expect_failures", ""))))
    return found


@pytest.mark.parametrize("folder", [MODULE, EXAMPLE], ids=["module", "example"])
def test_every_variable_validation_has_a_run_expecting_it_to_fail(folder):
    validated = {block.name for block in blocks("variable", folder) if block.body.get("validation")}
    assert validated, f"{folder.name} has no validated variable"
    assert validated <= expected_failures(folder), (
        f"no expect_failures run for {sorted(validated - expected_failures(folder))}"
    )


def test_each_validation_run_sets_exactly_the_variables_it_expects_to_fail():
    """Terraform checks every listed variable fails on its own; a variable set but not listed
    could make the run pass for the wrong reason, one listed but not set could never fail."""
    for folder in (MODULE, EXAMPLE):
        for path in sorted(folder.glob("tests/*.tftest.hcl")):
            for run in parse(path).get("run", []):
                for name, body in run.items():
                    expected = re.findall(r"var\.(\w+)", str(body.get("expect_failures", "")))
                    if expected and all(re.fullmatch(r"\w+", variable) for variable in expected):
                        (given,) = body.get("variables", [{}])
                        assert {key for key in given if not key.startswith("__")} == set(expected), (
                            f"{path.name}: run {name}"
                        )
                        assert len(expected) == len(set(expected)), f"{path.name}: run {name}"
