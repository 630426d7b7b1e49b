# One mesh across AWS, GCP and Azure. AWS runs the etcd/NATS cluster; GCP and Azure edges use it.
#
# Network reachability this REQUIRES and does NOT create: the three private networks
# (AWS 10.10.0.0/16, GCP 10.20.0.0/20, Azure 10.30.0.0/16) routed to each other over site-to-site
# IPsec VPNs (AWS Site-to-Site VPN <-> GCP HA VPN, AWS <-> Azure VPN Gateway, GCP <-> Azure), or
# an interconnect. Edges advertise their private IPs for the relay, and etcd, NATS and the relay
# speak plaintext (etcd/NATS unauthenticated, the relay HMAC-authenticated but unencrypted), so
# they must not cross the internet. Exposing etcd/NATS publicly with TLS and allow-lists would
# need client certificates the edge cannot present today; the VPN is the honest option.
# Set vpn_in_place = true once the VPNs exist (see ../../README.md, "Across three clouds").
terraform {
  required_version = ">= 1.9.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40, < 7.0"
    }
    google = {
      source  = "hashicorp/google"
      version = ">= 5.0, < 8.0"
    }
    azurerm = {
      source  = "hashicorp/azurerm"
      version = ">= 4.0, < 5.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }
}

provider "aws" {
  region = var.aws_region
}

provider "google" {
  project = var.gcp_project
}

provider "azurerm" {
  features {}
  subscription_id = var.azure_subscription_id
}

locals {
  cidrs = {
    aws   = "10.10.0.0/16"
    gcp   = "10.20.0.0/20"
    azure = "10.30.0.0/16"
  }
}

# One cluster secret and one set of authtokens for the whole mesh, stored in each cloud's store.
resource "random_password" "cluster_secret" {
  length  = 48
  special = false
}

resource "random_password" "authtoken" {
  length  = 40
  special = false
}

module "aws" {
  source         = "../../aws"
  name           = "onramp"
  vpc_cidr       = local.cidrs.aws
  edge_count     = var.edges_per_cloud
  domain         = var.domain
  release_url    = var.release_url
  create_cluster = true
  cluster_size   = 3
  peer_cidrs     = [local.cidrs.gcp, local.cidrs.azure]
  cluster_secret = random_password.cluster_secret.result
  authtokens     = [random_password.authtoken.result]
}

module "gcp" {
  source         = "../../gcp"
  project        = var.gcp_project
  name           = "onramp"
  domain         = var.domain
  release_url    = var.release_url
  regions        = { (var.gcp_region) = { edge_count = var.edges_per_cloud, subnet_cidr = local.cidrs.gcp } }
  create_cluster = false
  etcd_urls      = module.aws.etcd_urls
  nats_urls      = module.aws.nats_urls
  peer_cidrs     = [local.cidrs.aws, local.cidrs.azure]
  cluster_secret = random_password.cluster_secret.result
  authtokens     = [random_password.authtoken.result]
}

module "azure" {
  source               = "../../azure"
  name                 = "onramp"
  location             = var.azure_location
  vnet_cidr            = local.cidrs.azure
  edge_count           = var.edges_per_cloud
  domain               = var.domain
  release_url          = var.release_url
  admin_ssh_public_key = var.admin_ssh_public_key
  create_cluster       = false
  etcd_urls            = module.aws.etcd_urls
  nats_urls            = module.aws.nats_urls
  peer_cidrs           = [local.cidrs.aws, local.cidrs.gcp]
  cluster_secret       = random_password.cluster_secret.result
  authtokens           = [random_password.authtoken.result]
}
