variable "name" {
  type        = string
  description = "Prefix of every resource name and of the secret names (name/cluster-secret, name/authtokens)."
  default     = "onramp"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.name))
    error_message = "name must be 2-21 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "region_name" {
  type        = string
  description = "The edges' ONRAMP_REGION (pools prefer members on edges of the same region). Empty: the AWS region, e.g. us-east-1."
  default     = ""
}

variable "vpc_cidr" {
  type        = string
  description = "CIDR of the VPC this module creates. Must not overlap the other networks of the mesh (other regions, other clouds)."
  default     = "10.10.0.0/16"
  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) <= 20
    error_message = "vpc_cidr must be an IPv4 CIDR of /20 or larger."
  }
}

variable "availability_zone_count" {
  type        = number
  description = "How many availability zones get a subnet; edges and etcd/NATS nodes are spread over them."
  default     = 3
  validation {
    condition     = var.availability_zone_count >= 1 && var.availability_zone_count <= 6
    error_message = "availability_zone_count must be between 1 and 6."
  }
}

variable "edge_count" {
  type        = number
  description = "Number of edge VMs (an Auto Scaling group of this fixed size)."
  default     = 2
  validation {
    condition     = var.edge_count >= 1 && var.edge_count <= 100
    error_message = "edge_count must be between 1 and 100."
  }
}

variable "edge_instance_type" {
  type        = string
  description = "EC2 instance type of the edges (x86_64: the bootstrap installs Node's linux-x64 build when needed)."
  default     = "t3.small"
}

variable "domain" {
  type        = string
  description = "ONRAMP_DOMAIN: random URLs are made under it. Point *.<domain> (CNAME) at the load balancer DNS name."
  validation {
    condition     = can(regex("^[a-z0-9.-]+$", var.domain))
    error_message = "domain must be a DNS name."
  }
}

variable "release_url" {
  type        = string
  description = "https URL of the Onramp release tarball the edges download at boot (e.g. a presigned S3 URL or a release asset)."
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
  description = "Create the mesh's etcd and NATS cluster here (cluster_size VMs, each running one etcd member and one NATS server). False: give etcd_urls and nats_urls."
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

variable "cluster_instance_type" {
  type        = string
  description = "EC2 instance type of the etcd/NATS VMs."
  default     = "t3.small"
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
  description = "Private CIDRs of the other networks of the mesh (other regions or clouds, reached through VPC peering or a VPN). Allowed to reach etcd/NATS created here."
  default     = []
  validation {
    condition     = alltrue([for c in var.peer_cidrs : can(cidrhost(c, 0))])
    error_message = "peer_cidrs must be IPv4 CIDRs."
  }
}

variable "admin_cidrs" {
  type        = list(string)
  description = "CIDRs allowed to reach SSH (22) and the admin port (4042: /healthz, /metrics) of the edges, besides the VPC itself. Empty: none."
  default     = []
  validation {
    condition     = alltrue([for c in var.admin_cidrs : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "admin_cidrs must be IPv4 CIDRs, and not 0.0.0.0/0."
  }
}

variable "ssh_key_name" {
  type        = string
  description = "Name of an EC2 key pair for SSH to the VMs; empty: none."
  default     = ""
}

variable "cluster_secret" {
  type        = string
  description = "The mesh's cluster secret (same on every edge of every cloud). Null: generated (48 characters). Stored in Secrets Manager and in the Terraform state."
  default     = null
  sensitive   = true
  validation {
    condition     = var.cluster_secret == null || can(regex("^[A-Za-z0-9._~+/=-]{16,}$", var.cluster_secret))
    error_message = "cluster_secret must have at least 16 characters from A-Z a-z 0-9 . _ ~ + / = -."
  }
}

variable "authtokens" {
  type        = list(string)
  description = "Bootstrap authtokens agents may present. Empty: one is generated. Stored comma-separated in Secrets Manager and in the Terraform state."
  default     = []
  sensitive   = true
  validation {
    condition     = alltrue([for t in var.authtokens : can(regex("^[A-Za-z0-9._~+/=-]{16,}$", t))])
    error_message = "each authtoken must have at least 16 characters from A-Z a-z 0-9 . _ ~ + / = -."
  }
}

variable "tls_certificate_pem" {
  type        = string
  description = "PEM certificate chain for the edges' HTTPS listener (443 on the load balancer, 8443 on the edges). Empty: no HTTPS listener."
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

variable "secret_recovery_window_days" {
  type        = number
  description = "Days a deleted secret can be restored (0 deletes at once, for test stacks)."
  default     = 7
  validation {
    condition     = var.secret_recovery_window_days == 0 || (var.secret_recovery_window_days >= 7 && var.secret_recovery_window_days <= 30)
    error_message = "secret_recovery_window_days must be 0 or 7-30."
  }
}

variable "edge_env" {
  type        = map(string)
  description = "More ONRAMP_* settings for the edges (e.g. ONRAMP_DRAIN_TIMEOUT = \"30s\", ONRAMP_LOG_LEVEL = \"debug\")."
  default     = {}
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
