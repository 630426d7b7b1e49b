output "load_balancer_ip" {
  description = "Public IP of the load balancer."
  value       = module.onramp.load_balancer_ip
}

output "agent_command" {
  description = "How an agent joins the mesh."
  value       = module.onramp.agent_command
}

output "key_vault_name" {
  description = "Key Vault holding the secrets."
  value       = module.onramp.key_vault_name
}
