# Optional etcd + NATS cluster: cluster_size VMs with static private IPs (the 11th, 12th, ... of
# the cluster subnet), each running one etcd member and one NATS server from Debian's packages.
# Private only (security.tf).
locals {
  cluster_members = var.create_cluster ? [
    for i in range(var.cluster_size) : {
      name = "${var.name}-cluster-${i}"
      ip   = cidrhost(local.subnets.cluster, 10 + i)
    }
  ] : []
  etcd_urls = var.create_cluster ? [for m in local.cluster_members : "http://${m.ip}:2379"] : var.etcd_urls
  nats_urls = var.create_cluster ? [for m in local.cluster_members : "nats://${m.ip}:4222"] : var.nats_urls
}

resource "azurerm_network_interface" "cluster" {
  count               = length(local.cluster_members)
  name                = local.cluster_members[count.index].name
  location            = var.location
  resource_group_name = azurerm_resource_group.this.name
  tags                = local.tags

  ip_configuration {
    name                          = "private"
    subnet_id                     = azurerm_subnet.this["cluster"].id
    private_ip_address_allocation = "Static"
    private_ip_address            = local.cluster_members[count.index].ip
  }
}

resource "azurerm_linux_virtual_machine" "cluster" {
  count                 = length(local.cluster_members)
  name                  = local.cluster_members[count.index].name
  location              = var.location
  resource_group_name   = azurerm_resource_group.this.name
  size                  = var.cluster_vm_size
  zone                  = local.zones == null ? null : local.zones[count.index % length(local.zones)]
  admin_username        = "onramp-admin"
  network_interface_ids = [azurerm_network_interface.cluster[count.index].id]
  custom_data = base64encode(templatefile("${path.module}/../bootstrap/cluster-cloud-init.yaml.tftpl", {
    name    = local.cluster_members[count.index].name
    ip      = local.cluster_members[count.index].ip
    members = local.cluster_members
    token   = "${var.name}-etcd"
  }))
  tags = merge(local.tags, { "onramp-role" = "cluster" })

  admin_ssh_key {
    username   = "onramp-admin"
    public_key = var.admin_ssh_public_key
  }

  os_disk {
    caching              = "ReadWrite"
    storage_account_type = "StandardSSD_LRS"
    disk_size_gb         = 30
  }

  source_image_reference {
    publisher = "Debian"
    offer     = "debian-12"
    sku       = "12-gen2"
    version   = "latest"
  }

  lifecycle {
    # New cloud-init must not replace a running etcd member behind your back.
    ignore_changes = [custom_data]
  }

  depends_on = [azurerm_subnet_nat_gateway_association.this, azurerm_subnet_network_security_group_association.cluster]
}
