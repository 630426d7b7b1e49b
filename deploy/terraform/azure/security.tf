# Edges: from the internet only 8080 (HTTP), 8443 (HTTPS, with TLS) and 4443 (agents and the
# edge-to-edge relay, HMAC-authenticated, not encrypted); the Standard load balancer keeps client
# IPs, so these rules name "Internet". 4042 (admin, /healthz) from the load balancer probe.
# Azure's default rules then allow the VNet (peered VNets and VPN routes included: other edges,
# /metrics scrapers) and deny the rest.
# etcd/NATS: clients (2379/4222) from the VNet and peer_cidrs, peers (2380/6222) from their own
# subnet; everything else from the VNet is denied, overriding the default AllowVnetInBound.
locals {
  edge_public_ports = concat(["8080", "4443"], local.tls ? ["8443"] : [])
}

resource "azurerm_network_security_group" "edge" {
  name                = "${var.name}-edge"
  location            = var.location
  resource_group_name = azurerm_resource_group.this.name
  tags                = local.tags

  security_rule {
    name                       = "edge-public"
    priority                   = 100
    direction                  = "Inbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_address_prefix      = "Internet"
    source_port_range          = "*"
    destination_address_prefix = "*"
    destination_port_ranges    = local.edge_public_ports
  }

  security_rule {
    name                       = "admin-probe"
    priority                   = 110
    direction                  = "Inbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_address_prefix      = "AzureLoadBalancer"
    source_port_range          = "*"
    destination_address_prefix = "*"
    destination_port_range     = "4042"
  }

  dynamic "security_rule" {
    for_each = length(var.admin_cidrs) > 0 ? [1] : []
    content {
      name                       = "admin-cidrs"
      priority                   = 120
      direction                  = "Inbound"
      access                     = "Allow"
      protocol                   = "Tcp"
      source_address_prefixes    = var.admin_cidrs
      source_port_range          = "*"
      destination_address_prefix = "*"
      destination_port_ranges    = ["22", "4042"]
    }
  }
}

resource "azurerm_subnet_network_security_group_association" "edge" {
  subnet_id                 = azurerm_subnet.this["edge"].id
  network_security_group_id = azurerm_network_security_group.edge.id
}

resource "azurerm_network_security_group" "cluster" {
  name                = "${var.name}-cluster"
  location            = var.location
  resource_group_name = azurerm_resource_group.this.name
  tags                = local.tags

  security_rule {
    name                       = "cluster-peers"
    priority                   = 100
    direction                  = "Inbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_address_prefix      = local.subnets.cluster
    source_port_range          = "*"
    destination_address_prefix = "*"
    destination_port_ranges    = ["2380", "6222"]
  }

  security_rule {
    name                       = "cluster-clients"
    priority                   = 110
    direction                  = "Inbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_address_prefixes    = distinct(concat([var.vnet_cidr], var.peer_cidrs))
    source_port_range          = "*"
    destination_address_prefix = "*"
    destination_port_ranges    = ["2379", "4222"]
  }

  dynamic "security_rule" {
    for_each = length(var.admin_cidrs) > 0 ? [1] : []
    content {
      name                       = "admin-ssh"
      priority                   = 120
      direction                  = "Inbound"
      access                     = "Allow"
      protocol                   = "Tcp"
      source_address_prefixes    = var.admin_cidrs
      source_port_range          = "*"
      destination_address_prefix = "*"
      destination_port_range     = "22"
    }
  }

  security_rule {
    name                       = "deny-rest-of-vnet"
    priority                   = 4000
    direction                  = "Inbound"
    access                     = "Deny"
    protocol                   = "*"
    source_address_prefix      = "VirtualNetwork"
    source_port_range          = "*"
    destination_address_prefix = "*"
    destination_port_range     = "*"
  }
}

resource "azurerm_subnet_network_security_group_association" "cluster" {
  subnet_id                 = azurerm_subnet.this["cluster"].id
  network_security_group_id = azurerm_network_security_group.cluster.id
}
