output "cloud_init" {
  description = "The rendered #cloud-config document (plain text; AWS wants it base64gzip'ed, Azure base64'ed)."
  value       = local.cloud_init
}

output "bootstrap_env" {
  description = "The settings written to /etc/onramp/bootstrap.env (empty values are left out of the file)."
  value       = { for k, v in local.env : k => v if v != "" }
}
