output "load_balancer_ip" {
  description = "Public IP of the load balancer: A record for *.<domain>; agents use <IP>:4443."
  value       = azurerm_public_ip.lb.ip_address
}

output "load_balancer_fqdn" {
  description = "Azure DNS name of the load balancer's IP (a CNAME target for *.<domain>)."
  value       = azurerm_public_ip.lb.fqdn
}

output "region" {
  description = "ONRAMP_REGION of these edges."
  value       = local.region
}

output "resource_group_name" {
  description = "Resource group holding everything this module created."
  value       = azurerm_resource_group.this.name
}

output "vnet_id" {
  description = "Id of the VNet (for peering with other regions or a VPN gateway)."
  value       = azurerm_virtual_network.this.id
}

output "vnet_name" {
  description = "Name of the VNet."
  value       = azurerm_virtual_network.this.name
}

output "vnet_cidr" {
  description = "CIDR of the VNet (peer_cidrs of the other networks of the mesh)."
  value       = var.vnet_cidr
}

output "etcd_urls" {
  description = "etcd client URLs the edges use (created here, or the ones given)."
  value       = local.etcd_urls
}

output "nats_urls" {
  description = "NATS URLs the edges use (created here, or the ones given)."
  value       = local.nats_urls
}

output "key_vault_name" {
  description = "Name of the Key Vault holding the secrets."
  value       = azurerm_key_vault.this.name
}

output "secret_names" {
  description = "Key Vault secret names: cluster secret, authtokens (comma-separated), and the TLS pair when given."
  value       = { for k, s in azurerm_key_vault_secret.this : k => s.name }
}

output "agent_command" {
  description = "How an agent joins this mesh (the authtoken is the first entry of the authtokens secret)."
  value = join(" ", [
    # With a TLS pair the agent port serves TLS, and the agent checks the name it dials:
    # app.<domain> (pointed at the load balancer) is on the certificate. Without one it is plaintext.
    local.tls ? "onramp http 3000 --edge app.${var.domain}:4443" : "onramp http 3000 --edge ${azurerm_public_ip.lb.ip_address}:4443 --insecure-edge",
    "--authtoken \"$(az keyvault secret show --vault-name ${azurerm_key_vault.this.name} --name ${azurerm_key_vault_secret.this["authtokens"].name} --query value -o tsv | cut -d, -f1)\"",
    "--url https://app.${var.domain} --pooling-enabled",
  ])
}
