# --- Where -------------------------------------------------------------------------------------

variable "project_id" {
  description = "Google Cloud project to deploy into (its id, not its name or number)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a Google Cloud project id: 6-30 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "region" {
  description = "Region of the functions, the Pub/Sub push endpoint, the source bucket and the image repository."
  type        = string
  default     = "europe-west1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a Google Cloud region such as europe-west1 or us-central1."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name (service accounts, topics, subscriptions, functions, secret, bucket, image repository, workload identity pool, alert policies). Several deployments share a project when each has its own name_prefix and its own dataset_id."
  type        = string
  default     = "dt-bq"

  validation {
    # Service account ids are at most 30 characters; the longest suffix added is "-ingest".
    condition     = can(regex("^[a-z][a-z0-9-]{0,13}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 2-15 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "resource_labels" {
  description = "Google Cloud labels of this deployment. Give the same map to the google and google-beta providers' default_labels (as examples/basic does): the module puts it where default_labels do not reach (the alert policies' user_labels)."
  type        = map(string)
  default     = {}

  validation {
    condition = alltrue([
      for key, value in var.resource_labels :
      can(regex("^[a-z][a-z0-9_-]{0,62}$", key)) && can(regex("^[a-z0-9_-]{0,63}$", value))
    ])
    error_message = "Label keys must be lowercase and start with a letter; keys and values hold only lowercase letters, digits, _ and -, at most 63 characters."
  }
}

# --- Disruptive Technologies ---------------------------------------------------------------------

variable "connector_type" {
  description = "How DT delivers events: HTTP_PUSH (DT POSTs each event to the public ingest function, which checks DT's signature and publishes it) or GOOGLE_CLOUD_PUBSUB (DT publishes straight to the events topic through Workload Identity Federation: no public endpoint, no ingest function, no signature secret). Changing it replaces the connectors."
  type        = string
  default     = "HTTP_PUSH"

  validation {
    condition     = contains(["HTTP_PUSH", "GOOGLE_CLOUD_PUBSUB"], var.connector_type)
    error_message = "connector_type must be HTTP_PUSH or GOOGLE_CLOUD_PUBSUB."
  }
}

variable "dt_project_ids" {
  description = "DT projects whose events are sent (bare ids as in DT Studio's URLs, without \"projects/\"): one Data Connector each, all into the same topic, tables and dead letters. At least one, here or in dt_project_id."
  type        = list(string)
  default     = []

  validation {
    condition = alltrue([
      for id in var.dt_project_ids : can(regex("^[A-Za-z0-9_-]{8,64}$", id))
    ]) && length(distinct(var.dt_project_ids)) == length(var.dt_project_ids)
    error_message = "dt_project_ids must be distinct bare DT project ids (letters, digits, - or _), e.g. c0md3mm0c7pet3c1vddg, not projects/<id>."
  }
}

variable "dt_project_id" {
  description = "A single DT project (the bare id as in DT Studio's URL, without \"projects/\"); kept so that single-project configurations keep working. Joins dt_project_ids."
  type        = string
  default     = null

  validation {
    condition     = var.dt_project_id == null || can(regex("^[A-Za-z0-9_-]{8,64}$", var.dt_project_id))
    error_message = "dt_project_id must be the bare DT project id (letters, digits, - or _), e.g. c0md3mm0c7pet3c1vddg, not projects/<id>."
  }
}

variable "dt_organization_id" {
  description = "DT organization id. Required with GOOGLE_CLOUD_PUBSUB: only DT tokens issued for this organization may publish. With HTTP_PUSH, when set, the ingest function also checks DT's asymmetric signature (DT-Asymmetric-Signature, ES256) and that it was issued for this organization."
  type        = string
  default     = null

  validation {
    condition     = var.dt_organization_id == null || can(regex("^[A-Za-z0-9_-]{8,64}$", var.dt_organization_id))
    error_message = "dt_organization_id must be the bare DT organization id (letters, digits, - or _), without \"organizations/\"."
  }
}

variable "require_asymmetric_signature" {
  description = "ES256 only (HTTP_PUSH, needs dt_organization_id): create the connectors without DT's deprecated shared signature secret, and have the ingest function refuse every request without DT's asymmetric signature (DT-Asymmetric-Signature; DT_REQUIRE_ASYMMETRIC_SIGNATURE). No random_password, Secret Manager secret or version exists then, and no secret is in the Terraform state; signature_secret_generation and accept_previous_signature_secret are ignored."
  type        = bool
  default     = false

  validation {
    condition     = !var.require_asymmetric_signature || var.dt_organization_id != null
    error_message = "require_asymmetric_signature needs dt_organization_id (the organization DT's ES256 tokens name)."
  }
}

variable "dt_oidc_issuer" {
  description = "OIDC issuer of the tokens DT's Pub/Sub connector presents to Google (GOOGLE_CLOUD_PUBSUB only): DT's data-connector issuer, the one of its asymmetric signature. The workload identity provider fetches its keys from <issuer>/.well-known/openid-configuration."
  type        = string
  default     = "https://identity.disruptive-technologies.com/data-connector"

  validation {
    condition     = can(regex("^https://[^\\s]+[^/]$", var.dt_oidc_issuer))
    error_message = "dt_oidc_issuer must be an https:// URL without a trailing slash."
  }
}

variable "event_types" {
  description = "DT event types the connector forwards; empty forwards all types, including ones DT adds later (kept in unknown_events)."
  type        = list(string)
  default     = []

  validation {
    condition = alltrue([for event_type in var.event_types : contains([
      "touch", "temperature", "objectPresent", "humidity", "objectPresentCount", "touchCount",
      "waterPresent", "networkStatus", "batteryStatus", "labelsChanged", "connectionStatus",
      "ethernetStatus", "cellularStatus", "co2", "pressure", "motion", "deskOccupancy", "contact",
      "probeWireStatus",
    ], event_type)])
    error_message = "event_types may only hold DT event types, spelled as DT does: touch, temperature, objectPresent, humidity, objectPresentCount, touchCount, waterPresent, networkStatus, batteryStatus, labelsChanged, connectionStatus, ethernetStatus, cellularStatus, co2, pressure, motion, deskOccupancy, contact, probeWireStatus."
  }
}

variable "forwarded_labels" {
  description = "Device label keys DT adds to each event. \"name\" and \"description\" fill the device_name and device_description columns; all forwarded labels land in the labels column."
  type        = list(string)
  default     = ["name", "description"]

  validation {
    condition     = alltrue([for key in var.forwarded_labels : length(trimspace(key)) > 0]) && length(distinct(var.forwarded_labels)) == length(var.forwarded_labels)
    error_message = "forwarded_labels must be distinct, non-empty label keys."
  }
}

variable "connector_display_name" {
  description = "Display name of the Data Connector in DT Studio; null names it after name_prefix."
  type        = string
  default     = null

  validation {
    condition     = var.connector_display_name == null || try(length(trimspace(var.connector_display_name)) > 0, false)
    error_message = "connector_display_name must not be empty; leave it null for the default."
  }
}

variable "signature_secret_generation" {
  description = "Generation of the connector's signature secret. Raise it by one to rotate the secret (see docs/deploy.md, \"Rotate the signature secret\")."
  type        = number
  default     = 1

  validation {
    condition     = var.signature_secret_generation >= 1 && floor(var.signature_secret_generation) == var.signature_secret_generation
    error_message = "signature_secret_generation must be a whole number, 1 or more."
  }
}

variable "accept_previous_signature_secret" {
  description = "While rotating: keep the previous generation's secret and let the ingest function accept it too (DT_SIGNATURE_SECRET_PREVIOUS), so no event in flight is refused. Set back to false once the rotation is done."
  type        = bool
  default     = false
}

# --- Router --------------------------------------------------------------------------------------

variable "router" {
  description = "What writes each event from the events topic into BigQuery's events_log: function (the route function, fed by a push subscription: typed rows, a value that does not fit its column becomes NULL) or bigquery_subscription (a Pub/Sub BigQuery subscription with a JavaScript transform generated from the schema files, functions/transform/dt_event_to_row.js: no route function; with GOOGLE_CLOUD_PUBSUB no function at all). See docs/deploy.md, \"The subscription router\", before choosing it."
  type        = string
  default     = "function"

  validation {
    condition     = contains(["function", "bigquery_subscription"], var.router)
    error_message = "router must be function or bigquery_subscription."
  }
}

# --- BigQuery ------------------------------------------------------------------------------------

variable "dataset_id" {
  description = "BigQuery dataset holding the event tables and views. Give each deployment sharing a project its own (and its own name_prefix). Fixed at creation: changing it replaces the dataset, which deletion_protection refuses."
  type        = string
  default     = "dt"

  validation {
    condition     = can(regex("^[A-Za-z0-9_]+$", var.dataset_id)) && length(var.dataset_id) <= 1024
    error_message = "dataset_id may hold only letters, digits and underscores."
  }
}

variable "dataset_location" {
  description = "BigQuery location of the dataset (multi-region EU or US, or a region). Fixed at creation: changing it replaces the dataset."
  type        = string
  default     = "EU"

  validation {
    condition     = can(regex("^(EU|US|[a-z]+-[a-z]+[0-9]+)$", var.dataset_location))
    error_message = "dataset_location must be EU, US or a region such as europe-west1."
  }
}

variable "deletion_protection" {
  description = "Protect the event tables and views from `terraform destroy` and from replacement. Set to false (and apply) before tearing down."
  type        = bool
  default     = true
}

variable "partition_expiration_days" {
  description = "Days an event is kept in BigQuery, counted from its own timestamp (the day partition's expiration): older partitions are deleted, rows and raw bodies alike. null (the default) keeps every event for ever. A backfill of events older than this writes nothing that stays."
  type        = number
  default     = null

  validation {
    condition     = var.partition_expiration_days == null || try(var.partition_expiration_days >= 1 && floor(var.partition_expiration_days) == var.partition_expiration_days, false)
    error_message = "partition_expiration_days must be a whole number of days, 1 or more, or null to keep events for ever."
  }
}

# --- Functions -----------------------------------------------------------------------------------

variable "python_runtime" {
  description = "Cloud Functions runtime of both functions."
  type        = string
  default     = "python311"

  validation {
    condition     = can(regex("^python3(1[1-9])$", var.python_runtime))
    error_message = "python_runtime must be python311 or newer (python312, python313, ...)."
  }
}

variable "log_level" {
  description = "LOG_LEVEL of both functions."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "ingest_memory" {
  description = "Memory of each ingest instance."
  type        = string
  default     = "512Mi"

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.ingest_memory))
    error_message = "ingest_memory must be a quantity such as 256Mi, 512Mi or 1Gi."
  }
}

variable "ingest_cpu" {
  description = "vCPUs of each ingest instance; a concurrency above 1 needs at least 1."
  type        = string
  default     = "1"

  validation {
    condition     = can(tonumber(var.ingest_cpu)) && can(regex("^[0-9.]+$", var.ingest_cpu))
    error_message = "ingest_cpu must be a number of vCPUs such as 0.5, 1 or 2."
  }
}

variable "ingest_timeout_seconds" {
  description = "Request timeout of the ingest function; DT counts a slow answer as a failure and retries."
  type        = number
  default     = 30

  validation {
    condition     = var.ingest_timeout_seconds >= 1 && var.ingest_timeout_seconds <= 3600
    error_message = "ingest_timeout_seconds must be between 1 and 3600."
  }
}

variable "ingest_max_instances" {
  description = "Upper bound on ingest instances (a cost guard; DT retries what is refused while at the bound)."
  type        = number
  default     = 20

  validation {
    condition     = var.ingest_max_instances >= 1 && var.ingest_max_instances <= 1000
    error_message = "ingest_max_instances must be between 1 and 1000."
  }
}

variable "ingest_concurrency" {
  description = "Concurrent requests per ingest instance."
  type        = number
  default     = 80

  validation {
    condition     = var.ingest_concurrency >= 1 && var.ingest_concurrency <= 1000
    error_message = "ingest_concurrency must be between 1 and 1000."
  }
}

variable "route_memory" {
  description = "Memory of each route instance."
  type        = string
  default     = "512Mi"

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.route_memory))
    error_message = "route_memory must be a quantity such as 256Mi, 512Mi or 1Gi."
  }
}

