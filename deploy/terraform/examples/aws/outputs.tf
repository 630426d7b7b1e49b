output "load_balancers" {
  description = "NLB DNS name per region."
  value       = { (module.us.region) = module.us.load_balancer_dns_name, (module.eu.region) = module.eu.load_balancer_dns_name }
}

output "agent_command" {
  description = "An agent with a session on both regions (one edge each, through each NLB)."
  value       = "onramp http 3000 --edge ${module.us.load_balancer_dns_name}:4443,${module.eu.load_balancer_dns_name}:4443 --authtoken \"$ONRAMP_AUTHTOKEN\" --url https://app.${var.domain} --pooling-enabled --insecure-edge"
}

output "secret_names" {
  description = "Secrets Manager names per region (same values)."
  value       = { us = module.us.secret_names, eu = module.eu.secret_names }
}
