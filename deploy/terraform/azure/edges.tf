# Edges: a scale set of fixed size behind the load balancer. Each VM runs the shared cloud-init
# (../bootstrap): Node 20, the release in /opt/onramp, secrets from Key Vault with the
# user-assigned identity's IMDS token, /etc/onramp/edge.env, systemd unit onramp-edge.
module "cloud_init" {
  source = "../bootstrap"

  secrets_provider = "azure"
  release_url      = var.release_url
  release_sha256   = var.release_sha256
  node_version     = var.node_version
  node_sha256      = var.node_sha256
  etcd_urls        = local.etcd_urls
  nats_urls        = local.nats_urls
  region           = local.region
  domain           = var.domain
  secret_names = {
    cluster    = azurerm_key_vault_secret.this["cluster"].name
    authtokens = azurerm_key_vault_secret.this["authtokens"].name
    tls_cert   = local.tls ? azurerm_key_vault_secret.this["tls_cert"].name : ""
    tls_key    = local.tls ? azurerm_key_vault_secret.this["tls_key"].name : ""
  }
  cloud = {
    azure_vault     = azurerm_key_vault.this.name
    azure_client_id = azurerm_user_assigned_identity.edge.client_id
  }
  extra_env = var.edge_env
}

resource "azurerm_linux_virtual_machine_scale_set" "edge" {
  name                = "${var.name}-edge"
  location            = var.location
  resource_group_name = azurerm_resource_group.this.name
  sku                 = var.vm_size
  instances           = var.edge_count
  zones               = local.zones
  admin_username      = "onramp-admin"
  custom_data         = base64encode(module.cloud_init.cloud_init)
  upgrade_mode        = "Rolling"
  health_probe_id     = azurerm_lb_probe.healthz.id
  tags                = merge(local.tags, { "onramp-role" = "edge" })

  admin_ssh_key {
    username   = "onramp-admin"
    public_key = var.admin_ssh_public_key
  }

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.edge.id]
  }

  source_image_reference {
    publisher = "Debian"
    offer     = "debian-12"
    sku       = "12-gen2"
    version   = "latest"
  }

  os_disk {
    caching              = "ReadWrite"
    storage_account_type = "StandardSSD_LRS"
    disk_size_gb         = 30
  }

  network_interface {
    name    = "edge"
    primary = true
    ip_configuration {
      name                                   = "private"
      primary                                = true
      subnet_id                              = azurerm_subnet.this["edge"].id
      load_balancer_backend_address_pool_ids = [azurerm_lb_backend_address_pool.edge.id]
    }
  }

  # A new model (release, settings) replaces the edges half at a time; each edge drains when
  # systemd stops it, and the probe's 503 takes it out of the load balancer first.
  rolling_upgrade_policy {
    max_batch_instance_percent              = 50
    max_unhealthy_instance_percent          = 50
    max_unhealthy_upgraded_instance_percent = 50
    pause_time_between_batches              = "PT30S"
  }

  automatic_instance_repair {
    enabled      = true
    grace_period = "PT10M"
  }

  depends_on = [
    azurerm_lb_rule.edge,
    azurerm_role_assignment.edge_secrets_user,
    azurerm_subnet_nat_gateway_association.this,
    azurerm_subnet_network_security_group_association.edge,
    azurerm_linux_virtual_machine.cluster,
  ]
}