variable "route_cpu" {
  description = "vCPUs of each route instance; a concurrency above 1 needs at least 1."
  type        = string
  default     = "1"

  validation {
    condition     = can(tonumber(var.route_cpu)) && can(regex("^[0-9.]+$", var.route_cpu))
    error_message = "route_cpu must be a number of vCPUs such as 0.5, 1 or 2."
  }
}

variable "route_timeout_seconds" {
  description = "Request timeout of the route function; also the push subscription's ack deadline, which Pub/Sub caps at 600 s."
  type        = number
  default     = 60

  validation {
    condition     = var.route_timeout_seconds >= 10 && var.route_timeout_seconds <= 600
    error_message = "route_timeout_seconds must be between 10 and 600 (the longest Pub/Sub ack deadline)."
  }
}

variable "route_max_instances" {
  description = "Upper bound on route instances; Pub/Sub holds and redelivers what waits meanwhile."
  type        = number
  default     = 10

  validation {
    condition     = var.route_max_instances >= 1 && var.route_max_instances <= 1000
    error_message = "route_max_instances must be between 1 and 1000."
  }
}

variable "route_concurrency" {
  description = "Concurrent push deliveries per route instance."
  type        = number
  default     = 40

  validation {
    condition     = var.route_concurrency >= 1 && var.route_concurrency <= 1000
    error_message = "route_concurrency must be between 1 and 1000."
  }
}

