# Cloud Monitoring alert policies, one per way the bridge can fail that an on-call must hear of.
# Each policy's documentation says what to do, with the runbook in docs/operations.md ("Alerts").
#
#   ingest_5xx    DT's requests answered 5xx: Pub/Sub refused or timed out (503), or the
#                 function failed; DT retries, but disables the connector after 5 days
#                 (HTTP_PUSH only: with GOOGLE_CLOUD_PUBSUB there is no ingest function)
#   ingest_4xx    DT's requests refused (4xx): a signature secret that no longer matches, a DT
#                 project not configured here; DT retries, and disables the connector after 5 days
#                 (HTTP_PUSH only)
#   dead_letters  events the router could not write, waiting in the dead-letter subscription
#   no_events     nothing published to the events topic for alert_no_events_duration_seconds
#   subscription_backlog
#                 a BigQuery subscription (events → events_log with the subscription router;
#                 dead letters → dead_letters always) whose oldest unacknowledged message is
#                 older than alert_subscription_backlog_seconds: in an error state (table gone,
#                 permission lost, schema mismatch) it dead-letters nothing, its backlog ages
#
# Notifications go to var.notification_channels; with none, incidents show in the console only,
# and the check below warns at every plan.
# The filters name this deployment's own resources (project, region, names), so that several
# deployments sharing a project or a metrics scope alert apart.

locals {
  alert_count        = var.enable_alerts ? 1 : 0
  ingest_alert_count = var.enable_alerts && local.http_push ? 1 : 0

  # A Cloud Function (2nd gen) runs as the Cloud Run service of the same name.
  ingest_name = local.http_push ? google_cloudfunctions2_function.ingest[0].name : null
  ingest_requests = local.http_push ? join(" AND ", [
    "resource.type = \"cloud_run_revision\"",
    "resource.label.project_id = \"${var.project_id}\"",
    "resource.label.location = \"${var.region}\"",
    "resource.label.service_name = \"${local.ingest_name}\"",
    "metric.type = \"run.googleapis.com/request_count\"",
  ]) : null

  # The BigQuery subscriptions, by what they write.
  bigquery_subscriptions = merge(
    { dead_letters = google_pubsub_subscription.dead_letter_archive.name },
    local.function_router ? {} : { events_log = google_pubsub_subscription.bigquery[0].name },
  )

  # The runbooks, as headings of docs/operations.md (tests/terraform checks they exist) and, when
  # var.runbook_url says where the on-call reads that file, as links to those headings.
  runbooks = {
    alerts             = "Alerts"
    connector_disabled = "Runbook: the connector was disabled"
    dead_letters       = "Runbook: events in the dead-letter topic"
    backlog            = "Runbook: a BigQuery subscription does not write"
  }
  runbook_links = {
    for key, heading in local.runbooks : key => (
      var.runbook_url == null ? null :
      "${var.runbook_url}#${replace(replace(lower(heading), "/[^a-z0-9 -]/", ""), " ", "-")}"
    )
  }
  runbook_references = {
    for key, heading in local.runbooks : key => (
      var.runbook_url == null
      ? "docs/operations.md, \"${heading}\""
      : "[docs/operations.md, \"${heading}\"](${local.runbook_links[key]})"
    )
  }
}

check "alerts_reach_someone" {
  assert {
    condition     = !var.enable_alerts || length(var.notification_channels) > 0
    error_message = "enable_alerts is on but notification_channels is empty: the alerts open incidents in the Cloud Monitoring console and notify no one. Give at least one channel (projects/<project>/notificationChannels/<id>), or set enable_alerts = false if you watch otherwise (README, \"Alerts\")."
  }
}

# Alert policies need the Cloud Monitoring API (on by default in most projects, not in all).
resource "google_project_service" "monitoring" {
  count = local.alert_count

  project = var.project_id
  service = "monitoring.googleapis.com"
  # Other deployments and the project's own dashboards use it too: tearing this one down leaves it on.
  disable_on_destroy = false
}

