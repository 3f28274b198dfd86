"""The two routers (var.router): mistakes planted in a copy of the module must make `terraform
test` (terraform/tests/router.tftest.hcl) fail; and the static wiring each router relies on: which
resources exist with which router, dead letters on every subscription of the events topic, the
transform read from the generated file, and a route function that needs no BigQuery job."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.terraform.support import (
    ROOT,
    module_files,
    planted_test_output,
    python_files,
    resource,
    resources,
)

# The file helper 20b's generator writes and the function it defines (functions/transform).
TRANSFORM = ROOT / "functions" / "transform" / "dt_event_to_row.js"
TRANSFORM_FUNCTION = "dtEventToRow"

BIGQUERY_SUBSCRIPTION_TAIL = """  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = var.max_delivery_attempts
  }

  expiration_policy {
    ttl = ""
  }

  # Pub/Sub checks at creation that its agent may write the table."""

# (what goes wrong, file, text, planted text, the run of router.tftest.hcl that must catch it)
PLANTED = [
    (
        "a BigQuery subscription without dead letters",
        "pubsub.tf",
        BIGQUERY_SUBSCRIPTION_TAIL,
        BIGQUERY_SUBSCRIPTION_TAIL.split("\n\n", 1)[1],
        "the_subscription_router_runs_no_route_function",
    ),
    (
        "a transform that is not the generated file",
        "pubsub.tf",
        "code          = file(local.transform_file)",
        'code          = "function dtEventToRow(message, metadata) { return message; }"',
        "the_subscription_router_runs_no_route_function",
    ),
    (
        "a transform calling another function",
        "pubsub.tf",
        'transform_function = "dtEventToRow"',
        'transform_function = "transform"',
        "the_subscription_router_runs_no_route_function",
    ),
    (
        "the route function left behind with the subscription router",
        "main.tf",
        "route_count               = local.function_router ? 1 : 0",
        "route_count               = 1",
        "the_subscription_router_runs_no_route_function",
    ),
    (
        "functions left behind with nothing to run",
        "main.tf",
        "functions_count = local.http_push || local.function_router ? 1 : 0",
        "functions_count = 1",
        "the_subscription_router_with_the_pubsub_connector_runs_no_function_at_all",
    ),
    (
        "dead letters no longer archived with the function router",
        "pubsub.tf",
        "    write_metadata      = true\n",
        "    write_metadata      = false\n",
        "the_function_router_is_the_default",
    ),
]


@pytest.fixture(scope="module")
def planted_workspace(offline_check) -> Path:
    return offline_check.workspace("pytest-planted-router")


@pytest.mark.parametrize(
    ("mistake", "file_name", "text", "planted", "run"), PLANTED, ids=[p[0] for p in PLANTED]
)
def test_a_planted_mistake_fails_the_run_that_guards_against_it(
    offline_check, planted_workspace, mistake, file_name, text, planted, run
):
    output = planted_test_output(
        offline_check, planted_workspace, file_name, text, planted, "router.tftest.hcl"
    )
    # The same runs pass on the module as it is: test_terraform_test_plans_the_module_with_mocked_providers.
    assert f'run "{run}"... fail' in output, f"{mistake} was not caught:\n{output}"


# --- which resources exist with which router -----------------------------------------------------

ROUTE_ONLY = {
    "google_cloudfunctions2_function.route",
    "google_pubsub_subscription.route",
    "google_service_account.route",
    "google_service_account.push",
    "google_cloud_run_service_iam_member.push_invokes_route",
    "google_bigquery_table_iam_member.route_writes_rows",
    "google_pubsub_topic_iam_member.route_publishes_dead_letters",
    "google_pubsub_subscription_iam_member.pubsub_agent_acknowledges_route",
    "google_service_account_iam_member.pubsub_agent_signs_push_tokens",
}
SUBSCRIPTION_ONLY = {
    "google_pubsub_subscription.bigquery",
    "google_bigquery_table_iam_member.pubsub_agent_writes_events",
    "google_pubsub_subscription_iam_member.pubsub_agent_acknowledges_bigquery",
}


