# The two Cloud Functions (2nd gen). Their entry points and environment variables are the ones
# main.py and functions/config.py read (docs/contracts.md); tests/terraform checks they match.
# ingest exists with HTTP_PUSH only: with GOOGLE_CLOUD_PUBSUB, DT publishes to the topic itself.
# route exists with router = "function" only: the BigQuery subscription runs no code of ours.

locals {
  ingest_environment = merge(
    {
      PUBSUB_TOPIC = google_pubsub_topic.events.id # projects/<project>/topics/<topic>
      LOG_LEVEL    = var.log_level
      # `ingest` is async: functions-framework serves it on Starlette + uvicorn, one event loop
      # for all concurrent requests (the Python buildpack starts `functions-framework`, which
      # reads this variable; see README, "Benchmarks").
      FUNCTION_USE_ASGI = "true"
    },
    var.dt_organization_id == null ? {} : { DT_ORGANIZATION_ID = var.dt_organization_id },
    # The shared secret alone is refused: every request must carry DT's ES256 signature too.
    var.require_asymmetric_signature ? { DT_REQUIRE_ASYMMETRIC_SIGNATURE = "true" } : {},
    # Events of the configured DT projects only (another project of the organization is refused).
    { DT_PROJECT_IDS = join(",", local.dt_project_ids) },
  )

  # Environment variable => Secret Manager version of the signature secret (secrets.tf).
  # None with require_asymmetric_signature: DT_ORGANIZATION_ID alone, DT's ES256 signature only.
  ingest_secret_environment = local.shared_secret ? merge(
    { DT_SIGNATURE_SECRET = local.current_signature_secret },
    local.previous_signature_secret == null ? {} : { DT_SIGNATURE_SECRET_PREVIOUS = local.previous_signature_secret },
  ) : {}

  route_environment = {
    BIGQUERY_DATASET  = "${var.project_id}.${google_bigquery_dataset.events.dataset_id}"
    DEAD_LETTER_TOPIC = google_pubsub_topic.dead_letter.id
    LOG_LEVEL         = var.log_level
    THREADS           = tostring(var.route_concurrency) # concurrent pushes share BigQuery inserts
    # `route` is async too: it reads the push request itself, and its BigQuery work runs in a pool
    # of THREADS threads (docs/benchmarks.md, "Route").
    FUNCTION_USE_ASGI = "true"
  }
}

resource "google_cloudfunctions2_function" "ingest" {
  #checkov:skip=CKV_GCP_124:DT calls this webhook from the internet, so ingress must be open; each request must carry DT's signature.
  count = local.ingest_count

  name        = "${var.name_prefix}-ingest"
  location    = var.region
  description = "Receives DT Data Connector requests, checks their signature and publishes them to Pub/Sub."

  build_config {
    runtime           = var.python_runtime
    entry_point       = "ingest"
    service_account   = google_service_account.build[0].id
    docker_repository = google_artifact_registry_repository.functions[0].id

    source {
      storage_source {
        bucket = google_storage_bucket.function_source[0].name
        object = google_storage_bucket_object.function_source[0].name
      }
    }
  }

  service_config {
    available_memory                 = var.ingest_memory
    available_cpu                    = var.ingest_cpu
    timeout_seconds                  = var.ingest_timeout_seconds
    min_instance_count               = 0
    max_instance_count               = var.ingest_max_instances
    max_instance_request_concurrency = var.ingest_concurrency
    # Public: DT calls it from the internet. Requests are authenticated by their signature.
    ingress_settings               = "ALLOW_ALL"
    all_traffic_on_latest_revision = true
    service_account_email          = google_service_account.ingest[0].email
    environment_variables          = local.ingest_environment

    dynamic "secret_environment_variables" {
      for_each = local.ingest_secret_environment
      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = google_secret_manager_secret.signature_secret[0].secret_id
        version    = google_secret_manager_secret_version.signature_secret[secret_environment_variables.value].version
      }
    }
  }

  lifecycle {
    precondition {
      condition     = var.ingest_concurrency == 1 || tonumber(var.ingest_cpu) >= 1
      error_message = "ingest_concurrency above 1 needs ingest_cpu of at least 1."
    }
  }

  depends_on = [
    google_project_iam_member.build,
    google_project_iam_member.build_reads_sources,
    google_artifact_registry_repository_iam_member.build_pushes_images,
    google_secret_manager_secret_iam_member.ingest_reads_signature_secret,
  ]
}

resource "google_cloudfunctions2_function" "route" {
  count = local.route_count

  name        = "${var.name_prefix}-route"
  location    = var.region
  description = "Writes each DT event from the Pub/Sub push subscription to BigQuery's events_log."

  build_config {
    runtime           = var.python_runtime
    entry_point       = "route"
    service_account   = google_service_account.build[0].id
    docker_repository = google_artifact_registry_repository.functions[0].id

    source {
      storage_source {
        bucket = google_storage_bucket.function_source[0].name
        object = google_storage_bucket_object.function_source[0].name
      }
    }
  }

  # No event_trigger: Pub/Sub pushes to it directly (pubsub.tf), so the retry and dead-letter
  # policy live on a subscription this module owns. Private: only the push identity may invoke it.
  service_config {
    available_memory                 = var.route_memory
    available_cpu                    = var.route_cpu
    timeout_seconds                  = var.route_timeout_seconds
    min_instance_count               = 0
    max_instance_count               = var.route_max_instances
    max_instance_request_concurrency = var.route_concurrency
    ingress_settings                 = var.route_ingress_settings
    all_traffic_on_latest_revision   = true
    service_account_email            = google_service_account.route[0].email
    environment_variables            = local.route_environment
  }

  lifecycle {
    precondition {
      condition     = var.route_concurrency == 1 || tonumber(var.route_cpu) >= 1
      error_message = "route_concurrency above 1 needs route_cpu of at least 1."
    }
  }

  depends_on = [
    google_project_iam_member.build,
    google_project_iam_member.build_reads_sources,
    google_artifact_registry_repository_iam_member.build_pushes_images,
  ]
}
