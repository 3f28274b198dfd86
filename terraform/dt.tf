# The DT Data Connector: DT pushes every event of the project (or of var.event_types) to the
# ingest function, signed with the generated secret, with the chosen device labels.

resource "dt_data_connector" "bigquery" {
  display_name = coalesce(var.connector_display_name, "BigQuery (${var.name_prefix})")
  project      = "projects/${var.dt_project_id}"
  type         = "HTTP_PUSH"
  events       = var.event_types
  labels       = var.forwarded_labels

  http_config = {
    url              = google_cloudfunctions2_function.ingest.url
    signature_secret = random_password.signature_secret[local.current_signature_secret].result
  }

  # Only once the ingest function can accept what DT sends, and Pub/Sub can take it on.
  depends_on = [
    google_cloud_run_service_iam_member.public_invokes_ingest,
    google_pubsub_topic_iam_member.ingest_publishes_events,
    google_pubsub_subscription.route,
  ]
}
