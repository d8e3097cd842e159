// One region's VNet: gateway, functions (delegated to Flex Consumption),
// private endpoints and, when the firewall is on, AzureFirewallSubnet; an NSG
// per workload subnet; the functions subnet's egress through the firewall.
param environmentName string
param location string
param tags object
param addressSpace string
param deployFirewall bool

// /16 -> /24 subnets: .0 gateway, .1 functions, .2 private endpoints, .3 firewall.
var prefix = substring(addressSpace, 0, lastIndexOf(addressSpace, '.0.0/16'))
var gatewaySubnet = '${prefix}.0.0/24'
var functionsSubnet = '${prefix}.1.0/24'
var endpointsSubnet = '${prefix}.2.0/24'
var firewallSubnet = '${prefix}.3.0/24'
// Azure gives the firewall the first usable address of its subnet.
var firewallPrivateIp = '${prefix}.3.4'

resource gatewayNsg 'Microsoft.Network/networkSecurityGroups@2024-05-01' = {
  name: 'nsg-${environmentName}-agw-${location}'
  location: location
  tags: tags
  properties: {
    securityRules: [
      {
        name: 'allow-https-in'
        properties: {
          priority: 100
          direction: 'Inbound'
          access: 'Allow'
          protocol: 'Tcp'
          sourceAddressPrefix: 'Internet'
          sourcePortRange: '*'
          destinationAddressPrefix: '*'
          destinationPortRange: '443'
        }
      }
      {
        name: 'allow-gateway-manager'
        properties: {
          priority: 110
          direction: 'Inbound'
          access: 'Allow'
          protocol: 'Tcp'
          sourceAddressPrefix: 'GatewayManager'
          sourcePortRange: '*'
          destinationAddressPrefix: '*'
          destinationPortRange: '65200-65535'
        }
      }
      {
        name: 'allow-azure-load-balancer'
        properties: {
          priority: 120
          direction: 'Inbound'
          access: 'Allow'
          protocol: '*'
          sourceAddressPrefix: 'AzureLoadBalancer'
          sourcePortRange: '*'
          destinationAddressPrefix: '*'
          destinationPortRange: '*'
        }
      }
    ]
  }
}

resource functionsNsg 'Microsoft.Network/networkSecurityGroups@2024-05-01' = {
  name: 'nsg-${environmentName}-func-${location}'
  location: location
  tags: tags
  properties: {
    securityRules: [
      {
        name: 'deny-internet-in'
        properties: {
          priority: 4000
          direction: 'Inbound'
          access: 'Deny'
          protocol: '*'
          sourceAddressPrefix: 'Internet'
          sourcePortRange: '*'
          destinationAddressPrefix: '*'
          destinationPortRange: '*'
        }
      }
    ]
  }
}

resource endpointsNsg 'Microsoft.Network/networkSecurityGroups@2024-05-01' = {
  name: 'nsg-${environmentName}-pe-${location}'
  location: location
  tags: tags
  properties: {
    securityRules: [
      {
        name: 'allow-vnet-in'
        properties: {
          priority: 100
          direction: 'Inbound'
          access: 'Allow'
          protocol: 'Tcp'
          sourceAddressPrefix: 'VirtualNetwork'
          sourcePortRange: '*'
          destinationAddressPrefix: 'VirtualNetwork'
          destinationPortRange: '443'
        }
      }
      {
        name: 'deny-all-in'
        properties: {
          priority: 4000
          direction: 'Inbound'
          access: 'Deny'
          protocol: '*'
          sourceAddressPrefix: '*'
          sourcePortRange: '*'
          destinationAddressPrefix: '*'
          destinationPortRange: '*'
        }
      }
    ]
  }
}

resource egressRoutes 'Microsoft.Network/routeTables@2024-05-01' = if (deployFirewall) {
  name: 'rt-${environmentName}-func-${location}'
  location: location
  tags: tags
  properties: {
    disableBgpRoutePropagation: true
    routes: [
      {
        name: 'egress-through-firewall'
        properties: {
          addressPrefix: '0.0.0.0/0'
          nextHopType: 'VirtualAppliance'
          nextHopIpAddress: firewallPrivateIp
        }
      }
    ]
  }
}

var baseSubnets = [
  {
    name: 'snet-gateway'
    properties: {
      addressPrefix: gatewaySubnet
      networkSecurityGroup: {
        id: gatewayNsg.id
      }
    }
  }
  {
    name: 'snet-functions'
    properties: {
      addressPrefix: functionsSubnet
      networkSecurityGroup: {
        id: functionsNsg.id
      }
      routeTable: deployFirewall ? {
        id: egressRoutes.id
      } : null
      delegations: [
        {
          name: 'flex-consumption'
          properties: {
            serviceName: 'Microsoft.App/environments'
          }
        }
      ]
    }
  }
  {
    name: 'snet-endpoints'
    properties: {
      addressPrefix: endpointsSubnet
      networkSecurityGroup: {
        id: endpointsNsg.id
      }
      privateEndpointNetworkPolicies: 'Enabled'
    }
  }
]

var firewallSubnets = deployFirewall ? [
  {
    name: 'AzureFirewallSubnet'
    properties: {
      addressPrefix: firewallSubnet
    }
  }
] : []

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: 'vnet-${environmentName}-${location}'
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressSpace
      ]
    }
    subnets: concat(baseSubnets, firewallSubnets)
  }
}

output vnetId string = vnet.id
output vnetName string = vnet.name
output gatewaySubnetId string = '${vnet.id}/subnets/snet-gateway'
output functionsSubnetId string = '${vnet.id}/subnets/snet-functions'
output endpointsSubnetId string = '${vnet.id}/subnets/snet-endpoints'
output firewallSubnetId string = '${vnet.id}/subnets/AzureFirewallSubnet'
output firewallPrivateIp string = firewallPrivateIp
output functionsSubnetPrefix string = functionsSubnet
