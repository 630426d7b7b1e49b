# Edges: a regional managed instance group per region, from an instance template whose cloud-init
# (../bootstrap) installs Node 20 and the release, reads the secrets with the VM's service account
# and starts onramp-edge. The passthrough load balancer cannot map ports, so edges listen on 80
# (and 443) themselves; the bootstrap grants CAP_NET_BIND_SERVICE for that.
module "cloud_init" {
  source   = "../bootstrap"
  for_each = var.regions

  secrets_provider = "gcp"
  release_url      = var.release_url
  release_sha256   = var.release_sha256
  node_version     = var.node_version
  node_sha256      = var.node_sha256
  etcd_urls        = local.etcd_urls
  nats_urls        = local.nats_urls
  region           = each.value.region_name != "" ? each.value.region_name : each.key
  domain           = var.domain
  listen = {
    http  = "0.0.0.0:80"
    https = local.tls ? "0.0.0.0:443" : ""
  }
  secret_names = {
    cluster    = google_secret_manager_secret.this["cluster"].secret_id
    authtokens = google_secret_manager_secret.this["authtokens"].secret_id
    tls_cert   = local.tls ? google_secret_manager_secret.this["tls_cert"].secret_id : ""
    tls_key    = local.tls ? google_secret_manager_secret.this["tls_key"].secret_id : ""
  }
  cloud     = { gcp_project = var.project }
  extra_env = var.edge_env
}

resource "google_compute_instance_template" "edge" {
  for_each     = var.regions
  project      = var.project
  name_prefix  = "${var.name}-edge-${each.key}-"
  region       = each.key
  machine_type = var.machine_type
  tags         = ["${var.name}-edge"]
  labels       = merge(local.labels, { "onramp-role" = "edge" })

  disk {
    source_image = "debian-cloud/debian-12"
    disk_size_gb = 20
    boot         = true
    auto_delete  = true
  }

  network_interface {
    subnetwork = google_compute_subnetwork.this[each.key].id
  }

  service_account {
    email  = google_service_account.edge.email
    scopes = ["cloud-platform"]
  }

  metadata = {
    user-data      = module.cloud_init[each.key].cloud_init
    enable-oslogin = "TRUE"
  }

  shielded_instance_config {
    enable_secure_boot = true
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "google_compute_health_check" "autoheal" {
  project             = var.project
  name                = "${var.name}-edge-autoheal"
  check_interval_sec  = 10
  timeout_sec         = 5
  healthy_threshold   = 2
  unhealthy_threshold = 6
  http_health_check {
    port         = 4042
    request_path = "/healthz"
  }
}

resource "google_compute_region_instance_group_manager" "edge" {
  for_each           = var.regions
  project            = var.project
  name               = "${var.name}-edge-${each.key}"
  region             = each.key
  base_instance_name = "${var.name}-edge"
  target_size        = each.value.edge_count

  version {
    instance_template = google_compute_instance_template.edge[each.key].self_link_unique
  }

  auto_healing_policies {
    health_check      = google_compute_health_check.autoheal.id
    initial_delay_sec = 300
  }

  # A new template (release, settings) replaces the edges a few at a time; each drains when
  # systemd stops it.
  update_policy {
    type                  = "PROACTIVE"
    minimal_action        = "REPLACE"
    max_surge_fixed       = length(data.google_compute_zones.edge[each.key].names)
    max_unavailable_fixed = 0
  }

  depends_on = [google_secret_manager_secret_version.this, google_secret_manager_secret_iam_member.edge, google_compute_instance.cluster]
}

data "google_compute_zones" "edge" {
  for_each = var.regions
  project  = var.project
  region   = each.key
}
