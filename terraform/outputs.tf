output "ingest_url" {
  description = "HTTPS URL of the ingest function, where the Data Connectors send events (HTTP_PUSH); null with GOOGLE_CLOUD_PUBSUB."
  value       = local.http_push ? google_cloudfunctions2_function.ingest[0].url : null
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
  description = "Pub/Sub topic the events arrive on, from the ingest function or DT's Pub/Sub connector (projects/<project>/topics/<name>)."
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
    {
      route = google_service_account.route.email
      push  = google_service_account.push.email
      build = google_service_account.build.email
    },
  )
}

output "alert_policies" {
  description = "Cloud Monitoring alert policy of each alert (ingest_5xx, ingest_4xx, dead_letters, no_events), as projects/<project>/alertPolicies/<id>; empty when enable_alerts is false."
  value = {
    for alert, policies in {
      ingest_5xx   = google_monitoring_alert_policy.ingest_5xx
      ingest_4xx   = google_monitoring_alert_policy.ingest_4xx
      dead_letters = google_monitoring_alert_policy.dead_letters
      no_events    = google_monitoring_alert_policy.no_events
    } : alert => policies[0].name if length(policies) > 0
  }
}

output "function_names" {
  description = "Name of each Cloud Function (ingest with HTTP_PUSH only, route), e.g. for `gcloud functions logs read <name> --region <region>`."
  value = merge(
    { for function in google_cloudfunctions2_function.ingest : "ingest" => function.name },
    { route = google_cloudfunctions2_function.route.name },
  )
}
