# DT Data Connectors → (HTTP_PUSH: ingest function →) Pub/Sub topic → push subscription → route
# function → BigQuery. With GOOGLE_CLOUD_PUBSUB, DT publishes to the topic itself through Workload
# Identity Federation (workload_identity.tf) and there is no ingest function.
# One file per concern: iam.tf (who may do what), secrets.tf, source.tf (function code),
# functions.tf, pubsub.tf, bigquery.tf, dt.tf (the connectors), workload_identity.tf.
#
# A module: it declares no provider blocks. examples/basic is a root configuration calling it.

locals {
  # The connector type decides which of the two ways in exists.
  http_push    = var.connector_type == "HTTP_PUSH"
  ingest_count = local.http_push ? 1 : 0
  pubsub_count = local.http_push ? 0 : 1
  # DT's shared signature secret (HS256): with HTTP_PUSH, unless only DT's ES256 signature is used.
  shared_secret       = local.http_push && !var.require_asymmetric_signature
  shared_secret_count = local.shared_secret ? 1 : 0

  # dt_project_id (single-project configurations) joins dt_project_ids; one connector each.
  dt_project_ids = distinct(concat(var.dt_project_id == null ? [] : [var.dt_project_id], var.dt_project_ids))

  repository_root = "${path.module}/.."
  schemas         = "${local.repository_root}/functions/schemas"

  # One table per schema file: the router reads the very same files, so they can't drift apart.
  # A table's schema is common.json followed by its own file (docs/contracts.md).
  common_columns = jsondecode(file("${local.schemas}/common.json"))
  event_tables = {
    for file_name in fileset("${local.schemas}/events", "*.json") :
    trimsuffix(file_name, ".json") => concat(local.common_columns, jsondecode(file("${local.schemas}/events/${file_name}")))
  }
  tables = merge(local.event_tables, {
    unknown_events = concat(local.common_columns, jsondecode(file("${local.schemas}/unknown_events.json")))
  })

  # Views: `<table>` deduplicates `<table>_log` (dedupe.sql, rendered per table); every other
  # views/*.sql is one more view, named after its file, built on the deduplicating views and
  # possibly on other such views (one level deep: BigQuery wants them to exist first).
  dedupe_view_template = "${local.schemas}/views/dedupe.sql"
  extra_views = {
    for file_name in fileset("${local.schemas}/views", "*.sql") :
    trimsuffix(file_name, ".sql") => "${local.schemas}/views/${file_name}" if file_name != "dedupe.sql"
  }
  extra_view_dependencies = {
    for view, path in local.extra_views : view => [
      for other in keys(local.extra_views) : other
      if other != view && can(regex("\\$\\{dataset\\}\\.${other}\\b", file(path)))
    ]
  }
  base_views    = { for view, path in local.extra_views : view => path if length(local.extra_view_dependencies[view]) == 0 }
  derived_views = { for view, path in local.extra_views : view => path if length(local.extra_view_dependencies[view]) > 0 }

  services = toset(concat([
    "artifactregistry.googleapis.com",
    "bigquery.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "iam.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
    ],
    # Workload Identity Federation: DT exchanges its OIDC token for a Google one.
    local.http_push ? [] : ["sts.googleapis.com"],
  ))
}

resource "google_project_service" "enabled" {
  for_each = local.services

  project = var.project_id
  service = each.value
  # Other deployments in the project may use these APIs too: tearing this one down leaves them on.
  disable_on_destroy = false
}

# The Pub/Sub service agent moves undeliverable messages to the dead-letter topic and signs the
# push requests' OIDC tokens. Creating it explicitly avoids granting roles to an agent that
# Google has not provisioned yet in a fresh project.
resource "google_project_service_identity" "pubsub" {
  provider = google-beta

  project = var.project_id
  service = "pubsub.googleapis.com"

  depends_on = [google_project_service.enabled]
}
