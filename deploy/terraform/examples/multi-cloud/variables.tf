variable "vpn_in_place" {
  type        = bool
  description = "Confirms that the AWS VPC (10.10.0.0/16), the GCP VPC (10.20.0.0/20) and the Azure VNet (10.30.0.0/16) are routed to each other through site-to-site VPNs or an interconnect. This example does not create them; without them GCP and Azure edges cannot reach etcd/NATS in AWS nor relay to the other edges."
  validation {
    condition     = var.vpn_in_place
    error_message = "Connect the three private networks first (site-to-site VPNs), then set vpn_in_place = true. See deploy/terraform/README.md."
  }
}

variable "domain" {
  type        = string
  description = "Domain of the mesh's random URLs; *.<domain> resolves to the three clouds' load balancers (e.g. GeoDNS or several A records)."
}

variable "release_url" {
  type        = string
  description = "https URL of the Onramp release tarball."
}

variable "edges_per_cloud" {
  type        = number
  description = "Edges in each cloud."
  default     = 2
}

variable "aws_region" {
  type        = string
  description = "AWS region (runs the etcd/NATS cluster)."
  default     = "us-east-1"
}

variable "gcp_project" {
  type        = string
  description = "GCP project id."
}

variable "gcp_region" {
  type        = string
  description = "GCP region."
  default     = "europe-west1"
}

variable "azure_subscription_id" {
  type        = string
  description = "Azure subscription id."
}

variable "azure_location" {
  type        = string
  description = "Azure region."
  default     = "westeurope"
}

variable "admin_ssh_public_key" {
  type        = string
  description = "OpenSSH public key for the Azure VMs' admin user."
}
