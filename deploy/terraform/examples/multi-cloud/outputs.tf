output "load_balancers" {
  description = "Public entry point per cloud: the targets of *.<domain>, and the agents' --edge addresses."
  value = {
    aws   = module.aws.load_balancer_dns_name
    gcp   = module.gcp.load_balancer_addresses
    azure = module.azure.load_balancer_ip
  }
}

output "agent_command" {
  description = "An agent with a session in each cloud: it keeps serving through the others while one is down. The authtoken is in each cloud's store (secret_names)."
  value = join(" ", [
    "onramp http 3000 --edge",
    join(",", concat(
      ["${module.aws.load_balancer_dns_name}:4443"],
      [for ip in values(module.gcp.load_balancer_addresses) : "${ip}:4443"],
      ["${module.azure.load_balancer_ip}:4443"],
    )),
    # The edges here have no TLS pair, so their agent ports are plaintext (docs/security.md).
    "--authtoken \"$ONRAMP_AUTHTOKEN\" --url https://app.${var.domain} --pooling-enabled --insecure-edge",
  ])
}

output "secret_names" {
  description = "Where each cloud keeps the (identical) cluster secret and authtokens."
  value = {
    aws   = module.aws.secret_names
    gcp   = module.gcp.secret_names
    azure = { vault = module.azure.key_vault_name, secrets = module.azure.secret_names }
  }
}

output "etcd_urls" {
  description = "The mesh's etcd (in AWS, private addresses)."
  value       = module.aws.etcd_urls
}

output "nats_urls" {
  description = "The mesh's NATS (in AWS, private addresses)."
  value       = module.aws.nats_urls
}
