# Key Vault (RBAC mode) with the cluster secret, the authtokens and the optional TLS pair. The
# edges' user-assigned identity is a "Key Vault Secrets User" of this vault only; whoever runs
# Terraform becomes "Key Vault Secrets Officer" to write the secrets. Values are also in the
# Terraform state: keep it private.
data "azurerm_client_config" "current" {}

resource "random_string" "vault_suffix" {
  length  = 6
  upper   = false
  special = false
}

resource "random_password" "cluster_secret" {
  count   = nonsensitive(var.cluster_secret == null) ? 1 : 0
  length  = 48
  special = false
}

resource "random_password" "authtoken" {
  count   = nonsensitive(length(var.authtokens)) == 0 ? 1 : 0
  length  = 40
  special = false
}

locals {
  # Whether TLS is configured (not the PEM) is no secret: it decides which resources exist.
  tls            = nonsensitive(var.tls_certificate_pem != "")
  cluster_secret = nonsensitive(var.cluster_secret != null) ? var.cluster_secret : random_password.cluster_secret[0].result
  authtokens     = nonsensitive(length(var.authtokens)) > 0 ? var.authtokens : [random_password.authtoken[0].result]
  secrets = merge(
    { cluster = "cluster-secret", authtokens = "authtokens" },
    local.tls ? { tls_cert = "tls-cert", tls_key = "tls-key" } : {},
  )
  secret_values = {
    cluster    = local.cluster_secret
    authtokens = join(",", local.authtokens)
    tls_cert   = var.tls_certificate_pem
    tls_key    = var.tls_private_key_pem
  }
}

resource "azurerm_key_vault" "this" {
  name                       = "${var.name}-${random_string.vault_suffix.result}"
  location                   = var.location
  resource_group_name        = azurerm_resource_group.this.name
  tenant_id                  = data.azurerm_client_config.current.tenant_id
  sku_name                   = "standard"
  enable_rbac_authorization  = true
  soft_delete_retention_days = 7
  purge_protection_enabled   = false
  tags                       = local.tags
}

resource "azurerm_role_assignment" "deployer_secrets_officer" {
  scope                = azurerm_key_vault.this.id
  role_definition_name = "Key Vault Secrets Officer"
  principal_id         = data.azurerm_client_config.current.object_id
}

resource "azurerm_user_assigned_identity" "edge" {
  name                = "${var.name}-edge"
  location            = var.location
  resource_group_name = azurerm_resource_group.this.name
  tags                = local.tags
}

resource "azurerm_role_assignment" "edge_secrets_user" {
  scope                = azurerm_key_vault.this.id
  role_definition_name = "Key Vault Secrets User"
  principal_id         = azurerm_user_assigned_identity.edge.principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_key_vault_secret" "this" {
  for_each     = local.secrets
  name         = each.value
  key_vault_id = azurerm_key_vault.this.id
  value        = local.secret_values[each.key]
  tags         = local.tags
  depends_on   = [azurerm_role_assignment.deployer_secrets_officer]
}