variable "route_ingress_settings" {
  description = "Network ingress of the route function. Pub/Sub push from the same project counts as internal; IAM (roles/run.invoker for the push identity only) applies either way."
  type        = string
  default     = "ALLOW_INTERNAL_ONLY"

  validation {
    condition     = contains(["ALLOW_ALL", "ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB"], var.route_ingress_settings)
    error_message = "route_ingress_settings must be ALLOW_ALL, ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB."
  }
}

# --- Pub/Sub -------------------------------------------------------------------------------------

variable "max_delivery_attempts" {
  description = "Deliveries of one message to the router (the route function, or the BigQuery subscription's write) before Pub/Sub moves it to the dead-letter topic. The default, 100 (Pub/Sub's most), with the 10-600 s backoff rides out about 16 hours of BigQuery or IAM outage before anything is dead-lettered; poison (a row that can never be written) is dead-lettered by the route function at its first delivery, whatever this is (the BigQuery subscription retries it up to this many times, without backoff, before its dead-letter topic)."
  type        = number
  default     = 100

  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100
    error_message = "max_delivery_attempts must be between 5 and 100 (Pub/Sub's limits)."
  }
}

variable "message_retention_duration" {
  description = "How long the topics and subscriptions keep messages, e.g. \"604800s\" (7 days, the most a subscription allows)."
  type        = string
  default     = "604800s"

  validation {
    condition = (
      can(regex("^[0-9]+s$", var.message_retention_duration))
      && try(tonumber(trimsuffix(var.message_retention_duration, "s")) >= 600, false)
      && try(tonumber(trimsuffix(var.message_retention_duration, "s")) <= 604800, false)
    )
    error_message = "message_retention_duration must be between \"600s\" and \"604800s\" (10 minutes to 7 days), in seconds with an s suffix."
  }
}

