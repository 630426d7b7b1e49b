# One global VPC with a subnet per region: every edge reaches every other edge and the etcd/NATS
# VMs over private addresses, across regions, with no peering. VMs have no public IPs; Cloud NAT
# gives them egress (release, Node, Debian packages, Google APIs).
locals {
  labels         = merge({ "onramp-mesh" = var.name }, var.labels)
  cluster_region = var.cluster_region != "" ? var.cluster_region : keys(var.regions)[0]
  vpc_cidrs      = [for r in values(var.regions) : r.subnet_cidr]
  private_cidrs  = distinct(concat(local.vpc_cidrs, var.peer_cidrs))
  # Google's health check probers (passthrough load balancers and autohealing).
  health_check_ranges = ["35.191.0.0/16", "209.85.152.0/22", "209.85.204.0/22"]
}

resource "google_compute_network" "this" {
  project                 = var.project
  name                    = var.name
  auto_create_subnetworks = false
}

resource "google_compute_subnetwork" "this" {
  for_each                 = var.regions
  project                  = var.project
  name                     = "${var.name}-${each.key}"
  region                   = each.key
  network                  = google_compute_network.this.id
  ip_cidr_range            = each.value.subnet_cidr
  private_ip_google_access = true
}

resource "google_compute_router" "this" {
  for_each = var.regions
  project  = var.project
  name     = "${var.name}-${each.key}"
  region   = each.key
  network  = google_compute_network.this.id
}

resource "google_compute_router_nat" "this" {
  for_each                           = var.regions
  project                            = var.project
  name                               = "${var.name}-${each.key}"
  region                             = each.key
  router                             = google_compute_router.this[each.key].name
  nat_ip_allocate_option             = "AUTO_ONLY"
  source_subnetwork_ip_ranges_to_nat = "ALL_SUBNETWORKS_ALL_IP_RANGES"
}

# Public: 80/443/4443 on the edges (the passthrough load balancer keeps the destination port and
# the client address). 4443 also carries the edge-to-edge relay (HMAC, not encrypted).
resource "google_compute_firewall" "edge_public" {
  project       = var.project
  name          = "${var.name}-edge-public"
  network       = google_compute_network.this.id
  direction     = "INGRESS"
  source_ranges = ["0.0.0.0/0"]
  target_tags   = ["${var.name}-edge"]
  allow {
    protocol = "tcp"
    ports    = concat(["80", "4443"], local.tls ? ["443"] : [])
  }
}

resource "google_compute_firewall" "edge_admin" {
  project       = var.project
  name          = "${var.name}-edge-admin"
  network       = google_compute_network.this.id
  direction     = "INGRESS"
  source_ranges = distinct(concat(local.health_check_ranges, local.vpc_cidrs, var.admin_cidrs))
  target_tags   = ["${var.name}-edge"]
  allow {
    protocol = "tcp"
    ports    = ["4042"]
  }
}

resource "google_compute_firewall" "ssh" {
  count         = length(var.admin_cidrs) > 0 ? 1 : 0
  project       = var.project
  name          = "${var.name}-ssh"
  network       = google_compute_network.this.id
  direction     = "INGRESS"
  source_ranges = var.admin_cidrs
  target_tags   = ["${var.name}-edge", "${var.name}-cluster"]
  allow {
    protocol = "tcp"
    ports    = ["22"]
  }
}

# Private: etcd and NATS clients from the VPC and the peers; etcd peers and NATS routes among the
# cluster VMs only.
resource "google_compute_firewall" "cluster_clients" {
  count         = var.create_cluster ? 1 : 0
  project       = var.project
  name          = "${var.name}-cluster-clients"
  network       = google_compute_network.this.id
  direction     = "INGRESS"
  source_ranges = local.private_cidrs
  target_tags   = ["${var.name}-cluster"]
  allow {
    protocol = "tcp"
    ports    = ["2379", "4222"]
  }
}

resource "google_compute_firewall" "cluster_peers" {
  count       = var.create_cluster ? 1 : 0
  project     = var.project
  name        = "${var.name}-cluster-peers"
  network     = google_compute_network.this.id
  direction   = "INGRESS"
  source_tags = ["${var.name}-cluster"]
  target_tags = ["${var.name}-cluster"]
  allow {
    protocol = "tcp"
    ports    = ["2380", "6222"]
  }
}
