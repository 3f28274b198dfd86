output "ingest_url" {
  description = "HTTPS URL of the ingest function (HTTP_PUSH); null with GOOGLE_CLOUD_PUBSUB."
  value       = module.dt_bigquery.ingest_url
}

output "dataset" {
  description = "The BigQuery dataset, as <project>.<dataset>."
  value       = module.dt_bigquery.dataset
}

output "events_topic" {
  description = "Pub/Sub topic the events arrive on."
  value       = module.dt_bigquery.events_topic
}

output "dead_letter_topic" {
  description = "Pub/Sub topic of events the route function could not write."
  value       = module.dt_bigquery.dead_letter_topic
}

output "dead_letter_subscription" {
  description = "Subscription that keeps dead letters for inspection and replay."
  value       = module.dt_bigquery.dead_letter_subscription
}

output "connector_names" {
  description = "DT project id => its Data Connector's resource name."
  value       = module.dt_bigquery.connector_names
}

output "workload_identity_provider" {
  description = "The workload identity pool provider DT's Pub/Sub connector authenticates with; null with HTTP_PUSH."
  value       = module.dt_bigquery.workload_identity_provider
}

output "dt_principal" {
  description = "The one principal that may publish to the events topic for DT; null with HTTP_PUSH."
  value       = module.dt_bigquery.dt_principal
}

output "signature_secret" {
  description = "Secret Manager secret holding the connectors' signature secret (its name; read the value with `gcloud secrets versions access latest --secret <name>`); null without a shared secret."
  value       = module.dt_bigquery.signature_secret
}

output "signature_secret_versions" {
  description = "DT_SIGNATURE_SECRET (and DT_SIGNATURE_SECRET_PREVIOUS while rotating) => generation and Secret Manager version the ingest function reads."
  value       = module.dt_bigquery.signature_secret_versions
}

output "function_names" {
  description = "Name of each Cloud Function (ingest with HTTP_PUSH only, route), for `gcloud functions logs read`."
  value       = module.dt_bigquery.function_names
}

output "region" {
  description = "Region of the functions (for gcloud's --region)."
  value       = var.region
}

output "landing_table" {
  description = "The append-only table every event lands in (query the views instead)."
  value       = module.dt_bigquery.landing_table
}

output "dead_letters_table" {
  description = "The table that keeps every dead letter for good."
  value       = module.dt_bigquery.dead_letters_table
}

output "bigquery_subscription" {
  description = "BigQuery subscription that writes each event into events_log (router = bigquery_subscription); null with the function router."
  value       = module.dt_bigquery.bigquery_subscription
}
