# A runnable root configuration: configures the providers and calls the module in ../../terraform.
# Copy terraform.tfvars.example to terraform.tfvars, fill it in, then `terraform init` and
# `terraform apply` here (docs/deploy.md). Used elsewhere, point `source` at this repository, e.g.
# source = "github.com/<owner>/<repo>//terraform?ref=<tag>".

# Google credentials: Application Default Credentials (`gcloud auth application-default login`).
provider "google" {
  project        = var.project_id
  region         = var.region
  default_labels = var.resource_labels
}

provider "google-beta" {
  project        = var.project_id
  region         = var.region
  default_labels = var.resource_labels
}

# DT credentials: a DT service account's key. The provider's environment variables
# (DT_API_URL, DT_API_KEY_ID, DT_API_KEY_SECRET, DT_OIDC_EMAIL, DT_OIDC_TOKEN_ENDPOINT) take
# precedence over these variables, so either way works; see docs/deploy.md.
provider "dt" {
  url            = var.dt_api_url
  token_endpoint = var.dt_oidc_token_endpoint
  key_id         = var.dt_api_key_id
  key_secret     = var.dt_api_key_secret
  email          = var.dt_oidc_email
}

# Every input of the module (tests/terraform checks that none is missing).
module "dt_bigquery" {
  source = "../../terraform"

  project_id                         = var.project_id
  region                             = var.region
  name_prefix                        = var.name_prefix
  resource_labels                    = var.resource_labels
  connector_type                     = var.connector_type
  router                             = var.router
  dt_project_ids                     = var.dt_project_ids
  dt_project_id                      = var.dt_project_id
  dt_organization_id                 = var.dt_organization_id
  dt_oidc_issuer                     = var.dt_oidc_issuer
  event_types                        = var.event_types
  forwarded_labels                   = var.forwarded_labels
  connector_display_name             = var.connector_display_name
  signature_secret_generation        = var.signature_secret_generation
  accept_previous_signature_secret   = var.accept_previous_signature_secret
  require_asymmetric_signature       = var.require_asymmetric_signature
  dataset_id                         = var.dataset_id
  dataset_location                   = var.dataset_location
  deletion_protection                = var.deletion_protection
  partition_expiration_days          = var.partition_expiration_days
  python_runtime                     = var.python_runtime
  log_level                          = var.log_level
  ingest_memory                      = var.ingest_memory
  ingest_cpu                         = var.ingest_cpu
  ingest_timeout_seconds             = var.ingest_timeout_seconds
  ingest_max_instances               = var.ingest_max_instances
  ingest_concurrency                 = var.ingest_concurrency
  route_memory                       = var.route_memory
  route_cpu                          = var.route_cpu
  route_timeout_seconds              = var.route_timeout_seconds
  route_max_instances                = var.route_max_instances
  route_concurrency                  = var.route_concurrency
  route_ingress_settings             = var.route_ingress_settings
  max_delivery_attempts              = var.max_delivery_attempts
  message_retention_duration         = var.message_retention_duration
  message_storage_regions            = var.message_storage_regions
  enable_alerts                      = var.enable_alerts
  notification_channels              = var.notification_channels
  alert_ingest_5xx_ratio             = var.alert_ingest_5xx_ratio
  alert_ingest_5xx_duration_seconds  = var.alert_ingest_5xx_duration_seconds
  alert_ingest_4xx_ratio             = var.alert_ingest_4xx_ratio
  alert_ingest_4xx_duration_seconds  = var.alert_ingest_4xx_duration_seconds
  alert_no_events_duration_seconds   = var.alert_no_events_duration_seconds
  alert_subscription_backlog_seconds = var.alert_subscription_backlog_seconds
  runbook_url                        = var.runbook_url
  exclude_successful_request_logs    = var.exclude_successful_request_logs
}
