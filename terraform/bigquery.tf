# One append-only landing table, events_log (every event, redelivered duplicates included, written
# by either router), one view per table of the catalogue (`<table>`, one row per event_id), the
# views in functions/schemas/views, and dead_letters: every dead letter, kept as long as the
# dataset (Pub/Sub keeps a message 7 days at most).

locals {
  # Retention (var.partition_expiration_days): each day partition of the event tables is deleted
  # this long after its day; null keeps every event. Applies to every landing table.
  partition_expiration_ms = var.partition_expiration_days == null ? null : var.partition_expiration_days * 24 * 60 * 60 * 1000
}

resource "google_bigquery_dataset" "events" {
  #checkov:skip=CKV_GCP_81:Encrypted at rest with Google-managed keys; customer-managed keys are out of this module's scope (README, Security).
  dataset_id  = var.dataset_id
  location    = var.dataset_location
  description = "Disruptive Technologies sensor events: events_log as written, <type> views deduplicated by event_id, dead_letters."

  # With deletion protection off, `terraform destroy` may remove the dataset with its data.
  delete_contents_on_destroy = !var.deletion_protection

  depends_on = [google_project_service.enabled]
}

resource "google_bigquery_table" "events_log" {
  #checkov:skip=CKV_GCP_80:Encrypted at rest with Google-managed keys; customer-managed keys are out of this module's scope (README, Security).
  dataset_id          = google_bigquery_dataset.events.dataset_id
  table_id            = "events_log"
  description         = "Every DT event as written by the router, redeliveries included: the common columns, then one record per event type. Query the views (<type>, events) instead."
  deletion_protection = var.deletion_protection

  schema = jsonencode(local.landing_schema)

  # As the routers write and the views read: a day per partition of the event's own time, and
  # the rows of one type and device together (each typed view filters on event_type).
  time_partitioning {
    type          = "DAY"
    field         = "timestamp"
    expiration_ms = local.partition_expiration_ms
  }
  clustering = ["event_type", "device_id"]
}

resource "google_bigquery_table" "dead_letters" {
  #checkov:skip=CKV_GCP_80:Encrypted at rest with Google-managed keys; customer-managed keys are out of this module's scope (README, Security).
  dataset_id          = google_bigquery_dataset.events.dataset_id
  table_id            = "dead_letters"
  description         = "Every message of the dead-letter topic, written by the ${var.name_prefix}-dead-letter-archive BigQuery subscription: body, attributes (with the reason), message id, publish time."
  deletion_protection = var.deletion_protection

  # The columns a BigQuery subscription writes with write_metadata and no schema (pubsub.tf).
  schema = file("${local.schemas}/dead_letters.json")

  time_partitioning {
    type  = "DAY"
    field = "publish_time"
  }
}

# The 20 tables of before (<table>_log) leave the configuration but stay in BigQuery: copy them
# into events_log, then drop them by hand (docs/deploy.md, "Migrate from the 20-table layout").
removed {
  from = google_bigquery_table.log

  lifecycle {
    destroy = false
  }
}

moved {
  from = google_bigquery_table.dedupe_view
  to   = google_bigquery_table.typed_view
}

resource "google_bigquery_table" "typed_view" {
  #checkov:skip=CKV_GCP_80:A view stores no data; the tables it reads carry the encryption.
  for_each = local.typed_views

  dataset_id          = google_bigquery_dataset.events.dataset_id
  table_id            = each.key
  description         = "DT ${each.key} events, one row per event_id (functions/schemas/views/typed.sql)."
  deletion_protection = var.deletion_protection

  view {
    query = templatefile(local.typed_view_template, {
      project   = var.project_id
      dataset   = google_bigquery_dataset.events.dataset_id
      columns   = each.value.columns
      condition = each.value.condition
    })
    use_legacy_sql = false
  }

  depends_on = [google_bigquery_table.events_log]
}

resource "google_bigquery_table" "view" {
  #checkov:skip=CKV_GCP_80:A view stores no data; the tables it reads carry the encryption.
  for_each = local.base_views

  dataset_id          = google_bigquery_dataset.events.dataset_id
  table_id            = each.key
  description         = "Defined in functions/schemas/views/${each.key}.sql."
  deletion_protection = var.deletion_protection

  view {
    query = templatefile(each.value, {
      project = var.project_id
      dataset = google_bigquery_dataset.events.dataset_id
    })
    use_legacy_sql = false
  }

  lifecycle {
    precondition {
      condition     = !contains(keys(local.tables), each.key)
      error_message = "functions/schemas/views/${each.key}.sql is named like an event table's deduplicating view; rename it."
    }
  }

  depends_on = [google_bigquery_table.events_log, google_bigquery_table.typed_view]
}

# Views built on the views above (e.g. on `events`), created once those exist.
resource "google_bigquery_table" "derived_view" {
  #checkov:skip=CKV_GCP_80:A view stores no data; the tables it reads carry the encryption.
  for_each = local.derived_views

  dataset_id          = google_bigquery_dataset.events.dataset_id
  table_id            = each.key
  description         = "Defined in functions/schemas/views/${each.key}.sql."
  deletion_protection = var.deletion_protection

  view {
    query = templatefile(each.value, {
      project = var.project_id
      dataset = google_bigquery_dataset.events.dataset_id
    })
    use_legacy_sql = false
  }

  lifecycle {
    precondition {
      condition     = !contains(keys(local.tables), each.key)
      error_message = "functions/schemas/views/${each.key}.sql is named like an event table's deduplicating view; rename it."
    }
    precondition {
      condition     = alltrue([for other in local.extra_view_dependencies[each.key] : contains(keys(local.base_views), other)])
      error_message = "functions/schemas/views/${each.key}.sql builds on a view that itself builds on another view; only one level is supported."
    }
  }

  depends_on = [google_bigquery_table.view]
}
