# The request-log exclusion (logging.tf), planned with mocked providers: on by default, scoped to
# this deployment's services and to their 2xx request log entries, gone when turned off, and
# built from the services that exist. tests/terraform/test_logging.py runs the planned filter
# against sample log entries.

mock_provider "google" {
  override_during = plan
  source          = "./tests/mocks"
}

mock_provider "google-beta" {}
mock_provider "random" {}
mock_provider "archive" {}
mock_provider "dt" {}

variables {
  project_id    = "my-project"
  dt_project_id = "c0md3mm0c7pet3c1vddg"
  # Alerts that notify someone: without a channel, the check alerts_reach_someone fails the plan
  # (a warning outside terraform test).
  notification_channels = ["projects/my-project/notificationChannels/1234567890"]
}

run "successful_request_logs_of_both_services_are_excluded_by_default" {
  command = plan

  assert {
    condition     = length(google_logging_project_exclusion.successful_requests) == 1
    error_message = "By default the 2xx request logs of ingest and route must be excluded from _Default."
  }
  assert {
    condition     = google_logging_project_exclusion.successful_requests[0].project == "my-project"
    error_message = "The exclusion belongs to the deployment's project."
  }
  assert {
    condition = google_logging_project_exclusion.successful_requests[0].filter == join(" AND ", [
      "logName = \"projects/my-project/logs/run.googleapis.com%2Frequests\"",
      "resource.type = \"cloud_run_revision\"",
      "resource.labels.location = \"europe-west1\"",
      "(resource.labels.service_name = \"dt-bq-ingest\" OR resource.labels.service_name = \"dt-bq-route\")",
      "httpRequest.status >= 200",
      "httpRequest.status < 300",
    ])
    error_message = "The filter must match only the request logs of dt-bq-ingest and dt-bq-route in europe-west1, answered 2xx."
  }
}

run "no_ingest_no_ingest_in_the_filter" {
  command = plan

  variables {
    connector_type     = "GOOGLE_CLOUD_PUBSUB"
    dt_organization_id = "c0md3mm0c7pet3c1vdd0"
    name_prefix        = "acme"
    region             = "us-central1"
  }

  assert {
    condition = google_logging_project_exclusion.successful_requests[0].filter == join(" AND ", [
      "logName = \"projects/my-project/logs/run.googleapis.com%2Frequests\"",
      "resource.type = \"cloud_run_revision\"",
      "resource.labels.location = \"us-central1\"",
      "(resource.labels.service_name = \"acme-route\")",
      "httpRequest.status >= 200",
      "httpRequest.status < 300",
    ])
    error_message = "With GOOGLE_CLOUD_PUBSUB only the route service's request logs may be named."
  }
  assert {
    condition     = google_logging_project_exclusion.successful_requests[0].name == "acme-successful-requests"
    error_message = "The exclusion's name carries the name prefix, so deployments sharing a project keep theirs apart."
  }
}

run "turned_off_no_exclusion" {
  command = plan

  variables {
    exclude_successful_request_logs = false
  }

  assert {
    condition     = length(google_logging_project_exclusion.successful_requests) == 0
    error_message = "exclude_successful_request_logs = false must leave every request log in _Default."
  }
}
