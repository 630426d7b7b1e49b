# Network Load Balancer (TCP passthrough): 80 -> 8080, 443 -> 8443 (when a TLS pair is given; the
# edges terminate TLS), 4443 -> 4443 (agents). Source-IP stickiness keeps an agent's control
# session and its data connections on one edge: the edge refuses a data connection whose session
# lives elsewhere. Health: GET /healthz on the admin port (503 while an edge drains).
locals {
  listeners = merge(
    { http = { port = 80, target = 8080 }, agent = { port = 4443, target = 4443 } },
    local.tls ? { https = { port = 443, target = 8443 } } : {},
  )
}

resource "aws_lb" "edge" {
  name                             = "${var.name}-edge"
  load_balancer_type               = "network"
  internal                         = false
  subnets                          = aws_subnet.public[*].id
  enable_cross_zone_load_balancing = true
  tags                             = local.tags
}

resource "aws_lb_target_group" "edge" {
  for_each             = local.listeners
  name                 = "${var.name}-${each.key}"
  port                 = each.value.target
  protocol             = "TCP"
  vpc_id               = aws_vpc.this.id
  target_type          = "instance"
  deregistration_delay = 30

  stickiness {
    enabled = true
    type    = "source_ip"
  }

  health_check {
    protocol            = "HTTP"
    port                = "4042"
    path                = "/healthz"
    matcher             = "200"
    interval            = 10
    healthy_threshold   = 2
    unhealthy_threshold = 2
  }

  tags = local.tags
}

resource "aws_lb_listener" "edge" {
  for_each          = local.listeners
  load_balancer_arn = aws_lb.edge.arn
  port              = each.value.port
  protocol          = "TCP"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.edge[each.key].arn
  }

  tags = local.tags
}
