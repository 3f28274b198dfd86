"""The alert policies (terraform/monitoring.tf) and what they rely on outside Terraform: the
runbook sections they send the on-call to, the log lines and commands their documentation
quotes, and the resources their filters watch. terraform/tests/plan.tftest.hcl checks the
planned values (filters, thresholds, channels, enable_alerts)."""

from __future__ import annotations

import re
import shlex

import pytest

from tests.terraform.support import ROOT, blocks, module_files, references, resource, resources

OPERATIONS = ROOT / "docs" / "operations.md"
POLICIES = {"ingest_5xx", "ingest_4xx", "dead_letters", "no_events", "subscription_backlog"}


def monitoring_locals() -> dict:
    (found,) = module_files()["monitoring.tf"]["locals"]
    return found


def github_anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading (as monitoring.tf builds it for runbook_url)."""
    return re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")


def test_the_module_has_exactly_the_four_alert_policies_and_outputs_each():
    policies = {block.name for block in resources("google_monitoring_alert_policy")}
    assert policies == POLICIES
    (output,) = [block for block in blocks("output") if block.name == "alert_policies"]
    assert references(output.body["value"]) == {f"google_monitoring_alert_policy.{name}" for name in POLICIES}


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_each_policy_follows_enable_alerts_notifies_the_channels_and_documents_what_to_do(name):
    body = resource("google_monitoring_alert_policy", name).body
    # No ingest function with GOOGLE_CLOUD_PUBSUB, so no alert on its answers either.
    assert body["count"] == (
        "${local.ingest_alert_count}" if name.startswith("ingest_") else "${local.alert_count}"
    )
    assert body["notification_channels"] == "${var.notification_channels}"
    assert body["depends_on"] == ["${google_project_service.monitoring}"]
    (documentation,) = body["documentation"]
    assert documentation["mime_type"] == "text/markdown"
    assert "local.runbook_references." in documentation["content"], f"{name} names no runbook"
    assert monitoring_locals()["alert_count"] == "${var.enable_alerts ? 1 : 0}"
    assert monitoring_locals()["ingest_alert_count"] == "${var.enable_alerts && local.http_push ? 1 : 0}"


@pytest.mark.parametrize(
    ("name", "watched"),
    [
        ("ingest_5xx", "google_cloudfunctions2_function.ingest"),
        ("ingest_4xx", "google_cloudfunctions2_function.ingest"),
        ("dead_letters", "google_pubsub_subscription.dead_letter"),
        ("no_events", "google_pubsub_topic.events"),
    ],
)
def test_each_policy_watches_this_deployment_s_own_resource(name, watched):
    (condition,) = resource("google_monitoring_alert_policy", name).body["conditions"]
    (kind,) = [key for key in condition if key.startswith("condition_")]
    (spec,) = condition[kind]
    watched_filter = (
        spec["filter"]
        .replace("${local.ingest_requests}", monitoring_locals()["ingest_requests"])
        .replace("${local.ingest_name}", monitoring_locals()["ingest_name"])
    )
    assert references(watched_filter) == {watched}
    assert 'resource.label.project_id = \\"${var.project_id}\\"' in watched_filter


def test_the_ingest_filter_names_the_cloud_run_service_the_invoker_grant_names():
    """Cloud Functions (2nd gen) serves a function as the Cloud Run service of the same name."""
    grant = resource("google_cloud_run_service_iam_member", "public_invokes_ingest").body
    assert grant["service"] == "${google_cloudfunctions2_function.ingest[0].name}"
    assert monitoring_locals()["ingest_name"] == (
        "${local.http_push ? google_cloudfunctions2_function.ingest[0].name : null}"
    )
    assert (
        'resource.label.service_name = \\"${local.ingest_name}\\"' in monitoring_locals()["ingest_requests"]
    )


def test_the_runbooks_the_alerts_send_the_on_call_to_are_sections_of_operations_md():
    headings = {
        line.lstrip("#").strip() for line in OPERATIONS.read_text().splitlines() if line.startswith("## ")
    }
    runbooks = {
        key: value for key, value in monitoring_locals()["runbooks"].items() if not key.startswith("__")
    }
    assert set(runbooks) == {"alerts", "connector_disabled", "dead_letters", "backlog"}
    assert set(runbooks.values()) <= headings
    # The Alerts section links to the runbooks with the same anchors the policies use.
    alerts = OPERATIONS.read_text().split("\n## Alerts\n", 1)[1].split("\n## ", 1)[0]
    for heading in (runbooks["connector_disabled"], runbooks["dead_letters"], runbooks["backlog"]):
        assert f"(#{github_anchor(heading)})" in alerts


# Log lines and error codes the documentation tells the on-call to look for, and where the code
# writes them: a reworded log message must not leave the alerts pointing at nothing.
QUOTED_BY_THE_ALERTS = {
    "message dead-lettered": "functions/router.py",
    "write failed; Pub/Sub will redeliver": "functions/router.py",
    "unexpected error in ingest": "functions/ingest.py",
    "Pub/Sub did not confirm the publish": "functions/publishing.py",
    "Pub/Sub refused the publish": "functions/publishing.py",
    "DT's signing keys could not be fetched": "functions/signature.py",
    "invalid_signature": "functions/errors.py",
}


@pytest.mark.parametrize(("quoted", "source"), sorted(QUOTED_BY_THE_ALERTS.items()))
def test_log_lines_the_alerts_quote_are_ones_the_functions_write(quoted, source):
    assert any(quoted in documentation(name) for name in POLICIES)
    assert quoted in (ROOT / source).read_text()


def documentation(name: str) -> str:
    (found,) = resource("google_monitoring_alert_policy", name).body["documentation"]
    return found["content"]


def test_commands_the_alerts_quote_are_ones_the_ops_tool_accepts():
    from dt_bigquery_ops.cli import build_parser

    commands = [
        command
        for name in sorted(POLICIES)
        for command in re.findall(r"`\./run ops ([^`]+)`", documentation(name))
    ]
    assert {command.split()[0] for command in commands} == {"health", "replay-dead-letters"}
    for command in commands:
        arguments = shlex.split(re.sub(r"<[^>]+>", "x", command))
        build_parser().parse_args(arguments)  # exits (SystemExit) on an unknown command or option


# Mistakes in the alert policies that `terraform validate` must report, given google 6.50.0's
# schema of google_monitoring_alert_policy (extracted into provider-schemas/google.json).
MISTAKES = [
    (
        "    condition_absent {",
        "    condition_absence {",
        'Blocks of type "condition_absence" are not expected here',
    ),
    (
        "threshold_value = var.alert_ingest_5xx_ratio",
        "threshold       = var.alert_ingest_5xx_ratio",
        'An argument named "threshold" is not expected here',
    ),
    ('duration        = "0s"', '# duration      = "0s"', 'The argument "duration" is required'),
]


def test_terraform_validate_checks_the_alert_policies_against_the_provider_schema(offline_check):
    workdir = offline_check.workspace("pytest-monitoring-mistakes")
    path = workdir / "monitoring.tf"
    source = path.read_text()
    for text, mistaken, _ in MISTAKES:
        assert source.count(text) == 1, f"monitoring.tf should hold {text!r} exactly once"
        source = source.replace(text, mistaken)
    path.write_text(source)

    result = offline_check.terraform(workdir, "validate", "-no-color")

    assert result.returncode != 0
    output = re.sub(r"\s+", " ", result.stdout + result.stderr)
    for _, _, error in MISTAKES:
        assert error in output, f"validate did not report {error!r}:\n{result.stderr}"
