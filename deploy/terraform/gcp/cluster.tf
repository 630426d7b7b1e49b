# Optional etcd + NATS cluster in cluster_region: cluster_size VMs with reserved internal addresses
# (the 11th, 12th, ... of the region's subnet), spread over the region's zones, each running one
# etcd member and one NATS server from Debian's packages. Private only (network.tf).
data "google_compute_zones" "cluster" {
  project = var.project
  region  = local.cluster_region
}

locals {
  cluster_members = var.create_cluster ? [
    for i in range(var.cluster_size) : {
      name = "${var.name}-cluster-${i}"
      ip   = cidrhost(var.regions[local.cluster_region].subnet_cidr, 10 + i)
    }
  ] : []
  etcd_urls = var.create_cluster ? [for m in local.cluster_members : "http://${m.ip}:2379"] : var.etcd_urls
  nats_urls = var.create_cluster ? [for m in local.cluster_members : "nats://${m.ip}:4222"] : var.nats_urls
}

resource "google_compute_address" "cluster" {
  count        = length(local.cluster_members)
  project      = var.project
  name         = local.cluster_members[count.index].name
  region       = local.cluster_region
  subnetwork   = google_compute_subnetwork.this[local.cluster_region].id
  address_type = "INTERNAL"
  address      = local.cluster_members[count.index].ip
}

resource "google_compute_instance" "cluster" {
  count        = length(local.cluster_members)
  project      = var.project
  name         = local.cluster_members[count.index].name
  zone         = data.google_compute_zones.cluster.names[count.index % length(data.google_compute_zones.cluster.names)]
  machine_type = var.cluster_machine_type
  tags         = ["${var.name}-cluster"]
  labels       = merge(local.labels, { "onramp-role" = "cluster" })

  boot_disk {
    initialize_params {
      image = "debian-cloud/debian-12"
      size  = 20
    }
  }

  network_interface {
    subnetwork = google_compute_subnetwork.this[local.cluster_region].id
    network_ip = google_compute_address.cluster[count.index].address
  }

  metadata = {
    user-data = templatefile("${path.module}/../bootstrap/cluster-cloud-init.yaml.tftpl", {
      name    = local.cluster_members[count.index].name
      ip      = local.cluster_members[count.index].ip
      members = local.cluster_members
      token   = "${var.name}-etcd"
    })
    enable-oslogin = "TRUE"
  }

  shielded_instance_config {
    enable_secure_boot = true
  }

  lifecycle {
    # A new image or cloud-init must not replace a running etcd member behind your back.
    ignore_changes = [boot_disk[0].initialize_params[0].image, metadata["user-data"]]
  }
}
