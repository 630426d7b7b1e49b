# Two GCP regions in one mesh, from one module: one global VPC (private reachability across
# regions without peering), the etcd/NATS cluster in the first region.
terraform {
  required_version = ">= 1.9.0"
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 5.0, < 8.0"
    }
  }
}

provider "google" {
  project = var.project
}

module "onramp" {
  source      = "../../gcp"
  project     = var.project
  domain      = var.domain
  release_url = var.release_url
  regions = {
    "us-central1"  = { edge_count = 2, subnet_cidr = "10.20.0.0/20" }
    "europe-west1" = { edge_count = 2, subnet_cidr = "10.20.16.0/20" }
  }
  cluster_region = "us-central1"
  admin_cidrs    = ["35.235.240.0/20"] # IAP TCP forwarding: gcloud compute ssh --tunnel-through-iap
}
