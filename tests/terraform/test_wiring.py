"""The wiring between terraform/ and the rest of the repository that a typo would break: the
landing table and views from the schema files, entry points, environment variable names, the
source archive, IAM."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest
from disruptive.events.events import EVENT_TYPES

from functions import catalogue
from functions.catalogue import to_snake_case
from local import bigquery_setup
from tests.terraform.support import (
    EXAMPLE,
    MODULE,
    ROOT,
    SCHEMAS,
    blocks,
    entry_points,
    environment_variables_read,
    imported_modules,
    module_files,
    parse,
    python_files,
    references,
    resource,
    resources,
    walk,
)

CONTRACTS = ROOT / "docs" / "contracts.md"


def schema_file(table: str) -> Path:
    return SCHEMAS / ("unknown_events.json" if table == "unknown_events" else f"events/{table}.json")


def contract_environment(entry_point: str) -> dict[str, bool]:
    """docs/contracts.md's environment variables of an entry point, as name -> optional."""
    section = CONTRACTS.read_text().split("## Function entry points", 1)[1].split("\n## ", 1)[0]
    items = re.split(r"\n- (?=`)", "\n" + section)
    (item,) = [item for item in items if item.startswith(f"`{entry_point}`")]
    return {
        name: annotation.startswith(("optional", "default"))
        for name, annotation in re.findall(r"`([A-Z][A-Z0-9_]+)`(?:\s*\(([^)]*))?", item)
    }


# --- BigQuery ------------------------------------------------------------------------------------


def test_each_dt_event_type_has_a_table(evaluated):
    assert set(evaluated["tables"]) == {to_snake_case(event_type) for event_type in EVENT_TYPES} | {
        "unknown_events"
    }


def test_each_table_s_own_columns_are_its_schema_file(evaluated):
    for table, schema in evaluated["table_schemas"].items():
        assert schema == json.loads(schema_file(table).read_text()), table


def test_the_landing_table_schema_is_the_one_the_routers_write(evaluated):
    """Terraform builds it from the schema files as catalogue.landing_fields does: the same list."""
    assert evaluated["landing_schema"] == list(catalogue.landing_fields())
    assert [column["name"] for column in evaluated["landing_schema"]] == [
        *(column["name"] for column in catalogue.common_fields()),
        *(table.name for table in catalogue.all_tables()),
    ]


def test_tables_are_read_from_the_schema_files_not_copied():
    sources = (MODULE / "main.tf").read_text()
    assert 'file("${local.schemas}/common.json")' in sources
    assert 'fileset("${local.schemas}/events", "*.json")' in sources
    assert (
        resource("google_bigquery_table", "events_log").body["schema"]
        == "${jsonencode(local.landing_schema)}"
    )
    assert (
        resource("google_bigquery_table", "dead_letters").body["schema"]
        == '${file("${local.schemas}/dead_letters.json")}'
    )
    assert bigquery_setup.DEAD_LETTERS_SCHEMA == SCHEMAS / "dead_letters.json"
    assert not list(MODULE.rglob("*.json")), "schemas belong in functions/schemas, read with file()"


def test_the_landing_table_is_partitioned_and_clustered_as_the_local_setup_makes_it():
    log = resource("google_bigquery_table", "events_log").body
    common = {column["name"]: column for column in catalogue.common_fields()}

    assert "for_each" not in log and "count" not in log
    assert log["table_id"] == catalogue.LANDING_TABLE
    assert [{k: v for k, v in p.items() if k != "__is_block__"} for p in log["time_partitioning"]] == [
        {"type": "DAY", "field": "timestamp", "expiration_ms": "${local.partition_expiration_ms}"}
    ]
    assert log["clustering"] == bigquery_setup.LANDING_CLUSTERING == ["event_type", "device_id"]
    assert (common["timestamp"]["type"], common["timestamp"]["mode"]) == ("TIMESTAMP", "REQUIRED")
    assert common["device_id"]["type"] == common["event_type"]["type"] == "STRING"
    dead_letters = resource("google_bigquery_table", "dead_letters").body
    assert dead_letters["table_id"] == bigquery_setup.DEAD_LETTERS_TABLE
    assert dead_letters["time_partitioning"][0]["field"] == "publish_time"