# The share of DT's requests answered 5xx, rather than their number per second: the same default
# fits a fleet of ten sensors and one of ten thousand, and it is the measure `./run ops health`
# uses (--max-error-rate, 0.05). Aligned per minute, it must stay above the threshold for the
# whole duration, so the odd failed request (which DT retries anyway) does not page anyone. With
# less than a request a minute, minutes without a 5xx break the streak: a total failure of a
# quiet fleet shows as no_events instead.
resource "google_monitoring_alert_policy" "ingest_5xx" {
  count = local.ingest_alert_count

  display_name          = "DT to BigQuery (${var.name_prefix}): ingest answers DT with 5xx"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = var.notification_channels
  user_labels           = var.resource_labels

  conditions {
    display_name = "More than ${format("%g", var.alert_ingest_5xx_ratio * 100)}% of ingest requests answered 5xx for ${var.alert_ingest_5xx_duration_seconds / 60} min"

    condition_threshold {
      filter = "${local.ingest_requests} AND metric.label.response_code_class = \"5xx\""
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.service_name"]
      }
      # Divided by all requests, aggregated alike so that the two series pair up.
      denominator_filter = local.ingest_requests
      denominator_aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.service_name"]
      }
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_ingest_5xx_ratio
      duration        = "${var.alert_ingest_5xx_duration_seconds}s"
      trigger {
        count = 1
      }
    }
  }

  documentation {
    subject   = "DT to BigQuery (${var.name_prefix}): ingest answers DT with 5xx"
    mime_type = "text/markdown"
    content   = <<-EOT
      The ingest function `${local.ingest_name}` answered more than ${format("%g", var.alert_ingest_5xx_ratio * 100)}% of the Data Connector's requests with a 5xx status for ${var.alert_ingest_5xx_duration_seconds / 60} minutes. DT retries what failed, so nothing is lost yet; but DT disables the connector after 5 days without a 2xx answer, and does not re-send what it could not deliver by then.

      1. Read the function's errors (Logs Explorer): `resource.type="cloud_run_revision" resource.labels.service_name="${local.ingest_name}" severity>=ERROR`.
         - `503` with "Pub/Sub did not confirm the publish" or "Pub/Sub refused the publish": check Pub/Sub's status, the topic `${google_pubsub_topic.events.id}` and the ingest service account's `roles/pubsub.publisher` on it.
         - `503` with "DT's signing keys could not be fetched": DT's key server is out of reach (only with `dt_organization_id` set).
         - `500` "unexpected error in ingest", crashes, timeouts or "no available instance": the function itself; look at its latest deployment, memory and `ingest_max_instances`.
      2. Fix the cause. DT's retries then deliver what was refused meanwhile.
      3. If DT disabled the connector meanwhile (`./run ops health --project <DT project>` says `SYSTEM_DISABLED`), follow ${local.runbook_references.connector_disabled}.

      More: ${local.runbook_references.alerts}.
    EOT

    dynamic "links" {
      for_each = var.runbook_url == null ? {} : { "Runbook: the connector was disabled" = local.runbook_links.connector_disabled }
      content {
        display_name = links.key
        url          = links.value
      }
    }
  }

  depends_on = [google_project_service.monitoring]
}

