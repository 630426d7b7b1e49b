# The cluster secret and the authtokens live in Secrets Manager; the edges' instance role may read
# exactly these secrets. The values are also in the Terraform state: keep the state private.
resource "random_password" "cluster_secret" {
  count   = nonsensitive(var.cluster_secret == null) ? 1 : 0
  length  = 48
  special = false
}

resource "random_password" "authtoken" {
  count   = nonsensitive(length(var.authtokens)) == 0 ? 1 : 0
  length  = 40
  special = false
}

locals {
  # Whether TLS is configured (not the PEM) is no secret: it decides which resources exist.
  tls            = nonsensitive(var.tls_certificate_pem != "")
  cluster_secret = nonsensitive(var.cluster_secret != null) ? var.cluster_secret : random_password.cluster_secret[0].result
  authtokens     = nonsensitive(length(var.authtokens)) > 0 ? var.authtokens : [random_password.authtoken[0].result]
  secrets = merge(
    { cluster = "cluster-secret", authtokens = "authtokens" },
    local.tls ? { tls_cert = "tls-cert", tls_key = "tls-key" } : {},
  )
  secret_values = {
    cluster    = local.cluster_secret
    authtokens = join(",", local.authtokens)
    tls_cert   = var.tls_certificate_pem
    tls_key    = var.tls_private_key_pem
  }
}

resource "aws_secretsmanager_secret" "this" {
  for_each                = local.secrets
  name                    = "${var.name}/${each.value}"
  description             = "Onramp ${each.value} of mesh ${var.name}"
  recovery_window_in_days = var.secret_recovery_window_days
  tags                    = local.tags
}

resource "aws_secretsmanager_secret_version" "this" {
  for_each      = local.secrets
  secret_id     = aws_secretsmanager_secret.this[each.key].id
  secret_string = local.secret_values[each.key]
}

data "aws_iam_policy_document" "assume_ec2" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "read_secrets" {
  statement {
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [for s in aws_secretsmanager_secret.this : s.arn]
  }
}

resource "aws_iam_role" "edge" {
  name               = "${var.name}-edge"
  assume_role_policy = data.aws_iam_policy_document.assume_ec2.json
  tags               = local.tags
}

resource "aws_iam_role_policy" "edge_secrets" {
  name   = "read-onramp-secrets"
  role   = aws_iam_role.edge.id
  policy = data.aws_iam_policy_document.read_secrets.json
}

resource "aws_iam_instance_profile" "edge" {
  name = "${var.name}-edge"
  role = aws_iam_role.edge.name
  tags = local.tags
}
