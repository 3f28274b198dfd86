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

module "dt_bigquery" {
  source = "../../terraform"

  project_id      = var.project_id
  region          = var.region
  name_prefix     = var.name_prefix
  resource_labels = var.resource_labels

  connector_type     = var.connector_type
  router             = var.router
  dt_project_ids     = var.dt_project_ids
  dt_organization_id = var.dt_organization_id
  event_types        = var.event_types
  forwarded_labels   = var.forwarded_labels

  dataset_location    = var.dataset_location
  deletion_protection = var.deletion_protection

  enable_alerts         = var.enable_alerts
  notification_channels = var.notification_channels
  runbook_url           = var.runbook_url
}
