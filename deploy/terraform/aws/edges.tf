# Edges: an Auto Scaling group of fixed size behind the NLB. Each VM runs the shared cloud-init
# (../bootstrap): Node 20, the release in /opt/onramp, secrets from Secrets Manager with the
# instance role (IMDSv2), /etc/onramp/edge.env, systemd unit onramp-edge.
module "cloud_init" {
  source = "../bootstrap"

  secrets_provider = "aws"
  release_url      = var.release_url
  release_sha256   = var.release_sha256
  node_version     = var.node_version
  node_sha256      = var.node_sha256
  etcd_urls        = local.etcd_urls
  nats_urls        = local.nats_urls
  region           = local.region
  domain           = var.domain
  secret_names = {
    cluster    = aws_secretsmanager_secret.this["cluster"].name
    authtokens = aws_secretsmanager_secret.this["authtokens"].name
    tls_cert   = local.tls ? aws_secretsmanager_secret.this["tls_cert"].name : ""
    tls_key    = local.tls ? aws_secretsmanager_secret.this["tls_key"].name : ""
  }
  cloud     = { aws_region = data.aws_region.current.name }
  extra_env = var.edge_env
}

resource "aws_launch_template" "edge" {
  name_prefix            = "${var.name}-edge-"
  image_id               = data.aws_ami.debian12.id
  instance_type          = var.edge_instance_type
  key_name               = var.ssh_key_name != "" ? var.ssh_key_name : null
  vpc_security_group_ids = [aws_security_group.edge.id]
  # cloud-init reads gzip'ed user data; the bootstrap script alone is larger than 16 KiB.
  user_data = base64gzip(module.cloud_init.cloud_init)

  iam_instance_profile {
    arn = aws_iam_instance_profile.edge.arn
  }

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size = 20
      volume_type = "gp3"
      encrypted   = true
    }
  }

  tag_specifications {
    resource_type = "instance"
    tags          = merge(local.tags, { Name = "${var.name}-edge", "onramp:role" = "edge" })
  }

  tags = local.tags
}

resource "aws_autoscaling_group" "edge" {
  name                      = "${var.name}-edge"
  min_size                  = var.edge_count
  max_size                  = var.edge_count
  desired_capacity          = var.edge_count
  vpc_zone_identifier       = aws_subnet.public[*].id
  target_group_arns         = [for tg in aws_lb_target_group.edge : tg.arn]
  health_check_type         = "ELB"
  health_check_grace_period = 300

  launch_template {
    id      = aws_launch_template.edge.id
    version = aws_launch_template.edge.latest_version
  }

  # A new launch template version (release, settings) replaces the edges a few at a time; each
  # edge drains (ONRAMP_DRAIN_TIMEOUT) when systemd stops it.
  instance_refresh {
    strategy = "Rolling"
    preferences {
      min_healthy_percentage = 50
    }
  }

  dynamic "tag" {
    for_each = merge(local.tags, { Name = "${var.name}-edge" })
    content {
      key                 = tag.key
      value               = tag.value
      propagate_at_launch = true
    }
  }

  depends_on = [aws_secretsmanager_secret_version.this, aws_iam_role_policy.edge_secrets, aws_instance.cluster]
}
