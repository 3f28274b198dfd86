# Who may do what, in one place. One identity per job, each with the narrowest role on the
# narrowest resource that works. tests/terraform/test_wiring.py holds the same list as a
# specification: a grant added or widened here must be added there too.
#
#   ingest            publish on the events topic; read the signature secret
#   route             write rows in events_log (insertAll: no query job, so no jobUser); publish
#                     to the dead-letter topic
#   push              invoke the route function (the identity Pub/Sub pushes as)
#   build             write build logs; read function sources (their buckets only); push images to
#                     this module's repository
#   Pub/Sub's agent   dead-letter: publish to the dead-letter topic, acknowledge on the router's
#                     subscription; sign the push identity's OIDC tokens (function router);
#                     write rows in events_log (subscription router) and in dead_letters
#   allUsers          invoke the ingest function (DT calls it; requests carry DT's signature)
#   DT's principal    publish on the events topic (GOOGLE_CLOUD_PUBSUB; workload_identity.tf)
#
# HTTP_PUSH only: the ingest identity and its grants, and allUsers. GOOGLE_CLOUD_PUBSUB only:
# DT's principal, the one subject (DT organization) of this module's workload identity pool.
# router = "function" only: the route and push identities and their grants. The subscription
# router only: the agent's grants on the `bigquery` subscription and on events_log. The build
# identity exists while any function does.

resource "google_service_account" "ingest" {
  count = local.ingest_count

  account_id   = "${var.name_prefix}-ingest"
  display_name = "DT to BigQuery: ingest function"
  description  = "Runs the ingest function: publishes verified DT events to Pub/Sub."

  depends_on = [google_project_service.enabled]
}

resource "google_service_account" "route" {
  count = local.route_count

  account_id   = "${var.name_prefix}-route"
  display_name = "DT to BigQuery: route function"
  description  = "Runs the route function: writes DT events to BigQuery."

  depends_on = [google_project_service.enabled]
}

resource "google_service_account" "push" {
  count = local.route_count

  account_id   = "${var.name_prefix}-push"
  display_name = "DT to BigQuery: Pub/Sub push"
  description  = "Identity of the Pub/Sub push subscription that invokes the route function."

  depends_on = [google_project_service.enabled]
}

resource "google_service_account" "build" {
  count = local.functions_count

  account_id   = "${var.name_prefix}-build"
  display_name = "DT to BigQuery: function builds"
  description  = "Cloud Build identity that builds both functions' images."

  depends_on = [google_project_service.enabled]
}

# --- ingest ---------------------------------------------------------------------------------------

resource "google_pubsub_topic_iam_member" "ingest_publishes_events" {
  count = local.ingest_count

  topic  = google_pubsub_topic.events.id
  role   = "roles/pubsub.publisher"
  member = google_service_account.ingest[0].member
}

resource "google_secret_manager_secret_iam_member" "ingest_reads_signature_secret" {
  count = local.shared_secret_count

  secret_id = google_secret_manager_secret.signature_secret[0].id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.ingest[0].member
}

resource "google_cloud_run_service_iam_member" "public_invokes_ingest" {
  #checkov:skip=CKV_GCP_102:The ingest function is the public webhook DT calls; every request must carry DT's signature, which the function checks.
  count = local.ingest_count

  location = google_cloudfunctions2_function.ingest[0].location
  service  = google_cloudfunctions2_function.ingest[0].name
  role     = "roles/run.invoker"
  member   = "allUsers"
}

# --- DT's Pub/Sub connector -----------------------------------------------------------------------

resource "google_pubsub_topic_iam_member" "dt_publishes_events" {
  # One principal: the configured DT organization, as seen through this module's pool.
  count = local.pubsub_count

  topic  = google_pubsub_topic.events.id
  role   = "roles/pubsub.publisher"
  member = local.dt_principal
}

# --- route ----------------------------------------------------------------------------------------

resource "google_bigquery_table_iam_member" "route_writes_rows" {
  # Streaming inserts (tabledata.insertAll) into this one table: bigquery.tables.updateData.
  count = local.route_count

  dataset_id = google_bigquery_dataset.events.dataset_id
  table_id   = google_bigquery_table.events_log.table_id
  role       = "roles/bigquery.dataEditor"
  member     = google_service_account.route[0].member
}

