variable "project" {
  type        = string
  description = "GCP project id everything is created in (the edges read their secrets from it)."
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project))
    error_message = "project must be a GCP project id."
  }
}

variable "name" {
  type        = string
  description = "Prefix of every resource name and of the secret ids (name-cluster-secret, name-authtokens)."
  default     = "onramp"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.name))
    error_message = "name must be 2-21 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "regions" {
  type = map(object({
    edge_count  = number
    subnet_cidr = string
    region_name = optional(string, "")
  }))
  description = "Edges per GCP region: how many, the region's subnet CIDR in the module's VPC (must not overlap other networks of the mesh), and ONRAMP_REGION (empty: the GCP region). One VPC spans all of them, so edges and etcd/NATS reach each other privately."
  validation {
    condition     = length(var.regions) > 0 && alltrue([for r in values(var.regions) : r.edge_count >= 1 && r.edge_count <= 100 && can(cidrhost(r.subnet_cidr, 0))])
    error_message = "regions needs at least one entry; edge_count must be 1-100 and subnet_cidr an IPv4 CIDR."
  }
}

variable "machine_type" {
  type        = string
  description = "Machine type of the edges (x86_64)."
  default     = "e2-small"
}

variable "domain" {
  type        = string
  description = "ONRAMP_DOMAIN: random URLs are made under it. Point *.<domain> at the load balancer address(es)."
  validation {
    condition     = can(regex("^[a-z0-9.-]+$", var.domain))
    error_message = "domain must be a DNS name."
  }
}

variable "release_url" {
  type        = string
  description = "https URL of the Onramp release tarball the edges download at boot (e.g. a signed GCS URL or a release asset)."
  validation {
    condition     = can(regex("^(https?|file)://", var.release_url))
    error_message = "release_url must start with https://, http:// or file://."
  }
}

variable "release_sha256" {
  type        = string
  description = "Expected sha256 of the release tarball; empty skips the check."
  default     = ""
  validation {
    condition     = var.release_sha256 == "" || can(regex("^[0-9a-f]{64}$", var.release_sha256))
    error_message = "release_sha256 must be empty or 64 lowercase hex digits."
  }
}

variable "node_version" {
  type        = string
  description = "Node.js 20 version the bootstrap installs from nodejs.org (Debian 12 images have no Node 20)."
  default     = "20.20.2"
  validation {
    condition     = can(regex("^20\\.[0-9]+\\.[0-9]+$", var.node_version))
    error_message = "node_version must be a Node 20 version such as 20.20.2."
  }
}

variable "node_sha256" {
  type        = string
  description = "sha256 of node-v<node_version>-linux-x64.tar.gz from nodejs.org's signed SHASUMS256.txt. Empty: checked at boot against the unsigned SHASUMS256.txt, with a warning."
  default     = ""
  validation {
    condition     = var.node_sha256 == "" || can(regex("^[0-9a-f]{64}$", var.node_sha256))
    error_message = "node_sha256 must be empty or 64 lowercase hex digits."
  }
}

variable "create_cluster" {
  type        = bool
  description = "Create the mesh's etcd and NATS cluster here (cluster_size VMs in cluster_region). False: give etcd_urls and nats_urls."
  default     = true
}

variable "cluster_region" {
  type        = string
  description = "GCP region (a key of regions) of the etcd/NATS VMs; empty: the first key of regions."
  default     = ""
  validation {
    condition     = var.cluster_region == "" || contains(keys(var.regions), var.cluster_region)
    error_message = "cluster_region must be one of the keys of regions."
  }
}

variable "cluster_size" {
  type        = number
  description = "Number of etcd/NATS VMs when create_cluster is true."
  default     = 3
  validation {
    condition     = contains([1, 3, 5], var.cluster_size)
    error_message = "cluster_size must be 1, 3 or 5 (etcd needs an odd number of members)."
  }
}

variable "cluster_machine_type" {
  type        = string
  description = "Machine type of the etcd/NATS VMs."
  default     = "e2-small"
}

variable "etcd_urls" {
  type        = list(string)
  description = "etcd client URLs of an existing mesh backend, reachable from this VPC (create_cluster = false)."
  default     = []
  validation {
    condition     = var.create_cluster || length(var.etcd_urls) > 0
    error_message = "etcd_urls is required when create_cluster is false."
  }
}

variable "nats_urls" {
  type        = list(string)
  description = "NATS URLs of an existing mesh backend, reachable from this VPC (create_cluster = false)."
  default     = []
  validation {
    condition     = var.create_cluster || length(var.nats_urls) > 0
    error_message = "nats_urls is required when create_cluster is false."
  }
}

variable "peer_cidrs" {
  type        = list(string)
  description = "Private CIDRs of the other networks of the mesh (other clouds, reached through a VPN). Allowed to reach etcd/NATS created here."
  default     = []
  validation {
    condition     = alltrue([for c in var.peer_cidrs : can(cidrhost(c, 0))])
    error_message = "peer_cidrs must be IPv4 CIDRs."
  }
}

variable "admin_cidrs" {
  type        = list(string)
  description = "CIDRs allowed to reach SSH (22) and the admin port (4042) of the VMs, besides the VPC (35.235.240.0/20 is IAP TCP forwarding). Empty: none."
  default     = []
  validation {
    condition     = alltrue([for c in var.admin_cidrs : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "admin_cidrs must be IPv4 CIDRs, and not 0.0.0.0/0."
  }
}

variable "cluster_secret" {
  type        = string
  description = "The mesh's cluster secret (same on every edge of every cloud). Null: generated (48 characters). Stored in Secret Manager and in the Terraform state."
  default     = null
  sensitive   = true
  validation {
    condition     = var.cluster_secret == null || can(regex("^[A-Za-z0-9._~+/=-]{16,}$", var.cluster_secret))
    error_message = "cluster_secret must have at least 16 characters from A-Z a-z 0-9 . _ ~ + / = -."
  }
}

variable "authtokens" {
  type        = list(string)
  description = "Bootstrap authtokens agents may present. Empty: one is generated. Stored comma-separated in Secret Manager and in the Terraform state."
  default     = []
  sensitive   = true
  validation {
    condition     = alltrue([for t in var.authtokens : can(regex("^[A-Za-z0-9._~+/=-]{16,}$", t))])
    error_message = "each authtoken must have at least 16 characters from A-Z a-z 0-9 . _ ~ + / = -."
  }
}

variable "tls_certificate_pem" {
  type        = string
  description = "PEM certificate chain for the edges' HTTPS listener (443, terminated on the edges). Empty: no HTTPS."
  default     = ""
  sensitive   = true
}

variable "tls_private_key_pem" {
  type        = string
  description = "PEM private key of tls_certificate_pem."
  default     = ""
  sensitive   = true
  validation {
    condition     = (var.tls_private_key_pem == "") == (var.tls_certificate_pem == "")
    error_message = "tls_certificate_pem and tls_private_key_pem go together."
  }
}

variable "edge_env" {
  type        = map(string)
  description = "More ONRAMP_* settings for the edges (e.g. ONRAMP_DRAIN_TIMEOUT = \"30s\")."
  default     = {}
}

variable "labels" {
  type        = map(string)
  description = "Labels added to the VMs and secrets."
  default     = {}
}
