# One regional external passthrough Network Load Balancer per region (backend service based):
# TCP 80, 443 (with TLS) and 4443 to the edges, unchanged ports, client IPs kept. CLIENT_IP
# affinity keeps an agent's control session and data connections on one edge (an edge refuses a
# data connection whose session lives elsewhere). Health: GET /healthz on the admin port.
resource "google_compute_region_health_check" "edge" {
  for_each            = var.regions
  project             = var.project
  name                = "${var.name}-edge-${each.key}"
  region              = each.key
  check_interval_sec  = 5
  timeout_sec         = 3
  healthy_threshold   = 2
  unhealthy_threshold = 2
  http_health_check {
    port         = 4042
    request_path = "/healthz"
  }
}

resource "google_compute_region_backend_service" "edge" {
  for_each                        = var.regions
  project                         = var.project
  name                            = "${var.name}-edge-${each.key}"
  region                          = each.key
  load_balancing_scheme           = "EXTERNAL"
  protocol                        = "TCP"
  session_affinity                = "CLIENT_IP"
  connection_draining_timeout_sec = 30
  health_checks                   = [google_compute_region_health_check.edge[each.key].id]

  backend {
    group          = google_compute_region_instance_group_manager.edge[each.key].instance_group
    balancing_mode = "CONNECTION"
  }
}

resource "google_compute_address" "edge" {
  for_each     = var.regions
  project      = var.project
  name         = "${var.name}-edge-${each.key}"
  region       = each.key
  address_type = "EXTERNAL"
}

resource "google_compute_forwarding_rule" "edge" {
  for_each              = var.regions
  project               = var.project
  name                  = "${var.name}-edge-${each.key}"
  region                = each.key
  load_balancing_scheme = "EXTERNAL"
  ip_protocol           = "TCP"
  ip_address            = google_compute_address.edge[each.key].address
  ports                 = concat(["80", "4443"], local.tls ? ["443"] : [])
  backend_service       = google_compute_region_backend_service.edge[each.key].id
}
