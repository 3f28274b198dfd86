# The connector's signature secret: generated here, stored in Secret Manager, read by the ingest
# function as a secret environment variable, and given to DT. It never appears in an output; it
# is in the Terraform state (the DT provider needs it there), so keep the state private.
#
# Rotation (docs/deploy.md): raise signature_secret_generation with
# accept_previous_signature_secret = true, apply, wait, then set it back to false and apply.
# Each generation is one random_password and one Secret Manager version, keyed by its number.
# HTTP_PUSH only: DT's Pub/Sub connector signs nothing (Google authenticates DT instead). With
# require_asymmetric_signature, none of this exists: DT's ES256 signature alone is checked.

locals {
  current_signature_secret = tostring(var.signature_secret_generation)
  previous_signature_secret = (
    var.accept_previous_signature_secret && var.signature_secret_generation > 1
    ? tostring(var.signature_secret_generation - 1)
    : null
  )
  signature_secret_generations = toset(local.shared_secret ? compact([local.current_signature_secret, local.previous_signature_secret]) : [])
}

resource "random_password" "signature_secret" {
  for_each = local.signature_secret_generations

  # Letters and digits only (about 285 bits): safe in any header, URL or shell quoting.
  length  = 48
  special = false
}

resource "google_secret_manager_secret" "signature_secret" {
  count = local.shared_secret_count

  secret_id = "${var.name_prefix}-signature-secret"

  replication {
    auto {}
  }

  depends_on = [google_project_service.enabled]
}

resource "google_secret_manager_secret_version" "signature_secret" {
  for_each = local.signature_secret_generations

  secret      = google_secret_manager_secret.signature_secret[0].id
  secret_data = random_password.signature_secret[each.key].result
}