def test_the_router_variable_decides_which_resources_exist():
    (found,) = module_files()["main.tf"]["locals"]
    assert found["function_router"] == '${var.router == "function"}'
    assert found["route_count"] == "${local.function_router ? 1 : 0}"
    assert found["subscription_router_count"] == "${local.function_router ? 0 : 1}"
    counted = {block.address: block.body.get("count") for block in resources()}
    for address in ROUTE_ONLY:
        assert counted[address] == "${local.route_count}", address
    for address in SUBSCRIPTION_ONLY:
        assert counted[address] == "${local.subscription_router_count}", address
    # Everything else named after the route function or its push identity is in ROUTE_ONLY.
    for address, _ in counted.items():
        if re.search(r"(^|_)(route|push)(_|$)", address.split(".", 1)[1]):
            assert address in ROUTE_ONLY, f"{address} must exist with the function router only"


def test_every_subscription_of_the_events_topic_dead_letters_after_the_same_attempts():
    on_events = [
        block for block in resources("google_pubsub_subscription")
        if block.body["topic"] == "${google_pubsub_topic.events.id}"
    ]  # fmt: skip
    assert {block.name for block in on_events} == {"route", "bigquery"}
    for block in on_events:
        (policy,) = block.body.get("dead_letter_policy", [None])
        assert policy is not None, f"{block.address} has no dead-letter policy"
        assert policy["dead_letter_topic"] == "${google_pubsub_topic.dead_letter.id}"
        assert policy["max_delivery_attempts"] == "${var.max_delivery_attempts}"


def test_the_bigquery_subscription_writes_events_log_with_the_table_s_schema():
    (config,) = resource("google_pubsub_subscription", "bigquery").body["bigquery_config"]
    assert config["table"].endswith(".${google_bigquery_table.events_log.table_id}")
    assert config["use_table_schema"] is True
    assert config["write_metadata"] is False
    assert config["drop_unknown_fields"] is False  # refused, hence dead-lettered, never dropped
    assert "use_topic_schema" not in config


def test_the_transform_is_the_generated_file_and_its_function():
    (found,) = module_files()["pubsub.tf"]["locals"]
    assert found["transform_file"] == "${local.repository_root}/functions/transform/dt_event_to_row.js"
    assert found["transform_function"] == TRANSFORM_FUNCTION
    assert TRANSFORM.is_file(), "functions/transform/dt_event_to_row.js is generated by functions/transform"
    (transforms,) = resource("google_pubsub_subscription", "bigquery").body["message_transforms"]
    (udf,) = transforms["javascript_udf"]
    assert udf == {
        "function_name": "${local.transform_function}",
        "code": "${file(local.transform_file)}",
    } | {key: value for key, value in udf.items() if key.startswith("__")}


def test_the_dead_letter_archive_writes_every_dead_letter_with_its_metadata():
    body = resource("google_pubsub_subscription", "dead_letter_archive").body
    assert body["topic"] == "${google_pubsub_topic.dead_letter.id}"
    assert "count" not in body, "both routers archive their dead letters"
    (config,) = body["bigquery_config"]
    assert config["table"].endswith(".${google_bigquery_table.dead_letters.table_id}")
    assert (config["write_metadata"], config["use_table_schema"], config["use_topic_schema"]) == (
        True,
        False,
        False,
    )
    # The pull subscription ops replay-dead-letters reads stays beside it.
    assert resource("google_pubsub_subscription", "dead_letter").body["retain_acked_messages"] is True


BIGQUERY_JOBS = {"query", "query_and_wait", "load_table_from_json", "load_table_from_uri", "load_table_from_file",
                 "copy_table", "extract_table", "create_job"}  # fmt: skip


def test_the_route_function_runs_no_bigquery_job_so_it_needs_no_job_user_role():
    """insertAll (insert_rows_json) needs bigquery.tables.updateData on the table only."""
    called = set()
    for path in python_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                called.add(node.func.attr)
    assert "insert_rows_json" in called
    assert not called & BIGQUERY_JOBS, f"the functions run BigQuery jobs: {sorted(called & BIGQUERY_JOBS)}"
    roles = {block.body["role"] for block in resources("google_project_iam_member")}
    assert "roles/bigquery.jobUser" not in str(roles) + str(
        [block.body.get("for_each") for block in resources("google_project_iam_member")]
    )