# The share of DT's requests refused with 4xx. Once a request is signed, the ingest function
# answers 2xx even for a body it cannot parse (kept for the dead-letter topic), so a 4xx is a
# request it does not trust: one DT project's connector refused with 401 for hours (its secret
# changed in DT Studio, a missed rotation) while the others keep no_events quiet. Junk from the
# internet is 4xx too, hence a higher ratio and a longer duration than for 5xx.
resource "google_monitoring_alert_policy" "ingest_4xx" {
  count = local.ingest_alert_count

  display_name          = "DT to BigQuery (${var.name_prefix}): ingest refuses DT's requests (4xx)"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = var.notification_channels
  user_labels           = var.resource_labels

  conditions {
    display_name = "More than ${format("%g", var.alert_ingest_4xx_ratio * 100)}% of ingest requests answered 4xx for ${var.alert_ingest_4xx_duration_seconds / 60} min"

    condition_threshold {
      filter = "${local.ingest_requests} AND metric.label.response_code_class = \"4xx\""
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.service_name"]
      }
      denominator_filter = local.ingest_requests
      denominator_aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.service_name"]
      }
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_ingest_4xx_ratio
      duration        = "${var.alert_ingest_4xx_duration_seconds}s"
      trigger {
        count = 1
      }
    }
  }

  documentation {
    subject   = "DT to BigQuery (${var.name_prefix}): ingest refuses DT's requests (4xx)"
    mime_type = "text/markdown"
    content   = <<-EOT
      The ingest function `${local.ingest_name}` refused more than ${format("%g", var.alert_ingest_4xx_ratio * 100)}% of its requests with a 4xx status for ${var.alert_ingest_4xx_duration_seconds / 60} minutes. If these are DT's requests, DT retries them, but disables the connector after 5 days without a 2xx answer and does not re-send what it could not deliver by then.

      1. Read the refusals (Logs Explorer): `resource.type="cloud_run_revision" resource.labels.service_name="${local.ingest_name}" severity=WARNING`.
         - `401 invalid_signature` "not signed with the connector's secret": the connector's signature secret no longer matches the function's (see docs/deploy.md, "Rotate the signature secret").
         - `401` "expired" or "not valid yet": a clock far off on one side.
         - `403 project_not_allowed`: a connector of a DT project not in `dt_project_ids` points at this function.
         - Requests without any DT header from unknown addresses: junk traffic; raise `alert_ingest_4xx_ratio` if it persists.
      2. `./run ops health --project <DT project>` for each DT project says whether DT's deliveries fail.
      3. If DT disabled the connector meanwhile, follow ${local.runbook_references.connector_disabled}.

      More: ${local.runbook_references.alerts}.
    EOT

    dynamic "links" {
      for_each = var.runbook_url == null ? {} : { "Runbook: the connector was disabled" = local.runbook_links.connector_disabled }
      content {
        display_name = links.key
        url          = links.value
      }
    }
  }

  depends_on = [google_project_service.monitoring]
}

# The backlog of the dead-letter subscription, rather than publishes to the dead-letter topic:
# it counts every dead letter, whether the router published it (a message it can never write)
# or Pub/Sub moved it after max_delivery_attempts (Pub/Sub's forwarding is no publish request of
# ours); it is a GA gauge sampled every minute (topic/send_message_operation_count is deprecated);
# and it stays above 0 until the dead letters are dealt with, so the incident closes by itself
# once `./run ops replay-dead-letters` has acknowledged them.
resource "google_monitoring_alert_policy" "dead_letters" {
  count = local.alert_count

  display_name          = "DT to BigQuery (${var.name_prefix}): events in the dead-letter subscription"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = var.notification_channels
  user_labels           = var.resource_labels

  conditions {
    display_name = "Undelivered messages in ${google_pubsub_subscription.dead_letter.name} above 0"

    condition_threshold {
      filter = join(" AND ", [
        "resource.type = \"pubsub_subscription\"",
        "resource.label.project_id = \"${var.project_id}\"",
        "resource.label.subscription_id = \"${google_pubsub_subscription.dead_letter.name}\"",
        "metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\"",
      ])
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      trigger {
        count = 1
      }
    }
  }

  documentation {
    subject   = "DT to BigQuery (${var.name_prefix}): events in the dead-letter subscription"
    mime_type = "text/markdown"
    content   = <<-EOT
      %{if local.function_router~}
      Events wait in the dead-letter subscription `${google_pubsub_subscription.dead_letter.name}` (project `${var.project_id}`): the route function could never write them to BigQuery (it logs `message dead-lettered` with the reason), or kept failing until Pub/Sub gave up after ${var.max_delivery_attempts} delivery attempts (it logs `write failed; Pub/Sub will redeliver`). They are missing from the views until replayed; the subscription keeps them for `message_retention_duration` (${var.message_retention_duration}), the `dead_letters` table for good.
      %{else~}
      Events wait in the dead-letter subscription `${google_pubsub_subscription.dead_letter.name}` (project `${var.project_id}`): the BigQuery subscription could not write them (a row the table refused, or its transform failed) after ${var.max_delivery_attempts} delivery attempts; the attribute `CloudPubSubDeadLetterSourceDeliveryErrorMessage` says why. They are missing from the views until replayed; the subscription keeps them for `message_retention_duration` (${var.message_retention_duration}), the `dead_letters` table for good.
      %{endif~}

      1. Inspect them: `./run ops replay-dead-letters --dry-run` lists each with its reason.
      2. Fix the cause (BigQuery unavailable, a table that no longer fits its schema file, ...).
      3. Replay: `./run ops replay-dead-letters --max 10`, then `./run ops replay-dead-letters`.

      The incident closes by itself once no dead letter is left unacknowledged. Step by step: ${local.runbook_references.dead_letters}.
    EOT

    dynamic "links" {
      for_each = var.runbook_url == null ? {} : { "Runbook: events in the dead-letter topic" = local.runbook_links.dead_letters }
      content {
        display_name = links.key
        url          = links.value
      }
    }
  }

  depends_on = [google_project_service.monitoring]
}