def test_the_event_type_filter_accepts_exactly_dt_event_types():
    (variable,) = [block for block in blocks("variable") if block.name == "event_types"]
    condition = variable.body["validation"][0]["condition"]
    assert set(re.findall(r'\\?"([A-Za-z0-9]+)\\?"', condition)) == set(EVENT_TYPES)


def template_variables(path: Path) -> set[str]:
    return set(re.findall(r"(?<!\$)\$\{(\w+)\}", path.read_text()))


def test_terraform_renders_each_typed_view_as_the_local_setup_does(evaluated):
    """The same columns and condition, so the same SQL, in the cloud and on the emulator."""
    template = bigquery_setup.TYPED_VIEW
    assert template_variables(template) == {"project", "dataset", "columns", "condition"}
    assert f"`${{project}}.${{dataset}}.{catalogue.LANDING_TABLE}`" in template.read_text()
    assert set(evaluated["typed_views"]) == {table.name for table in catalogue.all_tables()}
    for table in catalogue.all_tables():
        assert evaluated["typed_views"][table.name] == bigquery_setup.typed_view_values(table), table.name


def test_every_other_view_file_is_a_view_terraform_can_render(evaluated):
    files = sorted((SCHEMAS / "views").glob("*.sql"))
    assert sorted(evaluated["extra_views"]) == sorted(
        path.stem for path in files if path != bigquery_setup.TYPED_VIEW
    )
    for path in files:
        if path != bigquery_setup.TYPED_VIEW:
            assert template_variables(path) <= {"project", "dataset"}, (
                f"templatefile() would fail on {path.name}"
            )


# --- functions -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("function", "kinds"), [("ingest", {"http"}), ("route", {"http"})])
def test_entry_points_named_in_terraform_exist_in_main_py(function, kinds):
    build = resource("google_cloudfunctions2_function", function).body["build_config"][0]
    assert entry_points().get(build["entry_point"]) in kinds


def test_environment_variables_terraform_sets_are_ones_the_code_reads(evaluated_with_every_option):
    import functions_framework

    framework = Path(functions_framework.__file__).parent
    read = environment_variables_read(python_files()) | environment_variables_read(
        list(framework.rglob("*.py"))
    )
    ingest = set(evaluated_with_every_option["ingest_environment"]) | set(
        evaluated_with_every_option["ingest_secrets"]
    )
    route = set(evaluated_with_every_option["route_environment"])

    assert ingest == {
        "PUBSUB_TOPIC",
        "LOG_LEVEL",
        "DT_ORGANIZATION_ID",
        "DT_SIGNATURE_SECRET",
        "DT_SIGNATURE_SECRET_PREVIOUS",
        "FUNCTION_USE_ASGI",
        "DT_PROJECT_IDS",
    }
    assert ingest <= read
    assert route <= read
    assert ingest <= set(contract_environment("ingest"))
    assert route <= set(contract_environment("route"))


@pytest.mark.parametrize("function", ["ingest", "route"])
def test_environment_variables_the_contract_requires_are_set(evaluated, function):
    required = {name for name, optional in contract_environment(function).items() if not optional}
    given = set(evaluated[f"{function}_environment"]) | set(evaluated.get(f"{function}_secrets", []))
    assert required and required <= given


def test_each_function_runs_as_its_own_identity_and_builds_as_the_build_identity():
    for function in ("ingest", "route"):
        body = resource("google_cloudfunctions2_function", function).body
        assert (
            body["service_config"][0]["service_account_email"]
            == f"${{google_service_account.{function}[0].email}}"
        )
        assert body["build_config"][0]["service_account"] == "${google_service_account.build[0].id}"
        assert "event_trigger" not in body


# --- the source archive --------------------------------------------------------------------------


