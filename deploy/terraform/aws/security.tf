# What is public: the edge ports the load balancer forwards (HTTP 8080, HTTPS 8443, agent 4443).
# The NLB keeps client source IPs, so those rules admit 0.0.0.0/0. The agent port also carries the
# edge-to-edge relay (HMAC-authenticated with the cluster secret, not encrypted).
# What is private: the admin port (4042: the NLB's health checks come from inside the VPC), etcd
# (2379/2380) and NATS (4222/6222): the VPC, peer_cidrs, and admin_cidrs for SSH/admin.
locals {
  private_cidrs = distinct(concat([var.vpc_cidr], var.peer_cidrs))
  public_ports  = concat([8080, 4443], local.tls ? [8443] : [])
}

resource "aws_security_group" "edge" {
  name        = "${var.name}-edge"
  description = "Onramp edges: public HTTP/HTTPS/agent ports, private admin"
  vpc_id      = aws_vpc.this.id
  tags        = merge(local.tags, { Name = "${var.name}-edge" })
}

resource "aws_vpc_security_group_ingress_rule" "edge_public" {
  for_each          = toset([for p in local.public_ports : tostring(p)])
  security_group_id = aws_security_group.edge.id
  description       = "public edge port ${each.value}"
  ip_protocol       = "tcp"
  from_port         = tonumber(each.value)
  to_port           = tonumber(each.value)
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_ingress_rule" "edge_admin" {
  for_each          = toset(concat([var.vpc_cidr], var.admin_cidrs))
  security_group_id = aws_security_group.edge.id
  description       = "admin port (/healthz for the NLB, /metrics)"
  ip_protocol       = "tcp"
  from_port         = 4042
  to_port           = 4042
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_ingress_rule" "edge_ssh" {
  for_each          = toset(var.admin_cidrs)
  security_group_id = aws_security_group.edge.id
  description       = "SSH from admin_cidrs"
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "edge_all" {
  security_group_id = aws_security_group.edge.id
  description       = "egress: release, Node, apt, AWS APIs, etcd/NATS, other edges"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_security_group" "cluster" {
  count       = var.create_cluster ? 1 : 0
  name        = "${var.name}-cluster"
  description = "Onramp etcd/NATS: private only"
  vpc_id      = aws_vpc.this.id
  tags        = merge(local.tags, { Name = "${var.name}-cluster" })
}

resource "aws_vpc_security_group_ingress_rule" "cluster_clients" {
  for_each = var.create_cluster ? {
    for pair in setproduct(local.private_cidrs, [2379, 4222]) : "${pair[0]}:${pair[1]}" => { cidr = pair[0], port = pair[1] }
  } : {}
  security_group_id = aws_security_group.cluster[0].id
  description       = each.value.port == 2379 ? "etcd clients" : "NATS clients"
  ip_protocol       = "tcp"
  from_port         = each.value.port
  to_port           = each.value.port
  cidr_ipv4         = each.value.cidr
}

resource "aws_vpc_security_group_ingress_rule" "cluster_peers" {
  for_each                     = var.create_cluster ? toset(["2380", "6222"]) : toset([])
  security_group_id            = aws_security_group.cluster[0].id
  description                  = each.value == "2380" ? "etcd peers" : "NATS cluster routes"
  ip_protocol                  = "tcp"
  from_port                    = tonumber(each.value)
  to_port                      = tonumber(each.value)
  referenced_security_group_id = aws_security_group.cluster[0].id
}

resource "aws_vpc_security_group_ingress_rule" "cluster_ssh" {
  for_each          = var.create_cluster ? toset(var.admin_cidrs) : toset([])
  security_group_id = aws_security_group.cluster[0].id
  description       = "SSH from admin_cidrs"
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "cluster_all" {
  count             = var.create_cluster ? 1 : 0
  security_group_id = aws_security_group.cluster[0].id
  description       = "egress: Debian packages, peers"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}