variable "message_storage_regions" {
  description = "Google Cloud regions where Pub/Sub may store the topics' messages (message_storage_policy). null (the default) pins them to region, so events at rest stay where the functions run; [] leaves it to Pub/Sub and your organization policy."
  type        = list(string)
  default     = null

  validation {
    condition     = alltrue([for region in var.message_storage_regions == null ? [] : var.message_storage_regions : can(regex("^[a-z]+-[a-z]+[0-9]+$", region))])
    error_message = "message_storage_regions must hold Google Cloud regions such as europe-west1, or be null (the region) or [] (not pinned)."
  }
}

# --- Alerts --------------------------------------------------------------------------------------

variable "enable_alerts" {
  description = "Create the Cloud Monitoring alert policies (monitoring.tf): ingest answering 5xx, events in the dead-letter subscription, no events at all."
  type        = bool
  default     = true
}

variable "notification_channels" {
  description = "Cloud Monitoring notification channels the alerts notify, as projects/<project>/notificationChannels/<id> (create them in the console or with google_monitoring_notification_channel). Empty: incidents only show in the console."
  type        = list(string)
  default     = []

  validation {
    condition = alltrue([
      for channel in var.notification_channels : can(regex("^projects/[^/]+/notificationChannels/[^/]+$", channel))
    ]) && length(distinct(var.notification_channels)) == length(var.notification_channels)
    error_message = "notification_channels must be distinct channel ids of the form projects/<project>/notificationChannels/<id>."
  }
}

