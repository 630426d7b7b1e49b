output "load_balancer_addresses" {
  description = "Load balancer IP per region."
  value       = module.onramp.load_balancer_addresses
}

output "agent_command" {
  description = "How an agent joins the mesh."
  value       = module.onramp.agent_command
}

output "secret_names" {
  description = "Secret Manager secret ids."
  value       = module.onramp.secret_names
}
