# Every variable validation must refuse a value: each run sets invalid values and expects
# exactly those variables' validations to fail. Terraform checks each listed object on its own
# ("Missing expected failure" names one that did not fail), so a run may hold several: fewer runs,
# since each starts every provider again. The comment after each value says what is wrong.
# tests/terraform checks that every validated variable is listed (and the example's in
# examples/basic/tests).

mock_provider "google" {}
mock_provider "google-beta" {}
mock_provider "random" {}
mock_provider "archive" {}
mock_provider "dt" {}

variables {
  project_id    = "my-project"
  dt_project_id = "c0md3mm0c7pet3c1vddg"
  # Alerts that notify someone: without a channel, the check alerts_reach_someone fails the plan
  # (a warning outside terraform test). Runs about alerts without channels set [] and expect it.
  notification_channels = ["projects/my-project/notificationChannels/1234567890"]
}

run "rejects_invalid_locations_names_and_dt_settings" {
  command = plan
  variables {
    project_id                  = "My Project"                                                 # a project name for a project id
    region                      = "europe-west1-b"                                             # a zone for a region
    name_prefix                 = "dt-bigquery-bridge"                                         # a prefix too long for service account ids
    resource_labels             = { Team = "Data Platform" }                                   # labels google refuses
    connector_type              = "PUBSUB"                                                     # an unknown connector type
    dt_project_ids              = ["projects/c0md3mm0c7pet3c1vddg"]                            # a project resource name in dt project ids
    dt_project_id               = "projects/c0md3mm0c7pet3c1vddg"                              # a project resource name for dt project id
    dt_organization_id          = "organizations/c0md3mm0c7pet3c1vdd0"                         # an organization resource name
    dt_oidc_issuer              = "http://identity.disruptive-technologies.com/data-connector" # an issuer that is not https
    event_types                 = ["temperature", "temprature"]                                # an unknown event type
    forwarded_labels            = ["name", "name"]                                             # a label forwarded twice
    connector_display_name      = "  "                                                         # a blank connector name
    signature_secret_generation = 0                                                            # generation zero
  }
  expect_failures = [
    var.project_id,
    var.region,
    var.name_prefix,
    var.resource_labels,
    var.connector_type,
    var.dt_project_ids,
    var.dt_project_id,
    var.dt_organization_id,
    var.dt_oidc_issuer,
    var.event_types,
    var.forwarded_labels,
    var.connector_display_name,
    var.signature_secret_generation,
  ]
}

run "rejects_a_dt_project_listed_twice" {
  command = plan
  variables {
    dt_project_ids = ["c0md3mm0c7pet3c1vddg", "c0md3mm0c7pet3c1vddg"] # a dt project listed twice
  }
  expect_failures = [
    var.dt_project_ids,
  ]
}

run "rejects_invalid_bigquery_and_function_settings" {
  command = plan
  variables {
    dataset_id             = "dt-events" # a dataset id with hyphens
    dataset_location       = "eu"        # a lowercase multi region
    python_runtime         = "python39"  # a runtime older than python311
    log_level              = "VERBOSE"   # an unknown log level
    ingest_memory          = "512"       # memory without a unit
    ingest_cpu             = "one"       # a cpu that is not a number
    ingest_timeout_seconds = 3601        # an ingest timeout over an hour
    ingest_max_instances   = 0           # zero ingest instances
    ingest_concurrency     = 0           # zero ingest concurrency
    route_memory           = "536870912" # route memory in bytes
    route_cpu              = "-1"        # a negative route cpu
    route_timeout_seconds  = 900         # a route timeout beyond the ack deadline
    route_max_instances    = 0           # zero route instances
    route_concurrency      = 1001        # route concurrency over 1000
    route_ingress_settings = "INTERNAL"  # an unknown ingress setting
  }
  expect_failures = [
    var.dataset_id,
    var.dataset_location,
    var.python_runtime,
    var.log_level,
    var.ingest_memory,
    var.ingest_cpu,
    var.ingest_timeout_seconds,
    var.ingest_max_instances,
    var.ingest_concurrency,
    var.route_memory,
    var.route_cpu,
    var.route_timeout_seconds,
    var.route_max_instances,
    var.route_concurrency,
    var.route_ingress_settings,
  ]
}

run "rejects_invalid_pubsub_and_alert_settings" {
  command = plan
  variables {
    max_delivery_attempts             = 4                                   # fewer delivery attempts than pubsub allows
    message_retention_duration        = "31d"                               # a retention pubsub refuses
    notification_channels             = ["ops@example.com"]                 # a notification channel that is not a channel id
    alert_ingest_5xx_ratio            = 5                                   # a 5xx ratio given as a percentage
    alert_ingest_5xx_duration_seconds = 90                                  # a 5xx duration of no whole minutes
    alert_no_events_duration_seconds  = 86400                               # a silence longer than monitoring watches
    runbook_url                       = "https://example.com/ops.md#alerts" # a runbook url with a fragment
  }
  expect_failures = [
    var.max_delivery_attempts,
    var.message_retention_duration,
    var.notification_channels,
    var.alert_ingest_5xx_ratio,
    var.alert_ingest_5xx_duration_seconds,
    var.alert_no_events_duration_seconds,
    var.runbook_url,
  ]
}
