# DT Data Connectors → (HTTP_PUSH: ingest function →) Pub/Sub topic → (router = "function": push
# subscription → route function; router = "bigquery_subscription": a BigQuery subscription with a
# JavaScript transform) → BigQuery's events_log. With GOOGLE_CLOUD_PUBSUB, DT publishes to the
# topic itself through Workload Identity Federation (workload_identity.tf): no ingest function.
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

  # The router decides what writes events_log: the route function (fed by a push subscription),
  # or a BigQuery subscription that runs no code of ours (pubsub.tf).
  function_router           = var.router == "function"
  route_count               = local.function_router ? 1 : 0
  subscription_router_count = local.function_router ? 0 : 1
  # With GOOGLE_CLOUD_PUBSUB and the subscription router no function is left: no source archive,
  # bucket, image repository, build identity or functions APIs either.
  functions_count = local.http_push || local.function_router ? 1 : 0

  # dt_project_id (single-project configurations) joins dt_project_ids; one connector each.
  dt_project_ids = distinct(concat(var.dt_project_id == null ? [] : [var.dt_project_id], var.dt_project_ids))

  repository_root = "${path.module}/.."
  schemas         = "${local.repository_root}/functions/schemas"

  # Every event lands in one table, events_log, whose schema is built from the very files the
  # router reads, so they can't drift apart (functions/catalogue.py, landing_fields): common.json,
  # then one NULLABLE RECORD per table of the catalogue holding that table's own columns
  # (events/<table>.json in file order, then unknown_events.json). docs/contracts.md.
  common_columns = jsondecode(file("${local.schemas}/common.json"))
  event_tables = {
    for file_name in fileset("${local.schemas}/events", "*.json") :
    trimsuffix(file_name, ".json") => jsondecode(file("${local.schemas}/events/${file_name}"))
  }
  # DT's camelCase event type of each table (catalogue.to_camel_case): object_present_count → objectPresentCount.
  event_types = {
    for table in keys(local.event_tables) : table => join("", concat(
      [split("_", table)[0]], [for part in slice(split("_", table), 1, length(split("_", table))) : title(part)],
    ))
  }
  table_names = concat(sort(keys(local.event_tables)), ["unknown_events"])
  tables      = merge(local.event_tables, { unknown_events = jsondecode(file("${local.schemas}/unknown_events.json")) })
  landing_schema = concat(local.common_columns, [
    for table in local.table_names : {
      name        = table
      type        = "RECORD"
      mode        = "NULLABLE"
      description = "The columns of ${lookup(local.event_types, table, "an unknown")} events; NULL for other types."
      fields      = local.tables[table]
    }
  ])

  # Views: `<table>` for each table, rendered from views/typed.sql with its columns (the common
  # ones, then its record's fields flattened) and the condition on event_type that selects its
  # events (local/bigquery_setup.py renders the same); every other views/*.sql is one more view,
  # named after its file, built on those and possibly on other such views (one level deep:
  # BigQuery wants them to exist first).
  typed_view_template = "${local.schemas}/views/typed.sql"
  typed_views = {
    for table in local.table_names : table => {
      columns = join(",\n  ", concat(
        [for column in local.common_columns : column.name],
        [for column in local.tables[table] : "${table}.${column.name} AS ${column.name}"],
      ))
      condition = (
        table == "unknown_events"
        ? "event_type NOT IN (${join(", ", [for known in sort(keys(local.event_tables)) : "'${local.event_types[known]}'"])})"
        : "event_type = '${local.event_types[table]}'"
      )
    }
  }
  extra_views = {
    for file_name in fileset("${local.schemas}/views", "*.sql") :
    trimsuffix(file_name, ".sql") => "${local.schemas}/views/${file_name}" if file_name != "typed.sql"
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
    "bigquery.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "iam.googleapis.com",
    "pubsub.googleapis.com",
    "secretmanager.googleapis.com",
    ],
    # Building and running the functions.
    local.functions_count == 0 ? [] : [
      "artifactregistry.googleapis.com",
      "cloudbuild.googleapis.com",
      "cloudfunctions.googleapis.com",
      "run.googleapis.com",
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

# The Pub/Sub service agent moves undeliverable messages to the dead-letter topic, signs the
# push requests' OIDC tokens and writes the BigQuery subscriptions' rows. Creating it explicitly avoids granting roles to an agent that
# Google has not provisioned yet in a fresh project.
resource "google_project_service_identity" "pubsub" {
  provider = google-beta

  project = var.project_id
  service = "pubsub.googleapis.com"

  depends_on = [google_project_service.enabled]
}
