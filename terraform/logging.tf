# Cloud Run writes a request log entry (run.googleapis.com/requests, about a kilobyte) for every
# request each service answers: one per event in ingest and one in route. Each event is already
# in BigQuery with its trail (message id, publish and ingest times), so by default the entries of
# successful requests are kept out of the _Default bucket (they are not stored nor billed); every
# other answer (3xx, 4xx, 5xx) is kept, as are the functions' own logs. The exclusion names this
# deployment's services only, never the rest of the project. The request counts and latencies
# stay in Cloud Monitoring (run.googleapis.com/request_count, request_latencies), which the
# alerts use. Turn it off with exclude_successful_request_logs = false (README, "Logs").

locals {
  # The services this deployment runs: ingest only with HTTP_PUSH, route only while a function
  # routes (a splat works whether or not the resource has a count).
  request_log_services = concat(
    google_cloudfunctions2_function.ingest[*].name,
    google_cloudfunctions2_function.route[*].name,
  )
  successful_request_logs = join(" AND ", [
    "logName = \"projects/${var.project_id}/logs/run.googleapis.com%2Frequests\"",
    "resource.type = \"cloud_run_revision\"",
    "resource.labels.location = \"${var.region}\"",
    "(${join(" OR ", [for name in local.request_log_services : "resource.labels.service_name = \"${name}\""])})",
    "httpRequest.status >= 200",
    "httpRequest.status < 300",
  ])
}

resource "google_logging_project_exclusion" "successful_requests" {
  count = var.exclude_successful_request_logs && length(local.request_log_services) > 0 ? 1 : 0

  project     = var.project_id
  name        = "${var.name_prefix}-successful-requests"
  description = "DT to BigQuery (${var.name_prefix}): Cloud Run request logs of the 2xx answers of ${join(" and ", local.request_log_services)}; every event is in BigQuery."
  filter      = local.successful_request_logs
}
