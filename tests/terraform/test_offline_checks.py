"""terraform/ checked without the registry, as strictly as Terraform itself would with the real
providers: fmt, `terraform validate` against the pinned providers' schemas (served by stub
providers), `terraform test` with mocked providers, and checkov."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.terraform.support import EXAMPLE, MODULE, ROOT, blocks, module_files, parse, resources

PROVIDER_SCHEMAS = ROOT / "scripts" / "terraform" / "provider-schemas"


def provider_schemas() -> dict[str, dict]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(PROVIDER_SCHEMAS.glob("*.json"))}


def provider_of(block) -> str:
    explicit = block.body.get("provider")
    return explicit.strip("${}") if explicit else block.type.split("_", 1)[0]


def test_terraform_fmt_finds_nothing_to_change(offline_check):
    result = subprocess.run(
        [offline_check.terraform_binary(), "fmt", "-check", "-recursive", "-diff", str(MODULE), str(EXAMPLE)],
        capture_output=True,
        text=True,
        env=offline_check.terraform_environment(),
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_terraform_file_parses():
    parsed = module_files()
    assert set(parsed) == {path.name for path in MODULE.glob("*.tf")}
    assert all(parsed.values()), "a .tf file parsed to nothing"
    for path in [*sorted((MODULE / "tests").glob("*.tftest.hcl")), EXAMPLE / "terraform.tfvars.example"]:
        assert parse(path), f"{path} parsed to nothing"
    assert module_files(EXAMPLE), "examples/basic parsed to nothing"


def test_terraform_validate_accepts_the_module(offline_check, workspace):
    result = offline_check.terraform(workspace, "validate", "-no-color")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success! The configuration is valid." in result.stdout


def test_terraform_validate_accepts_the_example_calling_the_module(offline_check, workspace):
    example = workspace.parent / "examples" / EXAMPLE.name
    result = offline_check.terraform(example, "validate", "-no-color")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success! The configuration is valid." in result.stdout


@pytest.mark.timeout(900)
def test_terraform_test_plans_the_example_with_mocked_providers(offline_check, workspace):
    example = workspace.parent / "examples" / EXAMPLE.name
    runs = sum(
        len(re.findall(r'^run "', path.read_text(), re.M))
        for path in (EXAMPLE / "tests").glob("*.tftest.hcl")
    )
    result = offline_check.terraform(example, "test", "-no-color")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Success! {runs} passed, 0 failed." in result.stdout


def test_the_module_declares_no_provider_blocks_and_the_example_configures_each_it_requires():
    """A module with provider blocks can't be used with count/for_each/depends_on, nor with the
    caller's own provider settings (terraform-google-modules declare none either)."""
    assert all("provider" not in document for document in module_files().values())

    def required_providers(folder: Path) -> dict:
        (found,) = module_files(folder)["versions.tf"]["terraform"][0]["required_providers"]
        return {name: spec for name, spec in found.items() if not name.startswith("__")}

    required = required_providers(MODULE)
    # The same providers and constraints: mock_provider blocks of the example's tests only reach
    # the module through providers the root declares.
    assert required_providers(EXAMPLE) == required
    configured = {name for entry in module_files(EXAMPLE)["main.tf"]["provider"] for name in entry}
    assert configured == set(required) - {"random", "archive"}, (
        "the example must configure google, google-beta and dt"
    )


