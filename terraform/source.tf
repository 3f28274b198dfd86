# The functions' code, packaged from this repository: main.py, requirements.txt and functions/
# only (no tests, tooling, caches or Terraform). Both functions deploy from the same archive;
# without any function (GOOGLE_CLOUD_PUBSUB and the subscription router) none of this exists.

locals {
  function_source_files = concat(
    ["main.py", "requirements.txt"],
    [
      for file_name in sort(fileset(local.repository_root, "functions/**")) : file_name
      if !can(regex("(^|/)__pycache__/|\\.py[co]$", file_name))
    ],
  )
}

data "archive_file" "function_source" {
  count = local.functions_count

  type        = "zip"
  output_path = "${path.module}/.build/function-source.zip"

  dynamic "source" {
    for_each = local.function_source_files
    content {
      content  = file("${local.repository_root}/${source.value}")
      filename = source.value
    }
  }
}

resource "google_storage_bucket" "function_source" {
  #checkov:skip=CKV_GCP_62:Access logs of a bucket that only holds build inputs add cost and no insight; Cloud Audit Logs record who changed it.
  #checkov:skip=CKV_GCP_78:Objects are named by their content hash and never overwritten, so versioning would keep nothing new.
  count = local.functions_count

  name     = "${var.project_id}-${var.name_prefix}-source"
  location = var.region

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  # It only holds archives rebuilt from the repository on every apply.
  force_destroy = true

  depends_on = [google_project_service.enabled]
}

resource "google_storage_bucket_object" "function_source" {
  # Content-addressed: a code change is a new object, and so a new build of both functions.
  count = local.functions_count

  name   = "function-source-${data.archive_file.function_source[0].output_md5}.zip"
  bucket = google_storage_bucket.function_source[0].name
  source = data.archive_file.function_source[0].output_path
}

# Where Cloud Build puts the functions' images (instead of the shared gcf-artifacts repository),
# so the build identity can be given write access to this repository only.
resource "google_artifact_registry_repository" "functions" {
  #checkov:skip=CKV_GCP_84:Encrypted at rest with Google-managed keys; the images hold only this open-source code.
  count = local.functions_count

  location      = var.region
  repository_id = "${var.name_prefix}-functions"
  format        = "DOCKER"
  description   = "Images of the DT to BigQuery functions, built by Cloud Build."

  cleanup_policy_dry_run = false
  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = 5
    }
  }
  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      older_than = "2592000s"
    }
  }

  depends_on = [google_project_service.enabled]
}
