# Cluster secret and authtokens in Secret Manager; the edges' service account may access exactly
# these secrets. The values are also in the Terraform state: keep the state private.
resource "random_password" "cluster_secret" {
  count   = nonsensitive(var.cluster_secret == null) ? 1 : 0
  length  = 48
  special = false
}

resource "random_password" "authtoken" {
  count   = nonsensitive(length(var.authtokens)) == 0 ? 1 : 0
  length  = 40
  special = false
}

locals {
  # Whether TLS is configured (not the PEM) is no secret: it decides which resources exist.
  tls            = nonsensitive(var.tls_certificate_pem != "")
  cluster_secret = nonsensitive(var.cluster_secret != null) ? var.cluster_secret : random_password.cluster_secret[0].result
  authtokens     = nonsensitive(length(var.authtokens)) > 0 ? var.authtokens : [random_password.authtoken[0].result]
  secrets = merge(
    { cluster = "${var.name}-cluster-secret", authtokens = "${var.name}-authtokens" },
    local.tls ? { tls_cert = "${var.name}-tls-cert", tls_key = "${var.name}-tls-key" } : {},
  )
  secret_values = {
    cluster    = local.cluster_secret
    authtokens = join(",", local.authtokens)
    tls_cert   = var.tls_certificate_pem
    tls_key    = var.tls_private_key_pem
  }
}

resource "google_secret_manager_secret" "this" {
  for_each  = local.secrets
  project   = var.project
  secret_id = each.value
  labels    = local.labels
  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "this" {
  for_each    = local.secrets
  secret      = google_secret_manager_secret.this[each.key].id
  secret_data = local.secret_values[each.key]
}

resource "google_service_account" "edge" {
  project      = var.project
  account_id   = "${var.name}-edge"
  display_name = "Onramp edges of ${var.name}"
}

resource "google_secret_manager_secret_iam_member" "edge" {
  for_each  = local.secrets
  project   = var.project
  secret_id = google_secret_manager_secret.this[each.key].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.edge.email}"
}
