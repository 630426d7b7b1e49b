# Standard public load balancer: 80 -> 8080, 443 -> 8443 (when a TLS pair is given; the edges
# terminate TLS), 4443 -> 4443 (agents). SourceIP distribution keeps an agent's control session
# and data connections on one edge (an edge refuses a data connection whose session lives
# elsewhere). Health: GET /healthz on the admin port (503 while an edge drains). Outbound traffic
# leaves through the NAT gateway, so the rules disable outbound SNAT.
locals {
  lb_rules = merge(
    { http = { port = 80, backend = 8080 }, agent = { port = 4443, backend = 4443 } },
    local.tls ? { https = { port = 443, backend = 8443 } } : {},
  )
}

resource "azurerm_public_ip" "lb" {
  name                = "${var.name}-lb"
  location            = var.location
  resource_group_name = azurerm_resource_group.this.name
  allocation_method   = "Static"
  sku                 = "Standard"
  zones               = local.zones
  domain_name_label   = "${var.name}-${random_string.vault_suffix.result}"
  tags                = local.tags
}

resource "azurerm_lb" "edge" {
  name                = "${var.name}-edge"
  location            = var.location
  resource_group_name = azurerm_resource_group.this.name
  sku                 = "Standard"
  tags                = local.tags

  frontend_ip_configuration {
    name                 = "public"
    public_ip_address_id = azurerm_public_ip.lb.id
  }
}

resource "azurerm_lb_backend_address_pool" "edge" {
  name            = "edges"
  loadbalancer_id = azurerm_lb.edge.id
}

resource "azurerm_lb_probe" "healthz" {
  name                = "healthz"
  loadbalancer_id     = azurerm_lb.edge.id
  protocol            = "Http"
  port                = 4042
  request_path        = "/healthz"
  interval_in_seconds = 5
  number_of_probes    = 2
}

resource "azurerm_lb_rule" "edge" {
  for_each                       = local.lb_rules
  name                           = each.key
  loadbalancer_id                = azurerm_lb.edge.id
  protocol                       = "Tcp"
  frontend_port                  = each.value.port
  backend_port                   = each.value.backend
  frontend_ip_configuration_name = "public"
  backend_address_pool_ids       = [azurerm_lb_backend_address_pool.edge.id]
  probe_id                       = azurerm_lb_probe.healthz.id
  load_distribution              = "SourceIP"
  disable_outbound_snat          = true
  idle_timeout_in_minutes        = 30
}