# Each mistake Terraform must report, as (file, text, mistaken text, the error it gives). They sit
# in resources that don't depend on one another: Terraform skips what depends on a broken resource.
MISTAKES = [
    (
        "pubsub.tf",
        "ack_deadline_seconds       = var.route",
        "ack_deadline_second        = var.route",
        'An argument named "ack_deadline_second" is not expected here',
    ),
    (
        "pubsub.tf",
        "audience              = local",
        "audiense              = local",
        'An argument named "audiense" is not expected here',
    ),
    (
        "pubsub.tf",
        '  retry_policy {\n    minimum_backoff = "10s"\n    maximum_backoff = "600s"\n  }\n\n  expiration_policy {\n    ttl = ""\n  }\n\n  depends_on = [google_bigquery_table_iam_member.pubsub_agent_writes_dead_letters]',
        '  retry_polcy {\n    minimum_backoff = "10s"\n    maximum_backoff = "600s"\n  }\n\n  expiration_policy {\n    ttl = ""\n  }\n\n  depends_on = [google_bigquery_table_iam_member.pubsub_agent_writes_dead_letters]',
        'Blocks of type "retry_polcy" are not expected here',
    ),
    (
        "pubsub.tf",
        "topic = google_pubsub_topic.dead_letter.id\n\n  ack_deadline_seconds       = 60",
        "# topic = google_pubsub_topic.dead_letter.id\n\n  ack_deadline_seconds       = 60",
        'The argument "topic" is required, but no definition was found',
    ),
    (
        "pubsub.tf",
        "    use_table_schema    = false",
        "    use_table_schemas   = false",
        'An argument named "use_table_schemas" is not expected here',
    ),
    (
        "functions.tf",
        "= var.ingest_timeout_seconds",
        '= "thirty seconds"',
        'Inappropriate value for attribute "timeout_seconds": a number is required',
    ),
    (
        "bigquery.tf",
        "  clustering = ",
        "  clustering_fields = ",
        'An argument named "clustering_fields" is not expected',
    ),
]


def test_terraform_validate_rejects_misspelled_arguments_blocks_and_wrong_types(offline_check):
    """The check is real: Terraform, given the providers' schemas, catches what a typo breaks."""
    workdir = offline_check.workspace("pytest-mistakes")
    for file_name, text, mistaken, _ in MISTAKES:
        path = workdir / file_name
        source = path.read_text()
        assert source.count(text) == 1, f"{file_name} should hold {text!r} exactly once"
        path.write_text(source.replace(text, mistaken))

    result = offline_check.terraform(workdir, "validate", "-no-color")

    assert result.returncode != 0
    output = re.sub(r"\s+", " ", result.stdout + result.stderr)
    for file_name, _, _, error in MISTAKES:
        assert error in output, f"validate did not report {error!r}:\n{result.stderr}"
        assert f"on {file_name} line" in output


@pytest.mark.timeout(1800)  # every run starts each stub provider again
def test_terraform_test_plans_the_module_with_mocked_providers(offline_check, workspace):
    runs = sum(
        len(re.findall(r'^run "', path.read_text(), re.M)) for path in (MODULE / "tests").glob("*.tftest.hcl")
    )

    result = offline_check.terraform(workspace, "test", "-no-color")

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Success! {runs} passed, 0 failed." in result.stdout


def test_checkov_finds_nothing_that_is_not_fixed_or_skipped_with_a_reason(offline_check):
    summary = offline_check.checkov_summary(offline_check.checkov())

    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 0
    assert [f"{c['check_id']} {c['resource']}" for c in summary["failed"]] == []
    for check in summary["skipped"]:
        reason = (check["check_result"].get("suppress_comment") or "").strip()
        assert len(reason) > 20, f"{check['check_id']} on {check['resource']} is skipped without a reason"


def test_the_checked_schemas_are_those_of_exactly_the_types_the_module_uses():
    """A resource type missing from the schemas would fail validate; one too many is stale."""
    schemas = provider_schemas()
    for kind, key in (("resource", "resource_schemas"), ("data", "data_source_schemas")):
        used: dict[str, set[str]] = {}
        for block in blocks(kind):
            used.setdefault(provider_of(block), set()).add(block.type)
        declared = {name: set(schema[key]) for name, schema in schemas.items() if schema[key]}
        assert used == declared, f"re-run scripts/terraform/extract_provider_schemas.py ({kind})"


def object_literal_keys(value: object) -> list[set[str]]:
    """Keys of the object literals in an argument: a dict, or `{a = ..., b = ...}` inside an
    expression such as `cond ? {...} : null` (which python-hcl2 keeps as a string)."""
    if isinstance(value, dict):
        return [set(value) - {"__is_block__"}]
    literals = re.findall(r"(?<!\$)\{([^{}]*)\}", str(value))
    return [set(re.findall(r"(?:^|,)\s*(\w+)\s*=(?!=)", literal)) for literal in literals]


