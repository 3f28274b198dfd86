output "ingest_url" {
  description = "HTTPS URL of the ingest function, where the Data Connector sends events."
  value       = google_cloudfunctions2_function.ingest.url
}

output "dataset" {
  description = "The BigQuery dataset, as <project>.<dataset> (what the route function writes to)."
  value       = "${var.project_id}.${google_bigquery_dataset.events.dataset_id}"
}

output "tables" {
  description = "Event table name => its deduplicating view and append-only log table, as <project>.<dataset>.<name>."
  value = {
    for table in keys(local.tables) : table => {
      view = "${var.project_id}.${google_bigquery_dataset.events.dataset_id}.${google_bigquery_table.dedupe_view[table].table_id}"
      log  = "${var.project_id}.${google_bigquery_dataset.events.dataset_id}.${google_bigquery_table.log[table].table_id}"
    }
  }
}

output "events_topic" {
  description = "Pub/Sub topic the ingest function publishes to (projects/<project>/topics/<name>)."
  value       = google_pubsub_topic.events.id
}

output "dead_letter_topic" {
  description = "Pub/Sub topic of events the route function could not write (projects/<project>/topics/<name>)."
  value       = google_pubsub_topic.dead_letter.id
}

output "dead_letter_subscription" {
  description = "Subscription that keeps dead letters for inspection and replay."
  value       = google_pubsub_subscription.dead_letter.id
}

output "route_subscription" {
  description = "Push subscription that feeds the route function."
  value       = google_pubsub_subscription.route.id
}

output "connector_name" {
  description = "The DT Data Connector's resource name (projects/<dt project>/dataConnectors/<id>)."
  value       = dt_data_connector.bigquery.name
}

output "signature_secret" {
  description = "Secret Manager secret holding the connector's signature secret (its name, not its value)."
  value       = google_secret_manager_secret.signature_secret.id
}

output "service_accounts" {
  description = "Email of each identity this module created."
  value = {
    ingest = google_service_account.ingest.email
    route  = google_service_account.route.email
    push   = google_service_account.push.email
    build  = google_service_account.build.email
  }
}

output "alert_policies" {
  description = "Cloud Monitoring alert policy of each alert (ingest_5xx, dead_letters, no_events), as projects/<project>/alertPolicies/<id>; empty when enable_alerts is false."
  value = {
    for alert, policies in {
      ingest_5xx   = google_monitoring_alert_policy.ingest_5xx
      dead_letters = google_monitoring_alert_policy.dead_letters
      no_events    = google_monitoring_alert_policy.no_events
    } : alert => policies[0].name if length(policies) > 0
  }
}
