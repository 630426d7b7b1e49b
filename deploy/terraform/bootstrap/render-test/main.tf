# Offline render test: no providers, only the bootstrap module and templatefile().
# scripts/check-terraform.sh runs `terraform init` + `terraform apply` here with TF_DATA_DIR and
# the state in a temp dir, then checks every output: valid YAML starting with #cloud-config, and
# the embedded bootstrap script passes `bash -n`. Sample values only; nothing is deployed.
terraform {
  required_version = ">= 1.5.0"
}

locals {
  common = {
    release_url = "https://releases.example.com/onramp-1.0.0.tar.gz"
    etcd_urls   = ["http://10.10.1.10:2379", "http://10.10.1.11:2379", "http://10.10.1.12:2379"]
    nats_urls   = ["nats://10.10.1.10:4222", "nats://10.10.1.11:4222", "nats://10.10.1.12:4222"]
    domain      = "edge.example.com"
  }
  members = [for i in range(3) : { name = "onramp-cluster-${i}", ip = "10.10.1.${10 + i}" }]
}

module "aws" {
  source           = "../"
  secrets_provider = "aws"
  release_url      = local.common.release_url
  etcd_urls        = local.common.etcd_urls
  nats_urls        = local.common.nats_urls
  domain           = local.common.domain
  secret_names     = { cluster = "onramp/cluster-secret", authtokens = "onramp/authtokens", tls_cert = "onramp/tls-cert", tls_key = "onramp/tls-key" }
  cloud            = { aws_region = "us-east-1" }
}

module "gcp" {
  source           = "../"
  secrets_provider = "gcp"
  release_url      = local.common.release_url
  release_sha256   = "0000000000000000000000000000000000000000000000000000000000000000"
  etcd_urls        = local.common.etcd_urls
  nats_urls        = local.common.nats_urls
  domain           = local.common.domain
  listen           = { http = "0.0.0.0:80" }
  secret_names     = { cluster = "onramp-cluster-secret", authtokens = "onramp-authtokens" }
  cloud            = { gcp_project = "my-project" }
}

module "azure" {
  source           = "../"
  secrets_provider = "azure"
  release_url      = local.common.release_url
  etcd_urls        = local.common.etcd_urls
  nats_urls        = local.common.nats_urls
  domain           = local.common.domain
  region           = "westeurope"
  secret_names     = { cluster = "onramp-cluster-secret", authtokens = "onramp-authtokens" }
  cloud            = { azure_vault = "onramp-kv", azure_client_id = "00000000-0000-0000-0000-000000000000" }
  extra_env        = { ONRAMP_DRAIN_TIMEOUT = "30s" }
}

module "env" {
  source           = "../"
  secrets_provider = "env"
  release_url      = "file:///tmp/onramp.tar.gz"
  etcd_urls        = ["http://127.0.0.1:2379"]
  nats_urls        = ["nats://127.0.0.1:4222"]
  domain           = "localhost"
  extra_env        = { ONRAMP_CLUSTER_SECRET = "test-cluster-secret", ONRAMP_AUTHTOKEN = "test-token" }
}

output "cloud_init" {
  description = "Rendered edge cloud-init per secrets provider, and one etcd/NATS node's cloud-init."
  value = {
    aws   = module.aws.cloud_init
    gcp   = module.gcp.cloud_init
    azure = module.azure.cloud_init
    env   = module.env.cloud_init
    cluster = templatefile("${path.module}/../cluster-cloud-init.yaml.tftpl", {
      name = local.members[0].name, ip = local.members[0].ip, members = local.members, token = "onramp-test"
    })
  }
}
