# Renders the cloud-init that turns a Debian 12 VM into an Onramp edge. Every cloud module calls
# this module; scripts/check-terraform.sh renders it offline through render-test/.
locals {
  env = merge(var.extra_env, {
    ONRAMP_SECRETS_PROVIDER  = var.secrets_provider
    ONRAMP_RELEASE_URL       = var.release_url
    ONRAMP_RELEASE_SHA256    = var.release_sha256
    ONRAMP_NODE_VERSION      = var.node_version
    ONRAMP_NODE_SHA256       = var.node_sha256
    ONRAMP_ETCD              = join(",", var.etcd_urls)
    ONRAMP_NATS              = join(",", var.nats_urls)
    ONRAMP_REGION            = var.region
    ONRAMP_DOMAIN            = var.domain
    ONRAMP_HTTP_ADDR         = var.listen.http
    ONRAMP_HTTPS_ADDR        = var.listen.https
    ONRAMP_GRPC_ADDR         = var.listen.grpc
    ONRAMP_ADMIN_ADDR        = var.listen.admin
    ONRAMP_SECRET_CLUSTER    = var.secrets_provider == "env" ? "" : var.secret_names.cluster
    ONRAMP_SECRET_AUTHTOKENS = var.secrets_provider == "env" ? "" : var.secret_names.authtokens
    ONRAMP_SECRET_TLS_CERT   = var.secrets_provider == "env" ? "" : var.secret_names.tls_cert
    ONRAMP_SECRET_TLS_KEY    = var.secrets_provider == "env" ? "" : var.secret_names.tls_key
    ONRAMP_AWS_REGION        = var.cloud.aws_region
    ONRAMP_GCP_PROJECT       = var.cloud.gcp_project
    ONRAMP_AZURE_VAULT       = var.cloud.azure_vault
    ONRAMP_AZURE_CLIENT_ID   = var.cloud.azure_client_id
  })

  cloud_init = templatefile("${path.module}/cloud-init.yaml.tftpl", {
    env    = local.env
    script = file("${path.module}/onramp-bootstrap.sh")
  })
}
