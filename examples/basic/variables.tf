# The example's inputs: where to deploy, the providers' settings, and the module inputs most
# deployments set. Every other input of the module keeps its default (../../terraform/README.md).

variable "project_id" {
  description = "Google Cloud project to deploy into (its id, not its name or number)."
  type        = string
}

variable "region" {
  description = "Region of the functions and the Google provider's default region."
  type        = string
  default     = "europe-west1"
}

variable "name_prefix" {
  description = "Prefix of every resource name; lets several deployments share a project."
  type        = string
  default     = "dt-bq"
}

variable "resource_labels" {
  description = "Google Cloud labels put on every resource that takes labels (the providers' default_labels, and the alert policies)."
  type        = map(string)
  default     = {}
}

variable "connector_type" {
  description = "HTTP_PUSH (DT calls the public ingest function) or GOOGLE_CLOUD_PUBSUB (DT publishes to the topic itself; no public endpoint)."
  type        = string
  default     = "HTTP_PUSH"
}

variable "router" {
  description = "function (the route function writes each event into BigQuery) or bigquery_subscription (a Pub/Sub BigQuery subscription with a generated JavaScript transform does, no route function); see docs/deploy.md."
  type        = string
  default     = "function"
}

variable "dt_project_ids" {
  description = "DT projects whose events are sent (bare ids, as in DT Studio's URLs): one Data Connector each."
  type        = list(string)
}

variable "dt_organization_id" {
  description = "DT organization id; required with GOOGLE_CLOUD_PUBSUB, recommended with HTTP_PUSH (asymmetric signature check)."
  type        = string
  default     = null
}

variable "event_types" {
  description = "DT event types the connectors forward; empty forwards all types."
  type        = list(string)
  default     = []
}

variable "forwarded_labels" {
  description = "Device label keys DT adds to each event."
  type        = list(string)
  default     = ["name", "description"]
}

variable "dataset_location" {
  description = "BigQuery location of the dataset (EU, US or a region)."
  type        = string
  default     = "EU"
}

variable "deletion_protection" {
  description = "Protect the event tables and views from terraform destroy; set to false (and apply) before tearing down."
  type        = bool
  default     = true
}

variable "enable_alerts" {
  description = "Create the Cloud Monitoring alert policies."
  type        = bool
  default     = true
}

variable "notification_channels" {
  description = "Cloud Monitoring notification channels the alerts notify (projects/<project>/notificationChannels/<id>)."
  type        = list(string)
  default     = []
}

variable "runbook_url" {
  description = "Where the on-call reads docs/operations.md; the alerts link to its runbooks."
  type        = string
  default     = null
}

# --- The DT provider -----------------------------------------------------------------------------

variable "dt_api_url" {
  description = "DT REST API base URL for the DT provider (the environment variable DT_API_URL takes precedence)."
  type        = string
  default     = "https://api.disruptive-technologies.com"

  validation {
    condition     = can(regex("^https://[^/]+", var.dt_api_url))
    error_message = "dt_api_url must be an https:// URL, without the /v2 path."
  }
}

variable "dt_oidc_token_endpoint" {
  description = "DT token endpoint for the DT provider (DT_OIDC_TOKEN_ENDPOINT takes precedence)."
  type        = string
  default     = "https://identity.disruptive-technologies.com/oauth2/token"

  validation {
    condition     = can(regex("^https://[^/]+/", var.dt_oidc_token_endpoint))
    error_message = "dt_oidc_token_endpoint must be an https:// URL."
  }
}

variable "dt_api_key_id" {
  description = "Key id of the DT service account Terraform acts as; null reads DT_API_KEY_ID (which takes precedence anyway)."
  type        = string
  default     = null
}

variable "dt_api_key_secret" {
  description = "Key secret of that DT service account; null reads DT_API_KEY_SECRET. Prefer the environment variable: a value here is kept in plan files."
  type        = string
  default     = null
  sensitive   = true
}

variable "dt_oidc_email" {
  description = "Email of that DT service account; null reads DT_OIDC_EMAIL."
  type        = string
  default     = null

  validation {
    condition     = var.dt_oidc_email == null || can(regex("^[^@\\s]+@[^@\\s]+$", var.dt_oidc_email))
    error_message = "dt_oidc_email must be the DT service account's email address."
  }
}
