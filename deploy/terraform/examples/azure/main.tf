# One Azure region with its own etcd/NATS cluster. For a second region, add another module
# instance (create_cluster = false, etcd_urls/nats_urls from this one, its own vnet_cidr) and peer
# the two VNets (azurerm_virtual_network_peering, both directions).
terraform {
  required_version = ">= 1.9.0"
  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = ">= 4.0, < 5.0"
    }
  }
}

provider "azurerm" {
  features {}
  subscription_id = var.subscription_id
}

module "onramp" {
  source               = "../../azure"
  location             = var.location
  domain               = var.domain
  release_url          = var.release_url
  admin_ssh_public_key = var.admin_ssh_public_key
  zones                = ["1", "2", "3"]
}
