# Two AWS regions, one mesh: us-east-1 runs the etcd/NATS cluster, eu-west-1 uses it over an
# inter-region VPC peering (private addresses: etcd, NATS and the edge-to-edge relay never cross
# the internet). Agents connect to either region's NLB.
terraform {
  required_version = ">= 1.9.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40, < 7.0"
    }
  }
}

provider "aws" {
  region = "us-east-1"
}

provider "aws" {
  alias  = "eu"
  region = "eu-west-1"
}

module "us" {
  source      = "../../aws"
  name        = "onramp-us"
  vpc_cidr    = "10.10.0.0/16"
  edge_count  = 2
  domain      = var.domain
  release_url = var.release_url
  peer_cidrs  = ["10.11.0.0/16"]
  # Both regions must share the secrets: generated here, given to the other region.
  cluster_secret = var.cluster_secret
  authtokens     = var.authtokens
}

module "eu" {
  source         = "../../aws"
  providers      = { aws = aws.eu }
  name           = "onramp-eu"
  vpc_cidr       = "10.11.0.0/16"
  edge_count     = 2
  domain         = var.domain
  release_url    = var.release_url
  create_cluster = false
  etcd_urls      = module.us.etcd_urls
  nats_urls      = module.us.nats_urls
  cluster_secret = var.cluster_secret
  authtokens     = var.authtokens
}

# Inter-region VPC peering: requested from us-east-1, accepted in eu-west-1, routes both ways.
resource "aws_vpc_peering_connection" "us_eu" {
  vpc_id      = module.us.vpc_id
  peer_vpc_id = module.eu.vpc_id
  peer_region = "eu-west-1"
  tags        = { Name = "onramp-us-eu" }
}

resource "aws_vpc_peering_connection_accepter" "us_eu" {
  provider                  = aws.eu
  vpc_peering_connection_id = aws_vpc_peering_connection.us_eu.id
  auto_accept               = true
  tags                      = { Name = "onramp-us-eu" }
}

resource "aws_route" "us_to_eu" {
  route_table_id            = module.us.route_table_id
  destination_cidr_block    = module.eu.vpc_cidr
  vpc_peering_connection_id = aws_vpc_peering_connection.us_eu.id
}

resource "aws_route" "eu_to_us" {
  provider                  = aws.eu
  route_table_id            = module.eu.route_table_id
  destination_cidr_block    = module.us.vpc_cidr
  vpc_peering_connection_id = aws_vpc_peering_connection.us_eu.id
  depends_on                = [aws_vpc_peering_connection_accepter.us_eu]
}
