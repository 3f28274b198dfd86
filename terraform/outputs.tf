output "ingest_url" {
  description = "HTTPS URL of the ingest function, where the Data Connectors send events (HTTP_PUSH); null with GOOGLE_CLOUD_PUBSUB."
  value       = local.http_push ? google_cloudfunctions2_function.ingest[0].url : null
}

output "dataset" {
  description = "The BigQuery dataset, as <project>.<dataset> (what the router writes to)."
  value       = "${var.project_id}.${google_bigquery_dataset.events.dataset_id}"
}

output "tables" {
  description = "Event table name => its deduplicating view (one row per event), as <project>.<dataset>.<name>."
  value = {
    for table in local.table_names : table => "${var.project_id}.${google_bigquery_dataset.events.dataset_id}.${google_bigquery_table.typed_view[table].table_id}"
  }
}

output "landing_table" {
  description = "The append-only table every event lands in, redeliveries included, as <project>.<dataset>.events_log (query the views instead)."
  value       = "${var.project_id}.${google_bigquery_dataset.events.dataset_id}.${google_bigquery_table.events_log.table_id}"
}

output "dead_letters_table" {
  description = "The table that keeps every dead letter for good (body, attributes with the reason, message id, publish time), as <project>.<dataset>.dead_letters."
  value       = "${var.project_id}.${google_bigquery_dataset.events.dataset_id}.${google_bigquery_table.dead_letters.table_id}"
}

output "events_topic" {
  description = "Pub/Sub topic the events arrive on, from the ingest function or DT's Pub/Sub connector (projects/<project>/topics/<name>)."
  value       = google_pubsub_topic.events.id
}

output "dead_letter_topic" {
  description = "Pub/Sub topic of events the router could not write (projects/<project>/topics/<name>)."
  value       = google_pubsub_topic.dead_letter.id
}

output "dead_letter_subscription" {
  description = "Subscription that keeps dead letters for inspection and replay."
  value       = google_pubsub_subscription.dead_letter.id
}

output "route_subscription" {
  description = "Push subscription that feeds the route function; null with router = bigquery_subscription."
  value       = local.function_router ? google_pubsub_subscription.route[0].id : null
}

output "bigquery_subscription" {
  description = "BigQuery subscription that writes each event into events_log (router = bigquery_subscription); null with the function router."
  value       = local.function_router ? null : google_pubsub_subscription.bigquery[0].id
}

output "connector_names" {
  description = "DT project id => its Data Connector's resource name (projects/<dt project>/dataConnectors/<id>)."
  value       = { for project, connector in dt_data_connector.bigquery : project => connector.name }
}

output "workload_identity_provider" {
  description = "The workload identity pool provider DT's Pub/Sub connector authenticates with (its full name; the connectors' audience is //iam.googleapis.com/ followed by it); null with HTTP_PUSH."
  value       = local.http_push ? null : google_iam_workload_identity_pool_provider.dt[0].name
}

output "dt_principal" {
  description = "The one principal that may publish to the events topic for DT (principal://iam.googleapis.com/<pool>/subject/<DT organization id>); null with HTTP_PUSH."
  value       = local.dt_principal
}

output "signature_secret" {
  description = "Secret Manager secret holding the connectors' signature secret (its name, not its value); null with GOOGLE_CLOUD_PUBSUB or require_asymmetric_signature."
  value       = local.shared_secret ? google_secret_manager_secret.signature_secret[0].id : null
}

output "signature_secret_versions" {
  description = "The ingest function's secret environment variables (DT_SIGNATURE_SECRET, and DT_SIGNATURE_SECRET_PREVIOUS while rotating) => the generation and the Secret Manager version number it reads (not the value); empty when there is no shared secret."
  value = {
    for variable in flatten([for function in google_cloudfunctions2_function.ingest : function.service_config[0].secret_environment_variables]) :
    variable.key => {
      generation = tonumber(local.ingest_secret_environment[variable.key])
      version    = variable.version
    }
  }
}

output "service_accounts" {
  description = "Email of each identity this module created."
  value = merge(
    { for account in google_service_account.ingest : "ingest" => account.email },
    { for account in google_service_account.route : "route" => account.email },
    { for account in google_service_account.push : "push" => account.email },
    { for account in google_service_account.build : "build" => account.email },
  )
}

output "alert_policies" {
  description = "Cloud Monitoring alert policy of each alert (ingest_5xx, ingest_4xx, dead_letters, no_events, subscription_backlog), as projects/<project>/alertPolicies/<id>; empty when enable_alerts is false."
  value = {
    for alert, policies in {
      ingest_5xx           = google_monitoring_alert_policy.ingest_5xx
      ingest_4xx           = google_monitoring_alert_policy.ingest_4xx
      dead_letters         = google_monitoring_alert_policy.dead_letters
      no_events            = google_monitoring_alert_policy.no_events
      subscription_backlog = google_monitoring_alert_policy.subscription_backlog
    } : alert => policies[0].name if length(policies) > 0
  }
}

output "function_names" {
  description = "Name of each Cloud Function (ingest with HTTP_PUSH only, route with the function router only), e.g. for `gcloud functions logs read <name> --region <region>`."
  value = merge(
    { for function in google_cloudfunctions2_function.ingest : "ingest" => function.name },
    { for function in google_cloudfunctions2_function.route : "route" => function.name },
  )
}
