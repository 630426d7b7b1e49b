variable "project" {
  type        = string
  description = "GCP project id (Compute Engine and Secret Manager APIs enabled)."
}

variable "domain" {
  type        = string
  description = "Domain of the mesh's random URLs; A records for *.<domain> to the load balancer IPs."
}

variable "release_url" {
  type        = string
  description = "https URL of the Onramp release tarball."
}
