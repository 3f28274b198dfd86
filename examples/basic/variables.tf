# The example's inputs: where to deploy, the module inputs most deployments set, then every
# other input of the module (with the module's default, passed through in main.tf, checked by
# the module's own validations; their meaning: ../../terraform/README.md, "Inputs"), then the
# providers' settings. Set any of them in terraform.tfvars.

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
  description = "Prefix of every resource name. Several deployments share a project when each has its own name_prefix and its own dataset_id."
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
  description = "DT projects whose events are sent (bare ids as in DT Studio's URLs, without \"projects/\"): one Data Connector each, all into the same topic, tables and dead letters. At least one, here or in dt_project_id."
  type        = list(string)
  default     = []
}

variable "dt_project_id" {
  description = "A single DT project (the bare id as in DT Studio's URL, without \"projects/\"); kept so that single-project configurations keep working. Joins dt_project_ids."
  type        = string
  default     = null
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

# --- Disruptive Technologies (module inputs, the module's defaults) ------------------------------

variable "dt_oidc_issuer" {
  description = "OIDC issuer of the tokens DT's Pub/Sub connector presents to Google (GOOGLE_CLOUD_PUBSUB only): DT's data-connector issuer, the one of its asymmetric signature. The workload identity provider fetches its keys from <issuer>/.well-known/openid-configuration."
  type        = string
  default     = "https://identity.disruptive-technologies.com/data-connector"
}

variable "connector_display_name" {
  description = "Display name of the Data Connector in DT Studio; null names it after name_prefix."
  type        = string
  default     = null
}

variable "signature_secret_generation" {
  description = "Generation of the connector's signature secret. Raise it by one to rotate the secret (see docs/deploy.md, \"Rotate the signature secret\")."
  type        = number
  default     = 1
}

variable "accept_previous_signature_secret" {
  description = "While rotating: keep the previous generation's secret and let the ingest function accept it too (DT_SIGNATURE_SECRET_PREVIOUS), so no event in flight is refused. Set back to false once the rotation is done."
  type        = bool
  default     = false
}

variable "require_asymmetric_signature" {
  description = "HTTP_PUSH with dt_organization_id only: create the connectors without DT's deprecated shared signature secret, so that the ingest function accepts DT's asymmetric signature (DT-Asymmetric-Signature, ES256) alone. No random_password, Secret Manager secret or version exists then, and no secret is in the Terraform state; signature_secret_generation and accept_previous_signature_secret are ignored."
  type        = bool
  default     = false
}

# --- BigQuery (module inputs, the module's defaults) ---------------------------------------------

variable "dataset_id" {
  description = "BigQuery dataset holding the event tables and views. Give each deployment sharing a project its own (and its own name_prefix). Fixed at creation: changing it replaces the dataset, which deletion_protection refuses."
  type        = string
  default     = "dt"
}

variable "partition_expiration_days" {
  description = "Days an event is kept in BigQuery, counted from its own timestamp (the day partition's expiration): older partitions are deleted, rows and raw bodies alike. null (the default) keeps every event for ever. A backfill of events older than this writes nothing that stays."
  type        = number
  default     = null
}

# --- Functions (module inputs, the module's defaults) --------------------------------------------

variable "python_runtime" {
  description = "Cloud Functions runtime of both functions."
  type        = string
  default     = "python311"
}

variable "log_level" {
  description = "LOG_LEVEL of both functions."
  type        = string
  default     = "INFO"
}

variable "ingest_memory" {
  description = "Memory of each ingest instance."
  type        = string
  default     = "512Mi"
}

variable "ingest_cpu" {
  description = "vCPUs of each ingest instance; a concurrency above 1 needs at least 1."
  type        = string
  default     = "1"
}

variable "ingest_timeout_seconds" {
  description = "Request timeout of the ingest function; DT counts a slow answer as a failure and retries."
  type        = number
  default     = 30
}

variable "ingest_max_instances" {
  description = "Upper bound on ingest instances (a cost guard; DT retries what is refused while at the bound)."
  type        = number
  default     = 20
}

variable "ingest_concurrency" {
  description = "Concurrent requests per ingest instance."
  type        = number
  default     = 80
}

variable "route_memory" {
  description = "Memory of each route instance."
  type        = string
  default     = "512Mi"
}

variable "route_cpu" {
  description = "vCPUs of each route instance; a concurrency above 1 needs at least 1."
  type        = string
  default     = "1"
}

variable "route_timeout_seconds" {
  description = "Request timeout of the route function; also the push subscription's ack deadline, which Pub/Sub caps at 600 s."
  type        = number
  default     = 60
}

variable "route_max_instances" {
  description = "Upper bound on route instances; Pub/Sub holds and redelivers what waits meanwhile."
  type        = number
  default     = 10
}

variable "route_concurrency" {
  description = "Concurrent push deliveries per route instance."
  type        = number
  default     = 40
}

variable "route_ingress_settings" {
  description = "Network ingress of the route function. Pub/Sub push from the same project counts as internal; IAM (roles/run.invoker for the push identity only) applies either way."
  type        = string
  default     = "ALLOW_INTERNAL_ONLY"
}

# --- Pub/Sub (module inputs, the module's defaults) ----------------------------------------------

variable "max_delivery_attempts" {
  description = "Deliveries of one message to the route function before Pub/Sub moves it to the dead-letter topic. The default, 100 (Pub/Sub's most), with the 10-600 s backoff rides out about 16 hours of BigQuery or IAM outage before anything is dead-lettered; poison (a row that can never be written) is dead-lettered by the router at its first delivery, whatever this is."
  type        = number
  default     = 100
}

variable "message_retention_duration" {
  description = "How long the topics and subscriptions keep messages, e.g. \"604800s\" (7 days, the most a subscription allows)."
  type        = string
  default     = "604800s"
}

variable "message_storage_regions" {
  description = "Google Cloud regions where Pub/Sub may store the topics' messages (message_storage_policy). null (the default) pins them to region, so events at rest stay where the functions run; [] leaves it to Pub/Sub and your organization policy."
  type        = list(string)
  default     = null
}

# --- Alerts (module inputs, the module's defaults) -----------------------------------------------

variable "alert_ingest_5xx_ratio" {
  description = "Share of the Data Connector's requests answered 5xx by the ingest function above which the ingest alert fires, e.g. 0.05 (5%)."
  type        = number
  default     = 0.05
}

variable "alert_ingest_5xx_duration_seconds" {
  description = "How long the share of 5xx answers must stay above alert_ingest_5xx_ratio before the ingest alert fires, in seconds (a whole number of minutes)."
  type        = number
  default     = 300
}

variable "alert_no_events_duration_seconds" {
  description = "How long no event may reach the events topic before the no-events alert fires, in seconds (a whole number of minutes). Set it above the longest quiet time of the forwarded event types."
  type        = number
  default     = 3600
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

variable "alert_ingest_4xx_ratio" {
  description = "Share of the ingest function's requests answered 4xx (refused: 401 bad signature, 403 another DT project, 413, ...) above which the ingest 4xx alert fires, e.g. 0.2 (20%). A connector whose every request is refused is an outage DT ends by disabling it after 5 days."
  type        = number
  default     = 0.2
}

variable "alert_ingest_4xx_duration_seconds" {
  description = "How long the share of 4xx answers must stay above alert_ingest_4xx_ratio before the ingest 4xx alert fires, in seconds (a whole number of minutes); long enough that a burst of junk traffic does not page anyone."
  type        = number
  default     = 1800
}

variable "exclude_successful_request_logs" {
  description = "Keep Cloud Run's request log entries of this deployment's successful (2xx) requests out of the _Default log bucket (a project log exclusion scoped to its services): about a kilobyte per event and function that would repeat what BigQuery holds. Failed and refused requests are kept. Set false to keep them all."
  type        = bool
  default     = true
}

variable "alert_subscription_backlog_seconds" {
  description = "Age of the oldest unacknowledged message in a BigQuery subscription (the events one with router = bigquery_subscription, the dead-letter archive always) above which its alert fires, in seconds. A subscription in an error state (table gone, permission lost) dead-letters nothing: its backlog only grows older."
  type        = number
  default     = 1800
}