# Publish requests to the events topic that succeeded, rather than requests to the ingest
# function: it catches every way events stop, including the ones where DT still calls (every
# request refused with 401 after a secret mismatch, or 5xx) as well as a disabled connector or a
# changed URL. A backfill or a replay publishes there too, which is right: events do arrive.
# Summed over the topic's series, so that one series (e.g. of failed requests) falling silent
# does not count as silence. Cloud Monitoring only watches for absence once the topic has had
# data since the policy was created, so a fresh deployment stays quiet until its first event.
resource "google_monitoring_alert_policy" "no_events" {
  count = local.alert_count

  display_name          = "DT to BigQuery (${var.name_prefix}): no events"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = var.notification_channels
  user_labels           = var.resource_labels

  conditions {
    display_name = "No event published to ${google_pubsub_topic.events.name} for ${var.alert_no_events_duration_seconds / 60} min"

    condition_absent {
      filter = join(" AND ", [
        "resource.type = \"pubsub_topic\"",
        "resource.label.project_id = \"${var.project_id}\"",
        "resource.label.topic_id = \"${google_pubsub_topic.events.name}\"",
        "metric.type = \"pubsub.googleapis.com/topic/send_request_count\"",
        "metric.label.response_class = \"success\"",
      ])
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.topic_id"]
      }
      duration = "${var.alert_no_events_duration_seconds}s"
      trigger {
        count = 1
      }
    }
  }

  documentation {
    subject   = "DT to BigQuery (${var.name_prefix}): no events"
    mime_type = "text/markdown"
    content   = <<-EOT
      No event reached the Pub/Sub topic `${google_pubsub_topic.events.id}` for ${var.alert_no_events_duration_seconds / 60} minutes. Either the sensors are quiet (a connector forwarding only some event types may be silent for long: raise `alert_no_events_duration_seconds` then), or DT's events no longer get through.

      1. `./run ops health --project <DT project>` for each DT project: is the connector `ACTIVE`, and what does DT say of its deliveries?
      %{if local.http_push~}
      2. The ingest function's logs (Logs Explorer): `resource.type="cloud_run_revision" resource.labels.service_name="${local.ingest_name}"`. No requests at all: the connector is disabled, or sends elsewhere (its URL must be the `ingest_url` output). `401 invalid_signature`: the connector's signature secret no longer matches the function's (see docs/deploy.md, "Rotate the signature secret"). `5xx`: see the ingest 5xx alert.
      %{else~}
      2. DT publishes to the topic itself (GOOGLE_CLOUD_PUBSUB): the connector needs `roles/pubsub.publisher` on the topic for `${coalesce(local.dt_principal, "-")}`, and a token exchange the workload identity provider accepts. Refused exchanges and publishes show in Cloud Audit Logs (`protoPayload.serviceName="sts.googleapis.com"`, and `protoPayload.serviceName="pubsub.googleapis.com"` with an error status); compare the issuer, the organization and the audience with the module's `dt_oidc_issuer`, `dt_organization_id` and `workload_identity_provider` output.
      %{endif~}
      3. Fix the cause; if the connector was disabled, follow ${local.runbook_references.connector_disabled} to enable it and backfill the gap.

      More: ${local.runbook_references.alerts}.
    EOT

    dynamic "links" {
      for_each = var.runbook_url == null ? {} : { "Runbook: the connector was disabled" = local.runbook_links.connector_disabled }
      content {
        display_name = links.key
        url          = links.value
      }
    }
  }

  depends_on = [google_project_service.monitoring]
}

