variable "secrets_provider" {
  type        = string
  description = "Where the edge reads its cluster secret and authtokens: aws (Secrets Manager), gcp (Secret Manager), azure (Key Vault) or env (values given in extra_env: tests and on-prem)."
  validation {
    condition     = contains(["aws", "gcp", "azure", "env"], var.secrets_provider)
    error_message = "secrets_provider must be one of aws, gcp, azure, env."
  }
}

variable "release_url" {
  type        = string
  description = "URL of the Onramp release tarball (.tar.gz of /opt/onramp's contents) that curl downloads at boot: https://... or file://..."
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
  description = "Node.js version installed from nodejs.org when the image has no Node >= 20.18.1."
  default     = "20.20.2"
  validation {
    condition     = can(regex("^20\\.[0-9]+\\.[0-9]+$", var.node_version))
    error_message = "node_version must be a Node 20 version such as 20.20.2."
  }
}

variable "node_sha256" {
  type        = string
  description = "sha256 of node-v<node_version>-linux-x64.tar.gz (from nodejs.org's signed SHASUMS256.txt). Empty: checked against the unsigned SHASUMS256.txt at boot, with a warning."
  default     = ""
  validation {
    condition     = var.node_sha256 == "" || can(regex("^[0-9a-f]{64}$", var.node_sha256))
    error_message = "node_sha256 must be empty or 64 lowercase hex digits."
  }
}

variable "etcd_urls" {
  type        = list(string)
  description = "etcd client URLs of the mesh (http://10.0.0.5:2379)."
  validation {
    condition     = length(var.etcd_urls) > 0 && alltrue([for u in var.etcd_urls : can(regex("^https?://[^,\\s]+$", u))])
    error_message = "etcd_urls must be a non-empty list of http(s):// URLs."
  }
}

variable "nats_urls" {
  type        = list(string)
  description = "NATS server URLs of the mesh (nats://10.0.0.6:4222)."
  validation {
    condition     = length(var.nats_urls) > 0 && alltrue([for u in var.nats_urls : can(regex("^(nats|tls)://[^,\\s]+$", u))])
    error_message = "nats_urls must be a non-empty list of nats:// or tls:// URLs."
  }
}

variable "region" {
  type        = string
  description = "The edges' ONRAMP_REGION; empty: the cloud region the VM runs in."
  default     = ""
}

variable "domain" {
  type        = string
  description = "ONRAMP_DOMAIN: the domain random URLs are made under (point *.<domain> at the load balancer)."
}

variable "listen" {
  type = object({
    http  = optional(string, "0.0.0.0:8080")
    https = optional(string, "")
    grpc  = optional(string, "0.0.0.0:4443")
    admin = optional(string, "0.0.0.0:4042")
  })
  description = "Edge listeners (host:port). The admin listener serves the load balancer's /healthz check, so it listens on every interface; firewalls keep it private. https is set by the bootstrap (0.0.0.0:8443) when a TLS secret is given."
  default     = {}
}

variable "secret_names" {
  type = object({
    cluster    = string
    authtokens = string
    tls_cert   = optional(string, "")
    tls_key    = optional(string, "")
  })
  description = "Names (AWS: name or ARN; GCP: secret id; Azure: Key Vault secret name) of the secrets the bootstrap reads. Ignored with secrets_provider = env."
  default     = { cluster = "", authtokens = "" }
}

variable "cloud" {
  type = object({
    aws_region      = optional(string, "")
    gcp_project     = optional(string, "")
    azure_vault     = optional(string, "")
    azure_client_id = optional(string, "")
  })
  description = "Per-cloud settings of the secret store: AWS region of the secrets, GCP project, Azure Key Vault name and user-assigned identity client id. Empty values are looked up from the instance metadata."
  default     = {}
}

variable "extra_env" {
  type        = map(string)
  description = "More KEY=value lines for bootstrap.env (ONRAMP_* edge settings such as ONRAMP_DRAIN_TIMEOUT, or ONRAMP_CLUSTER_SECRET/ONRAMP_AUTHTOKEN with secrets_provider = env). Values may not contain quotes or newlines."
  default     = {}
  validation {
    condition     = alltrue([for k, v in var.extra_env : can(regex("^ONRAMP_[A-Z0-9_]+$", k)) && !can(regex("['\"\\n]", v))])
    error_message = "extra_env keys must be ONRAMP_* names and values may not contain quotes or newlines."
  }
}
