variable "domain" {
  type        = string
  description = "Domain of the mesh's random URLs; CNAME *.<domain> to the NLBs (e.g. Route 53 latency records)."
}

variable "release_url" {
  type        = string
  description = "https URL of the Onramp release tarball."
}

variable "cluster_secret" {
  type        = string
  description = "Cluster secret shared by both regions (at least 16 characters; e.g. openssl rand -hex 24)."
  sensitive   = true
}

variable "authtokens" {
  type        = list(string)
  description = "Authtokens agents present (at least 16 characters each)."
  sensitive   = true
}
