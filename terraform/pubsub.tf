# ingest (HTTP_PUSH) or DT's Pub/Sub connector (GOOGLE_CLOUD_PUBSUB) publishes every event to
# `events`; the `route` subscription pushes each one to the route function, retrying with backoff;
# after max_delivery_attempts Pub/Sub moves it to `dead_letter`, where the `dead_letter`
# subscription keeps it for inspection and replay.

locals {
  route_url = google_cloudfunctions2_function.route.service_config[0].uri
  # Where Pub/Sub may keep messages at rest: the functions' region unless told otherwise.
  message_storage_regions = var.message_storage_regions == null ? [var.region] : var.message_storage_regions
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
  name  = "${var.name_prefix}-route"
  topic = google_pubsub_topic.events.id

  # For push, the ack deadline is also the request timeout: never shorter than the function's.
  ack_deadline_seconds       = var.route_timeout_seconds
  message_retention_duration = var.message_retention_duration

  push_config {
    # functions-framework reads the topic from the path to build the CloudEvent.
    push_endpoint = "${local.route_url}/${google_pubsub_topic.events.id}"

    oidc_token {
      service_account_email = google_service_account.push.email
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
