# GOOGLE_CLOUD_PUBSUB: DT publishes to the events topic through Workload Identity Federation, as
# DT's provider documents it. DT presents an OIDC token from its data-connector issuer (audience:
# the provider below); Google exchanges it for the principal
#   principal://iam.googleapis.com/<pool name>/subject/<DT organization id>
# (google.subject = assertion.sub, DT's organization id), which may publish to the events topic
# and nothing else. The attribute condition is our own hardening: tokens of any other DT
# organization are refused at the exchange, before any IAM check.
#
# Pools and providers are soft-deleted for 30 days: re-creating one with the same id within that
# time fails (undelete it, or change name_prefix).

locals {
  # What DT puts in pubsub_config.audience: the provider's full resource name, which Google
  # accepts as an audience without an allowed_audiences list.
  dt_audience  = local.http_push ? null : "//iam.googleapis.com/${google_iam_workload_identity_pool_provider.dt[0].name}"
  dt_principal = local.http_push ? null : "principal://iam.googleapis.com/${google_iam_workload_identity_pool.dt[0].name}/subject/${var.dt_organization_id}"
}

resource "google_iam_workload_identity_pool" "dt" {
  count = local.pubsub_count

  workload_identity_pool_id = "${var.name_prefix}-dt"
  display_name              = "DT connector ${var.name_prefix}" # at most 32 characters
  description               = "Disruptive Technologies' Pub/Sub Data Connector publishes DT events to ${var.name_prefix}-events."

  depends_on = [google_project_service.enabled]

  lifecycle {
    precondition {
      condition     = var.dt_organization_id != null
      error_message = "connector_type GOOGLE_CLOUD_PUBSUB needs dt_organization_id: only that DT organization may publish."
    }
  }
}

resource "google_iam_workload_identity_pool_provider" "dt" {
  count = local.pubsub_count

  workload_identity_pool_id          = google_iam_workload_identity_pool.dt[0].workload_identity_pool_id
  workload_identity_pool_provider_id = "dt-data-connector"
  display_name                       = "DT data-connector issuer"
  description                        = "OIDC tokens of DT's data connectors, for DT organization ${coalesce(var.dt_organization_id, "-")} only."

  attribute_mapping = {
    "google.subject" = "assertion.sub"
  }
  attribute_condition = "assertion.sub == \"${coalesce(var.dt_organization_id, "-")}\""

  oidc {
    issuer_uri = var.dt_oidc_issuer
  }
}
