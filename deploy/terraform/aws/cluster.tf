# Optional etcd + NATS cluster: cluster_size VMs with fixed private IPs (the 11th address of each
# subnet, round-robin over the zones), each running one etcd member and one NATS server from
# Debian's packages. Plain http/nats on the private network; see security.tf.
locals {
  cluster_members = var.create_cluster ? [
    for i in range(var.cluster_size) : {
      name   = "${var.name}-cluster-${i}"
      subnet = i % length(local.azs)
      ip     = cidrhost(local.subnets[i % length(local.azs)], 10 + floor(i / length(local.azs)))
    }
  ] : []
  etcd_urls = var.create_cluster ? [for m in local.cluster_members : "http://${m.ip}:2379"] : var.etcd_urls
  nats_urls = var.create_cluster ? [for m in local.cluster_members : "nats://${m.ip}:4222"] : var.nats_urls
}

resource "aws_instance" "cluster" {
  count                  = length(local.cluster_members)
  ami                    = data.aws_ami.debian12.id
  instance_type          = var.cluster_instance_type
  subnet_id              = aws_subnet.public[local.cluster_members[count.index].subnet].id
  private_ip             = local.cluster_members[count.index].ip
  vpc_security_group_ids = [aws_security_group.cluster[0].id]
  key_name               = var.ssh_key_name != "" ? var.ssh_key_name : null
  user_data = templatefile("${path.module}/../bootstrap/cluster-cloud-init.yaml.tftpl", {
    name    = local.cluster_members[count.index].name
    ip      = local.cluster_members[count.index].ip
    members = local.cluster_members
    token   = "${var.name}-etcd"
  })

  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  root_block_device {
    volume_size = 20
    volume_type = "gp3"
    encrypted   = true
  }

  tags = merge(local.tags, { Name = local.cluster_members[count.index].name, "onramp:role" = "cluster" })

  lifecycle {
    # A new AMI must not replace a running etcd member behind your back.
    ignore_changes = [ami, user_data]
  }
}
