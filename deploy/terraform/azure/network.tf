# A resource group and a VNet with two subnets (edges, etcd/NATS). No VM has a public IP; a NAT
# gateway gives both subnets egress (release, Node, Debian packages, Key Vault).
locals {
  rg_name = var.resource_group_name != "" ? var.resource_group_name : "${var.name}-${var.location}"
  region  = var.region_name != "" ? var.region_name : var.location
  tags    = merge({ "onramp-mesh" = var.name }, var.tags)
  subnets = {
    edge    = cidrsubnet(var.vnet_cidr, 4, 0)
    cluster = cidrsubnet(var.vnet_cidr, 4, 1)
  }
  zones = length(var.zones) > 0 ? var.zones : null
}

resource "azurerm_resource_group" "this" {
  name     = local.rg_name
  location = var.location
  tags     = local.tags
}

resource "azurerm_virtual_network" "this" {
  name                = var.name
  location            = var.location
  resource_group_name = azurerm_resource_group.this.name
  address_space       = [var.vnet_cidr]
  tags                = local.tags
}

resource "azurerm_subnet" "this" {
  for_each             = local.subnets
  name                 = each.key
  resource_group_name  = azurerm_resource_group.this.name
  virtual_network_name = azurerm_virtual_network.this.name
  address_prefixes     = [each.value]
}

resource "azurerm_public_ip" "nat" {
  name                = "${var.name}-nat"
  location            = var.location
  resource_group_name = azurerm_resource_group.this.name
  allocation_method   = "Static"
  sku                 = "Standard"
  tags                = local.tags
}

resource "azurerm_nat_gateway" "this" {
  name                = var.name
  location            = var.location
  resource_group_name = azurerm_resource_group.this.name
  sku_name            = "Standard"
  tags                = local.tags
}

resource "azurerm_nat_gateway_public_ip_association" "this" {
  nat_gateway_id       = azurerm_nat_gateway.this.id
  public_ip_address_id = azurerm_public_ip.nat.id
}

resource "azurerm_subnet_nat_gateway_association" "this" {
  for_each       = azurerm_subnet.this
  subnet_id      = each.value.id
  nat_gateway_id = azurerm_nat_gateway.this.id
}