def test_the_source_archive_holds_main_py_requirements_and_functions_only(evaluated, workspace):
    functions = workspace.parent / "functions"
    expected = sorted(
        path.relative_to(workspace.parent).as_posix()
        for path in functions.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo")
    )
    assert evaluated["function_source_files"] == ["main.py", "requirements.txt", *expected]

    (archive,) = blocks("data")
    assert archive.type == "archive_file"
    assert {"source_dir", "source_file", "source_content"}.isdisjoint(archive.body)
    assert archive.body["dynamic"][0]["source"]["for_each"] == "${local.function_source_files}"
    assert archive.body["count"] == "${local.functions_count}"


def requirement_closure() -> set[str]:
    """Distributions requirements.txt installs, transitively (normalized names)."""

    def normalize(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    pending = [
        re.split(r"[=<>!~\[; ]", line.strip())[0]
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    closure: set[str] = set()
    while pending:
        name = normalize(pending.pop())
        if name in closure:
            continue
        try:
            requirements = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue  # not installed here: excluded by an environment marker (python_version < "3.11", ...)
        closure.add(name)
        pending.extend(
            re.split(r"[=<>!~\[; (]", requirement.strip())[0]
            for requirement in requirements
            if "extra ==" not in requirement
        )
    return closure


def installed_by(module: str, closure: set[str]) -> bool | None:
    """Whether a distribution of `closure` installs the file `module` (or its nearest importable
    parent) is loaded from; None for a namespace package (google, google.cloud), which no single
    distribution owns: its modules are checked one by one."""
    parts = module.split(".")
    for length in range(len(parts), 0, -1):
        try:
            spec = importlib.util.find_spec(".".join(parts[:length]))
        except ModuleNotFoundError:
            continue
        if spec is None:
            continue
        if spec.origin in (None, "namespace"):
            return None
        origin = Path(spec.origin).resolve()
        return any(
            origin == Path(file.locate()).resolve()
            for name in closure
            for file in importlib.metadata.files(name) or []
            if file.name == origin.name
        )
    return False


def test_the_source_archive_holds_every_module_main_py_imports(evaluated):
    """Walks main.py's imports: local modules must be in the archive, the others installed by
    requirements.txt (directly or as a dependency), or be in the standard library."""
    archive = set(evaluated["function_source_files"])
    closure = requirement_closure()
    pending, seen = [ROOT / "main.py"], set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        assert path.relative_to(ROOT).as_posix() in archive, (
            f"{path.relative_to(ROOT)} is imported but not packaged"
        )
        for module in sorted(imported_modules(path)):
            top = module.split(".")[0]
            if (ROOT / top).exists() or (ROOT / f"{top}.py").exists():
                candidates = [
                    ROOT / f"{module.replace('.', '/')}.py",
                    ROOT / module.replace(".", "/") / "__init__.py",
                ]
                pending.extend(candidate for candidate in candidates if candidate.exists())
                # Importing functions.x runs functions/__init__.py first.
                pending.extend(p for p in [ROOT / top / "__init__.py"] if p.exists())
            elif top not in sys.stdlib_module_names and top != "__future__":
                installed = installed_by(module, closure)
                assert installed is not False, (
                    f"{module} (imported by {path.name}) is not in requirements.txt"
                )
    assert ROOT / "functions" / "config.py" in seen


# --- IAM -----------------------------------------------------------------------------------------

PRIMITIVE_ROLES = re.compile(r"roles/(owner|editor|viewer)\b")
PUBLIC_MEMBERS = re.compile(r"\b(allUsers|allAuthenticatedUsers)\b")


def test_no_resource_gets_a_primitive_role():
    for block in resources():
        for path, value in walk(block.body):
            assert not PRIMITIVE_ROLES.search(str(value)), f"{block.address}: {'.'.join(path)} = {value}"


def test_only_the_ingest_function_is_public():
    public = [
        block.address
        for block in resources()
        for _, value in walk(block.body)
        if PUBLIC_MEMBERS.search(str(value))
    ]
    assert public == ["google_cloud_run_service_iam_member.public_invokes_ingest"]
    assert (
        resource("google_cloud_run_service_iam_member", "public_invokes_ingest").body["role"]
        == "roles/run.invoker"
    )
    assert references(
        resource("google_cloud_run_service_iam_member", "public_invokes_ingest").body["service"]
    ) == {"google_cloudfunctions2_function.ingest"}


IDENTITIES = {
    "${google_service_account.ingest[0].member}": "ingest",
    "${google_service_account.route[0].member}": "route",
    "${google_service_account.push[0].member}": "push",
    "${google_service_account.build[0].member}": "build",
    "${google_project_service_identity.pubsub.member}": "Pub/Sub service agent",
    "allUsers": "allUsers",
    "${local.dt_principal}": "DT's principal",
}
TARGET_ARGUMENTS = (
    "topic",
    "secret_id",
    "service",
    "dataset_id",
    "subscription",
    "repository",
    "service_account_id",
    "bucket",
)

LEAST_PRIVILEGE = {
    ("ingest", "roles/pubsub.publisher", "google_pubsub_topic.events"),
    ("ingest", "roles/secretmanager.secretAccessor", "google_secret_manager_secret.signature_secret"),
    ("allUsers", "roles/run.invoker", "google_cloudfunctions2_function.ingest"),
    # insertAll into events_log only: no query job, so no jobUser; no other table.
    ("route", "roles/bigquery.dataEditor", "google_bigquery_table.events_log"),
    ("route", "roles/pubsub.publisher", "google_pubsub_topic.dead_letter"),
    ("push", "roles/run.invoker", "google_cloudfunctions2_function.route"),
    ("Pub/Sub service agent", "roles/pubsub.publisher", "google_pubsub_topic.dead_letter"),
    ("Pub/Sub service agent", "roles/pubsub.subscriber", "google_pubsub_subscription.route"),
    ("Pub/Sub service agent", "roles/pubsub.subscriber", "google_pubsub_subscription.bigquery"),
    ("Pub/Sub service agent", "roles/bigquery.dataEditor", "google_bigquery_table.events_log"),
    ("Pub/Sub service agent", "roles/bigquery.dataEditor", "google_bigquery_table.dead_letters"),
    ("Pub/Sub service agent", "roles/iam.serviceAccountTokenCreator", "google_service_account.push"),
    ("build", "roles/logging.logWriter", "project"),
    ("build", "roles/storage.objectViewer", "project"),
    ("build", "roles/artifactregistry.writer", "google_artifact_registry_repository.functions"),
    ("DT's principal", "roles/pubsub.publisher", "google_pubsub_topic.events"),
}

# Who exists with which connector type (the rest exist with both).
HTTP_PUSH_ONLY = {"ingest", "allUsers"}
PUBSUB_ONLY = {"DT's principal"}


def test_each_identity_has_exactly_its_least_privilege_grants():
    grants = set()
    for block in resources():
        if not block.type.endswith("_iam_member"):
            assert not re.search(r"_iam_(binding|policy)$", block.type), f"{block.address} is authoritative"
            continue
        body = block.body
        roles = [body["role"]]
        if body["role"] == "${each.value}":
            roles = re.findall(r'"(roles/[\w.]+)"', body["for_each"])
        if block.type == "google_project_iam_member":
            target = "project"
        elif block.type == "google_bigquery_table_iam_member":
            (target,) = references(body["table_id"])  # the table, not merely its dataset
        else:
            (target,) = set().union(*(references(body[key]) for key in TARGET_ARGUMENTS if key in body))
        grants.update((IDENTITIES[body["member"]], role, target) for role in roles)
        identity = IDENTITIES[body["member"]]
        if identity in HTTP_PUSH_ONLY | PUBSUB_ONLY:
            expected = "local.ingest_count" if identity in HTTP_PUSH_ONLY else "local.pubsub_count"
            if "signature_secret" in body.get("secret_id", ""):  # none with require_asymmetric_signature
                expected = "local.shared_secret_count"
            assert body.get("count") == f"${{{expected}}}", (
                f"{block.address} must exist with one connector type only"
            )
    assert grants == LEAST_PRIVILEGE


def test_dt_s_principal_is_the_configured_organization_in_this_module_s_pool():
    (found,) = [entry for entry in module_files()["workload_identity.tf"]["locals"]]
    assert found["dt_principal"] == (
        '${local.http_push ? null : "principal://iam.googleapis.com/${google_iam_workload_identity_pool.dt[0].name}'
        '/subject/${var.dt_organization_id}"}'
    )
    provider = resource("google_iam_workload_identity_pool_provider", "dt").body
    assert provider["attribute_mapping"] == {"google.subject": "assertion.sub"}
    assert "var.dt_organization_id" in provider["attribute_condition"]


# --- secrets, outputs, documentation -------------------------------------------------------------


def test_the_generated_secret_goes_only_to_secret_manager_and_the_connector():
    users = {
        block.address for block in resources() if "random_password.signature_secret" in json.dumps(block.body)
    }
    assert users == {"google_secret_manager_secret_version.signature_secret", "dt_data_connector.bigquery"}
    ingest = json.dumps(resource("google_cloudfunctions2_function", "ingest").body)
    assert "secret_environment_variables" in ingest


def test_outputs_show_nothing_secret():
    for output in blocks("output"):
        assert "sensitive" not in output.body, (
            f"{output.name} needs no sensitive flag: it must hold nothing secret"
        )
        value = json.dumps(output.body["value"])
        for secret in (
            "random_password",
            "google_secret_manager_secret_version",
            "dt_api_key_secret",
            "http_config",
        ):
            assert secret not in value, f"output {output.name} shows {secret}"


def test_every_variable_is_typed_and_described_and_every_string_variable_validated():
    free_form = {"dt_api_key_id", "dt_api_key_secret"}
    for variable in blocks("variable"):
        assert variable.body.get("type"), variable.name
        assert len(variable.body.get("description", "")) > 20, variable.name
        if variable.body["type"] not in ("bool",) and variable.name not in free_form:
            assert variable.body.get("validation"), f"variable {variable.name} has no validation"


def test_the_readme_documents_every_variable_and_output():
    readme = (MODULE / "README.md").read_text()
    for block in [*blocks("variable"), *blocks("output")]:
        assert f"| `{block.name}` |" in readme, f"terraform/README.md lacks {block.kind} {block.name}"


def test_the_example_variables_file_sets_the_required_variables_and_only_declared_ones(
    offline_check, workspace
):
    example = {
        key: value for key, value in parse(EXAMPLE / "terraform.tfvars.example").items() if key[:2] != "__"
    }
    variables = {block.name: block for block in blocks("variable", EXAMPLE)}
    assert set(example) <= set(variables)
    assert {name for name, block in variables.items() if "default" not in block.body} <= set(example)
    folder = workspace.parent / "examples" / EXAMPLE.name
    copy = folder / "example.tfvars"
    copy.write_text((EXAMPLE / "terraform.tfvars.example").read_text())
    result = offline_check.terraform(folder, "console", f"-var-file={copy}", stdin="var.project_id\n")
    assert result.returncode == 0, result.stderr


def test_the_example_passes_every_input_it_declares_to_the_module_or_the_providers():
    """An input the example declares but forgets to pass on would silently do nothing."""
    text = "\n".join(path.read_text() for path in sorted(EXAMPLE.glob("*.tf")) if path.name != "variables.tf")
    for variable in blocks("variable", EXAMPLE):
        assert f"var.{variable.name}" in text, f"examples/basic declares {variable.name} but never uses it"
    module_inputs = {block.name for block in blocks("variable")}
    (call,) = [entry["dt_bigquery"] for entry in module_files(EXAMPLE)["main.tf"]["module"]]
    assert call["source"] == "../../terraform"
    assert set(call) - {"source", "__is_block__"} <= module_inputs
