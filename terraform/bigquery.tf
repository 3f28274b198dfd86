# One append-only table per schema file (`<table>_log`, may hold redelivered duplicates) and one
# view per table (`<table>`, one row per event_id), plus the views in functions/schemas/views.

locals {
  # Retention (var.partition_expiration_days): each day partition of the event tables is deleted
  # this long after its day; null keeps every event. Applies to every landing table.
  partition_expiration_ms = var.partition_expiration_days == null ? null : var.partition_expiration_days * 24 * 60 * 60 * 1000
}

resource "google_bigquery_dataset" "events" {
  #checkov:skip=CKV_GCP_81:Encrypted at rest with Google-managed keys; customer-managed keys are out of this module's scope (README, Security).
  dataset_id  = var.dataset_id
  location    = var.dataset_location
  description = "Disruptive Technologies sensor events: <type>_log tables as written, <type> views deduplicated by event_id."

  # With deletion protection off, `terraform destroy` may remove the dataset with its data.
  delete_contents_on_destroy = !var.deletion_protection

  depends_on = [google_project_service.enabled]
}

resource "google_bigquery_table" "log" {
  #checkov:skip=CKV_GCP_80:Encrypted at rest with Google-managed keys; customer-managed keys are out of this module's scope (README, Security).
  for_each = local.tables

  dataset_id          = google_bigquery_dataset.events.dataset_id
  table_id            = "${each.key}_log"
  description         = "DT ${each.key} events as written by the route function, redeliveries included; query the ${each.key} view instead."
  deletion_protection = var.deletion_protection

  schema = jsonencode(each.value)

  # As the router writes and the views read: a day per partition of the event's own time.
  time_partitioning {
    type          = "DAY"
    field         = "timestamp"
    expiration_ms = local.partition_expiration_ms
  }
  clustering = ["device_id"]
}

resource "google_bigquery_table" "dedupe_view" {
  #checkov:skip=CKV_GCP_80:A view stores no data; the tables it reads carry the encryption.
  for_each = local.tables

  dataset_id          = google_bigquery_dataset.events.dataset_id
  table_id            = each.key
  description         = "DT ${each.key} events, one row per event_id."
  deletion_protection = var.deletion_protection

  view {
    query = templatefile(local.dedupe_view_template, {
      project = var.project_id
      dataset = google_bigquery_dataset.events.dataset_id
      table   = each.key
    })
    use_legacy_sql = false
  }

  depends_on = [google_bigquery_table.log]
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

  depends_on = [google_bigquery_table.dedupe_view]
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