variable "alert_ingest_5xx_ratio" {
  description = "Share of the Data Connector's requests answered 5xx by the ingest function above which the ingest alert fires, e.g. 0.05 (5%)."
  type        = number
  default     = 0.05

  validation {
    condition     = var.alert_ingest_5xx_ratio > 0 && var.alert_ingest_5xx_ratio < 1
    error_message = "alert_ingest_5xx_ratio must be a fraction between 0 and 1 (exclusive), e.g. 0.05 for 5%."
  }
}

variable "alert_ingest_4xx_ratio" {
  description = "Share of the ingest function's requests answered 4xx (refused: 401 bad signature, 403 another DT project, 413, ...) above which the ingest 4xx alert fires, e.g. 0.2 (20%). A connector whose every request is refused is an outage DT ends by disabling it after 5 days."
  type        = number
  default     = 0.2

  validation {
    condition     = var.alert_ingest_4xx_ratio > 0 && var.alert_ingest_4xx_ratio < 1
    error_message = "alert_ingest_4xx_ratio must be a fraction between 0 and 1 (exclusive), e.g. 0.2 for 20%."
  }
}

variable "alert_ingest_4xx_duration_seconds" {
  description = "How long the share of 4xx answers must stay above alert_ingest_4xx_ratio before the ingest 4xx alert fires, in seconds (a whole number of minutes); long enough that a burst of junk traffic does not page anyone."
  type        = number
  default     = 1800

  validation {
    condition     = var.alert_ingest_4xx_duration_seconds >= 60 && var.alert_ingest_4xx_duration_seconds <= 86400 && var.alert_ingest_4xx_duration_seconds % 60 == 0
    error_message = "alert_ingest_4xx_duration_seconds must be a whole number of minutes between 60 and 86400 (Cloud Monitoring takes multiples of 60 s)."
  }
}

variable "alert_ingest_5xx_duration_seconds" {
  description = "How long the share of 5xx answers must stay above alert_ingest_5xx_ratio before the ingest alert fires, in seconds (a whole number of minutes)."
  type        = number
  default     = 300

  validation {
    condition     = var.alert_ingest_5xx_duration_seconds >= 60 && var.alert_ingest_5xx_duration_seconds <= 3600 && var.alert_ingest_5xx_duration_seconds % 60 == 0
    error_message = "alert_ingest_5xx_duration_seconds must be a whole number of minutes between 60 and 3600 (Cloud Monitoring takes multiples of 60 s; waiting longer than an hour defeats the alert)."
  }
}

variable "alert_no_events_duration_seconds" {
  description = "How long no event may reach the events topic before the no-events alert fires, in seconds (a whole number of minutes). Set it above the longest quiet time of the forwarded event types."
  type        = number
  default     = 3600

  validation {
    condition     = var.alert_no_events_duration_seconds >= 120 && var.alert_no_events_duration_seconds <= 84600 && var.alert_no_events_duration_seconds % 60 == 0
    error_message = "alert_no_events_duration_seconds must be a whole number of minutes between 120 and 84600 (23.5 hours, the longest absence Cloud Monitoring watches)."
  }
}

variable "alert_subscription_backlog_seconds" {
  description = "Age of the oldest unacknowledged message in a BigQuery subscription (the events one with router = bigquery_subscription, the dead-letter archive always) above which its alert fires, in seconds. A subscription in an error state (table gone, permission lost) dead-letters nothing: its backlog only grows older."
  type        = number
  default     = 1800

  validation {
    condition     = var.alert_subscription_backlog_seconds >= 300 && var.alert_subscription_backlog_seconds <= 86400
    error_message = "alert_subscription_backlog_seconds must be between 300 (5 minutes) and 86400 (a day: messages expire after message_retention_duration)."
  }
}

variable "runbook_url" {
  description = "Where the on-call reads docs/operations.md, e.g. https://github.com/<owner>/<repo>/blob/main/docs/operations.md. When set, the alerts' documentation links to its runbook sections; null names the file and section only."
  type        = string
  default     = null

  validation {
    condition     = var.runbook_url == null || can(regex("^https?://[^\\s#]+$", var.runbook_url))
    error_message = "runbook_url must be an http(s) URL without a #fragment (the alerts add the section's)."
  }
}

variable "exclude_successful_request_logs" {
  description = "Keep Cloud Run's request log entries of this deployment's successful (2xx) requests out of the _Default log bucket (a project log exclusion scoped to its services): about a kilobyte per event and function that would repeat what BigQuery holds. Failed and refused requests are kept. Set false to keep them all."
  type        = bool
  default     = true
}
