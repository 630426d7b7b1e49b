output "load_balancer_addresses" {
  description = "Public IP of each region's load balancer (region => IP): A records for *.<domain>; agents use <IP>:4443."
  value       = { for r, a in google_compute_address.edge : r => a.address }
}

output "instance_groups" {
  description = "Managed instance group of the edges per region (gcloud compute instance-groups managed list-instances)."
  value       = { for r, m in google_compute_region_instance_group_manager.edge : r => m.name }
}

output "network" {
  description = "Self link of the VPC (for VPN or peering to the other networks of the mesh)."
  value       = google_compute_network.this.self_link
}

output "subnet_cidrs" {
  description = "Subnet CIDR per region (peer_cidrs of the other networks of the mesh)."
  value       = { for r, s in google_compute_subnetwork.this : r => s.ip_cidr_range }
}

output "etcd_urls" {
  description = "etcd client URLs the edges use (created here, or the ones given)."
  value       = local.etcd_urls
}

output "nats_urls" {
  description = "NATS URLs the edges use (created here, or the ones given)."
  value       = local.nats_urls
}

output "secret_names" {
  description = "Secret Manager secret ids: cluster secret, authtokens (comma-separated), and the TLS pair when given."
  value       = { for k, s in google_secret_manager_secret.this : k => s.secret_id }
}

output "service_account" {
  description = "Email of the edges' service account (it may access the secrets above)."
  value       = google_service_account.edge.email
}

output "agent_command" {
  description = "How an agent joins this mesh through the first region's load balancer (the authtoken is the first entry of the authtokens secret)."
  value = join(" ", [
    # With a TLS pair the agent port serves TLS, and the agent checks the name it dials:
    # app.<domain> (pointed at the load balancers) is on the certificate. Without one it is plaintext.
    local.tls ? "onramp http 3000 --edge app.${var.domain}:4443" : "onramp http 3000 --edge ${values(google_compute_address.edge)[0].address}:4443 --insecure-edge",
    "--authtoken \"$(gcloud secrets versions access latest --project ${var.project} --secret ${google_secret_manager_secret.this["authtokens"].secret_id} | cut -d, -f1)\"",
    "--url https://app.${var.domain} --pooling-enabled",
  ])
}
