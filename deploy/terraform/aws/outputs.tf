output "load_balancer_dns_name" {
  description = "DNS name of the NLB: CNAME *.<domain> to it; agents use <this>:4443."
  value       = aws_lb.edge.dns_name
}

output "load_balancer_zone_id" {
  description = "Route 53 hosted zone id of the NLB, for an alias record."
  value       = aws_lb.edge.zone_id
}

output "edge_autoscaling_group" {
  description = "Name of the edges' Auto Scaling group (aws autoscaling describe-auto-scaling-groups for the instances)."
  value       = aws_autoscaling_group.edge.name
}

output "region" {
  description = "ONRAMP_REGION of these edges."
  value       = local.region
}

output "vpc_id" {
  description = "The VPC the edges run in (for peering with other regions)."
  value       = aws_vpc.this.id
}

output "vpc_cidr" {
  description = "CIDR of that VPC (peer_cidrs of the other networks of the mesh)."
  value       = var.vpc_cidr
}

output "route_table_id" {
  description = "Route table of the subnets, for routes to peered networks."
  value       = aws_route_table.public.id
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
  description = "Secrets Manager secret names: cluster secret, authtokens (comma-separated), and the TLS pair when given."
  value       = { for k, s in aws_secretsmanager_secret.this : k => s.name }
}

output "agent_command" {
  description = "How an agent joins this mesh (the authtoken is the first entry of the authtokens secret)."
  value = join(" ", [
    # With a TLS pair the agent port serves TLS, and the agent checks the name it dials:
    # app.<domain> (CNAMEd to the NLB) is on the certificate. Without one it is plaintext.
    local.tls ? "onramp http 3000 --edge app.${var.domain}:4443" : "onramp http 3000 --edge ${aws_lb.edge.dns_name}:4443 --insecure-edge",
    "--authtoken \"$(aws secretsmanager get-secret-value --region ${data.aws_region.current.name} --secret-id ${aws_secretsmanager_secret.this["authtokens"].name} --query SecretString --output text | cut -d, -f1)\"",
    "--url https://app.${var.domain} --pooling-enabled",
  ])
}
