variable "name" {
  type        = string
  description = "Prefix of every resource name; the Key Vault is <name>-<random suffix>."
  default     = "onramp"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.name))
    error_message = "name must be 2-16 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "location" {
  type        = string
  description = "Azure region of this module's resources (one module instance per region; peer the VNets of several)."
}

variable "region_name" {
  type        = string
  description = "The edges' ONRAMP_REGION; empty: the Azure location."
  default     = ""
}

variable "resource_group_name" {
  type        = string
  description = "Resource group created for this module; empty: <name>-<location>."
  default     = ""
}

variable "vnet_cidr" {
  type        = string
  description = "CIDR of the VNet this module creates: edges in its first sixteenth, etcd/NATS in the second. Must not overlap the other networks of the mesh."
  default     = "10.30.0.0/16"
  validation {
    condition     = can(cidrhost(var.vnet_cidr, 0)) && tonumber(split("/", var.vnet_cidr)[1]) <= 22
    error_message = "vnet_cidr must be an IPv4 CIDR of /22 or larger."
  }
}

variable "zones" {
  type        = list(string)
  description = "Availability zones for the edges and etcd/NATS VMs (e.g. [\"1\", \"2\", \"3\"]); empty where the region has none."
  default     = []
}

variable "edge_count" {
  type        = number
  description = "Number of edge VMs (a scale set of this fixed size)."
  default     = 2
  validation {
    condition     = var.edge_count >= 1 && var.edge_count <= 100
    error_message = "edge_count must be between 1 and 100."
  }
}

variable "vm_size" {
  type        = string
  description = "VM size of the edges (x86_64)."
  default     = "Standard_B2s"
}

variable "cluster_vm_size" {
  type        = string
  description = "VM size of the etcd/NATS VMs."
  default     = "Standard_B2s"
}

variable "admin_ssh_public_key" {
  type        = string
  description = "OpenSSH public key of the admin user (onramp-admin) on every VM; Azure Linux VMs need one. SSH is reachable only from admin_cidrs."
  validation {
    condition     = can(regex("^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256) ", var.admin_ssh_public_key))
    error_message = "admin_ssh_public_key must be an OpenSSH public key."
  }
}

variable "peer_cidrs" {
  type        = list(string)
  description = "Private CIDRs of the other networks of the mesh (other regions or clouds, through VNet peering or a VPN). Allowed to reach etcd/NATS created here."
  default     = []
  validation {
    condition     = alltrue([for c in var.peer_cidrs : can(cidrhost(c, 0))])
    error_message = "peer_cidrs must be IPv4 CIDRs."
  }
}

variable "admin_cidrs" {
  type        = list(string)
  description = "CIDRs allowed to reach SSH (22) and the admin port (4042) of the VMs, besides the VNet. Empty: none."
  default     = []
  validation {
    condition     = alltrue([for c in var.admin_cidrs : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "admin_cidrs must be IPv4 CIDRs, and not 0.0.0.0/0."
  }
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
  description = "https URL of the Onramp release tarball the edges download at boot (e.g. a SAS URL of a blob or a release asset)."
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
  description = "Create the mesh's etcd and NATS cluster here (cluster_size VMs). False: give etcd_urls and nats_urls."
  default     = true
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

variable "etcd_urls" {
  type        = list(string)
  description = "etcd client URLs of an existing mesh backend, reachable from this VNet (create_cluster = false)."
  default     = []
  validation {
    condition     = var.create_cluster || length(var.etcd_urls) > 0
    error_message = "etcd_urls is required when create_cluster is false."
  }
}

variable "nats_urls" {
  type        = list(string)
  description = "NATS URLs of an existing mesh backend, reachable from this VNet (create_cluster = false)."
  default     = []
  validation {
    condition     = var.create_cluster || length(var.nats_urls) > 0
    error_message = "nats_urls is required when create_cluster is false."
  }
}

variable "cluster_secret" {
  type        = string
  description = "The mesh's cluster secret (same on every edge of every cloud). Null: generated (48 characters). Stored in Key Vault and in the Terraform state."
  default     = null
  sensitive   = true
  validation {
    condition     = var.cluster_secret == null || can(regex("^[A-Za-z0-9._~+/=-]{16,}$", var.cluster_secret))
    error_message = "cluster_secret must have at least 16 characters from A-Z a-z 0-9 . _ ~ + / = -."
  }
}

variable "authtokens" {
  type        = list(string)
  description = "Bootstrap authtokens agents may present. Empty: one is generated. Stored comma-separated in Key Vault and in the Terraform state."
  default     = []
  sensitive   = true
  validation {
    condition     = alltrue([for t in var.authtokens : can(regex("^[A-Za-z0-9._~+/=-]{16,}$", t))])
    error_message = "each authtoken must have at least 16 characters from A-Z a-z 0-9 . _ ~ + / = -."
  }
}

variable "tls_certificate_pem" {
  type        = string
  description = "PEM certificate chain for the edges' HTTPS listener (443 on the load balancer, 8443 on the edges). Empty: no HTTPS."
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

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
