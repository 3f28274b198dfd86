"""What a first deployment from examples/basic relies on, read from the HCL: every module input can
be set there (with the module's type and default, passed through unchanged), and every name the
module gives is kept apart by name_prefix or dataset_id, so that two deployments share a project.
What Terraform itself computes from them is planned by the tftest files (first_deploy.tftest.hcl
in terraform/tests and examples/basic/tests)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from functions.config import IngestConfig
from functions.errors import InvalidSignature
from functions.signature import RequestVerifier
from local.dt_signing import shared_secret_token
from tests.terraform.support import EXAMPLE, MODULE, Block, blocks, module_files, resources

# The example's own inputs, for its provider blocks.
PROVIDER_SETTINGS = {
    "dt_api_url",
    "dt_oidc_token_endpoint",
    "dt_api_key_id",
    "dt_api_key_secret",
    "dt_oidc_email",
}
# Arguments holding a name that must be unique in the Google Cloud project (or in DT).
NAME_ARGUMENTS = (
    "name",
    "account_id",
    "secret_id",
    "dataset_id",
    "table_id",
    "repository_id",
    "workload_identity_pool_id",
    "workload_identity_pool_provider_id",
)
# Arguments that place a resource inside another one of this module: its name is then scoped.
# (Not `topic`: a subscription's name is unique in the whole project.)
PARENT_ARGUMENTS = ("dataset_id", "bucket", "workload_identity_pool_id")
DEPLOYMENT_NAMES = re.compile(r"\bvar\.(name_prefix|dataset_id|project_id)\b")
MODULE_RESOURCE = re.compile(r"\b(google|google-beta|random|dt)_[a-z0-9_]+\.[a-z0-9_]+")


def variables(folder: Path = MODULE) -> dict[str, Block]:
    return {block.name: block for block in blocks("variable", folder)}


def module_call() -> dict:
    return module_files(EXAMPLE)["main.tf"]["module"][0]["dt_bigquery"]


def declaration(block: Block) -> dict:
    """What a caller relies on: the type, and the default (absent when the input is required)."""
    return {"type": block.body.get("type"), "default": block.body.get("default", "<required>")}


def test_every_module_input_is_declared_in_the_example_with_its_type_and_default():
    module, example = variables(), variables(EXAMPLE)
    missing = sorted(set(module) - set(example))
    assert missing == [], (
        f"examples/basic/variables.tf must declare {missing} (with the module's type and default)"
    )
    for name in module:
        assert declaration(example[name]) == declaration(module[name]), f"{name}: declared differently"


def test_the_example_passes_each_of_its_module_inputs_through_unchanged():
    module, example = variables(), variables(EXAMPLE)
    call = {key: value for key, value in module_call().items() if not key.startswith("__")}
    passed = {key: value for key, value in call.items() if key != "source"}
    expected = {name: f"${{var.{name}}}" for name in set(module) | set(example) - PROVIDER_SETTINGS}
    assert passed == expected


def test_the_example_test_sets_rotation_through_the_example_variables():
    """The rotation run goes through the example's variables, as terraform.tfvars gives them."""
    text = (EXAMPLE / "tests" / "first_deploy.tftest.hcl").read_text()
    assert "module {" not in text, "the example's test must plan the example itself"
    for name in ("signature_secret_generation", "accept_previous_signature_secret"):
        assert name in variables(EXAMPLE) and f"{name} " in text


def name_resources() -> list[tuple[Block, str, str]]:
    """(resource, argument, expression) of every name-holding argument of the module's resources."""
    found = []
    for block in resources():
        for argument in NAME_ARGUMENTS:
            if argument in block.body:
                found.append((block, argument, str(block.body[argument])))
    return found


def scoped_by_parent(block: Block, argument: str) -> bool:
    return any(
        parent != argument and MODULE_RESOURCE.search(str(block.body.get(parent, "")))
        for parent in PARENT_ARGUMENTS
    )


def test_every_name_the_module_gives_is_kept_apart_by_name_prefix_or_dataset_id():
    """Two deployments in one project (each its own name_prefix and dataset_id) share no name."""
    checked = set()
    for block, argument, expression in name_resources():
        if MODULE_RESOURCE.search(expression) or scoped_by_parent(block, argument):
            continue  # another resource's name, or e.g. a table in this deployment's dataset
        assert DEPLOYMENT_NAMES.search(expression), (
            f"{block.address}.{argument} = {expression!r} does not derive from var.name_prefix or "
            "var.dataset_id: a second deployment in the project would collide with it"
        )
        checked.add(block.type)
    assert checked >= {
        "google_pubsub_topic",
        "google_pubsub_subscription",
        "google_cloudfunctions2_function",
        "google_service_account",
        "google_secret_manager_secret",
        "google_bigquery_dataset",
        "google_storage_bucket",
        "google_artifact_registry_repository",
        "google_iam_workload_identity_pool",
    }


@pytest.mark.parametrize("expression", ['"dt"', '"${each.key}_log"'])
def test_a_fixed_name_would_be_reported(expression):
    assert not DEPLOYMENT_NAMES.search(expression)


def ingest_environment(offline_check, workspace, **variables) -> dict[str, str]:
    """The ingest function's environment as Terraform plans it (the topic, computed, given here),
    with the secret variables it would read from Secret Manager."""
    planned = offline_check.console(
        workspace,
        'jsonencode({ environment = { for k, v in local.ingest_environment : k => v if k != "PUBSUB_TOPIC" },'
        " secrets = keys(local.ingest_secret_environment) })",
        {"project_id": "my-project", "dt_project_id": "c0md3mm0c7pet3c1vddg", **variables},
    )
    secrets = {name: "a-secret-from-secret-manager" for name in planned["secrets"]}
    return {**planned["environment"], "PUBSUB_TOPIC": "projects/my-project/topics/dt-bq-events", **secrets}


def test_es256_only_gives_the_ingest_function_a_configuration_that_refuses_the_shared_secret(
    offline_check, workspace
):
    """require_asymmetric_signature through the real path: Terraform's environment, the function's
    own configuration and verifier."""
    env = ingest_environment(
        offline_check, workspace, dt_organization_id="c0md3mm0c7pet3c1vdd0", require_asymmetric_signature=True
    )
    assert "DT_SIGNATURE_SECRET" not in env and env["DT_ORGANIZATION_ID"] == "c0md3mm0c7pet3c1vdd0"
    config = IngestConfig.from_env(env)
    assert config.signature_secrets == () and config.organization_id == "c0md3mm0c7pet3c1vdd0"

    body = b'{"event": {}}'
    token = shared_secret_token(body, "a-secret-from-secret-manager")
    with pytest.raises(InvalidSignature, match="DT-Asymmetric-Signature"):
        RequestVerifier(config).verify({"X-Dt-Signature": token}, body)


def test_by_default_the_ingest_function_reads_the_shared_secret(offline_check, workspace):
    config = IngestConfig.from_env(ingest_environment(offline_check, workspace))
    assert config.signature_secrets == ("a-secret-from-secret-manager",) and config.organization_id is None