resource "google_pubsub_topic_iam_member" "route_publishes_dead_letters" {
  count = local.route_count

  topic  = google_pubsub_topic.dead_letter.id
  role   = "roles/pubsub.publisher"
  member = google_service_account.route[0].member
}

# --- push -----------------------------------------------------------------------------------------

resource "google_cloud_run_service_iam_member" "push_invokes_route" {
  count = local.route_count

  location = google_cloudfunctions2_function.route[0].location
  service  = google_cloudfunctions2_function.route[0].name
  role     = "roles/run.invoker"
  member   = google_service_account.push[0].member
}

# --- Pub/Sub service agent ------------------------------------------------------------------------

resource "google_pubsub_topic_iam_member" "pubsub_agent_publishes_dead_letters" {
  topic  = google_pubsub_topic.dead_letter.id
  role   = "roles/pubsub.publisher"
  member = google_project_service_identity.pubsub.member
}

resource "google_pubsub_subscription_iam_member" "pubsub_agent_acknowledges_route" {
  count = local.route_count

  subscription = google_pubsub_subscription.route[0].id
  role         = "roles/pubsub.subscriber"
  member       = google_project_service_identity.pubsub.member
}

resource "google_pubsub_subscription_iam_member" "pubsub_agent_acknowledges_bigquery" {
  # Dead-lettering acknowledges the message on the subscription it leaves.
  count = local.subscription_router_count

  subscription = google_pubsub_subscription.bigquery[0].id
  role         = "roles/pubsub.subscriber"
  member       = google_project_service_identity.pubsub.member
}

resource "google_bigquery_table_iam_member" "pubsub_agent_writes_events" {
  # The BigQuery subscription writes as the agent: bigquery.tables.get (the table's schema) and
  # bigquery.tables.updateData, on this one table.
  count = local.subscription_router_count

  dataset_id = google_bigquery_dataset.events.dataset_id
  table_id   = google_bigquery_table.events_log.table_id
  role       = "roles/bigquery.dataEditor"
  member     = google_project_service_identity.pubsub.member
}

resource "google_bigquery_table_iam_member" "pubsub_agent_writes_dead_letters" {
  dataset_id = google_bigquery_dataset.events.dataset_id
  table_id   = google_bigquery_table.dead_letters.table_id
  role       = "roles/bigquery.dataEditor"
  member     = google_project_service_identity.pubsub.member
}

resource "google_service_account_iam_member" "pubsub_agent_signs_push_tokens" {
  # Needed in projects created before April 2021; harmless in newer ones.
  count = local.route_count

  service_account_id = google_service_account.push[0].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = google_project_service_identity.pubsub.member
}

# --- build ----------------------------------------------------------------------------------------

resource "google_project_iam_member" "build" {
  for_each = local.functions_count == 0 ? toset([]) : toset(["roles/logging.logWriter"])

  project = var.project_id
  role    = each.value
  member  = google_service_account.build[0].member
}

# Cloud Functions copies each source archive into a bucket it creates and owns
# (gcf-v2-sources-<project number>-<region>), which the build then reads; it may not exist yet at
# the first apply, so the grant is on the project, but its condition admits those buckets and
# this module's source bucket only: not a Terraform state bucket or any other in the project.
resource "google_project_iam_member" "build_reads_sources" {
  count = local.functions_count

  project = var.project_id
  role    = "roles/storage.objectViewer"
  member  = google_service_account.build[0].member

  condition {
    title       = "function-sources-only"
    description = "Only Cloud Functions' source buckets and this module's function source bucket."
    expression = join(" || ", [
      "resource.name.startsWith(\"projects/_/buckets/gcf-v2-sources-\")",
      "resource.name == \"projects/_/buckets/${google_storage_bucket.function_source[0].name}\"",
      "resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.function_source[0].name}/\")",
    ])
  }
}

resource "google_artifact_registry_repository_iam_member" "build_pushes_images" {
  count = local.functions_count

  location   = google_artifact_registry_repository.functions[0].location
  repository = google_artifact_registry_repository.functions[0].name
  role       = "roles/artifactregistry.writer"
  member     = google_service_account.build[0].member
}
