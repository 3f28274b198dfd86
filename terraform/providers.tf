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
