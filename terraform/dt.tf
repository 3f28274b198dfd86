# The DT Data Connectors, one per DT project, all into the same pipeline:
# - HTTP_PUSH: DT pushes every event of the project (or of var.event_types) to the ingest
#   function, signed with the generated secret, with the chosen device labels;
# - GOOGLE_CLOUD_PUBSUB: DT publishes them to the events topic itself, as the principal of
#   workload_identity.tf (pubsub_config is a single nested attribute: an assignment, not a block).
# Changing the type replaces the connectors (DT's provider forces it). DT allows 10 connectors
# per project; this module adds one to each project.

resource "dt_data_connector" "bigquery" {
  for_each = toset(local.dt_project_ids)

  display_name = coalesce(var.connector_display_name, "BigQuery (${var.name_prefix})")
  project      = "projects/${each.key}"
  type         = var.connector_type
  events       = var.event_types
  labels       = var.forwarded_labels

  http_config = local.http_push ? {
    url = google_cloudfunctions2_function.ingest[0].url
    # null with require_asymmetric_signature: DT then signs with its ES256 key only.
    signature_secret = local.shared_secret ? random_password.signature_secret[local.current_signature_secret].result : null
  } : null

  pubsub_config = local.http_push ? null : {
    topic    = google_pubsub_topic.events.id
    audience = local.dt_audience
  }

  # Only once the way in can accept what DT sends, and Pub/Sub can take it on.
  depends_on = [
    google_cloud_run_service_iam_member.public_invokes_ingest,
    google_pubsub_topic_iam_member.ingest_publishes_events,
    google_pubsub_topic_iam_member.dt_publishes_events,
    google_pubsub_subscription.route,
  ]
}
