variable "subscription_id" {
  type        = string
  description = "Azure subscription id (azurerm 4.x needs it, or ARM_SUBSCRIPTION_ID)."
}

variable "location" {
  type        = string
  description = "Azure region, e.g. westeurope."
  default     = "westeurope"
}

variable "domain" {
  type        = string
  description = "Domain of the mesh's random URLs; A record for *.<domain> to the load balancer IP."
}

variable "release_url" {
  type        = string
  description = "https URL of the Onramp release tarball."
}

variable "admin_ssh_public_key" {
  type        = string
  description = "OpenSSH public key of the VMs' admin user."
}
