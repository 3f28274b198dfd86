# ingest (HTTP_PUSH) or DT's Pub/Sub connector (GOOGLE_CLOUD_PUBSUB) publishes every event to
# `events`. One router takes them from there into events_log (var.router):
# - function: the `route` subscription pushes each one to the route function, retrying with
#   backoff;
# - bigquery_subscription: the `bigquery` subscription writes each one itself, reshaped into its
#   row by the JavaScript transform generated from the schema files, with the table's schema.
# After max_delivery_attempts Pub/Sub moves a message to `dead_letter`, where the `dead_letter`
# subscription keeps it for inspection and replay (ops replay-dead-letters) and the
# `dead_letter_archive` subscription writes it to the dead_letters table, for good.

locals {
  route_url = local.function_router ? google_cloudfunctions2_function.route[0].service_config[0].uri : null
  # Where Pub/Sub may keep messages at rest: the functions' region unless told otherwise.
  message_storage_regions = var.message_storage_regions == null ? [var.region] : var.message_storage_regions
  # The transform the BigQuery subscription runs: generated from functions/schemas by
  # functions/transform (tests/terraform checks it is that very file, and its function's name).
  transform_file     = "${local.repository_root}/functions/transform/dt_event_to_row.js"
  transform_function = "dtEventToRow"
}

resource "google_pubsub_topic" "events" {
  #checkov:skip=CKV_GCP_83:Encrypted at rest with Google-managed keys; customer-managed keys are out of this module's scope (README, Security).
  name                       = "${var.name_prefix}-events"
  message_retention_duration = var.message_retention_duration

  dynamic "message_storage_policy" {
    for_each = length(local.message_storage_regions) > 0 ? [local.message_storage_regions] : []
    content {
      allowed_persistence_regions = message_storage_policy.value
    }
  }

  depends_on = [google_project_service.enabled]

  lifecycle {
    precondition {
      condition     = length(local.dt_project_ids) > 0
      error_message = "Give at least one DT project: dt_project_ids (or dt_project_id)."
    }
  }
}

resource "google_pubsub_topic" "dead_letter" {
  #checkov:skip=CKV_GCP_83:Encrypted at rest with Google-managed keys; customer-managed keys are out of this module's scope (README, Security).
  name                       = "${var.name_prefix}-dead-letter"
  message_retention_duration = var.message_retention_duration

  dynamic "message_storage_policy" {
    for_each = length(local.message_storage_regions) > 0 ? [local.message_storage_regions] : []
    content {
      allowed_persistence_regions = message_storage_policy.value
    }
  }

  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_subscription" "route" {
  count = local.route_count

  name  = "${var.name_prefix}-route"
  topic = google_pubsub_topic.events.id

  # For push, the ack deadline is also the request timeout: never shorter than the function's.
  ack_deadline_seconds       = var.route_timeout_seconds
  message_retention_duration = var.message_retention_duration

  push_config {
    # route reads the push envelope itself and ignores the path; the topic in it names the source
    # in the function's request logs.
    push_endpoint = "${local.route_url}/${google_pubsub_topic.events.id}"

    oidc_token {
      service_account_email = google_service_account.push[0].email
      audience              = local.route_url
    }
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = var.max_delivery_attempts
  }

  # Never expire, however quiet the sensors are.
  expiration_policy {
    ttl = ""
  }

  depends_on = [
    google_pubsub_topic_iam_member.pubsub_agent_publishes_dead_letters,
    google_cloud_run_service_iam_member.push_invokes_route,
    google_service_account_iam_member.pubsub_agent_signs_push_tokens,
  ]
}

resource "google_pubsub_subscription" "bigquery" {
  count = local.subscription_router_count

  name  = "${var.name_prefix}-bigquery"
  topic = google_pubsub_topic.events.id

  message_retention_duration = var.message_retention_duration

  # Each message, reshaped by the transform, is one row of events_log: its columns by name, as
  # the table's schema says (a field the table lacks, a REQUIRED column missing or a value of the
  # wrong type is refused, and so dead-lettered, never dropped).
  bigquery_config {
    table               = "${var.project_id}.${google_bigquery_dataset.events.dataset_id}.${google_bigquery_table.events_log.table_id}"
    use_table_schema    = true
    write_metadata      = false
    drop_unknown_fields = false
  }

  message_transforms {
    javascript_udf {
      function_name = local.transform_function
      code          = file(local.transform_file)
    }
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = var.max_delivery_attempts
  }

  expiration_policy {
    ttl = ""
  }

  # Pub/Sub checks at creation that its agent may write the table.
  depends_on = [
    google_bigquery_table_iam_member.pubsub_agent_writes_events,
    google_pubsub_topic_iam_member.pubsub_agent_publishes_dead_letters,
  ]
}

resource "google_pubsub_subscription" "dead_letter" {
  name  = "${var.name_prefix}-dead-letter"
  topic = google_pubsub_topic.dead_letter.id

  ack_deadline_seconds       = 60
  message_retention_duration = var.message_retention_duration
  # Keep messages even once pulled and acknowledged, so a replay can seek back to them.
  retain_acked_messages = true

  expiration_policy {
    ttl = ""
  }
}

# Every dead letter into the dead_letters table, as it is: no schema, no transform; the body in
# `data` and, with write_metadata, the attributes (with the reason), message id and publish time
# in the columns of those names. It has no dead-letter policy of its own (it is the last stop):
# should it fail to write (the table gone, a permission lost), the messages wait in its backlog,
# and the subscription backlog alert fires (monitoring.tf).
resource "google_pubsub_subscription" "dead_letter_archive" {
  name  = "${var.name_prefix}-dead-letter-archive"
  topic = google_pubsub_topic.dead_letter.id

  message_retention_duration = var.message_retention_duration

  bigquery_config {
    table               = "${var.project_id}.${google_bigquery_dataset.events.dataset_id}.${google_bigquery_table.dead_letters.table_id}"
    use_table_schema    = false
    use_topic_schema    = false
    write_metadata      = true
    drop_unknown_fields = false
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  expiration_policy {
    ttl = ""
  }

  depends_on = [google_bigquery_table_iam_member.pubsub_agent_writes_dead_letters]
}