def test_object_arguments_hold_only_attributes_of_the_schema():
    """Terraform silently drops an unknown key of an object literal given to a nested attribute
    (e.g. dt_data_connector.http_config or pubsub_config), so `validate` can't catch that typo: this does."""
    schemas = provider_schemas()
    checked = set()
    for block in resources():
        schema = schemas[provider_of(block)]["resource_schemas"][block.type]["block"]
        for name, spec in schema["attributes"].items():
            if "nested_type" in spec and name in block.body:
                allowed = set(spec["nested_type"]["attributes"])
                required = {key for key, attribute in allowed_items(spec) if attribute.get("required")}
                for keys in object_literal_keys(block.body[name]):
                    assert keys <= allowed, f"{block.address}.{name}: {sorted(keys - allowed)}"
                    assert required <= keys, f"{block.address}.{name} lacks {sorted(required - keys)}"
                    checked.add(f"{block.address}.{name}")
    assert checked >= {"dt_data_connector.bigquery.http_config", "dt_data_connector.bigquery.pubsub_config"}


def allowed_items(spec: dict) -> list[tuple[str, dict]]:
    return list(spec["nested_type"]["attributes"].items())


def test_the_dt_stub_schema_has_pubsub_config_as_a_single_nested_attribute():
    """As DT's provider declares it (docs/resources/data_connector.md): an assignment, not a block."""
    connector = provider_schemas()["dt"]["resource_schemas"]["dt_data_connector"]["block"]
    pubsub_config = connector["attributes"]["pubsub_config"]
    assert pubsub_config["nested_type"]["nesting_mode"] == "single" and pubsub_config["optional"]
    assert {
        name: spec.get("required") for name, spec in pubsub_config["nested_type"]["attributes"].items()
    } == {
        "topic": True,
        "audience": True,
    }
    assert "pubsub_config" not in connector["block_types"]


@pytest.mark.parametrize(
    ("type_name", "path", "expected"),
    [
        (
            "google_cloudfunctions2_function",
            "block_types.service_config",
            {"nesting_mode": "list", "max_items": 1},
        ),
        (
            "google_cloudfunctions2_function",
            "block_types.service_config.block.block_types.secret_environment_variables",
            {"nesting_mode": "list"},
        ),
        (
            "google_pubsub_subscription",
            "block_types.push_config.block.block_types.oidc_token.block.attributes.service_account_email",
            {"type": "string", "required": True},
        ),
        ("google_bigquery_table", "attributes.clustering", {"type": ["list", "string"], "optional": True}),
        (
            "google_pubsub_subscription",
            "block_types.message_transforms.block.block_types.javascript_udf.block.attributes.code",
            {"type": "string", "required": True},
        ),
        (
            "google_pubsub_subscription",
            "block_types.bigquery_config.block.attributes.use_table_schema",
            {"type": "bool", "optional": True},
        ),
        ("random_password", "attributes.result", {"type": "string", "computed": True, "sensitive": True}),
        (
            "google_monitoring_alert_policy",
            "block_types.conditions",
            {"nesting_mode": "list", "min_items": 1},
        ),
        (
            "google_monitoring_alert_policy",
            "block_types.conditions.block.block_types.condition_absent.block.attributes.duration",
            {"type": "string", "required": True},
        ),
    ],
)
def test_the_extracted_schemas_say_what_the_providers_document(type_name, path, expected):
    provider = "random" if type_name.startswith("random") else "google"
    node = provider_schemas()[provider]["resource_schemas"][type_name]["block"]
    for step in path.split("."):
        node = node[step]
    assert {key: node[key] for key in expected} == expected


def test_the_check_script_is_executable():
    assert Path(ROOT / "scripts" / "terraform_check.sh").stat().st_mode & 0o111