# The age of the oldest unacknowledged message of each BigQuery subscription, rather than the
# number of messages waiting: a healthy subscription writes within seconds whatever the traffic,
# so age is the measure that does not depend on the fleet's size. It is the only sign of a
# subscription in an error state (the table deleted, the agent's permission lost, a schema
# mismatch): Pub/Sub then neither writes nor dead-letters, and messages expire after
# message_retention_duration. A GA gauge sampled every minute.
resource "google_monitoring_alert_policy" "subscription_backlog" {
  count = local.alert_count

  display_name          = "DT to BigQuery (${var.name_prefix}): a BigQuery subscription does not write"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = var.notification_channels
  user_labels           = var.resource_labels

  dynamic "conditions" {
    for_each = local.bigquery_subscriptions
    content {
      display_name = "Oldest unacknowledged message in ${conditions.value} (into ${conditions.key}) older than ${var.alert_subscription_backlog_seconds / 60} min"

      condition_threshold {
        filter = join(" AND ", [
          "resource.type = \"pubsub_subscription\"",
          "resource.label.project_id = \"${var.project_id}\"",
          "resource.label.subscription_id = \"${conditions.value}\"",
          "metric.type = \"pubsub.googleapis.com/subscription/oldest_unacked_message_age\"",
        ])
        aggregations {
          alignment_period   = "60s"
          per_series_aligner = "ALIGN_MAX"
        }
        comparison      = "COMPARISON_GT"
        threshold_value = var.alert_subscription_backlog_seconds
        duration        = "60s"
        trigger {
          count = 1
        }
      }
    }
  }

  documentation {
    subject   = "DT to BigQuery (${var.name_prefix}): a BigQuery subscription does not write"
    mime_type = "text/markdown"
    content   = <<-EOT
      A BigQuery subscription of project `${var.project_id}` (${join(", ", [for table, name in local.bigquery_subscriptions : "`${name}` into `${table}`"])}) holds a message older than ${var.alert_subscription_backlog_seconds / 60} minutes. Such a subscription in an error state writes nothing and dead-letters nothing: its messages wait, and expire after `message_retention_duration` (${var.message_retention_duration}).

      1. Its state and the reason: `gcloud pubsub subscriptions describe <subscription> --format='value(bigqueryConfig.state)'` (`PERMISSION_DENIED`, `NOT_FOUND`, `SCHEMA_MISMATCH`, `IN_TRANSIT_LOCATION_RESTRICTION`).
      2. Fix it: the table `${google_bigquery_dataset.events.dataset_id}.<table>` exists with the module's schema (`terraform apply` restores both), and the Pub/Sub service agent has `roles/bigquery.dataEditor` on it.
      3. The subscription resumes by itself and writes the backlog; the incident closes once the oldest message is young again.

      Step by step: ${local.runbook_references.backlog}.
    EOT

    dynamic "links" {
      for_each = var.runbook_url == null ? {} : { "Runbook: a BigQuery subscription does not write" = local.runbook_links.backlog }
      content {
        display_name = links.key
        url          = links.value
      }
    }
  }

  depends_on = [google_project_service.monitoring]
}
